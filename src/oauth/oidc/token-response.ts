import type { App } from '../../domain/apps.js';
import type { StoredGrant } from '../../domain/grant-store.js';
import type { TokenResponse } from '../grant.js';
import type { IdTokens } from './id-token.js';

/**
 * Adds an ID token to a token response when the grant's scope holds `openid` (OIDC Core §3.1.3.3; on
 * refresh, §12.2): signed with the app's `id_token_signed_response_alg`, `sub` and `auth_time` from the grant,
 * `at_hash` of the access token beside it, and the `nonce` only when given (a code exchange, never a refresh).
 */
export async function withIdToken(
  body: TokenResponse,
  idTokens: IdTokens,
  input: { app: App; grant: StoredGrant; scope: readonly string[]; nonce?: string | null },
): Promise<TokenResponse> {
  if (!input.scope.includes('openid')) return body;
  body.id_token = await idTokens.issue({
    clientId: input.app.client_id,
    alg: input.app.id_token_signed_response_alg,
    sub: input.grant.userId,
    authTime: input.grant.authTime,
    nonce: input.nonce,
    sid: input.grant.sid,
    acr: input.grant.acr,
    accessToken: body.access_token,
  });
  return body;
}
