import { uuid } from '../crypto/random.js';
import type { AppRequestTable } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { type App, type AppInput, type AppVisibility, type ClientType, createApp } from './apps.js';
import { decodeCursor, encodeCursor, recordAudit } from './audit.js';
import { callbackUrlProblem } from './callback-url.js';
import type { Actor, DomainContext } from './context.js';
import { conflict, DomainError, forbidden, invalid, notFound } from './errors.js';
import { parseScope, validateAppScopes } from './scopes.js';

export type AppRequestStatus = 'pending' | 'fulfilled' | 'declined';

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
    visibility: row.visibility as AppVisibility,
    client_type: row.client_type as ClientType,
    scopes: row.scopes ? row.scopes.split(' ') : [],
    status: row.status as AppRequestStatus,
  };
}

export interface AppRequestInput {
  name: string;
  description?: string;
  visibility: AppVisibility;
  client_type: ClientType;
  callback_url: string;
  scopes?: string[];
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

function checkInput(input: AppRequestInput): Record<string, string> {
  const errors: Record<string, string> = {};
  const name = (input.name ?? '').trim();
  if (!name) errors.name = 'Give the app a name.';
  else if (name.length > 100) errors.name = 'The app name is too long (100 characters at most).';
  if ((input.description ?? '').trim().length > 1000)
    errors.description = 'The description is too long (1000 characters at most).';
  if ((input.justification ?? '').trim().length > 2000)
    errors.justification = 'The justification is too long (2000 characters at most).';
  if (!['private', 'public'].includes(input.visibility))
    errors.visibility = 'Choose a visibility: private or public.';
  if (!['confidential', 'public'].includes(input.client_type))
    errors.client_type = 'Choose a client type: confidential or public.';
  const cb = (input.callback_url ?? '').trim();
  const cbProblem = cb ? callbackUrlProblem(cb) : 'Enter the OAuth callback URL (one per app).';
  if (cbProblem) errors.callback_url = cbProblem;
  for (const s of input.scopes ?? [])
    if (parseScope(s)?.length !== 1) errors.scopes = `"${s}" is not a valid scope name.`;
  return errors;
}

/** Files an app request in the actor's tenant. */
export async function createAppRequest(
  ctx: DomainContext,
  actor: Actor,
  input: AppRequestInput,
): Promise<AppRequest> {
  const tenantId = actor.tenantId;
  if (!tenantId) throw invalid('tenant_id', 'App requests are filed within a tenant.');
  const errors = checkInput(input);
  if (Object.keys(errors).length > 0)
    throw new DomainError('validation', Object.values(errors)[0] ?? 'Invalid app request.', errors);
  const scopes = await validateAppScopes(ctx, input.scopes ?? [], {
    field: 'scopes',
    mayUseRestricted: false,
  });
  const now = ctx.now();
  const row: AppRequestTable = {
    id: uuid(),
    tenant_id: tenantId,
    requester: actor.id,
    requester_user_id: actor.userId ?? null,
    name: input.name.trim(),
    description: (input.description ?? '').trim(),
    visibility: input.visibility,
    client_type: input.client_type,
    callback_url: input.callback_url.trim(),
    scopes: scopes.join(' '),
    justification: (input.justification ?? '').trim(),
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
  filter: { status?: AppRequestStatus; tenantId?: string; limit?: number; cursor?: string } = {},
): Promise<{ items: AppRequest[]; next_cursor: string | null }> {
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
  let q = ctx.db.selectFrom('app_requests').selectAll();
  if (!actor.platformAdmin) {
    if (!actor.tenantId) return { items: [], next_cursor: null };
    q = q.where('tenant_id', '=', actor.tenantId);
    if (actor.role !== 'admin') q = q.where('requester', '=', actor.id);
  }
  if (filter.tenantId) q = q.where('tenant_id', '=', filter.tenantId);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.cursor) {
    const [at, id] = decodeCursor(filter.cursor);
    q = q.where((eb) =>
      eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', id)])]),
    );
  }
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toAppRequest),
    next_cursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null,
  };
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
    throw forbidden('Only tenant admins fulfil or decline app requests.');
  if (row.status !== 'pending') throw conflict(`The app request is already ${row.status}.`);
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
    if (Number(claimed.numUpdatedRows) === 0) throw conflict('The app request was decided meanwhile.');
    const { app } = await createApp(
      tx,
      actor,
      {
        name: row.name,
        description: row.description,
        visibility: row.visibility as AppVisibility,
        client_type: row.client_type as ClientType,
        callback_url: row.callback_url,
        scopes: row.scopes ? row.scopes.split(' ') : [],
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
  const r = (reason ?? '').trim();
  if (!r) throw invalid('reason', 'Tell the requester why the request was declined.');
  if (r.length > 1000) throw invalid('reason', 'The reason is too long (1000 characters at most).');
  const row = await loadForDecision(ctx, actor, id);
  const now = ctx.now();
  await inTransaction(ctx.db, async (trx) => {
    const res = await trx
      .updateTable('app_requests')
      .set({ status: 'declined', decision_note: r, decided_by: actor.id, decided_at: now, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw conflict('The app request was decided meanwhile.');
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
