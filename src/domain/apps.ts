import { randomBytes } from 'node:crypto';
import { uuid } from '../crypto/random.js';
import type { AppTable, IdTokenAlg } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import {
  type AppInput,
  type AppVisibility,
  type ClientType,
  checkAppCallback,
  checkAppDescription,
  checkAppInput,
  checkAppName,
  checkBackchannelLogoutUri,
  checkGrantTypes,
  checkIdTokenAlg,
  checkPostLogoutRedirectUri,
  checkScopeNames,
  checkVisibility,
  GRANT_TYPES,
  type GrantType,
} from './app-fields.js';
import {
  PENDING_FIELD_WORDS,
  PENDING_FIELDS,
  type PendingChange,
  type PendingField,
  pendingChangeText,
  pendingColumnValues,
  readPendingChange,
} from './app-pending-change.js';
import { syncBuiltInPermissions } from './app-permission-store.js';
import { type AuditInput, recordAudit } from './audit.js';
import { callbackUrlReviewProblem } from './callback-url.js';
import type { Actor, DomainContext } from './context.js';
import { conflict, type DomainError, forbidden, invalid, notFound } from './errors.js';
import { recordAppEvent } from './event-data.js';
import { keysetPage, type Page, type PageRequest } from './pagination.js';
import { joinScope, splitScope, validateAppScopes } from './scopes.js';
import { type CreatedSecret, insertSecret } from './secret-issuance.js';
import { getTenant } from './tenants.js';
import { containsText } from './text-search.js';

export type { AppInput, AppVisibility, ClientType, GrantType } from './app-fields.js';
export type { PendingChange } from './app-pending-change.js';
export type AppStatus = AppTable['status'];

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
  /** The grant types the app may use at the token endpoint (RFC 7591 §2). */
  grant_types: GrantType[];
  status: AppStatus;
  review_note: string | null;
  /** A change to the approved app awaiting review; the fields above stay live until it is approved. */
  pending_change: PendingChange | null;
  created_at: number;
  updated_at: number;
  /** OpenID Connect: the ID token's signing algorithm (RS256, ES256 or EdDSA). */
  id_token_signed_response_alg: IdTokenAlg;
  /** OpenID Connect RP-initiated logout: the one registered `post_logout_redirect_uri`, or null. */
  post_logout_redirect_uri: string | null;
  /** OpenID Connect back-channel logout: where logout tokens are POSTed, or null. */
  backchannel_logout_uri: string | null;
}

export function toApp(row: AppTable): App {
  return {
    id: row.id,
    client_id: row.client_id,
    tenant_id: row.tenant_id,
    owner_user_id: row.owner_user_id,
    name: row.name,
    description: row.description,
    visibility: row.visibility,
    client_type: row.client_type,
    callback_url: row.callback_url,
    scopes: splitScope(row.scopes),
    default_scopes: splitScope(row.default_scopes),
    grant_types: readGrantTypes(row),
    status: row.status,
    review_note: row.review_note,
    pending_change: readPendingChange(row.pending_change, splitScope(row.scopes), readGrantTypes(row)),
    created_at: row.created_at,
    updated_at: row.updated_at,
    id_token_signed_response_alg: row.id_token_signed_response_alg,
    post_logout_redirect_uri: row.post_logout_redirect_uri,
    backchannel_logout_uri: row.backchannel_logout_uri,
  };
}

/** The stored grant types, in their canonical order (an unknown stored name is dropped, never trusted). */
function readGrantTypes(row: Pick<AppTable, 'grant_types'>): GrantType[] {
  const stored = row.grant_types.split(' ').filter(Boolean);
  return GRANT_TYPES.filter((g) => stored.includes(g));
}

/** A new client_id: 128 random bits as 32 lowercase hex characters (URL-safe, double-click selectable). */
export function generateClientId(): string {
  return randomBytes(16).toString('hex');
}

/** A client_id an operator chooses (bootstrap): unreserved characters only, so no encoding ambiguity. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9._~-]{3,128}$/;

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

/**
 * Changes one app: `fn` runs in a transaction on the app as read again inside it, with its row locked
 * (`FOR UPDATE` on PostgreSQL; SQLite runs one transaction at a time), so two concurrent changes of one app
 * (a form submitted twice, a retried request, two tabs) run one after the other and the second sees the
 * first's outcome: the same change sent twice is written and audited once. `fn` says whether it announced
 * a client change; the other nodes' caches hear of it after the commit.
 */
async function changeApp<T>(
  ctx: DomainContext,
  actor: Actor,
  id: string,
  fn: (tx: DomainContext, app: App) => Promise<{ result: T; announced: boolean }>,
): Promise<T> {
  let published: string | undefined;
  const result = await inTransaction(ctx.db, async (trx) => {
    const tx: DomainContext = { ...ctx, db: trx };
    let query = trx.selectFrom('apps').selectAll().where('id', '=', id).where('deleted_at', 'is', null);
    if (ctx.config.database.kind === 'postgres') query = query.forUpdate();
    const row = await query.executeTakeFirst();
    if (!row || !canManageApp(actor, row)) throw notFound('App');
    const app = toApp(row);
    const out = await fn(tx, app);
    if (out.announced) published = app.client_id;
    return out.result;
  });
  if (published) await ctx.changes.publish('client', published);
  return result;
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

/** Default scopes must be among the app's scopes. @throws DomainError `app_default_scope_invalid`. */
function checkDefaultsWithin(defaults: string[], scopes: string[]): void {
  for (const d of defaults)
    if (!scopes.includes(d))
      throw invalid(
        'default_scopes',
        `Default scope "${d}" is not among the app's scopes.`,
        'app_default_scope_invalid',
      );
}

/**
 * The reason for a rejection or a declined request, which its owner sees.
 *
 * @throws DomainError `review_reason_invalid`.
 */
export function checkReason(reason: string | undefined, missing: string): string {
  const r = (reason ?? '').trim();
  if (!r) throw invalid('reason', missing, 'review_reason_invalid');
  if (r.length > 1000)
    throw invalid('reason', 'The reason is too long (1000 characters at most).', 'review_reason_invalid');
  return r;
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
  if (!tenantId) throw invalid('tenant_id', 'The app needs a tenant.', 'tenant_required');
  if (!actor.platformAdmin) {
    if (actor.tenantId !== tenantId) throw notFound('Tenant');
    if (actor.role !== 'admin' && actor.role !== 'developer')
      throw forbidden('Only developers and admins can register apps.', 'app_register_forbidden');
    if (actor.role !== 'admin') {
      const tenant = await getTenant(ctx, tenantId);
      if (!tenant.settings.users_can_register_apps)
        throw forbidden(
          'In this tenant only admins register apps. Send an app request to an admin instead.',
          'app_register_forbidden',
        );
    }
  }
  const fields = checkAppInput(input);
  const scopes = await validateAppScopes(ctx, fields.scopes, {
    field: 'scopes',
    mayUseRestricted: !!actor.platformAdmin,
  });
  const defaults = fields.default_scopes.length ? fields.default_scopes : scopes;
  checkDefaultsWithin(defaults, scopes);

  const clientId = options.clientId ?? generateClientId();
  const now = ctx.now();
  const row: AppTable = {
    id: uuid(),
    client_id: clientId,
    tenant_id: tenantId,
    owner_user_id: actor.userId ?? null,
    name: fields.name,
    description: fields.description,
    visibility: fields.visibility,
    client_type: fields.client_type,
    callback_url: fields.callback_url,
    scopes: joinScope(scopes),
    default_scopes: joinScope(defaults),
    grant_types: fields.grant_types.join(' '),
    status: options.status ?? 'draft',
    review_note: null,
    pending_change: null,
    created_at: now,
    updated_at: now,
    deleted_at: null,
    id_token_signed_response_alg: 'RS256',
    post_logout_redirect_uri: null,
    backchannel_logout_uri: null,
  };
  let secret: CreatedSecret | null = null;
  await inTransaction(ctx.db, async (trx) => {
    const clash = await trx
      .selectFrom('apps')
      .select('id')
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    if (clash) throw conflict('That client_id is taken.', 'client_id_taken');
    await trx.insertInto('apps').values(row).execute();
    await syncBuiltInPermissions(ctx, trx, row.id, scopes, actor.id);
    await recordAppEvent(
      ctx,
      trx,
      {
        type: 'app.created',
        actor: actor.id,
        tenantId,
        appId: row.id,
        data: { name: row.name, visibility: row.visibility, client_type: row.client_type },
      },
      'app.created',
      row,
      actor.id,
      { visibility: row.visibility, client_type: row.client_type, status: row.status },
    );
    if (row.client_type === 'confidential' && !options.withoutSecret) {
      secret = await insertSecret(ctx, trx, actor, row, { description: 'Created with the app' });
    }
    // A public app adds an origin browser pages may call from (each node's PublicOrigins set).
    if (row.client_type === 'public') await ctx.changes.announce(trx, 'client', clientId);
  });
  if (row.client_type === 'public') await ctx.changes.publish('client', clientId);
  return { app: toApp(row), secret };
}

export interface AppListFilter extends PageRequest {
  tenantId?: string;
  status?: AppStatus;
  visibility?: AppVisibility;
  q?: string;
  /** Only apps the actor owns, even for admins. */
  ownedOnly?: boolean;
  /** Only apps with a change awaiting review. */
  pendingChange?: boolean;
}

/** Lists the apps an actor may manage, newest first, with cursor pagination. */
export async function listApps(
  ctx: DomainContext,
  actor: Actor,
  filter: AppListFilter = {},
): Promise<Page<App>> {
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
  if (filter.pendingChange) q = q.where('pending_change', 'is not', null);
  const text = filter.q;
  if (text)
    q = q.where((eb) => eb.or([containsText(eb.ref('name'), text), eb('client_id', '=', text.trim())]));
  return keysetPage(q, filter, toApp);
}

export type AppPatch = Partial<
  Pick<
    AppInput,
    'name' | 'description' | 'visibility' | 'callback_url' | 'scopes' | 'default_scopes' | 'grant_types'
  >
> & {
  /** OpenID Connect: RS256, ES256 or EdDSA. */
  id_token_signed_response_alg?: string;
  /** OpenID Connect: one URL, or null (or '') for none. */
  post_logout_redirect_uri?: string | null;
  /** OpenID Connect: one URL, or null (or '') for none. */
  backchannel_logout_uri?: string | null;
};

/** The fields of an app a change may touch, in the order the audit log names them. */
type PatchField = keyof AppPatch;
const PATCH_FIELDS: readonly PatchField[] = [
  'name',
  'description',
  'visibility',
  'callback_url',
  'scopes',
  'default_scopes',
  'grant_types',
  'id_token_signed_response_alg',
  'post_logout_redirect_uri',
  'backchannel_logout_uri',
];

const isPendingField = (f: PatchField): f is PendingField =>
  (PENDING_FIELDS as readonly string[]).includes(f);

/** What a change would do to an app, worked out before anything is written. */
export interface AppChange {
  /** The checked new values of the fields that really change. */
  values: Partial<AppTable>;
  /** The fields whose value changes (an unchanged field sent again is not a change). */
  changed: PatchField[];
  /** Scopes the change adds. */
  addedScopes: string[];
  /** Grant types the change adds. */
  addedGrantTypes: string[];
  /**
   * The changed fields review checked, on a public app in review or approved: saving sends the app back to
   * draft, so a reviewed app can't be repointed, renamed or widened without another review. Empty when the
   * change needs no review. Widening means a new callback URL, post-logout redirect URI or back-channel
   * logout URI (removing one narrows, and applies at once), added scopes or added grant types.
   */
  reviewRequired: PatchField[];
}

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

/** Checks a change against the app's rules and works out what it changes. @throws DomainError. */
async function planChange(ctx: DomainContext, actor: Actor, app: App, patch: AppPatch): Promise<AppChange> {
  const next: Partial<Record<PatchField, string | string[] | null>> = {};
  if (patch.name !== undefined) next.name = checkAppName(patch.name);
  // OpenID Connect settings: the URIs are reviewed like the callback URL (see reviewRequired below); the ID
  // token algorithm widens nothing and applies at once.
  if (patch.id_token_signed_response_alg !== undefined)
    next.id_token_signed_response_alg = checkIdTokenAlg(patch.id_token_signed_response_alg);
  if (patch.post_logout_redirect_uri !== undefined)
    next.post_logout_redirect_uri = checkPostLogoutRedirectUri(patch.post_logout_redirect_uri);
  if (patch.backchannel_logout_uri !== undefined)
    next.backchannel_logout_uri = checkBackchannelLogoutUri(patch.backchannel_logout_uri);
  if (patch.description !== undefined) next.description = checkAppDescription(patch.description);
  if (patch.visibility !== undefined) next.visibility = checkVisibility(patch.visibility);
  if (patch.callback_url !== undefined) next.callback_url = checkAppCallback(patch.callback_url);
  let scopes = app.scopes;
  if (patch.scopes !== undefined) {
    scopes = await validateAppScopes(ctx, checkScopeNames('scopes', patch.scopes), {
      field: 'scopes',
      mayUseRestricted: !!actor.platformAdmin,
    });
    // Keep restricted scopes an admin granted earlier when a non-admin edits the list.
    if (!actor.platformAdmin) {
      const restricted = app.scopes.filter((s) => s.startsWith('clavis:'));
      scopes = [...new Set([...scopes, ...restricted])];
    }
    next.scopes = scopes;
  }
  if (patch.default_scopes !== undefined || patch.scopes !== undefined) {
    let defaults =
      patch.default_scopes !== undefined
        ? checkScopeNames('default_scopes', patch.default_scopes)
        : app.default_scopes;
    if (patch.default_scopes === undefined) defaults = defaults.filter((d) => scopes.includes(d));
    if (defaults.length === 0) defaults = scopes;
    checkDefaultsWithin(defaults, scopes);
    next.default_scopes = defaults;
  }
  if (patch.grant_types !== undefined) next.grant_types = checkGrantTypes(patch.grant_types, app.client_type);
  const changed = PATCH_FIELDS.filter((f) => {
    const v = next[f];
    if (v === undefined) return false;
    const was = app[f];
    return Array.isArray(v) && Array.isArray(was) ? !sameList(v, was) : v !== was;
  });
  const values: Partial<AppTable> = {};
  for (const f of changed) {
    const v = next[f] as string | string[] | null;
    (values as Record<string, string | null>)[f] = Array.isArray(v) ? v.join(' ') : v;
  }
  const addedScopes = changed.includes('scopes') ? scopes.filter((s) => !app.scopes.includes(s)) : [];
  const addedGrantTypes = changed.includes('grant_types')
    ? (next.grant_types as string[]).filter((g) => !(app.grant_types as string[]).includes(g))
    : [];
  const reviewed = app.visibility === 'public' && (app.status === 'approved' || app.status === 'in_review');
  const reviewRequired = reviewed
    ? changed.filter(
        (f) =>
          f === 'callback_url' ||
          f === 'visibility' ||
          f === 'name' ||
          (f === 'scopes' && addedScopes.length) ||
          (f === 'grant_types' && addedGrantTypes.length) ||
          // A new place to send the browser or to POST to; removing one applies at once.
          ((f === 'post_logout_redirect_uri' || f === 'backchannel_logout_uri') && next[f] !== null),
      )
    : [];
  return { values, changed, addedScopes, addedGrantTypes, reviewRequired };
}

/** What in a change needs review, e.g. "added scopes (a, b), callback URL". */
export function reviewedChangeSummary(
  change: Pick<AppChange, 'reviewRequired' | 'addedScopes' | 'addedGrantTypes'>,
): string {
  return change.reviewRequired
    .map((f) =>
      f === 'scopes'
        ? `added scopes (${change.addedScopes.join(', ')})`
        : f === 'grant_types'
          ? `added grant types (${change.addedGrantTypes.join(', ')})`
          : isPendingField(f)
            ? PENDING_FIELD_WORDS[f]
            : f,
    )
    .join(', ');
}

/** A sentence for the app's owner naming what sent it back to review. */
export function reviewRequiredNote(
  change: Pick<AppChange, 'reviewRequired' | 'addedScopes' | 'addedGrantTypes'>,
): string {
  return `Changed after review: ${reviewedChangeSummary(change)}. Users of other tenants can't authorize the app until it is submitted and approved again.`;
}

/**
 * What saving `patch` would change, without saving it: the hub asks for confirmation when
 * `reviewRequired` is not empty. @throws DomainError as {@link updateApp} would.
 */
export async function previewAppUpdate(
  ctx: DomainContext,
  actor: Actor,
  id: string,
  patch: AppPatch,
): Promise<AppChange> {
  return planChange(ctx, actor, await getAppForActor(ctx, actor, id), patch);
}

/**
 * Whether saving `change` asks for review anew: it changes a reviewed field to a value other than the one
 * already awaiting review. Saving the pending values again (a form shows them) is no new change.
 */
export function changeNeedsNewReview(app: App, change: AppChange): boolean {
  const pending = app.pending_change?.values;
  return change.reviewRequired.some((field) => {
    const next = change.values[field];
    if (!isPendingField(field)) return true; // never held: applies at once
    const held = pending?.[field];
    if (held === undefined) return true;
    return Array.isArray(held) ? joinScope(held) !== next : held !== next;
  });
}

/**
 * Changes an app's basic info or scopes. The client_id and client type never change. Changing what review
 * checked (its callback URL, visibility, name, or adding scopes; see `reviewRequired`) needs review again:
 * on an approved public app the change is held as its pending change, and the approved version stays live
 * until a reviewer approves it (a second such edit replaces the pending values of the fields it sends); on
 * an app in review it sends the app back to draft with a `review_note` naming the change. Either way the
 * audit log records `app.review_required`. Other changed fields apply at once. Only fields whose value
 * changes are written and audited; a change that changes nothing records nothing.
 */
export async function updateApp(ctx: DomainContext, actor: Actor, id: string, patch: AppPatch): Promise<App> {
  await changeApp(ctx, actor, id, async (tx, app) => {
    const change = await planChange(tx, actor, app, patch);
    if (app.visibility === 'public' && app.status === 'approved')
      return { result: undefined, announced: await updateApprovedApp(tx, actor, app, patch, change) };
    if (change.changed.length === 0) return { result: undefined, announced: false };
    const values: Partial<AppTable> = { ...change.values, updated_at: tx.now() };
    const review = change.reviewRequired.length > 0;
    if (review) {
      values.status = 'draft';
      values.review_note = reviewRequiredNote(change);
    }
    const trx = tx.db;
    await trx.updateTable('apps').set(values).where('id', '=', id).execute();
    if (values.scopes !== undefined)
      await syncBuiltInPermissions(tx, trx, id, splitScope(values.scopes), actor.id);
    await tx.changes.announce(trx, 'client', app.client_id);
    const data: Record<string, unknown> = { fields: change.changed };
    if (change.addedScopes.length) data.added_scopes = change.addedScopes;
    await recordAppEvent(
      tx,
      trx,
      { type: 'app.updated', actor: actor.id, tenantId: app.tenant_id, appId: app.id, data },
      'app.updated',
      { ...app, ...values },
      actor.id,
      { ...data, status: values.status ?? app.status },
    );
    if (review)
      await recordAudit(tx, trx, {
        type: 'app.review_required',
        actor: actor.id,
        tenantId: app.tenant_id,
        appId: app.id,
        data: {
          fields: change.reviewRequired,
          added_scopes: change.addedScopes,
          ...(change.addedGrantTypes.length ? { added_grant_types: change.addedGrantTypes } : {}),
          previous_status: app.status,
        },
      });
    return { result: undefined, announced: true };
  });
  return getAppForActor(ctx, actor, id);
}

/**
 * {@link updateApp} on an approved public app: reviewed fields go to the pending change, the rest apply.
 * The default scopes follow the scopes: held with them when the scopes are held. Runs inside
 * {@link changeApp}'s transaction (`tx`); returns whether a live field changed (a client change announced).
 */
async function updateApprovedApp(
  tx: DomainContext,
  actor: Actor,
  app: App,
  patch: AppPatch,
  change: AppChange,
): Promise<boolean> {
  const held = new Set<PendingField>(change.reviewRequired as PendingField[]);
  if (held.has('scopes') && change.changed.includes('default_scopes')) held.add('default_scopes');
  const before = pendingColumnValues(app.pending_change);
  const pending = { ...before };
  // The fields this edit sends replace what was pending for them (sent back unchanged: no longer pending).
  for (const f of PATCH_FIELDS)
    if (
      isPendingField(f) &&
      (patch[f] !== undefined || (f === 'default_scopes' && patch.scopes !== undefined))
    )
      delete pending[f];
  for (const f of held) pending[f] = (change.values as Record<string, string>)[f];
  const now = tx.now();
  const pendingText = pendingChangeText(pending, now, actor.id);
  const samePending = pendingChangeText(before, 0, '') === pendingChangeText(pending, 0, '');
  const applied = change.changed.filter((f) => !held.has(f as PendingField));
  if (applied.length === 0 && samePending) return false;
  const values: Partial<AppTable> = { updated_at: now };
  for (const f of applied)
    (values as Record<string, unknown>)[f] = (change.values as Record<string, unknown>)[f];
  if (!samePending) values.pending_change = pendingText;
  if (held.size > 0) values.review_note = null;
  const appliedAdded = applied.includes('scopes') ? change.addedScopes : [];
  const trx = tx.db;
  await trx.updateTable('apps').set(values).where('id', '=', app.id).execute();
  if (values.scopes !== undefined)
    await syncBuiltInPermissions(tx, trx, app.id, splitScope(values.scopes), actor.id);
  const audit = { actor: actor.id, tenantId: app.tenant_id, appId: app.id };
  if (applied.length) {
    await tx.changes.announce(trx, 'client', app.client_id);
    const data: Record<string, unknown> = { fields: applied };
    if (appliedAdded.length) data.added_scopes = appliedAdded;
    await recordAppEvent(
      tx,
      trx,
      { ...audit, type: 'app.updated', data },
      'app.updated',
      { ...app, ...values },
      actor.id,
      { ...data, status: app.status },
    );
  }
  if (held.size > 0)
    await recordAudit(tx, trx, {
      ...audit,
      type: 'app.review_required',
      data: {
        fields: change.reviewRequired,
        added_scopes: change.addedScopes,
        ...(change.addedGrantTypes.length ? { added_grant_types: change.addedGrantTypes } : {}),
        previous_status: app.status,
        pending: true,
      },
    });
  else if (!samePending && pendingText === null)
    await recordAudit(tx, trx, {
      ...audit,
      type: 'app.change_withdrawn',
      data: { fields: app.pending_change?.fields ?? [] },
    });
  return applied.length > 0;
}

/**
 * Withdraws the change awaiting review on an app; its live fields never changed, so nothing is restored.
 * Records `app.change_withdrawn`. @throws DomainError `app_no_pending_change` when nothing is pending.
 */
export async function withdrawPendingChange(ctx: DomainContext, actor: Actor, id: string): Promise<App> {
  await changeApp(ctx, actor, id, async (tx, app) => {
    if (!app.pending_change)
      throw conflict('The app has no change awaiting review.', 'app_no_pending_change');
    await tx.db
      .updateTable('apps')
      .set({ pending_change: null, updated_at: tx.now() })
      .where('id', '=', app.id)
      .execute();
    await recordAudit(tx, tx.db, {
      type: 'app.change_withdrawn',
      actor: actor.id,
      tenantId: app.tenant_id,
      appId: app.id,
      data: { fields: app.pending_change.fields },
    });
    return { result: undefined, announced: false };
  });
  return getAppForActor(ctx, actor, id);
}

/**
 * Approves an approved app's pending change: its values become live. Records `app.change_approved`. Runs
 * inside {@link changeApp}'s transaction (`tx`).
 */
async function approvePendingChange(tx: DomainContext, actor: Actor, app: App): Promise<void> {
  const pending = app.pending_change as PendingChange;
  const values = pendingColumnValues(pending) as Partial<AppTable>;
  const scopes = pending.values.scopes ?? app.scopes;
  if (pending.values.scopes && !pending.values.default_scopes) {
    // Default scopes must stay among the scopes (as planChange keeps them on a direct edit).
    const defaults = app.default_scopes.filter((d) => scopes.includes(d));
    values.default_scopes = (defaults.length ? defaults : scopes).join(' ');
  }
  const problem = reviewProblem({ callback_url: pending.values.callback_url ?? app.callback_url, scopes });
  if (problem) throw problem;
  const trx = tx.db;
  await trx
    .updateTable('apps')
    .set({ ...values, pending_change: null, review_note: null, updated_at: tx.now() })
    .where('id', '=', app.id)
    .execute();
  if (values.scopes !== undefined)
    await syncBuiltInPermissions(tx, trx, app.id, splitScope(values.scopes), actor.id);
  await tx.changes.announce(trx, 'client', app.client_id);
  // The reviewed change goes live now: for webhooks that is when the app is updated.
  await recordAppEvent(
    tx,
    trx,
    {
      type: 'app.change_approved',
      actor: actor.id,
      tenantId: app.tenant_id,
      appId: app.id,
      data: {
        fields: pending.fields,
        added_scopes: pending.added_scopes,
        ...(pending.added_grant_types.length ? { added_grant_types: pending.added_grant_types } : {}),
      },
    },
    'app.updated',
    { ...app, ...values },
    actor.id,
    { fields: pending.fields, added_scopes: pending.added_scopes, status: app.status },
  );
}

/**
 * Rejects an approved app's pending change; the reason becomes the app's `review_note`. Runs inside
 * {@link changeApp}'s transaction (`tx`).
 */
async function rejectPendingChange(tx: DomainContext, actor: Actor, app: App, reason: string): Promise<void> {
  await tx.db
    .updateTable('apps')
    .set({ pending_change: null, review_note: reason, updated_at: tx.now() })
    .where('id', '=', app.id)
    .execute();
  await recordAudit(tx, tx.db, {
    type: 'app.change_rejected',
    actor: actor.id,
    tenantId: app.tenant_id,
    appId: app.id,
    data: { reason, fields: app.pending_change?.fields ?? [] },
  });
}

/** Moves an app to `status` and records `type`; runs inside {@link changeApp}'s transaction (`tx`). */
async function setStatus(
  tx: DomainContext,
  actor: Actor,
  app: App,
  status: AppStatus,
  type: 'app.submitted' | 'app.approved' | 'app.rejected' | 'app.disabled' | 'app.enabled',
  reviewNote?: string | null,
): Promise<{ result: App; announced: true }> {
  const trx = tx.db;
  const values: Partial<AppTable> = { status, updated_at: tx.now() };
  if (reviewNote !== undefined) values.review_note = reviewNote;
  await trx.updateTable('apps').set(values).where('id', '=', app.id).execute();
  await tx.changes.announce(trx, 'client', app.client_id);
  const audit: AuditInput = {
    type,
    actor: actor.id,
    tenantId: app.tenant_id,
    appId: app.id,
    data: reviewNote ? { reason: reviewNote } : {},
  };
  if (type === 'app.approved' || type === 'app.rejected' || type === 'app.disabled')
    await recordAppEvent(tx, trx, audit, type, app, actor.id, {
      status,
      ...(reviewNote ? { reason: reviewNote } : {}),
    });
  else await recordAudit(tx, trx, audit);
  const result = { ...app, status, review_note: reviewNote !== undefined ? reviewNote : app.review_note };
  return { result, announced: true };
}

/** Why a public app can't be reviewed as it stands: callback URL, scopes. `null` when it can. */
export function reviewProblem(app: Pick<App, 'callback_url' | 'scopes'>): DomainError | null {
  const problem = callbackUrlReviewProblem(app.callback_url);
  if (problem) return invalid('callback_url', problem, 'app_callback_not_reviewable');
  // With no scopes every authorization request would be `invalid_scope`.
  if (app.scopes.length === 0)
    return invalid(
      'scopes',
      'The app has no scopes, so users could never authorize it. Choose its scopes on the "OAuth & access scopes" tab first.',
      'app_scopes_missing',
    );
  return null;
}

/**
 * Why the app can't be submitted for review now, or `null` when it can: it must be public, a draft or
 * rejected, and pass {@link reviewProblem}.
 */
export function submitProblem(app: App): DomainError | null {
  if (app.visibility !== 'public')
    return invalid(
      'visibility',
      'Only public apps go through approval; private apps can be used in your tenant as they are.',
      'app_not_public',
    );
  if (app.status !== 'draft' && app.status !== 'rejected')
    return conflict(
      `The app is ${app.status.replace('_', ' ')}; only draft or rejected apps can be submitted.`,
      'app_not_submittable',
    );
  return reviewProblem(app);
}

/** Sends a public app for review. Its callback URL must be a real https address, and it needs scopes. */
export async function submitApp(ctx: DomainContext, actor: Actor, id: string): Promise<App> {
  return changeApp(ctx, actor, id, async (tx, app) => {
    const problem = submitProblem(app);
    if (problem) throw problem;
    return setStatus(tx, actor, app, 'in_review', 'app.submitted', null);
  });
}

function requireReviewer(actor: Actor): void {
  if (!actor.platformAdmin)
    throw forbidden('Only platform administrators review public apps.', 'review_forbidden');
}

/** Approves a public app in review, so users of every tenant can authorize it, or an approved app's pending change. */
export async function approveApp(ctx: DomainContext, actor: Actor, id: string): Promise<App> {
  requireReviewer(actor);
  const approved = await changeApp(ctx, actor, id, async (tx, app) => {
    if (app.status === 'approved' && app.pending_change) {
      await approvePendingChange(tx, actor, app);
      return { result: null, announced: true };
    }
    if (app.status !== 'in_review')
      throw conflict('Only apps in review can be approved.', 'app_not_in_review');
    const problem = reviewProblem(app);
    if (problem) throw problem;
    return setStatus(tx, actor, app, 'approved', 'app.approved', null);
  });
  return approved ?? getAppForActor(ctx, actor, id);
}

/** Rejects a public app in review, or an approved app's pending change, with a reason its owner sees. */
export async function rejectApp(ctx: DomainContext, actor: Actor, id: string, reason: string): Promise<App> {
  requireReviewer(actor);
  const r = checkReason(reason, 'Tell the owner why the app was rejected.');
  const rejected = await changeApp(ctx, actor, id, async (tx, app) => {
    if (app.status === 'approved' && app.pending_change) {
      await rejectPendingChange(tx, actor, app, r);
      return { result: null, announced: false };
    }
    if (app.status !== 'in_review')
      throw conflict('Only apps in review can be rejected.', 'app_not_in_review');
    return setStatus(tx, actor, app, 'rejected', 'app.rejected', r);
  });
  return rejected ?? getAppForActor(ctx, actor, id);
}

/** Disables an app: it gets no tokens from any grant, and its users' refresh tokens stop working at once. */
export async function disableApp(ctx: DomainContext, actor: Actor, id: string): Promise<App> {
  return changeApp(ctx, actor, id, async (tx, app) =>
    app.status === 'disabled'
      ? { result: app, announced: false }
      : setStatus(tx, actor, app, 'disabled', 'app.disabled'),
  );
}

/**
 * Re-enables a disabled app as a draft (a public app must be reviewed again). An owner may undo only their
 * own disabling: an app a tenant or platform admin disabled stays disabled until an admin enables it.
 */
export async function enableApp(ctx: DomainContext, actor: Actor, id: string): Promise<App> {
  return changeApp(ctx, actor, id, async (tx, app) => {
    if (app.status !== 'disabled') throw conflict('The app is not disabled.', 'app_not_disabled');
    if (!actor.platformAdmin && actor.role !== 'admin') {
      const last = await tx.db
        .selectFrom('audit_events')
        .select('actor')
        .where('app_id', '=', app.id)
        .where('type', '=', 'app.disabled')
        .orderBy('created_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (last && last.actor !== actor.id)
        throw forbidden(
          'An administrator disabled this app; ask an administrator to enable it again.',
          'app_disabled_by_admin',
        );
    }
    return setStatus(tx, actor, app, 'draft', 'app.enabled');
  });
}

/**
 * Deletes an app. The row stays as a tombstone (`deleted_at`) so its client_id is never reused, and every
 * secret is revoked.
 */
export async function deleteApp(ctx: DomainContext, actor: Actor, id: string): Promise<void> {
  await changeApp(ctx, actor, id, async (tx, app) => {
    const now = tx.now();
    const trx = tx.db;
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
    await tx.changes.announce(trx, 'client', app.client_id);
    const audit: AuditInput = { type: 'app.deleted', actor: actor.id, tenantId: app.tenant_id, appId: id };
    await recordAppEvent(tx, trx, audit, 'app.deleted', app, actor.id);
    return { result: undefined, announced: true };
  });
}

/**
 * The callback URLs of the public apps that are not disabled: where the pages of apps that run in a browser
 * are (see `originKeys` in callback-url.ts). Read whole, for a node's in-memory set.
 */
export async function publicAppCallbacks(ctx: DomainContext): Promise<string[]> {
  const rows = await ctx.db
    .selectFrom('apps')
    .select('callback_url')
    .where('client_type', '=', 'public')
    .where('status', '!=', 'disabled')
    .execute();
  return rows.map((r) => r.callback_url);
}
