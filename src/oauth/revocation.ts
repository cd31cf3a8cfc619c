import type { AccessTokens } from './access-token.js';
import type { AuthenticatedClient } from './client-auth.js';
import { InvalidRequest } from './errors.js';
import type { Params } from './form.js';
import type { RevocationList } from './revocation-list.js';

/** Revokes another token type (refresh tokens) if the token is one and belongs to `client`; true if handled. */
export type TokenRevoker = (token: string, client: AuthenticatedClient) => Promise<boolean>;

/**
 * Token revocation (RFC 7009). The response is 200 whether or not the token was known (§2.2); a token that
 * belongs to another client is left alone. A revoked access token's `jti` goes on the deny-list until it
 * expires, so introspection and Clavis's own API refuse it at once.
 */
export async function revoke(
  deps: { tokens: AccessTokens; revocations: RevocationList; others: readonly TokenRevoker[] },
  client: AuthenticatedClient,
  params: Params,
): Promise<void> {
  const token = params.get('token');
  if (token === undefined) throw new InvalidRequest('The token parameter is required.');
  const claims = await deps.tokens.verify(token);
  if (claims) {
    if (claims.client_id === client.app.client_id) await deps.revocations.revoke(claims.jti, claims.exp);
    return;
  }
  for (const other of deps.others) if (await other(token, client)) return;
}
