import { randomBytes } from 'node:crypto';
import { uuid } from '../crypto/random.js';
import type { AppTable } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { decodeCursor, encodeCursor, recordAudit } from './audit.js';
import { callbackUrlProblem, callbackUrlReviewProblem } from './callback-url.js';
import type { Actor, DomainContext } from './context.js';
import { conflict, DomainError, forbidden, invalid, notFound } from './errors.js';
import { parseScope, splitScope, validateAppScopes } from './scopes.js';
import { type CreatedSecret, insertSecret } from './secrets.js';
import { getTenant } from './tenants.js';

export type AppVisibility = 'private' | 'public';
export type ClientType = 'confidential' | 'public';
export type AppStatus = 'draft' | 'in_review' | 'approved' | 'rejected' | 'disabled';

/** An app as the API and hub show it. Three distinct identifiers: `id`, `client_id` and `tenant_id`. */
export interface App {
  /** Object ID: the management API's identifier. Never used in OAuth. */
  id: string;
  /** The OAuth client_id: immutable, never reused. */
  client_id: string;
  tenant_id: string;
  owner_user_id: string | null;
  name: string;
  description: string;
  visibility: AppVisibility;
  client_type: ClientType;
  callback_url: string;
  scopes: string[];
  default_scopes: string[];
  status: AppStatus;
  review_note: string | null;
  created_at: number;
  updated_at: number;
}

export function toApp(row: AppTable): App {
  return {
    id: row.id,
    client_id: row.client_id,
    tenant_id: row.tenant_id,
    owner_user_id: row.owner_user_id,
    name: row.name,
    description: row.description,
    visibility: row.visibility as AppVisibility,
    client_type: row.client_type as ClientType,
    callback_url: row.callback_url,
    scopes: splitScope(row.scopes),
    default_scopes: splitScope(row.default_scopes),
    status: row.status as AppStatus,
    review_note: row.review_note,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** A new client_id: 128 random bits as 32 lowercase hex characters (URL-safe, double-click selectable). */
export function generateClientId(): string {
  return randomBytes(16).toString('hex');
}

/** A client_id an operator chooses (bootstrap): unreserved characters only, so no encoding ambiguity. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9._~-]{3,128}$/;

export interface AppInput {
  name: string;
  description?: string;
  visibility: AppVisibility;
  client_type: ClientType;
  callback_url: string;
  scopes?: string[];
  default_scopes?: string[];
}

/**
 * Characters that must not appear in names users are shown on consent and review pages: control
 * characters, and invisible or direction-changing ones (bidi overrides and isolates, zero-width
 * characters), which can make one app's name read as another's.
 */
const DECEPTIVE_CLASS =
  '[\\p{Cc}\\u00AD\\u061C\\u115F\\u1160\\u180E\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u2069\\u3164\\uFEFF\\uFFA0]';
const DECEPTIVE = new RegExp(DECEPTIVE_CLASS, 'u');
/** The same, but a description may have line breaks and tabs. */
const DECEPTIVE_TEXT = new RegExp(`(?![\\t\\n\\r])${DECEPTIVE_CLASS}`, 'u');

function checkName(name: string | undefined): string {
  const n = (name ?? '').trim();
  if (!n) throw invalid('name', 'Give the app a name.');
  if (n.length > 100) throw invalid('name', 'The app name is too long (100 characters at most).');
  if (DECEPTIVE.test(n))
    throw invalid(
      'name',
      'The app name contains control, invisible or text-direction characters; use visible characters only.',
    );
  return n;
}

function checkDescription(d: string | undefined): string {
  const v = (d ?? '').trim();
  if (v.length > 1000) throw invalid('description', 'The description is too long (1000 characters at most).');
  if (DECEPTIVE_TEXT.test(v))
    throw invalid(
      'description',
      'The description contains control, invisible or text-direction characters; use visible characters only.',
    );
  return v;
}

function checkCallback(url: string | undefined): string {
  const v = (url ?? '').trim();
  if (!v) throw invalid('callback_url', 'Enter the OAuth callback URL (one per app).');
  const problem = callbackUrlProblem(v);
  if (problem) throw invalid('callback_url', problem);
  return v;
}

function checkEnum<T extends string>(
  field: string,
  value: string | undefined,
  allowed: readonly T[],
  label: string,
): T {
  if (!value || !(allowed as readonly string[]).includes(value))
    throw invalid(field, `Choose ${label}: ${allowed.join(' or ')}.`);
  return value as T;
}

function checkScopeList(field: string, scopes: string[] | undefined): string[] {
  const list = scopes ?? [];
  for (const s of list)
    if (parseScope(s)?.length !== 1) throw invalid(field, `"${s}" is not a valid scope name.`);
  return list;
}

/** Whether the actor may see and manage this app (owners, tenant admins, platform admins). */
export function canManageApp(actor: Actor, app: Pick<App, 'tenant_id' | 'owner_user_id'>): boolean {
  if (actor.platformAdmin) return true;
  if (actor.tenantId !== app.tenant_id) return false;
  return actor.role === 'admin' || (actor.userId !== undefined && actor.userId === app.owner_user_id);
}

/** Loads an app the actor may manage; anything else (including another tenant's app) is "not found". */
export async function getAppForActor(ctx: DomainContext, actor: Actor, id: string): Promise<App> {
  const row = await ctx.db
    .selectFrom('apps')
    .selectAll()
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row || !canManageApp(actor, row)) throw notFound('App');
  return toApp(row);
}

/** Looks an app up by its client_id (deleted apps are not found). */
export async function getAppByClientId(ctx: DomainContext, clientId: string): Promise<App | null> {
  const row = await ctx.db
    .selectFrom('apps')
    .selectAll()
    .where('client_id', '=', clientId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row ? toApp(row) : null;
}

export interface CreateAppOptions {
  /** Use this client_id instead of a generated one (bootstrap only). */
  clientId?: string;
  /** Status to start in (bootstrap: approved). */
  status?: AppStatus;
  /** Skip the automatic first secret (bootstrap supplies its own). */
  withoutSecret?: boolean;
  tenantId?: string;
}

/**
 * Registers an app. A confidential app gets its first client secret at once, as in the seeds' developer
 * hub; its value is in the result and nowhere else, ever.
 */
export async function createApp(
  ctx: DomainContext,
  actor: Actor,
  input: AppInput,
  options: CreateAppOptions = {},
): Promise<{ app: App; secret: CreatedSecret | null }> {
  const tenantId = options.tenantId ?? actor.tenantId;
  if (!tenantId) throw invalid('tenant_id', 'The app needs a tenant.');
  if (!actor.platformAdmin) {
    if (actor.tenantId !== tenantId) throw notFound('Tenant');
    if (actor.role !== 'admin' && actor.role !== 'developer')
      throw forbidden('Only developers and admins can register apps.');
    if (actor.role !== 'admin') {
      const tenant = await getTenant(ctx, tenantId);
      if (!tenant.settings.users_can_register_apps)
        throw forbidden('In this tenant only admins register apps. Send an app request to an admin instead.');
    }
  }
  const errors: Record<string, string> = {};
  const collect = <T>(f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      if (e instanceof DomainError) Object.assign(errors, e.fields);
      else throw e;
      return undefined;
    }
  };
  const name = collect(() => checkName(input.name));
  const description = collect(() => checkDescription(input.description));
  const visibility = collect(() =>
    checkEnum('visibility', input.visibility, ['private', 'public'] as const, 'a visibility'),
  );
  const clientType = collect(() =>
    checkEnum('client_type', input.client_type, ['confidential', 'public'] as const, 'a client type'),
  );
  const callback = collect(() => checkCallback(input.callback_url));
  const scopesIn = collect(() => checkScopeList('scopes', input.scopes));
  const defaultsIn = collect(() => checkScopeList('default_scopes', input.default_scopes));
  if (Object.keys(errors).length > 0)
    throw new DomainError('validation', Object.values(errors)[0] ?? 'Invalid app.', errors);
  const scopes = await validateAppScopes(ctx, scopesIn!, {
    field: 'scopes',
    mayUseRestricted: !!actor.platformAdmin,
  });
  const defaults = defaultsIn!.length ? defaultsIn! : scopes;
  for (const d of defaults)
    if (!scopes.includes(d))
      throw invalid('default_scopes', `Default scope "${d}" is not among the app's scopes.`);

  const clientId = options.clientId ?? generateClientId();
  const now = ctx.now();
  const row: AppTable = {
    id: uuid(),
    client_id: clientId,
    tenant_id: tenantId,
    owner_user_id: actor.userId ?? null,
    name: name!,
    description: description!,
    visibility: visibility!,
    client_type: clientType!,
    callback_url: callback!,
    scopes: scopes.join(' '),
    default_scopes: defaults.join(' '),
    status: options.status ?? 'draft',
    review_note: null,
    created_at: now,
    updated_at: now,
    deleted_at: null,
  };
  let secret: CreatedSecret | null = null;
  await inTransaction(ctx.db, async (trx) => {
    const clash = await trx
      .selectFrom('apps')
      .select('id')
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    if (clash) throw conflict('That client_id is taken.');
    await trx.insertInto('apps').values(row).execute();
    await recordAudit(ctx, trx, {
      type: 'app.created',
      actor: actor.id,
      tenantId,
      appId: row.id,
      data: { name: row.name, visibility: row.visibility, client_type: row.client_type },
    });
    if (row.client_type === 'confidential' && !options.withoutSecret) {
      secret = await insertSecret(ctx, trx, actor, row, { description: 'Created with the app' });
    }
  });
  return { app: toApp(row), secret };
}

export interface AppListFilter {
  tenantId?: string;
  status?: AppStatus;
  visibility?: AppVisibility;
  q?: string;
  limit?: number;
  cursor?: string;
  /** Only apps the actor owns, even for admins. */
  ownedOnly?: boolean;
}

/** Lists the apps an actor may manage, newest first, with cursor pagination. */
export async function listApps(
  ctx: DomainContext,
  actor: Actor,
  filter: AppListFilter = {},
): Promise<{ items: App[]; next_cursor: string | null }> {
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
  let q = ctx.db.selectFrom('apps').selectAll().where('deleted_at', 'is', null);
  if (!actor.platformAdmin) {
    if (!actor.tenantId) return { items: [], next_cursor: null };
    q = q.where('tenant_id', '=', actor.tenantId);
    if (actor.role !== 'admin' || filter.ownedOnly)
      q = q.where('owner_user_id', '=', actor.userId ?? '\u0000');
  } else if (filter.ownedOnly && actor.userId) {
    q = q.where('owner_user_id', '=', actor.userId);
  }
  if (filter.tenantId) q = q.where('tenant_id', '=', filter.tenantId);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.visibility) q = q.where('visibility', '=', filter.visibility);
  if (filter.q) {
    const term = `%${filter.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where((eb) =>
      eb.or([eb(eb.fn('lower', ['name']), 'like', eb.val(term)), eb('client_id', '=', filter.q!.trim())]),
    );
  }
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
    items: page.map(toApp),
    next_cursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null,
  };
}

export type AppPatch = Partial<
  Pick<AppInput, 'name' | 'description' | 'visibility' | 'callback_url' | 'scopes' | 'default_scopes'>
>;

/**
 * Changes an app's basic info or scopes. The client_id and client type never change. Changing what review
 * checked on a public app in review or approved (its callback URL, visibility, name, or adding scopes)
 * sends it back to draft, so a reviewed app can't be repointed, renamed or widened without another review.
 */
export async function updateApp(ctx: DomainContext, actor: Actor, id: string, patch: AppPatch): Promise<App> {
  const app = await getAppForActor(ctx, actor, id);
  const values: Partial<AppTable> = {};
  if (patch.name !== undefined) values.name = checkName(patch.name);
  if (patch.description !== undefined) values.description = checkDescription(patch.description);
  if (patch.visibility !== undefined)
    values.visibility = checkEnum(
      'visibility',
      patch.visibility,
      ['private', 'public'] as const,
      'a visibility',
    );
  if (patch.callback_url !== undefined) values.callback_url = checkCallback(patch.callback_url);
  let scopes = app.scopes;
  if (patch.scopes !== undefined) {
    scopes = await validateAppScopes(ctx, checkScopeList('scopes', patch.scopes), {
      field: 'scopes',
      mayUseRestricted: !!actor.platformAdmin,
    });
    // Keep restricted scopes an admin granted earlier when a non-admin edits the list.
    if (!actor.platformAdmin) {
      const restricted = app.scopes.filter((s) => s.startsWith('clavis:'));
      scopes = [...new Set([...scopes, ...restricted])];
    }
    values.scopes = scopes.join(' ');
  }
  if (patch.default_scopes !== undefined || patch.scopes !== undefined) {
    let defaults =
      patch.default_scopes !== undefined
        ? checkScopeList('default_scopes', patch.default_scopes)
        : app.default_scopes;
    if (patch.default_scopes === undefined) defaults = defaults.filter((d) => scopes.includes(d));
    if (defaults.length === 0) defaults = scopes;
    for (const d of defaults)
      if (!scopes.includes(d))
        throw invalid('default_scopes', `Default scope "${d}" is not among the app's scopes.`);
    values.default_scopes = defaults.join(' ');
  }
  const repointed =
    (values.callback_url !== undefined && values.callback_url !== app.callback_url) ||
    (values.visibility !== undefined && values.visibility !== app.visibility) ||
    (values.name !== undefined && values.name !== app.name) ||
    (values.scopes !== undefined && scopes.some((s) => !app.scopes.includes(s)));
  if (repointed && (app.status === 'approved' || app.status === 'in_review') && app.visibility === 'public')
    values.status = 'draft';
  values.updated_at = ctx.now();
  await inTransaction(ctx.db, async (trx) => {
    await trx.updateTable('apps').set(values).where('id', '=', id).execute();
    await ctx.changes.announce(trx, 'client', app.client_id);
    await recordAudit(ctx, trx, {
      type: 'app.updated',
      actor: actor.id,
      tenantId: app.tenant_id,
      appId: app.id,
      data: { fields: Object.keys(patch) },
    });
  });
  await ctx.changes.publish('client', app.client_id);
  return getAppForActor(ctx, actor, id);
}

async function setStatus(
  ctx: DomainContext,
  actor: Actor,
  app: App,
  status: AppStatus,
  type: 'app.submitted' | 'app.approved' | 'app.rejected' | 'app.disabled' | 'app.enabled',
  reviewNote?: string | null,
): Promise<App> {
  await inTransaction(ctx.db, async (trx) => {
    const values: Partial<AppTable> = { status, updated_at: ctx.now() };
    if (reviewNote !== undefined) values.review_note = reviewNote;
    await trx.updateTable('apps').set(values).where('id', '=', app.id).execute();
    await ctx.changes.announce(trx, 'client', app.client_id);
    await recordAudit(ctx, trx, {
      type,
      actor: actor.id,
      tenantId: app.tenant_id,
      appId: app.id,
      data: reviewNote ? { reason: reviewNote } : {},
    });
  });
  await ctx.changes.publish('client', app.client_id);
  return { ...app, status, review_note: reviewNote !== undefined ? reviewNote : app.review_note };
}

/** Sends a public app for review. Its callback URL must be a real https address. */
export async function submitApp(ctx: DomainContext, actor: Actor, id: string): Promise<App> {
  const app = await getAppForActor(ctx, actor, id);
  if (app.visibility !== 'public')
    throw invalid(
      'visibility',
      'Only public apps go through approval; private apps can be used in your tenant as they are.',
    );
  if (app.status !== 'draft' && app.status !== 'rejected')
    throw conflict(
      `The app is ${app.status.replace('_', ' ')}; only draft or rejected apps can be submitted.`,
    );
  const problem = callbackUrlReviewProblem(app.callback_url);
  if (problem) throw invalid('callback_url', problem);
  return setStatus(ctx, actor, app, 'in_review', 'app.submitted', null);
}

function requireReviewer(actor: Actor): void {
  if (!actor.platformAdmin) throw forbidden('Only platform administrators review public apps.');
}

/** Approves a public app in review, so users of every tenant can authorize it. */
export async function approveApp(ctx: DomainContext, actor: Actor, id: string): Promise<App> {
  requireReviewer(actor);
  const app = await getAppForActor(ctx, actor, id);
  if (app.status !== 'in_review') throw conflict('Only apps in review can be approved.');
  return setStatus(ctx, actor, app, 'approved', 'app.approved', null);
}

/** Rejects a public app in review, with a reason its owner sees. */
export async function rejectApp(ctx: DomainContext, actor: Actor, id: string, reason: string): Promise<App> {
  requireReviewer(actor);
  const r = (reason ?? '').trim();
  if (!r) throw invalid('reason', 'Tell the owner why the app was rejected.');
  if (r.length > 1000) throw invalid('reason', 'The reason is too long (1000 characters at most).');
  const app = await getAppForActor(ctx, actor, id);
  if (app.status !== 'in_review') throw conflict('Only apps in review can be rejected.');
  return setStatus(ctx, actor, app, 'rejected', 'app.rejected', r);
}

/** Disables an app: it gets no tokens from any grant, and its users' refresh tokens stop working at once. */
export async function disableApp(ctx: DomainContext, actor: Actor, id: string): Promise<App> {
  const app = await getAppForActor(ctx, actor, id);
  if (app.status === 'disabled') return app;
  return setStatus(ctx, actor, app, 'disabled', 'app.disabled');
}

/**
 * Re-enables a disabled app as a draft (a public app must be reviewed again). An owner may undo only their
 * own disabling: an app a tenant or platform admin disabled stays disabled until an admin enables it.
 */
export async function enableApp(ctx: DomainContext, actor: Actor, id: string): Promise<App> {
  const app = await getAppForActor(ctx, actor, id);
  if (app.status !== 'disabled') throw conflict('The app is not disabled.');
  if (!actor.platformAdmin && actor.role !== 'admin') {
    const last = await ctx.db
      .selectFrom('audit_events')
      .select('actor')
      .where('app_id', '=', app.id)
      .where('type', '=', 'app.disabled')
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (last && last.actor !== actor.id)
      throw forbidden('An administrator disabled this app; ask an administrator to enable it again.');
  }
  return setStatus(ctx, actor, app, 'draft', 'app.enabled');
}

/**
 * Deletes an app. The row stays as a tombstone (`deleted_at`) so its client_id is never reused, and every
 * secret is revoked.
 */
export async function deleteApp(ctx: DomainContext, actor: Actor, id: string): Promise<void> {
  const app = await getAppForActor(ctx, actor, id);
  const now = ctx.now();
  await inTransaction(ctx.db, async (trx) => {
    await trx
      .updateTable('apps')
      .set({ deleted_at: now, status: 'disabled', updated_at: now })
      .where('id', '=', id)
      .execute();
    await trx
      .updateTable('client_secrets')
      .set({ revoked_at: now })
      .where('app_id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
    await ctx.changes.announce(trx, 'client', app.client_id);
    await recordAudit(ctx, trx, { type: 'app.deleted', actor: actor.id, tenantId: app.tenant_id, appId: id });
  });
  await ctx.changes.publish('client', app.client_id);
}
