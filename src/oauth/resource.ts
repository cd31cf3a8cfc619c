import type { Config } from '../config/config.js';
import type { Api, ApiScope } from '../domain/apis.js';
import { apiVisibleToTenant, BUILT_IN_API_IDS, builtInIdentifier } from '../domain/apis.js';
import type { HeldPermission } from '../domain/app-permission-store.js';
import type { App } from '../domain/apps.js';
import { isStandardScope } from '../domain/oidc.js';
import { parseScope } from '../domain/scopes.js';
import { InvalidGrant, InvalidScope, InvalidTarget } from './errors.js';
import type { Params } from './form.js';

/** Where the protocol finds APIs: the token endpoint's cached {@link ApiRegistry}, or the database. */
export interface ApiLookup {
  find(identifier: string): Promise<Api | null>;
  findById(id: string): Promise<Api | null>;
}

/**
 * The API a token is for, with what its scopes mean. The built-in sample API is the audience every token had
 * before APIs existed, and such a token could carry the management scopes too: so the sample API's target
 * also draws on the management API's permissions and scopes (`apiIds`), and an app's `default_scopes`
 * apply to it, exactly as before.
 */
export interface TokenTarget {
  api: Api;
  /** The APIs whose permissions and scopes the token draws on (the API, and for the sample API the management API). */
  apiIds: string[];
  /** Every scope the token may carry, by name, with its API's rules. */
  catalogue: ReadonlyMap<string, ApiScope>;
}

/** Who asks for a token: the grant types' rules for usable scopes. */
export type TokenFlow = 'client_credentials' | 'user';

/**
 * The resource a request names (RFC 8707 §2: `resource`, repeatable; `audience`, as Auth0-style clients send
 * it, read the same way). One audience per token (RFC 9068 §3): two different values are `invalid_target`.
 *
 * @throws {InvalidTarget}
 */
export function requestedResource(params: Params): string | undefined {
  const values = new Set([...params.getAll('resource'), ...params.getAll('audience')]);
  if (values.size > 1)
    throw new InvalidTarget('A token is for one API: name one resource (or audience) per request.');
  return values.values().next().value;
}

/**
 * Targets already built, per API object. The registry hands out the same objects until any API changes (then
 * it loads new ones), so a target is built once per catalogue load instead of once per token request; objects
 * read straight from the database are new each time and simply miss.
 */
const targets = new WeakMap<Api, { management: Api | null; target: TokenTarget }>();

/** The target for an API. */
export async function targetFor(apis: ApiLookup, api: Api): Promise<TokenTarget> {
  const management = api.built_in === 'sample' ? await apis.findById(BUILT_IN_API_IDS.management) : null;
  const cached = targets.get(api);
  if (cached && cached.management === management) return cached.target;
  const all = management ? [api, management] : [api];
  const catalogue = new Map<string, ApiScope>();
  for (const a of all) for (const s of a.scopes) if (!catalogue.has(s.name)) catalogue.set(s.name, s);
  const target = { api, apiIds: all.map((a) => a.id), catalogue };
  targets.set(api, { management, target });
  return target;
}

/**
 * Resolves the API a request is for: the one its `resource` names, else the default API
 * (`CLAVIS_DEFAULT_API`, else the built-in sample API at `CLAVIS_API_AUDIENCE`). An unknown identifier, or
 * one of another tenant's APIs that is not public, is `invalid_target` (RFC 8707 §2), never a token
 * silently issued for another audience.
 *
 * @throws {InvalidTarget}
 */
export async function resolveTarget(
  ctx: { config: Pick<Config, 'apiAudience' | 'issuer' | 'defaultApi'> },
  apis: ApiLookup,
  params: Params,
  app: Pick<App, 'tenant_id'>,
): Promise<TokenTarget> {
  const named = requestedResource(params);
  const identifier = named ?? ctx.config.defaultApi ?? builtInIdentifier(ctx.config, 'sample');
  const api = identifier.length <= 500 ? await apis.find(identifier) : null;
  if (!api || !apiVisibleToTenant(api, app.tenant_id))
    throw new InvalidTarget(
      named === undefined
        ? 'The default API of this server does not exist; name one with the resource parameter.'
        : 'The resource is not an API this client may ask tokens for.',
    );
  return targetFor(apis, api);
}

/**
 * The scopes of the target an app may have in a token: for client_credentials the granted ones; for a
 * user's authorization every scope it holds except, while its permission is pending, those the API marks
 * `admin_consent_required`, and the OpenID Connect standard scopes the API has (the built-in sample API, the
 * default one: every app may sign users in, OIDC Core §3.1.2.1, §5.4). Only scopes the API still has count.
 */
export function usableScopes(
  target: TokenTarget,
  permissions: ReadonlyMap<string, HeldPermission>,
  flow: TokenFlow,
): string[] {
  const out: string[] = [];
  for (const apiId of target.apiIds) {
    const held = permissions.get(apiId);
    if (!held) continue;
    for (const s of held.scopes) {
      const scope = target.catalogue.get(s);
      if (!scope) continue;
      // OpenID Connect's scopes ask for a user's identity (OIDC Core §5.4); a client_credentials token has no
      // user, so they are never in one (the UserInfo endpoint would have no one to describe).
      if (flow === 'client_credentials' && isStandardScope(s)) continue;
      const granted = held.granted.includes(s);
      if (granted || (flow === 'user' && !scope.admin_consent_required)) out.push(s);
    }
  }
  if (flow === 'user')
    for (const s of target.catalogue.keys()) if (isStandardScope(s) && !out.includes(s)) out.push(s);
  return out;
}

/**
 * Resolves a request's `scope` parameter for a target (RFC 6749 §3.3). Omitted: for the sample API the app's
 * default scopes (as before APIs existed), for the management API its default scopes there (else all usable
 * ones), for any other API every usable scope. A scope the API does not have, or one the app may not use,
 * is `invalid_scope`.
 *
 * @throws {InvalidScope}
 */
export function resolveScope(
  target: TokenTarget,
  usable: readonly string[],
  app: Pick<App, 'default_scopes'>,
  raw: string | undefined,
  flow: TokenFlow = 'user',
): string[] {
  const requested = raw === undefined ? [] : parseScope(raw);
  if (requested === null) throw new InvalidScope('The scope parameter is malformed.');
  if (requested.length === 0) {
    if (target.api.built_in === null) {
      // RFC 6749 §3.3: without `scope` the server uses a default or fails with invalid_scope. The default is
      // every usable scope; when there is none, a token naming the API but granting nothing would still pass
      // a resource server that checks only `aud`, so the request fails instead.
      if (usable.length === 0)
        throw new InvalidScope(
          `This client holds no usable scope of the API ${target.api.identifier} (a pending permission needs a tenant admin's grant).`,
        );
      return [...usable];
    }
    const defaults = app.default_scopes.filter((s) => usable.includes(s));
    if (target.api.built_in === 'sample') return defaults;
    return defaults.length ? defaults : [...usable];
  }
  const unknown = requested.filter((s) => !target.catalogue.has(s));
  if (unknown.length && target.api.built_in === null)
    throw new InvalidScope(`The API ${target.api.identifier} has no scope ${unknown.join(', ')}.`);
  if (requested.some((s) => !usable.includes(s)))
    throw new InvalidScope(
      flow === 'client_credentials' && requested.some(isStandardScope)
        ? 'The scopes openid, profile and email are for a user; a client_credentials token has none.'
        : 'The requested scope exceeds the scopes this client is allowed.',
    );
  return requested;
}

/**
 * The target of a token request made with a user grant (code exchange, refresh): the API the grant is for,
 * or, when the request names another `resource`, that API if the grant covers it (RFC 8707 §2.2: the
 * sample API's grants cover the management API's scopes they hold). Anything else is `invalid_target`; a
 * grant whose API was deleted is `invalid_grant`.
 *
 * @throws {InvalidTarget} {InvalidGrant}
 */
export async function targetForGrant(
  apis: ApiLookup,
  grantApiId: string | null,
  params: Params,
): Promise<TokenTarget> {
  const named = requestedResource(params);
  const api = await apis.findById(grantApiId ?? BUILT_IN_API_IDS.sample);
  if (!api) throw new InvalidGrant('The API this authorization was for no longer exists.');
  const target = await targetFor(apis, api);
  if (named === undefined || named === api.identifier) return target;
  const other = named.length <= 500 ? await apis.find(named) : null;
  if (other && target.apiIds.includes(other.id)) return targetFor(apis, other);
  throw new InvalidTarget('The authorization does not cover that resource.');
}

/** The scopes of a user grant a token for `target` may carry now: those still usable and of the target. */
export function grantScopes(
  target: TokenTarget,
  granted: readonly string[],
  permissions: ReadonlyMap<string, HeldPermission>,
): string[] {
  const usable = new Set(usableScopes(target, permissions, 'user'));
  return granted.filter((s) => usable.has(s));
}
