import { sql } from 'kysely';
import type { Config } from '../config/config.js';
import { uuid } from '../crypto/random.js';
import type { Db } from '../db/database.js';
import { isUniqueViolation } from '../db/errors.js';
import type { ApiTable, ApiVisibility, BuiltInApi } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { hasDeceptiveCharacters } from './app-fields.js';
import { BUILT_IN_API_IDS } from './app-permission-store.js';
import { recordAudit } from './audit.js';
import { isLocalHost } from './callback-url.js';
import type { Actor, DomainContext } from './context.js';
import { conflict, FieldErrors, forbidden, invalid, notFound } from './errors.js';
import { isStandardScope } from './oidc.js';
import { joinScope, parseScope, splitScope } from './scopes.js';

export type { ApiVisibility, BuiltInApi } from '../db/schema.js';
export { BUILT_IN_API_IDS } from './app-permission-store.js';

/** One scope of an API. Names follow RFC 6749 §3.3 and are unique within the API. */
export interface ApiScope {
  name: string;
  description: string;
  /** A tenant admin must grant it before an app's users may consent to it. */
  admin_consent_required: boolean;
}

/** An API (resource server): what tokens are issued for (their `aud`), and its scopes. */
export interface Api {
  id: string;
  /** The tenant that owns it; null for the two built-in APIs. */
  tenant_id: string | null;
  /** The audience of its tokens: an absolute URI, unique on the server, never changed. */
  identifier: string;
  name: string;
  description: string;
  scopes: ApiScope[];
  /** Lifetime of its access tokens, in seconds. */
  access_token_ttl: number;
  allow_client_credentials: boolean;
  /** `tenant`: only apps of its tenant may ask for it; `public`: apps of every tenant may. */
  visibility: ApiVisibility;
  /** Object IDs of the apps that may introspect its tokens (its resource servers). */
  resource_server_app_ids: string[];
  built_in: BuiltInApi | null;
  created_at: number;
  updated_at: number;
}

export interface ApiInput {
  identifier: string;
  name: string;
  description?: string;
  scopes?: ApiScope[];
  access_token_ttl?: number;
  allow_client_credentials?: boolean;
  visibility?: ApiVisibility;
  resource_server_app_ids?: string[];
}

export type ApiPatch = Partial<Omit<ApiInput, 'identifier'>>;

/** The most scopes one API may have. */
export const MAX_API_SCOPES = 200;

/**
 * The identifier of a built-in API, which follows configuration: the sample API is at
 * `CLAVIS_API_AUDIENCE` (the audience of every token before APIs existed), the management API at
 * `<issuer>/api/management`.
 */
export function builtInIdentifier(config: Pick<Config, 'apiAudience' | 'issuer'>, kind: BuiltInApi): string {
  return kind === 'sample' ? config.apiAudience : `${config.issuer}/api/management`;
}

function parseScopes(text: string): ApiScope[] {
  try {
    const v = JSON.parse(text) as ApiScope[];
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

/** An API as the domain shows it, its built-in identifier resolved. */
export function toApi(row: ApiTable, config: Pick<Config, 'apiAudience' | 'issuer' | 'accessTokenTtl'>): Api {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    identifier: row.built_in ? builtInIdentifier(config, row.built_in) : row.identifier,
    name: row.name,
    description: row.description,
    scopes: parseScopes(row.scopes),
    access_token_ttl: row.access_token_ttl ?? config.accessTokenTtl,
    allow_client_credentials: row.allow_client_credentials === 1,
    visibility: row.visibility,
    resource_server_app_ids: splitScope(row.resource_server_app_ids),
    built_in: row.built_in,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** Whether apps (and users) of `tenantId` may see the API: its own tenant's, public ones and built-ins. */
export function apiVisibleToTenant(
  api: Pick<Api, 'tenant_id' | 'visibility'>,
  tenantId: string | null,
): boolean {
  return api.tenant_id === null || api.visibility === 'public' || api.tenant_id === tenantId;
}

function visibleTo(actor: Actor, api: Api): boolean {
  return !!actor.platformAdmin || apiVisibleToTenant(api, actor.tenantId);
}

/** Whether the actor administers the API: platform admins, and admins of its tenant (never a built-in). */
export function canManageApi(actor: Actor, api: Pick<Api, 'tenant_id' | 'built_in'>): boolean {
  if (actor.platformAdmin) return true;
  return api.built_in === null && actor.role === 'admin' && actor.tenantId === api.tenant_id;
}

// ---- Field rules ---------------------------------------------------------------------------------------

/**
 * An identifier (the tokens' `aud`, RFC 8707 §2): an absolute `https:` URI, or `http:` on a loopback host,
 * without a fragment (§2: "MUST NOT include a fragment component"), query or user info.
 *
 * @throws DomainError `api_identifier_invalid`.
 */
export function checkApiIdentifier(raw: string | undefined): string {
  const v = (raw ?? '').trim();
  const fail = (m: string) => invalid('identifier', m, 'api_identifier_invalid');
  if (!v) throw fail('Enter the API identifier, an absolute https URI such as https://api.example.com.');
  if (v.length > 500) throw fail('The identifier is too long (500 characters at most).');
  if (/[\s\p{Cc}]/u.test(v) || hasDeceptiveCharacters(v))
    throw fail('The identifier may not contain spaces, control or invisible characters.');
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw fail('The identifier must be an absolute URI, such as https://api.example.com.');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLocalHost(url)))
    throw fail('The identifier must be an https URI (http only on localhost or a loopback address).');
  if (v.includes('#')) throw fail('The identifier must not have a fragment (RFC 8707 §2).');
  if (url.search || v.includes('?')) throw fail('The identifier must not have a query.');
  if (url.username || url.password) throw fail('The identifier must not contain a user name or password.');
  return v;
}

/**
 * The form two identifiers are compared in for uniqueness: what `new URL` makes of them (scheme and host in
 * lower case, a default port dropped, an empty path as `/`), without a host's trailing dot and a path's
 * trailing slash. Tokens compare `aud` exactly, but a resource server that normalises URLs would take
 * `https://API.example.com:443/` for `https://api.example.com`, so another tenant may not register it.
 */
export function identifierKey(identifier: string): string {
  const url = new URL(identifier);
  const host = url.host.replace(/\.(?=(:\d+)?$)/, '');
  return `${url.protocol}//${host}${url.pathname.replace(/\/+$/, '')}`;
}

/** Whether `identifier` is the issuer's URL or under it: the server's own paths, not a tenant's API. */
function underIssuer(identifier: string, issuer: string): boolean {
  const id = identifierKey(identifier);
  const own = identifierKey(issuer);
  return id === own || id.startsWith(`${own}/`);
}

/** @throws DomainError `api_name_invalid`. */
export function checkApiName(name: string | undefined): string {
  const n = (name ?? '').trim();
  if (!n) throw invalid('name', 'Give the API a name.', 'api_name_invalid');
  if (n.length > 100)
    throw invalid('name', 'The API name is too long (100 characters at most).', 'api_name_invalid');
  if (hasDeceptiveCharacters(n))
    throw invalid(
      'name',
      'The API name contains control, invisible or text-direction characters; use visible characters only.',
      'api_name_invalid',
    );
  return n;
}

/** @throws DomainError `api_description_invalid`. */
export function checkApiDescription(d: string | undefined): string {
  const v = (d ?? '').trim();
  if (v.length > 1000)
    throw invalid(
      'description',
      'The description is too long (1000 characters at most).',
      'api_description_invalid',
    );
  if (hasDeceptiveCharacters(v, true))
    throw invalid(
      'description',
      'The description contains control, invisible or text-direction characters; use visible characters only.',
      'api_description_invalid',
    );
  return v;
}

/**
 * Scope names a tenant's API may not define: OpenID Connect's (their meaning is the user's identity, and the
 * server adds them to user grants itself) and the management API's `clavis:` namespace.
 */
function reservedScopeName(name: string): boolean {
  return isStandardScope(name) || name === 'offline_access' || name.startsWith('clavis:');
}

/**
 * An API's scopes: names are RFC 6749 §3.3 scope tokens (at most 100 characters), unique within the API and
 * not reserved ({@link reservedScopeName}) unless `reservedAllowed` lets them (the built-in APIs; a tenant's
 * API keeps the ones it had before the rule); descriptions (shown on the consent page) at most 300 visible
 * characters.
 *
 * @throws DomainError `api_scope_invalid`.
 */
export function checkApiScopes(
  scopes: unknown,
  reservedAllowed: ReadonlySet<string> | 'all' = new Set(),
): ApiScope[] {
  const fail = (m: string) => invalid('scopes', m, 'api_scope_invalid');
  if (!Array.isArray(scopes))
    throw fail('Scopes must be a list of {name, description, admin_consent_required}.');
  if (scopes.length > MAX_API_SCOPES) throw fail(`An API has at most ${MAX_API_SCOPES} scopes.`);
  const seen = new Set<string>();
  return scopes.map((s: unknown, i) => {
    if (!s || typeof s !== 'object') throw fail(`Scope ${i + 1} is not an object.`);
    const { name, description, admin_consent_required } = s as Record<string, unknown>;
    if (typeof name !== 'string' || parseScope(name)?.length !== 1 || name !== name.trim())
      throw fail(
        `"${String(name)}" is not a valid scope name (RFC 6749 §3.3: visible ASCII, no spaces, quotes or backslashes).`,
      );
    if (name.length > 100)
      throw fail(`The scope name "${name.slice(0, 20)}…" is too long (100 characters at most).`);
    if (seen.has(name)) throw fail(`The scope "${name}" is listed twice.`);
    if (reservedScopeName(name) && reservedAllowed !== 'all' && !reservedAllowed.has(name))
      throw fail(
        `The scope name "${name}" is reserved: OpenID Connect's scopes and the clavis: names belong to the server.`,
      );
    seen.add(name);
    const d = description === undefined ? '' : description;
    if (typeof d !== 'string') throw fail(`The description of "${name}" must be text.`);
    if (d.trim().length > 300)
      throw fail(`The description of "${name}" is too long (300 characters at most).`);
    if (hasDeceptiveCharacters(d))
      throw fail(`The description of "${name}" contains control, invisible or text-direction characters.`);
    if (admin_consent_required !== undefined && typeof admin_consent_required !== 'boolean')
      throw fail(`admin_consent_required of "${name}" must be true or false.`);
    return { name, description: d.trim(), admin_consent_required: admin_consent_required === true };
  });
}

/** @throws DomainError `api_ttl_invalid`. */
export function checkApiTtl(ttl: unknown): number {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 60 || ttl > 86400)
    throw invalid(
      'access_token_ttl',
      'The access token lifetime is a whole number of seconds from 60 to 86400.',
      'api_ttl_invalid',
    );
  return ttl;
}

/** @throws DomainError `api_visibility_invalid`. */
function checkApiVisibility(v: unknown): ApiVisibility {
  if (v !== 'tenant' && v !== 'public')
    throw invalid('visibility', 'Choose a visibility: tenant or public.', 'api_visibility_invalid');
  return v;
}

function checkFlag(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw invalid(field, `${field} must be true or false.`, 'validation');
  return v;
}

/**
 * Resource servers are apps (object IDs) of the API's tenant (any tenant's for a platform admin, and for
 * the built-in APIs), each at most once.
 *
 * @throws DomainError `api_resource_server_invalid`.
 */
async function checkResourceServers(
  db: Db,
  actor: Actor,
  tenantId: string | null,
  ids: unknown,
): Promise<string[]> {
  const fail = (m: string) => invalid('resource_server_app_ids', m, 'api_resource_server_invalid');
  if (!Array.isArray(ids) || ids.some((i) => typeof i !== 'string'))
    throw fail('resource_server_app_ids must be a list of app IDs.');
  const unique = [...new Set(ids as string[])];
  if (unique.length > 50) throw fail('An API has at most 50 resource servers.');
  if (unique.length === 0) return [];
  if (unique.some((i) => i.length > 64 || !/^[A-Za-z0-9-]+$/.test(i)))
    throw fail('An entry of resource_server_app_ids is not an app ID.');
  const rows = await db
    .selectFrom('apps')
    .select(['id', 'tenant_id'])
    .where('id', 'in', unique)
    .where('deleted_at', 'is', null)
    .execute();
  for (const id of unique) {
    const row = rows.find((r) => r.id === id);
    if (!row || (!actor.platformAdmin && tenantId !== null && row.tenant_id !== tenantId))
      throw fail(`No app with the ID ${id} in the API's tenant.`);
  }
  return unique;
}

// ---- Reading -------------------------------------------------------------------------------------------

const identifierTaken = () =>
  conflict(
    'Another API already has that identifier; identifiers are unique on the server.',
    'api_identifier_taken',
  );

/** The APIs an actor may see: its tenant's, the public ones and the built-ins (platform admins: all). */
export async function listApis(ctx: DomainContext, actor: Actor): Promise<Api[]> {
  let q = ctx.db.selectFrom('apis').selectAll();
  if (!actor.platformAdmin)
    q = q.where((eb) =>
      eb.or([
        eb('tenant_id', 'is', null),
        eb('visibility', '=', 'public'),
        ...(actor.tenantId ? [eb('tenant_id', '=', actor.tenantId)] : []),
      ]),
    );
  const rows = await q.orderBy('created_at').orderBy('id').execute();
  // Built-ins first (management, then sample), then by creation.
  return rows.map((r) => toApi(r, ctx.config)).sort((a, b) => Number(!a.built_in) - Number(!b.built_in));
}

async function apiRow(db: Db, id: string): Promise<ApiTable | undefined> {
  if (id.length > 64) return undefined;
  return db.selectFrom('apis').selectAll().where('id', '=', id).executeTakeFirst();
}

/** An API the actor may see. @throws DomainError `api_not_found` (also for other tenants' APIs). */
export async function getApi(ctx: DomainContext, actor: Actor, id: string): Promise<Api> {
  const row = await apiRow(ctx.db, id);
  const api = row && toApi(row, ctx.config);
  if (!api || !visibleTo(actor, api)) throw notFound('API');
  return api;
}

/** The API with this object ID, for the token endpoint (no actor: not for surfaces). */
export async function findApiById(ctx: DomainContext, id: string): Promise<Api | null> {
  const row = await apiRow(ctx.db, id);
  return row ? toApi(row, ctx.config) : null;
}

/** Every API, for the token endpoint's cache and discovery (no actor: not for surfaces). */
export async function loadAllApis(ctx: DomainContext): Promise<Api[]> {
  const rows = await ctx.db.selectFrom('apis').selectAll().execute();
  return rows.map((r) => toApi(r, ctx.config));
}

/** The API whose identifier is `identifier`, built-ins resolved from configuration; null when none. */
export async function findApiByIdentifier(ctx: DomainContext, identifier: string): Promise<Api | null> {
  if (identifier.length > 500) return null;
  for (const kind of ['sample', 'management'] as const)
    if (builtInIdentifier(ctx.config, kind) === identifier) {
      const row = await apiRow(ctx.db, BUILT_IN_API_IDS[kind]);
      return row ? toApi(row, ctx.config) : null;
    }
  const row = await ctx.db
    .selectFrom('apis')
    .selectAll()
    .where('identifier', '=', identifier)
    .where('built_in', 'is', null)
    .executeTakeFirst();
  return row ? toApi(row, ctx.config) : null;
}

/** The scope names of public APIs (built-ins included), sorted, for discovery's `scopes_supported`. */
export async function publicScopeNames(ctx: DomainContext): Promise<string[]> {
  const rows = await ctx.db
    .selectFrom('apis')
    .select('scopes')
    .where((eb) => eb.or([eb('visibility', '=', 'public'), eb('tenant_id', 'is', null)]))
    .execute();
  const names = new Set(rows.flatMap((r) => parseScopes(r.scopes).map((s) => s.name)));
  return [...names].sort();
}

// ---- Changing ------------------------------------------------------------------------------------------

/** Apps holding a permission for the API (id and client_id), for force checks and cache invalidation. */
async function holders(db: Db, apiId: string) {
  return db
    .selectFrom('app_permissions')
    .innerJoin('apps', 'apps.id', 'app_permissions.app_id')
    .select([
      'apps.id',
      'apps.client_id',
      'apps.tenant_id',
      'app_permissions.scopes',
      'app_permissions.granted_scopes',
    ])
    .where('app_permissions.api_id', '=', apiId)
    .execute();
}

/**
 * Registers an API in the actor's tenant (tenant admins and platform admins; `tenantId` lets a platform
 * admin choose another). Only a platform admin makes an API public. Records `api.created`.
 *
 * @throws DomainError naming the field (400), `api_identifier_taken` (409), `api_manage_forbidden` (403).
 */
export async function createApi(
  ctx: DomainContext,
  actor: Actor,
  input: ApiInput,
  options: { tenantId?: string } = {},
): Promise<Api> {
  const tenantId = (actor.platformAdmin ? options.tenantId : undefined) ?? actor.tenantId;
  if (!tenantId) throw invalid('tenant_id', 'The API needs a tenant.', 'tenant_required');
  if (!actor.platformAdmin && actor.role !== 'admin')
    throw forbidden('Only tenant admins register APIs.', 'api_manage_forbidden');
  const errors = new FieldErrors();
  const identifier = errors.check(() => checkApiIdentifier(input.identifier));
  const name = errors.check(() => checkApiName(input.name));
  const description = errors.check(() => checkApiDescription(input.description));
  const scopes = errors.check(() => checkApiScopes(input.scopes ?? []));
  const ttl = errors.check(() =>
    input.access_token_ttl === undefined ? null : checkApiTtl(input.access_token_ttl),
  );
  const allowCc = errors.check(() =>
    input.allow_client_credentials === undefined
      ? true
      : checkFlag('allow_client_credentials', input.allow_client_credentials),
  );
  const visibility = errors.check(() =>
    input.visibility === undefined ? 'tenant' : checkApiVisibility(input.visibility),
  );
  errors.throwIfAny();
  if (visibility === 'public' && !actor.platformAdmin)
    throw forbidden('Only a platform administrator makes an API public.', 'api_public_forbidden');
  const resourceServers = await checkResourceServers(
    ctx.db,
    actor,
    tenantId,
    input.resource_server_app_ids ?? [],
  );
  if (
    identifier === builtInIdentifier(ctx.config, 'sample') ||
    identifier === builtInIdentifier(ctx.config, 'management')
  )
    throw identifierTaken();
  if (underIssuer(identifier as string, ctx.config.issuer))
    throw invalid(
      'identifier',
      "The identifier names this Clavis server (its issuer URL, or a path under it); use your API's own URI.",
      'api_identifier_invalid',
    );
  const now = ctx.now();
  const row: ApiTable = {
    id: uuid(),
    tenant_id: tenantId,
    identifier: identifier as string,
    name: name as string,
    description: description as string,
    scopes: JSON.stringify(scopes),
    access_token_ttl: ttl ?? null,
    allow_client_credentials: allowCc ? 1 : 0,
    visibility: visibility as ApiVisibility,
    resource_server_app_ids: joinScope(resourceServers),
    built_in: null,
    created_at: now,
    updated_at: now,
  };
  try {
    await inTransaction(ctx.db, async (trx) => {
      // Unique as written (the column's constraint) and as compared (identifierKey): the candidates share
      // the scheme and host, in any case, with any port or path.
      const url = new URL(row.identifier);
      const prefix = `${url.protocol}//${url.hostname.replace(/\.$/, '')}`.replace(/[\\%_]/g, '\\$&');
      const key = identifierKey(row.identifier);
      const near = await trx
        .selectFrom('apis')
        .select('identifier')
        .where(sql<string>`lower(identifier)`, 'like', sql<string>`${`${prefix}%`} escape '\\'`)
        .execute();
      if (near.some((a) => identifierKey(a.identifier) === key)) throw identifierTaken();
      await trx.insertInto('apis').values(row).execute();
      await ctx.changes.announce(trx, 'api', row.id);
      await recordAudit(ctx, trx, {
        type: 'api.created',
        actor: actor.id,
        tenantId,
        data: {
          api_id: row.id,
          identifier: row.identifier,
          name: row.name,
          scopes: (scopes ?? []).map((s) => s.name),
        },
      });
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw identifierTaken();
    throw err;
  }
  await ctx.changes.publish('api', row.id);
  return toApi(row, ctx.config);
}

/** An API the actor administers. @throws DomainError `api_not_found`, `api_manage_forbidden`. */
async function apiToManage(ctx: DomainContext, actor: Actor, id: string): Promise<Api> {
  const api = await getApi(ctx, actor, id);
  if (!canManageApi(actor, api))
    throw forbidden(
      api.built_in
        ? 'The built-in APIs are managed by platform administrators.'
        : "Only admins of the API's tenant manage it.",
      'api_manage_forbidden',
    );
  return api;
}

/**
 * Changes an API. `scopes` replaces the list; removing a scope that apps hold needs `force`, and then takes
 * it from those apps' permissions. The identifier never changes. A built-in API changes only its resource
 * servers. Records `api.updated` with the changed fields and the added and removed scopes.
 *
 * @throws DomainError naming the field (400), `api_scope_in_use` (409), `api_built_in` (409).
 */
export async function updateApi(
  ctx: DomainContext,
  actor: Actor,
  id: string,
  patch: ApiPatch,
  opts: { force?: boolean } = {},
): Promise<Api> {
  const api = await apiToManage(ctx, actor, id);
  if ('identifier' in patch && (patch as { identifier?: unknown }).identifier !== api.identifier)
    throw invalid('identifier', 'An API identifier never changes.', 'api_identifier_immutable');
  if (api.built_in) {
    const other = Object.keys(patch).filter(
      (k) =>
        k !== 'resource_server_app_ids' &&
        k !== 'identifier' &&
        (patch as Record<string, unknown>)[k] !== undefined,
    );
    if (other.length)
      throw conflict(
        `A built-in API changes only its resource servers (not ${other.join(', ')}).`,
        'api_built_in',
      );
  }
  const errors = new FieldErrors();
  const values: Partial<ApiTable> = {};
  const changed: string[] = [];
  const set = <K extends keyof ApiTable>(field: K, value: ApiTable[K], differs: boolean) => {
    if (!differs) return;
    values[field] = value;
    changed.push(field);
  };
  if (patch.name !== undefined) {
    const v = errors.check(() => checkApiName(patch.name));
    if (v !== undefined) set('name', v, v !== api.name);
  }
  if (patch.description !== undefined) {
    const v = errors.check(() => checkApiDescription(patch.description));
    if (v !== undefined) set('description', v, v !== api.description);
  }
  let scopes = api.scopes;
  if (patch.scopes !== undefined) {
    const kept = api.built_in !== null ? 'all' : new Set(api.scopes.map((x) => x.name));
    const v = errors.check(() => checkApiScopes(patch.scopes, kept));
    if (v !== undefined) {
      scopes = v;
      set('scopes', JSON.stringify(v), JSON.stringify(v) !== JSON.stringify(api.scopes));
    }
  }
  if (patch.access_token_ttl !== undefined) {
    const v = errors.check(() => checkApiTtl(patch.access_token_ttl));
    if (v !== undefined) set('access_token_ttl', v, v !== api.access_token_ttl);
  }
  if (patch.allow_client_credentials !== undefined) {
    const v = errors.check(() => checkFlag('allow_client_credentials', patch.allow_client_credentials));
    if (v !== undefined) set('allow_client_credentials', v ? 1 : 0, v !== api.allow_client_credentials);
  }
  if (patch.visibility !== undefined) {
    const v = errors.check(() => checkApiVisibility(patch.visibility));
    if (v !== undefined) set('visibility', v, v !== api.visibility);
  }
  errors.throwIfAny();
  if (values.visibility !== undefined && !actor.platformAdmin)
    throw forbidden(
      'Only a platform administrator changes whether an API is public.',
      'api_public_forbidden',
    );
  if (patch.resource_server_app_ids !== undefined) {
    const v = await checkResourceServers(ctx.db, actor, api.tenant_id, patch.resource_server_app_ids);
    set('resource_server_app_ids', joinScope(v), joinScope(v) !== joinScope(api.resource_server_app_ids));
  }
  if (changed.length === 0) return api;

  const names = new Set(scopes.map((s) => s.name));
  const removed = api.scopes.filter((s) => !names.has(s.name)).map((s) => s.name);
  const added = scopes.filter((s) => !api.scopes.some((o) => o.name === s.name)).map((s) => s.name);
  const touched: Array<{ id: string; client_id: string; tenant_id: string }> = [];
  await inTransaction(ctx.db, async (trx) => {
    if (removed.length) {
      const affected = (await holders(trx, api.id)).filter((h) =>
        splitScope(h.scopes).some((s) => removed.includes(s)),
      );
      if (affected.length && !opts.force)
        throw conflict(
          `${affected.length} app(s) hold a scope this change removes (${removed.join(', ')}); remove it with force to take it from them.`,
          'api_scope_in_use',
        );
      for (const h of affected) {
        const keep = splitScope(h.scopes).filter((s) => !removed.includes(s));
        const keepGranted = splitScope(h.granted_scopes).filter((s) => !removed.includes(s));
        if (keep.length === 0)
          await trx
            .deleteFrom('app_permissions')
            .where('app_id', '=', h.id)
            .where('api_id', '=', api.id)
            .execute();
        else
          await trx
            .updateTable('app_permissions')
            .set({ scopes: joinScope(keep), granted_scopes: joinScope(keepGranted), updated_at: ctx.now() })
            .where('app_id', '=', h.id)
            .where('api_id', '=', api.id)
            .execute();
        await ctx.changes.announce(trx, 'client', h.client_id);
        await recordAudit(ctx, trx, {
          type: 'app_permission.removed',
          actor: actor.id,
          tenantId: h.tenant_id,
          appId: h.id,
          data: { api_id: api.id, identifier: api.identifier, scopes: removed, reason: 'api_scope_removed' },
        });
        touched.push(h);
      }
    }
    await trx
      .updateTable('apis')
      .set({ ...values, updated_at: ctx.now() })
      .where('id', '=', api.id)
      .execute();
    await ctx.changes.announce(trx, 'api', api.id);
    const data: Record<string, unknown> = { api_id: api.id, identifier: api.identifier, fields: changed };
    if (added.length) data.added_scopes = added;
    if (removed.length) data.removed_scopes = removed;
    await recordAudit(ctx, trx, { type: 'api.updated', actor: actor.id, tenantId: api.tenant_id, data });
  });
  await ctx.changes.publish('api', api.id);
  for (const h of touched) await ctx.changes.publish('client', h.client_id);
  return getApi(ctx, actor, api.id);
}

/**
 * Deletes an API. When apps hold permissions for it, `force` is needed, and their permissions go with it.
 * Tokens already issued for it stay valid until they expire. The built-in APIs are never deleted.
 * Records `api.deleted`.
 *
 * @throws DomainError `api_built_in`, `api_in_use` (409).
 */
export async function deleteApi(
  ctx: DomainContext,
  actor: Actor,
  id: string,
  opts: { force?: boolean } = {},
): Promise<void> {
  const api = await apiToManage(ctx, actor, id);
  if (api.built_in) throw conflict('The built-in APIs cannot be deleted.', 'api_built_in');
  const touched: string[] = [];
  await inTransaction(ctx.db, async (trx) => {
    const affected = await holders(trx, api.id);
    if (affected.length && !opts.force)
      throw conflict(
        `${affected.length} app(s) hold permissions for this API; delete it with force to remove them too.`,
        'api_in_use',
      );
    for (const h of affected) {
      await ctx.changes.announce(trx, 'client', h.client_id);
      await recordAudit(ctx, trx, {
        type: 'app_permission.removed',
        actor: actor.id,
        tenantId: h.tenant_id,
        appId: h.id,
        data: {
          api_id: api.id,
          identifier: api.identifier,
          scopes: splitScope(h.scopes),
          reason: 'api_deleted',
        },
      });
      touched.push(h.client_id);
    }
    await trx.deleteFrom('app_permissions').where('api_id', '=', api.id).execute();
    await trx.deleteFrom('apis').where('id', '=', api.id).execute();
    await ctx.changes.announce(trx, 'api', api.id);
    await recordAudit(ctx, trx, {
      type: 'api.deleted',
      actor: actor.id,
      tenantId: api.tenant_id,
      data: { api_id: api.id, identifier: api.identifier, removed_permissions: affected.length },
    });
  });
  await ctx.changes.publish('api', api.id);
  for (const c of touched) await ctx.changes.publish('client', c);
}
