import type { Config } from '../config/config.js';
import { findApiById, findApiByIdentifier } from '../domain/apis.js';
import { type HeldPermission, heldPermissions } from '../domain/app-permission-store.js';
import type { App } from '../domain/apps.js';
import { getAppByClientId } from '../domain/apps.js';
import { redirectUriMatches } from '../domain/callback-url.js';
import type { DomainContext } from '../domain/context.js';
import { isStandardScope } from '../domain/oidc.js';
import { parseScope } from '../domain/scopes.js';
import { getTenant, type Tenant } from '../domain/tenants.js';
import {
  InvalidRequest,
  InvalidScope,
  type OAuthError,
  RequestNotSupported,
  RequestUriNotSupported,
  UnsupportedResponseType,
} from './errors.js';
import { type Params, parseParams } from './form.js';
import { type OidcRequest, parseOidcRequest } from './oidc/request.js';
import { isValidS256Challenge } from './pkce.js';
import { type ApiLookup, resolveScope, resolveTarget, type TokenTarget, usableScopes } from './resource.js';

/** A validated authorization request (RFC 6749 §4.1.1 + RFC 7636). */
export interface AuthorizationRequest {
  app: App;
  tenant: Tenant;
  redirectUri: string;
  state?: string;
  scope: string[];
  /** The API the request is for (RFC 8707 `resource`, else the default API). */
  target: TokenTarget;
  codeChallenge: string | null;
  /** The OpenID Connect parameters (prompt, max_age, nonce, hints), checked. */
  oidc: OidcRequest;
  /** The raw query string, carried through login and consent. */
  raw: string;
}

export type AuthorizeValidation =
  /** Client or redirect_uri can't be trusted: show an error page, never redirect (RFC 6749 §4.1.2.1). */
  | { kind: 'page'; status: number; title: string; message: string; app?: App; tenant?: Tenant }
  /** A valid client and redirect_uri, but a bad request: redirect back with the error. */
  | { kind: 'redirect'; redirectUri: string; state?: string; error: OAuthError }
  | { kind: 'ok'; request: AuthorizationRequest };

const MAX_QUERY = 8192;

/** Reads a parameter leniently (only when present exactly once), to find where errors may be sent. */
function single(raw: string, name: string): string | undefined {
  const all = new URLSearchParams(raw).getAll(name);
  return all.length === 1 && all[0] !== '' ? all[0] : undefined;
}

/** Where authorization-request validation finds clients and the APIs a `resource` may name. */
export interface AuthorizeClients {
  /** The app registered under `clientId` (deleted apps are not) with its tenant and permissions, or `null`. */
  find(
    clientId: string,
  ): Promise<{ app: App; tenant: Tenant; permissions: ReadonlyMap<string, HeldPermission> } | null>;
  apis: ApiLookup;
  config: Pick<Config, 'apiAudience' | 'issuer' | 'defaultApi'>;
}

/** An {@link ApiLookup} that reads the database (the authorization endpoint is not the hot path). */
export function domainApis(ctx: DomainContext): ApiLookup {
  return { find: (i) => findApiByIdentifier(ctx, i), findById: (id) => findApiById(ctx, id) };
}

/** {@link AuthorizeClients} over the domain's apps and tenants. */
export function domainClients(ctx: DomainContext): AuthorizeClients {
  return {
    async find(clientId) {
      const app = await getAppByClientId(ctx, clientId);
      return (
        app && {
          app,
          tenant: await getTenant(ctx, app.tenant_id),
          permissions: await heldPermissions(ctx.db, app.id),
        }
      );
    },
    apis: domainApis(ctx),
    config: ctx.config,
  };
}

/**
 * Validates an authorization request against the domain's clients (see {@link checkAuthorizationRequest}).
 */
export function validateAuthorizationRequest(ctx: DomainContext, raw: string): Promise<AuthorizeValidation> {
  return checkAuthorizationRequest(domainClients(ctx), raw);
}

/**
 * Validates an authorization request in the order RFC 6749 §4.1.2.1 requires: first the client and its
 * redirect_uri (exact string match; loopback IPs may vary in port), and only then everything else, whose
 * errors go back to the client by redirect.
 */
export async function checkAuthorizationRequest(
  clients: AuthorizeClients,
  raw: string,
): Promise<AuthorizeValidation> {
  if (raw.length > MAX_QUERY)
    return {
      kind: 'page',
      status: 400,
      title: 'Invalid request',
      message: 'The authorization request is too long.',
    };
  const clientId = single(raw, 'client_id');
  if (clientId === undefined)
    return {
      kind: 'page',
      status: 400,
      title: 'Invalid request',
      message:
        'The app sent an authorization request without a single, valid client_id. Contact the app’s developer.',
    };
  const found = clientId.length <= 256 ? await clients.find(clientId) : null;
  if (!found)
    return {
      kind: 'page',
      status: 400,
      title: 'Unknown app',
      message: 'The app that sent you here is not registered with this server (unknown client_id).',
    };
  const { app, tenant, permissions } = found;
  const redirectUri = single(raw, 'redirect_uri');
  if (redirectUri === undefined)
    return {
      kind: 'page',
      status: 400,
      title: 'Invalid request',
      message: 'The app did not say where to send you back (redirect_uri is missing or repeated).',
      app,
      tenant,
    };
  if (!redirectUriMatches(app.callback_url, redirectUri))
    return {
      kind: 'page',
      status: 400,
      title: 'Invalid redirect address',
      message:
        'The redirect_uri does not match the callback URL registered for this app, so you were not sent back to it.',
      app,
      tenant,
    };
  if (app.status === 'disabled')
    return {
      kind: 'page',
      status: 403,
      title: 'App disabled',
      message: 'This app has been disabled.',
      app,
      tenant,
    };

  let params: Params;
  try {
    params = parseParams(raw);
  } catch (err) {
    return { kind: 'redirect', redirectUri, state: single(raw, 'state'), error: err as OAuthError };
  }
  const state = params.get('state');
  const fail = (error: OAuthError): AuthorizeValidation => ({ kind: 'redirect', redirectUri, state, error });

  const responseType = params.get('response_type');
  if (responseType === undefined) return fail(new InvalidRequest('The response_type parameter is required.'));
  if (responseType !== 'code') return fail(new UnsupportedResponseType());
  const responseMode = params.get('response_mode');
  if (responseMode !== undefined && responseMode !== 'query')
    return fail(new InvalidRequest('Only response_mode=query is supported.'));
  // OpenID Connect Core §3.1.2.6 / RFC 9101: the registered codes for unsupported request objects.
  if (params.has('request')) return fail(new RequestNotSupported());
  if (params.has('request_uri')) return fail(new RequestUriNotSupported());

  const challenge = params.get('code_challenge');
  const method = params.get('code_challenge_method');
  if (challenge === undefined) {
    if (method !== undefined)
      return fail(new InvalidRequest('code_challenge_method was sent without code_challenge.'));
    if (app.client_type === 'public')
      return fail(new InvalidRequest('Public clients must use PKCE (code_challenge with S256).'));
  } else {
    // RFC 7636 §4.3: an absent method means "plain", which this server does not accept.
    if (method !== 'S256')
      return fail(new InvalidRequest('Only code_challenge_method=S256 is supported (plain is not).'));
    if (!isValidS256Challenge(challenge))
      return fail(
        new InvalidRequest('The code_challenge is not a valid S256 challenge (43 base64url characters).'),
      );
  }

  let scope: string[];
  let target: TokenTarget;
  let oidc: OidcRequest;
  try {
    target = await resolveTarget({ config: clients.config }, clients.apis, params, app);
    scope = requestScope(target, usableScopes(target, permissions, 'user'), app, params.get('scope'));
    oidc = parseOidcRequest(params, scope);
  } catch (err) {
    return fail(err as OAuthError);
  }

  return {
    kind: 'ok',
    request: {
      app,
      tenant,
      redirectUri,
      state,
      scope,
      target,
      codeChallenge: challenge ?? null,
      oidc,
      raw,
    },
  };
}

/**
 * The scope of an authorization request for `target`. The OpenID Connect standard scopes (`openid`,
 * `profile`, `email`) are about the user at this server, not about an API: every app may ask for them
 * whatever its `resource` (OIDC Core §3.1.2.1, §5.4). They are the built-in sample API's scopes, so a token
 * for that API (the default) carries them to UserInfo; for another API they go into the grant, and so the
 * ID token, while the access token keeps only that API's scopes (RFC 9068 §3). Everything else is the API's
 * rule ({@link resolveScope}); a request with only standard scopes asks for no API scope.
 *
 * @throws {InvalidScope}
 */
function requestScope(
  target: TokenTarget,
  usable: readonly string[],
  app: App,
  raw: string | undefined,
): string[] {
  const parsed = raw === undefined ? [] : parseScope(raw);
  if (parsed === null) throw new InvalidScope('The scope parameter is malformed.');
  const identity = parsed.filter(isStandardScope);
  if (identity.length === 0 || target.api.built_in === 'sample')
    return resolveScope(target, usable, app, raw);
  const rest = parsed.filter((s) => !isStandardScope(s));
  return [...identity, ...(rest.length ? resolveScope(target, usable, app, rest.join(' ')) : [])];
}

/**
 * Builds the redirect back to the client (RFC 6749 §4.1.2), appending to the registered URI's own query
 * string, and always with `iss` (RFC 9207).
 */
export function redirectTo(
  redirectUri: string,
  issuer: string,
  params: Record<string, string | undefined>,
): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.append(k, v);
  q.append('iss', issuer);
  return `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}${q.toString()}`;
}

/** The error redirect for an OAuth error (RFC 6749 §4.1.2.1). */
export function errorRedirect(
  redirectUri: string,
  issuer: string,
  error: OAuthError,
  state?: string,
): string {
  return redirectTo(redirectUri, issuer, { error: error.error, error_description: error.description, state });
}
