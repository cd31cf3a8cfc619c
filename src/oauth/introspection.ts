import type { Api } from '../domain/apis.js';
import type { AccessTokenClaims, AccessTokens } from './access-token.js';
import {
  type AuthenticatedClient,
  authenticateClient,
  type ClientAuthDeps,
  type ClientAuthGuard,
} from './client-auth.js';
import type { ClientRegistry } from './client-registry.js';
import { InvalidRequest } from './errors.js';
import type { Params } from './form.js';
import type { ApiLookup } from './resource.js';
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

export interface IntrospectionDeps extends ClientAuthDeps {
  tokens: AccessTokens;
  liveness: AccessTokenLiveness;
  /** Where the API a token is for (its `aud`) is found. */
  apis: ApiLookup;
  /** Answer for token types other than access tokens, in order. */
  introspectors: readonly TokenIntrospector[];
}

/**
 * Who may learn that an access token is active: the client it was issued to, and the apps its API names as
 * its resource servers (`resource_server_app_ids`: RFC 7662 §2.1, the caller is a protected resource).
 * Anyone else is told `active: false`, as RFC 7662 §2.2 allows ("the authorization server MAY respond
 * differently to different protected resources").
 */
export function mayIntrospect(
  client: AuthenticatedClient,
  claims: AccessTokenClaims,
  api: Pick<Api, 'resource_server_app_ids'>,
): boolean {
  return claims.client_id === client.app.client_id || api.resource_server_app_ids.includes(client.app.id);
}

/**
 * Token introspection (RFC 7662). Authenticated confidential clients (typically resource servers) may
 * introspect access tokens (§2.1: the endpoint requires authorization; public clients have none to give), but
 * only their own and those of the APIs they serve ({@link mayIntrospect}); other token types are answered by
 * the `introspectors` (e.g. refresh tokens, only to their own client). Unknown, expired, revoked, malformed
 * and other APIs' tokens all give `{"active": false}`.
 */
export async function introspect(
  deps: IntrospectionDeps,
  authorization: string | undefined,
  params: Params,
  guard?: ClientAuthGuard,
): Promise<IntrospectionResponse> {
  const client = await authenticateClient(deps, authorization, params, { allowPublic: false, guard });
  const token = params.get('token');
  if (token === undefined) throw new InvalidRequest('The token parameter is required.');
  const claims = await deps.tokens.verify(token, 'any');
  if (claims) {
    const api = await deps.apis.find(claims.aud as string);
    if (
      !api ||
      !deps.tokens.withinLifetime(claims, api.access_token_ttl) ||
      !mayIntrospect(client, claims, api) ||
      !(await deps.liveness.isLive(claims))
    )
      return { active: false };
    return { active: true, token_type: 'Bearer', ...claims };
  }
  for (const other of deps.introspectors) {
    const answer = await other(token, client);
    if (answer) return answer;
  }
  return { active: false };
}
