import { BUILT_IN_API_IDS } from '../domain/apis.js';
import type { DomainContext } from '../domain/context.js';
import { createAuthorizationCode, type NewCode } from '../domain/grant-store.js';
import { authorizationProblem, consentCovers, consentedScopes, rememberConsent } from '../domain/grants.js';
import { isStandardScope } from '../domain/oidc.js';
import { scopeDescriptions } from '../domain/scopes.js';
import { getTenant } from '../domain/tenants.js';
import type { User } from '../domain/users.js';
import { type AuthorizationRequest, errorRedirect, redirectTo } from './authorize.js';
import { AccessDenied, ConsentRequired } from './errors.js';
import type { IdTokenHint } from './oidc/id-token.js';
import { afterSignIn, checkSignIn } from './oidc/prompt.js';
import type { ApiLookup } from './resource.js';

/** What the authorization decision needs from storage; {@link authorizeStore} is the domain's. */
export interface AuthorizeStore {
  consentedScopes(userId: string, appId: string): Promise<string[] | null>;
  rememberConsent(userId: string, appId: string, scopes: string[]): Promise<void>;
  issueCode(input: NewCode): Promise<string>;
  scopeDescriptions(names: readonly string[]): Promise<Map<string, string>>;
  tenantName(tenantId: string): Promise<string>;
}

/** The {@link AuthorizeStore} over the domain's consents, grants, scope catalogue and tenants. */
export function authorizeStore(ctx: DomainContext): AuthorizeStore {
  return {
    consentedScopes: (userId, appId) => consentedScopes(ctx, userId, appId),
    rememberConsent: (userId, appId, scopes) => rememberConsent(ctx, userId, appId, scopes),
    issueCode: (input) => createAuthorizationCode(ctx, input),
    scopeDescriptions: (names) => scopeDescriptions(ctx, names),
    tenantName: async (tenantId) => (await getTenant(ctx, tenantId)).name,
  };
}

export interface AuthorizeDeps {
  store: AuthorizeStore;
  issuer: string;
  /** Where the consent page finds the APIs a request draws scopes from (default: none beyond its own). */
  apis?: ApiLookup;
  /** Verifies an `id_token_hint` (OIDC Core §3.1.2.1); without it every hint is refused. */
  verifyHint?: (token: string) => Promise<IdTokenHint | null>;
  /** The clock for `max_age`. */
  now?: () => number;
}

/** The signed-in user of a browser session, if any. */
export interface SignedIn {
  user: User;
  /** When the user signed in (epoch ms). */
  authTime: number;
  /** The session's OIDC `sid`. */
  sid?: string;
}

/** What the authorization endpoint does next with a valid request; the route renders or redirects. */
export type AuthorizeOutcome =
  /** Show the sign-in form, which returns to `returnTo`, its email pre-filled with `loginHint`. */
  | { kind: 'login'; returnTo: string; loginHint?: string }
  /**
   * `prompt=select_account` with a session: ask whether to continue as `user` or use another account; either
   * answer goes on with `request` (the request's query without the prompt), after a sign-out for another
   * account.
   */
  | { kind: 'select_account'; user: User; request: string }
  /** Ask the user to consent to `scopes` (each with its API's description), shown grouped by API. */
  | {
      kind: 'consent';
      /** Who is asked. */
      user: User;
      scopes: Array<{ name: string; description: string }>;
      /** The same scopes grouped by the API they belong to, each API with its name. */
      groups: ConsentGroup[];
      /** The name of the signed-in user's own organisation. */
      tenantName: string;
    }
  /** Send the browser back to the client (a code or an error). */
  | { kind: 'redirect'; location: string }
  /** Tell the user why not, with a link back to the client carrying `access_denied`. */
  | {
      kind: 'page';
      status: 403;
      title: string;
      message: string;
      link: { href: string; label: string };
    };

type Redirect = Extract<AuthorizeOutcome, { kind: 'redirect' }>;

/** The scopes of one API on the consent page. */
export interface ConsentGroup {
  api: { id: string; name: string; identifier: string };
  scopes: Array<{ name: string; description: string }>;
}

/**
 * The consent page's scopes grouped by API, in the order asked, with the APIs' own descriptions. The OpenID
 * Connect standard scopes asked beside another API's are shown under the built-in sample API, whose scopes
 * they are (see authorize.ts).
 */
export async function consentGroups(
  req: Pick<AuthorizationRequest, 'target' | 'scope'>,
  apis: ApiLookup,
): Promise<ConsentGroup[]> {
  const groups = new Map<string, ConsentGroup>();
  const apiIds = [...req.target.apiIds];
  if (req.scope.some((s) => isStandardScope(s) && !req.target.catalogue.has(s)))
    apiIds.push(BUILT_IN_API_IDS.sample);
  for (const apiId of apiIds) {
    const api = apiId === req.target.api.id ? req.target.api : await apis.findById(apiId);
    if (!api) continue;
    const own = new Map(api.scopes.map((s) => [s.name, s.description]));
    const scopes = req.scope
      .filter((s) => own.has(s))
      .map((s) => ({ name: s, description: req.target.catalogue.get(s)?.description || own.get(s) || s }));
    if (scopes.length)
      groups.set(api.id, { api: { id: api.id, name: api.name, identifier: api.identifier }, scopes });
  }
  return [...groups.values()];
}

/**
 * How a consent is remembered: the scope names of the built-in APIs as they always were; a custom API's
 * scopes qualified by its ID (`<api id>#<scope>`), since two APIs may both have a scope called `read`.
 */
export function consentKeys(req: Pick<AuthorizationRequest, 'target'>, scopes: readonly string[]): string[] {
  const api = req.target.api;
  return api.built_in ? [...scopes] : scopes.map((s) => `${api.id}#${s}`);
}

const refusal = () => new AccessDenied('The user may not authorize this app.');

async function issueCode(
  deps: AuthorizeDeps,
  req: AuthorizationRequest,
  signedIn: SignedIn,
  scope: string[] = req.scope,
): Promise<Redirect> {
  const code = await deps.store.issueCode({
    app: req.app,
    user: signedIn.user,
    scope,
    apiId: req.target.api.built_in === 'sample' ? null : req.target.api.id,
    redirectUri: req.redirectUri,
    codeChallenge: req.codeChallenge,
    authTime: signedIn.authTime,
    oidc: req.oidc.openid
      ? { nonce: req.oidc.nonce, sid: signedIn.sid ?? null, acr: req.oidc.acr }
      : undefined,
  });
  return { kind: 'redirect', location: redirectTo(req.redirectUri, deps.issuer, { code, state: req.state }) };
}

/**
 * Decides a validated authorization request (GET /oauth/authorize): sign-in first, when there is none or
 * `prompt`, `max_age` or `id_token_hint` ask for a new one (`login_required` for `prompt=none`), or the
 * account chooser for `prompt=select_account` with a session, then refuse
 * users who may not authorize this app, skip consent when it is remembered (confidential clients only), else
 * ask for consent (or `consent_required` for `prompt=none`).
 */
export async function decideAuthorization(
  deps: AuthorizeDeps,
  req: AuthorizationRequest,
  signedIn: SignedIn | null,
): Promise<AuthorizeOutcome> {
  const { issuer } = deps;
  const none = req.oidc.prompts.has('none');
  const hint =
    req.oidc.idTokenHint !== null && deps.verifyHint ? await deps.verifyHint(req.oidc.idTokenHint) : null;
  const check = checkSignIn(
    req.oidc,
    req.app.client_id,
    signedIn && { userId: signedIn.user.id, authTime: signedIn.authTime },
    (deps.now ?? Date.now)(),
    hint,
  );
  if (check.kind === 'error')
    return { kind: 'redirect', location: errorRedirect(req.redirectUri, issuer, check.error, req.state) };
  if (check.kind === 'login' || !signedIn)
    // The sign-in form returns to the request without max_age and prompt=login: they are honoured once.
    return {
      kind: 'login',
      returnTo: `/oauth/authorize?${afterSignIn(req.raw)}`,
      loginHint: req.oidc.loginHint ?? undefined,
    };
  if (check.kind === 'select_account')
    return { kind: 'select_account', user: signedIn.user, request: afterSignIn(req.raw) };
  const problem = authorizationProblem(req.app, signedIn.user);
  // prompt=none must never show a page (OIDC Core §3.1.2.1): the refusal goes straight back to the client.
  if (problem && none)
    return { kind: 'redirect', location: errorRedirect(req.redirectUri, issuer, refusal(), req.state) };
  if (problem)
    // Otherwise the user learns why, and the link returns to the app with access_denied (RFC 6749 §4.1.2.1).
    return {
      kind: 'page',
      status: 403,
      title: 'You can’t use this app',
      message: problem,
      link: {
        href: errorRedirect(req.redirectUri, issuer, refusal(), req.state),
        label: `Return to ${req.app.name}`,
      },
    };
  // A public client can't prove who it is, so its consent is never remembered (RFC 9700 §4.1.x / OAuth 2.1 §7.x).
  const remembered =
    req.app.client_type === 'confidential' &&
    !req.oidc.prompts.has('consent') &&
    consentCovers(
      await deps.store.consentedScopes(signedIn.user.id, req.app.id),
      consentKeys(req, req.scope),
    );
  if (remembered) return issueCode(deps, req, signedIn);
  if (none)
    return {
      kind: 'redirect',
      location: errorRedirect(req.redirectUri, issuer, new ConsentRequired(), req.state),
    };
  const groups = await consentGroups(
    req,
    deps.apis ?? { find: async () => null, findById: async () => null },
  );
  const text = new Map(groups.flatMap((g) => g.scopes.map((s) => [s.name, s.description] as const)));
  const missing = req.scope.filter((s) => !text.has(s));
  if (missing.length) for (const [k, v] of await deps.store.scopeDescriptions(missing)) text.set(k, v);
  return {
    kind: 'consent',
    user: signedIn.user,
    scopes: req.scope.map((s) => ({ name: s, description: text.get(s) ?? s })),
    groups,
    tenantName: await deps.store.tenantName(signedIn.user.tenant_id),
  };
}

/**
 * Decides the consent form's answer (POST /oauth/authorize/decision) for a validated request: anything but
 * `allow` from a user who may authorize the app is `access_denied` (RFC 6749 §4.1.2.1); an allowed request
 * gets a code, and a confidential client's consent is remembered. `chosen`, when the form let the user pick
 * scopes one by one, narrows the grant to those (RFC 6749 §3.3: the server may grant less than asked).
 */
export async function decideConsent(
  deps: AuthorizeDeps,
  req: AuthorizationRequest,
  signedIn: SignedIn,
  decision: string | undefined,
  chosen?: ReadonlySet<string>,
): Promise<Redirect> {
  const problem = authorizationProblem(req.app, signedIn.user);
  if (problem || decision !== 'allow') {
    const error = problem ? refusal() : new AccessDenied('The user denied the request.');
    return { kind: 'redirect', location: errorRedirect(req.redirectUri, deps.issuer, error, req.state) };
  }
  const scope = chosen ? req.scope.filter((s) => chosen.has(s)) : req.scope;
  if (req.app.client_type === 'confidential')
    await deps.store.rememberConsent(signedIn.user.id, req.app.id, consentKeys(req, scope));
  return issueCode(deps, req, signedIn, scope);
}
