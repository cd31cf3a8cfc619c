import type { AccessTokens } from './access-token.js';
import {
  type AuthenticatedClient,
  authenticateClient,
  type ClientAuthDeps,
  type ClientAuthGuard,
} from './client-auth.js';
import { InvalidRequest } from './errors.js';
import type { Params } from './form.js';
import type { RevocationList } from './revocation-list.js';

/** Revokes another token type (refresh tokens) if the token is one and belongs to `client`; true if handled. */
export type TokenRevoker = (token: string, client: AuthenticatedClient) => Promise<boolean>;

export interface RevocationDeps extends ClientAuthDeps {
  tokens: AccessTokens;
  revocations: RevocationList;
  /** Revoke token types other than access tokens, in order. */
  revokers: readonly TokenRevoker[];
}

/**
 * Token revocation (RFC 7009). Confidential clients authenticate; public clients identify themselves by
 * client_id (§2.1). The response is 200 whether or not the token was known (§2.2); a token that belongs to
 * another client is left alone. A revoked access token's `jti` goes on the deny-list until it expires, so
 * introspection and Clavis's own API refuse it at once.
 */
export async function revoke(
  deps: RevocationDeps,
  authorization: string | undefined,
  params: Params,
  guard?: ClientAuthGuard,
): Promise<void> {
  const client = await authenticateClient(deps, authorization, params, { allowPublic: true, guard });
  const token = params.get('token');
  if (token === undefined) throw new InvalidRequest('The token parameter is required.');
  const claims = await deps.tokens.verify(token, 'any');
  if (claims) {
    if (claims.client_id === client.app.client_id) await deps.revocations.revoke(claims.jti, claims.exp);
    return;
  }
  for (const other of deps.revokers) if (await other(token, client)) return;
}
