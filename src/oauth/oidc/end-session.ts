import type { App } from '../../domain/apps.js';
import type { Params } from '../form.js';
import type { IdTokenHint } from './id-token.js';

/** What the end-session endpoint does with a request (OpenID Connect RP-Initiated Logout 1.0 §2–§3). */
export type EndSessionDecision =
  /** Nothing can be trusted: an error page, never a redirect. */
  | { kind: 'error'; title: string; message: string }
  /** Ask the signed-in user whether to sign out (no hint, or a hint for someone else). */
  | { kind: 'confirm'; app: App | null; carry: Record<string, string> }
  /** Sign out (when signed in), then go to `redirect` (a registered URI with `state`) or show a page. */
  | { kind: 'logout'; app: App | null; redirect: string | null };

export interface EndSessionDeps {
  verifyHint(token: string): Promise<IdTokenHint | null>;
  findApp(clientId: string): Promise<App | null>;
}

const bad = (message: string): EndSessionDecision => ({
  kind: 'error',
  title: 'Cannot sign out here',
  message,
});

/**
 * Decides an RP-initiated logout request. The client is named by `id_token_hint` (its `aud`) or
 * `client_id` (which must agree); a `post_logout_redirect_uri` must equal the one that client registered,
 * exactly, or nothing redirects (§3.1). The user is signed out without a question only when the hint names
 * the signed-in user (§2: otherwise the OP asks); with no session there is nothing to end.
 *
 * @param confirmed The signed-in user said yes on the confirmation page.
 */
export async function decideEndSession(
  deps: EndSessionDeps,
  params: Params,
  session: { userId: string } | null,
  confirmed: boolean,
): Promise<EndSessionDecision> {
  const rawHint = params.get('id_token_hint');
  let hint: IdTokenHint | null = null;
  if (rawHint !== undefined) {
    hint = await deps.verifyHint(rawHint);
    if (!hint) return bad('The id_token_hint is not an ID token issued by this server.');
  }
  let clientId = params.get('client_id');
  if (hint) {
    if (clientId !== undefined && !hint.aud.includes(clientId))
      return bad('The client_id does not match the id_token_hint.');
    clientId ??= hint.aud[0];
  }
  const app = clientId !== undefined && clientId.length <= 256 ? await deps.findApp(clientId) : null;
  if (clientId !== undefined && !app)
    return bad('The app that sent you here is not registered (unknown client_id).');

  const uri = params.get('post_logout_redirect_uri');
  let redirect: string | null = null;
  if (uri !== undefined) {
    if (!app) return bad('A post_logout_redirect_uri needs the app named, by id_token_hint or client_id.');
    if (app.post_logout_redirect_uri === null || app.post_logout_redirect_uri !== uri)
      return bad(
        'The post_logout_redirect_uri is not the one registered for this app, so you were not sent there.',
      );
    const state = params.get('state');
    redirect =
      state === undefined
        ? uri
        : `${uri}${uri.includes('?') ? '&' : '?'}${new URLSearchParams({ state }).toString()}`;
  }
  if (!session || confirmed || (hint !== null && hint.sub === session.userId))
    return { kind: 'logout', app, redirect };
  const carry: Record<string, string> = {};
  if (app) carry.client_id = app.client_id;
  if (uri !== undefined) carry.post_logout_redirect_uri = uri;
  const state = params.get('state');
  if (state !== undefined) carry.state = state;
  return { kind: 'confirm', app, carry };
}
