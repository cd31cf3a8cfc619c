import { InvalidRequest } from '../errors.js';
import type { Params } from '../form.js';

/** The `prompt` values of OpenID Connect Core §3.1.2.1. */
export type Prompt = 'none' | 'login' | 'consent' | 'select_account';
const PROMPTS: readonly Prompt[] = ['none', 'login', 'consent', 'select_account'];

/** The one authentication context class this server reports (`acr`), when a request asks for one. */
export const ACR_PASSWORD = '1';

/** The OpenID Connect parameters of an authorization request (OIDC Core §3.1.2.1), checked. */
export interface OidcRequest {
  /** Whether the scope holds `openid`: the request is an OpenID Connect authentication request. */
  openid: boolean;
  prompts: ReadonlySet<Prompt>;
  /** Seconds since the last active sign-in after which the user must sign in again; `null` for no limit. */
  maxAge: number | null;
  nonce: string | null;
  /** Pre-fills the sign-in form's email address. */
  loginHint: string | null;
  /** An ID token this server issued earlier, naming the user the client expects. */
  idTokenHint: string | null;
  /** The `acr` to put in ID tokens: set only when the request had `acr_values`. */
  acr: string | null;
}

function bounded(params: Params, name: string, max: number): string | null {
  const v = params.get(name);
  if (v === undefined) return null;
  if (v.length > max)
    throw new InvalidRequest(`The ${name} parameter is too long (${max} characters at most).`);
  return v;
}

/**
 * Reads and checks the OpenID Connect parameters of an authorization request. `ui_locales` and
 * `claims_locales` are accepted and ignored (the pages have one language). The `claims` parameter is not
 * supported (discovery says `claims_parameter_supported: false`). A well-formed one is ignored and the
 * scopes alone decide the claims: OIDC Core §5.5 makes support optional and says an OP that does not support
 * it "SHOULD return a set of Claims to the RP that it believes would be useful", and no error code is
 * registered for it (unlike `request_not_supported` for request objects), so refusing would break RPs the
 * spec expects to work (the conformance suite's `oidcc-claims-essential`). A malformed one (not a JSON
 * object) is `invalid_request`, like any other unreadable parameter.
 *
 * @throws {InvalidRequest} for a bad `prompt`, `max_age`, `nonce`, `login_hint`, `id_token_hint` or `claims`.
 */
export function parseOidcRequest(params: Params, scope: readonly string[]): OidcRequest {
  const rawPrompt = params.get('prompt');
  const prompts = new Set<Prompt>();
  if (rawPrompt !== undefined) {
    for (const p of rawPrompt.split(' ').filter(Boolean)) {
      if (!(PROMPTS as readonly string[]).includes(p))
        throw new InvalidRequest(
          'The prompt parameter may hold only none, login, consent and select_account.',
        );
      prompts.add(p as Prompt);
    }
    // OIDC Core §3.1.2.1: "If this parameter contains none with any other value, an error is returned."
    if (prompts.has('none') && prompts.size > 1)
      throw new InvalidRequest('prompt=none cannot be combined with other prompt values.');
  }
  const rawMaxAge = params.get('max_age');
  let maxAge: number | null = null;
  if (rawMaxAge !== undefined) {
    if (!/^\d{1,10}$/.test(rawMaxAge))
      throw new InvalidRequest('The max_age parameter must be a number of seconds (0 or more).');
    maxAge = Number(rawMaxAge);
  }
  // OIDC Core §5.5: unsupported, so a well-formed `claims` is read for its shape only and then ignored.
  const claims = params.get('claims');
  if (claims !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(claims);
    } catch {
      parsed = null;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new InvalidRequest('The claims parameter must be a JSON object.');
  }
  return {
    openid: scope.includes('openid'),
    prompts,
    maxAge,
    nonce: bounded(params, 'nonce', 512),
    loginHint: bounded(params, 'login_hint', 320),
    idTokenHint: bounded(params, 'id_token_hint', 8192),
    acr: params.has('acr_values') ? ACR_PASSWORD : null,
  };
}
