import { InvalidRequest, LoginRequired, type OAuthError } from '../errors.js';
import type { IdTokenHint } from './id-token.js';
import type { OidcRequest } from './request.js';

/**
 * Whether the request can go on with the current sign-in, needs a new one, must first let the user choose
 * the account (`prompt=select_account` with a session), or must fail.
 */
export type SignInCheck =
  | { kind: 'ok' }
  | { kind: 'login' }
  | { kind: 'select_account' }
  | { kind: 'error'; error: OAuthError };

/**
 * The `prompt` values a sign-in (or the account chooser) satisfies: the return address drops them, so they
 * ask once (no loop).
 */
const SATISFIED_BY_SIGN_IN = ['login', 'select_account'];

/**
 * The authorization request's query for the sign-in form to return to: without `max_age` and without the
 * `prompt` values a sign-in satisfies (`login`, `select_account`). `prompt=consent` stays: the user must
 * still be asked (OIDC Core §3.1.2.1), even when a consent is remembered.
 */
export function afterSignIn(raw: string): string {
  const out: string[] = [];
  for (const p of raw.split('&')) {
    const name = p.split('=', 1)[0]!;
    if (name === 'max_age') continue;
    if (name === 'prompt') {
      const values = (new URLSearchParams(p).get('prompt') ?? '')
        .split(' ')
        .filter((v) => v && !SATISFIED_BY_SIGN_IN.includes(v));
      if (values.length) out.push(new URLSearchParams({ prompt: values.join(' ') }).toString());
      continue;
    }
    out.push(p);
  }
  return out.join('&');
}

/**
 * Decides whether the signed-in user (if any) may be used for this request (OIDC Core §3.1.2.1, §3.1.2.3):
 * a sign-in is needed with no session, with `prompt=login`, when the sign-in is older than `max_age`
 * (`max_age=0` always asks), or when `id_token_hint` names another user. With `prompt=none` a needed sign-in
 * is `login_required`. A hint this server did not issue to this client is `invalid_request`.
 *
 * `prompt=select_account` "SHOULD prompt the End-User to select a user account" (§3.1.2.1): a browser holds
 * one Clavis session, so with one the user chooses between continuing as that account and signing in with
 * another (the account chooser); with none the sign-in form is where the account is chosen. (With
 * `prompt=none` it never gets here: `none` with any other value is `invalid_request`.)
 *
 * @param hint The verified `id_token_hint` (`null` when it did not verify); ignored without one.
 */
export function checkSignIn(
  oidc: OidcRequest,
  clientId: string,
  signedIn: { userId: string; authTime: number } | null,
  now: number,
  hint: IdTokenHint | null,
): SignInCheck {
  if (oidc.idTokenHint !== null && !hint?.aud.includes(clientId))
    return {
      kind: 'error',
      error: new InvalidRequest('The id_token_hint is not an ID token this server issued to this client.'),
    };
  const tooOld =
    signedIn !== null &&
    oidc.maxAge !== null &&
    (oidc.maxAge === 0 || now - signedIn.authTime > oidc.maxAge * 1000);
  const otherUser = signedIn !== null && hint !== null && hint.sub !== signedIn.userId;
  const needed = !signedIn || oidc.prompts.has('login') || tooOld || otherUser;
  if (!needed) return oidc.prompts.has('select_account') ? { kind: 'select_account' } : { kind: 'ok' };
  // OIDC Core §3.1.2.1: prompt=none must never show a page.
  if (oidc.prompts.has('none')) return { kind: 'error', error: new LoginRequired() };
  return { kind: 'login' };
}
