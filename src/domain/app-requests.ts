import { uuid } from '../crypto/random.js';
import type { AppRequestTable } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { type AppInput, type AppVisibility, type ClientType, checkAppInput } from './app-fields.js';
import { type App, checkReason, createApp } from './apps.js';
import { recordAudit } from './audit.js';
import type { Actor, DomainContext } from './context.js';
import { conflict, FieldErrors, forbidden, invalid, notFound } from './errors.js';
import { keysetPage, type Page, type PageRequest } from './pagination.js';
import { joinScope, splitScope, validateAppScopes } from './scopes.js';

export type AppRequestStatus = AppRequestTable['status'];

/**
 * A developer's request for an app, for tenants where only admins register apps
 * (`users_can_register_apps` off). An admin fulfils it (the app is created, owned by the requester) or
 * declines it with a reason the requester sees.
 */
export interface AppRequest {
  id: string;
  tenant_id: string;
  requester: string;
  requester_user_id: string | null;
  name: string;
  description: string;
  visibility: AppVisibility;
  client_type: ClientType;
  callback_url: string;
  scopes: string[];
  justification: string;
  status: AppRequestStatus;
  app_id: string | null;
  decision_note: string | null;
  decided_by: string | null;
  decided_at: number | null;
  created_at: number;
  updated_at: number;
}

function toAppRequest(row: AppRequestTable): AppRequest {
  return {
    ...row,
    scopes: splitScope(row.scopes),
  };
}

/** What a developer asks for: an app's fields (no default scopes: the admin sets those) and why. */
export interface AppRequestInput extends Omit<AppInput, 'default_scopes'> {
  justification?: string;
}

const isTenantAdmin = (actor: Actor, tenantId: string) =>
  !!actor.platformAdmin || (actor.tenantId === tenantId && actor.role === 'admin');

/** Whether the actor may see a request: its requester, and the tenant's admins. */
function canSee(actor: Actor, row: Pick<AppRequestTable, 'tenant_id' | 'requester'>): boolean {
  return (
    isTenantAdmin(actor, row.tenant_id) || (actor.tenantId === row.tenant_id && actor.id === row.requester)
  );
}

/** @throws DomainError `app_request_justification_invalid`. */
function checkJustification(justification: string | undefined): string {
  const v = (justification ?? '').trim();
  if (v.length > 2000)
    throw invalid(
      'justification',
      'The justification is too long (2000 characters at most).',
      'app_request_justification_invalid',
    );
  return v;
}

/** Files an app request in the actor's tenant. */
export async function createAppRequest(
  ctx: DomainContext,
  actor: Actor,
  input: AppRequestInput,
): Promise<AppRequest> {
  const tenantId = actor.tenantId;
  if (!tenantId) throw invalid('tenant_id', 'App requests are filed within a tenant.', 'tenant_required');
  // The same rules as registering the app, so a request never holds what the app could not.
  const errors = new FieldErrors();
  const justification = errors.check(() => checkJustification(input.justification)) ?? '';
  const fields = checkAppInput({ ...input, default_scopes: undefined }, errors);
  const scopes = await validateAppScopes(ctx, fields.scopes, {
    field: 'scopes',
    mayUseRestricted: false,
  });
  const now = ctx.now();
  const row: AppRequestTable = {
    id: uuid(),
    tenant_id: tenantId,
    requester: actor.id,
    requester_user_id: actor.userId ?? null,
    name: fields.name,
    description: fields.description,
    visibility: fields.visibility,
    client_type: fields.client_type,
    callback_url: fields.callback_url,
    scopes: joinScope(scopes),
    justification,
    status: 'pending',
    app_id: null,
    decision_note: null,
    decided_by: null,
    decided_at: null,
    created_at: now,
    updated_at: now,
  };
  await inTransaction(ctx.db, async (trx) => {
    await trx.insertInto('app_requests').values(row).execute();
    await recordAudit(ctx, trx, {
      type: 'app_request.created',
      actor: actor.id,
      tenantId,
      data: { request_id: row.id, name: row.name },
    });
  });
  return toAppRequest(row);
}

/**
 * Lists app requests, newest first: a tenant admin sees the tenant's, anyone else their own. A platform
 * admin sees every tenant's (or one, with `tenantId`).
 */
export async function listAppRequests(
  ctx: DomainContext,
  actor: Actor,
  filter: { status?: AppRequestStatus; tenantId?: string } & PageRequest = {},
): Promise<Page<AppRequest>> {
  let q = ctx.db.selectFrom('app_requests').selectAll();
  if (!actor.platformAdmin) {
    if (!actor.tenantId) return { items: [], next_cursor: null };
    q = q.where('tenant_id', '=', actor.tenantId);
    if (actor.role !== 'admin') q = q.where('requester', '=', actor.id);
  }
  if (filter.tenantId) q = q.where('tenant_id', '=', filter.tenantId);
  if (filter.status) q = q.where('status', '=', filter.status);
  return keysetPage(q, filter, toAppRequest);
}

/** One request the actor may see; anything else (another tenant's, someone else's) is "not found". */
export async function getAppRequest(ctx: DomainContext, actor: Actor, id: string): Promise<AppRequest> {
  const row = await ctx.db.selectFrom('app_requests').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !canSee(actor, row)) throw notFound('App request');
  return toAppRequest(row);
}

async function loadForDecision(ctx: DomainContext, actor: Actor, id: string): Promise<AppRequestTable> {
  const row = await ctx.db.selectFrom('app_requests').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !canSee(actor, row)) throw notFound('App request');
  if (!isTenantAdmin(actor, row.tenant_id))
    throw forbidden('Only tenant admins fulfil or decline app requests.', 'app_request_decision_forbidden');
  if (row.status !== 'pending')
    throw conflict(`The app request is already ${row.status}.`, 'app_request_already_decided');
  return row;
}

/**
 * Fulfils a pending request: creates the app (the admin may adjust its fields) in the request's tenant,
 * owned by the requester. No client secret is created here: the owner creates one, so the value is shown
 * once to the person who will use it, never to the admin.
 */
export async function fulfilAppRequest(
  ctx: DomainContext,
  actor: Actor,
  id: string,
  overrides: Partial<AppInput> = {},
): Promise<{ request: AppRequest; app: App }> {
  const row = await loadForDecision(ctx, actor, id);
  const now = ctx.now();
  return inTransaction(ctx.db, async (trx) => {
    const tx: DomainContext = { ...ctx, db: trx };
    // Re-check under the transaction so two admins cannot fulfil the same request twice.
    const claimed = await trx
      .updateTable('app_requests')
      .set({ status: 'fulfilled', decided_by: actor.id, decided_at: now, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0)
      throw conflict('The app request was decided meanwhile.', 'app_request_already_decided');
    const { app } = await createApp(
      tx,
      actor,
      {
        name: row.name,
        description: row.description,
        visibility: row.visibility,
        client_type: row.client_type,
        callback_url: row.callback_url,
        scopes: splitScope(row.scopes),
        ...overrides,
      },
      { tenantId: row.tenant_id, withoutSecret: true },
    );
    const owner = row.requester_user_id;
    if (owner) await trx.updateTable('apps').set({ owner_user_id: owner }).where('id', '=', app.id).execute();
    await trx.updateTable('app_requests').set({ app_id: app.id }).where('id', '=', id).execute();
    await recordAudit(ctx, trx, {
      type: 'app_request.fulfilled',
      actor: actor.id,
      tenantId: row.tenant_id,
      appId: app.id,
      data: { request_id: id },
    });
    const request = toAppRequest({
      ...row,
      status: 'fulfilled',
      app_id: app.id,
      decided_by: actor.id,
      decided_at: now,
      updated_at: now,
    });
    return { request, app: { ...app, owner_user_id: owner ?? app.owner_user_id } };
  });
}

/** Declines a pending request with a reason the requester sees. */
export async function declineAppRequest(
  ctx: DomainContext,
  actor: Actor,
  id: string,
  reason: string,
): Promise<AppRequest> {
  const r = checkReason(reason, 'Tell the requester why the request was declined.');
  const row = await loadForDecision(ctx, actor, id);
  const now = ctx.now();
  await inTransaction(ctx.db, async (trx) => {
    const res = await trx
      .updateTable('app_requests')
      .set({ status: 'declined', decision_note: r, decided_by: actor.id, decided_at: now, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0)
      throw conflict('The app request was decided meanwhile.', 'app_request_already_decided');
    await recordAudit(ctx, trx, {
      type: 'app_request.declined',
      actor: actor.id,
      tenantId: row.tenant_id,
      data: { request_id: id, reason: r },
    });
  });
  return toAppRequest({
    ...row,
    status: 'declined',
    decision_note: r,
    decided_by: actor.id,
    decided_at: now,
    updated_at: now,
  });
}
