import type { AccessTokenClaims, AccessTokens } from './access-token.js';
import type { AuthenticatedClient } from './client-auth.js';
import type { ClientRegistry } from './client-registry.js';
import { InvalidRequest } from './errors.js';
import type { Params } from './form.js';
import type { RevocationList } from './revocation-list.js';

/** RFC 7662 §2.2 response. */
export type IntrospectionResponse =
  | { active: false }
  | ({ active: true; token_type: string } & Record<string, unknown>);

/** Answers for token types other than Clavis access tokens (refresh tokens); `null` means "not mine". */
export type TokenIntrospector = (
  token: string,
  client: AuthenticatedClient,
) => Promise<IntrospectionResponse | null>;

/** Decides whether a verified access token is still live (revocation, app status, user grant). */
export interface AccessTokenLiveness {
  isLive(claims: AccessTokenClaims): Promise<boolean>;
}

/**
 * Checks everything that can end an access token before its `exp`: the `jti` deny-list, the app being
 * disabled or deleted, and (for user tokens) the grant being revoked.
 */
export class DefaultLiveness implements AccessTokenLiveness {
  constructor(
    private readonly revocations: RevocationList,
    private readonly registry: ClientRegistry,
    private readonly grantIsLive: (grantId: string) => Promise<boolean> = async () => true,
  ) {}

  async isLive(claims: AccessTokenClaims): Promise<boolean> {
    const [revoked, client] = await Promise.all([
      this.revocations.isRevoked(claims.jti),
      this.registry.find(claims.client_id),
    ]);
    if (revoked || !client || client.app.status === 'disabled') return false;
    if (claims.gid && !(await this.grantIsLive(claims.gid))) return false;
    return true;
  }
}

/**
 * Token introspection (RFC 7662). Any authenticated confidential client (typically a resource server) may
 * introspect access tokens; other token types are answered by `others` (e.g. refresh tokens, only to their
 * own client). Unknown, expired, revoked and malformed tokens all give `{"active": false}`.
 */
export async function introspect(
  deps: { tokens: AccessTokens; liveness: AccessTokenLiveness; others: readonly TokenIntrospector[] },
  client: AuthenticatedClient,
  params: Params,
): Promise<IntrospectionResponse> {
  const token = params.get('token');
  if (token === undefined) throw new InvalidRequest('The token parameter is required.');
  const claims = await deps.tokens.verify(token);
  if (claims) {
    if (!(await deps.liveness.isLive(claims))) return { active: false };
    return { active: true, token_type: 'Bearer', ...claims };
  }
  for (const other of deps.others) {
    const answer = await other(token, client);
    if (answer) return answer;
  }
  return { active: false };
}
