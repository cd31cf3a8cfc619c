import type { App } from '../domain/apps.js';
import type { IssuedAccessToken } from './access-token.js';
import type { AuthenticatedClient } from './client-auth.js';
import type { Params } from './form.js';

/** A token endpoint request after parsing and client authentication. */
export interface TokenRequest {
  params: Params;
  client: AuthenticatedClient;
}

/** The RFC 6749 §5.1 success body. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope?: string;
  refresh_token?: string;
  /** OpenID Connect Core §3.1.3.3: when the grant's scope holds `openid`. */
  id_token?: string;
}

/** One grant type's logic (RFC 6749 §4). */
export interface GrantHandler {
  /** Whether a public client (no secret) may use this grant. */
  allowPublicClients: boolean;
  handle(request: TokenRequest): Promise<TokenResponse>;
}

/** The RFC 6749 §5.1 success body for an issued access token, with a refresh token when the grant issued one. */
export function tokenResponse(issued: IssuedAccessToken, refreshToken?: string): TokenResponse {
  const body: TokenResponse = {
    access_token: issued.token,
    token_type: 'Bearer',
    expires_in: issued.expiresIn,
    scope: issued.claims.scope,
  };
  if (refreshToken !== undefined) body.refresh_token = refreshToken;
  return body;
}

/**
 * Whether a user grant (authorization code, device code) issues a refresh token to `app`: only when the app
 * may use the refresh grant (its `grant_types`, RFC 7591 §2), since a refresh token it could never redeem
 * would only be a live secret to leak (RFC 6749 §1.5: issuing one is optional).
 */
export function issuesRefreshTokens(app: Pick<App, 'grant_types'>): boolean {
  return allowsGrant(app, 'refresh_token');
}

/** Whether `app` may use the grant type `type` (its `grant_types`, RFC 7591 §2): the one check. */
export function allowsGrant(app: Pick<App, 'grant_types'>, type: string): boolean {
  return (app.grant_types as readonly string[]).includes(type);
}
