import type { DomainContext } from '../../domain/context.js';
import {
  findDeviceCode,
  recordDevicePoll,
  redeemDeviceCode,
  SLOW_DOWN_STEP_S,
} from '../../domain/device-codes.js';
import { grantUser } from '../../domain/grant-store.js';
import { userMayStillUse } from '../../domain/grants.js';
import type { AccessTokens } from '../access-token.js';
import {
  AccessDenied,
  AuthorizationPending,
  ExpiredToken,
  InvalidGrant,
  InvalidRequest,
  SlowDown,
} from '../errors.js';
import {
  type GrantHandler,
  issuesRefreshTokens,
  type TokenRequest,
  type TokenResponse,
  tokenResponse,
} from '../grant.js';
import { type ApiLookup, grantScopes, targetForGrant } from '../resource.js';

/**
 * The device authorization grant's token request (RFC 8628 §3.4–3.5). The client has been authenticated (or,
 * public, identified) before this runs. While the user has not decided, polls get `authorization_pending`,
 * or `slow_down` when they come sooner than the interval (which then grows by 5 s, remembered per device
 * code); a denial gets `access_denied`, an expired code `expired_token`. An approved code is redeemed once:
 * of concurrent polls exactly one gets tokens (an access token for the API the device authorization was for,
 * and a refresh token when the app may refresh, through a user grant like the authorization code's).
 */
export function deviceCodeGrant(ctx: DomainContext, tokens: AccessTokens, apis: ApiLookup): GrantHandler {
  return {
    allowPublicClients: true,
    async handle({ params, client }: TokenRequest): Promise<TokenResponse> {
      const deviceCode = params.get('device_code');
      if (deviceCode === undefined) throw new InvalidRequest('The device_code parameter is required.');
      const stored = await findDeviceCode(ctx, deviceCode);
      // Bound to the client: another client's device code is simply invalid.
      if (!stored || stored.clientId !== client.app.client_id)
        throw new InvalidGrant('The device code is invalid.');
      const now = ctx.now();
      if (stored.status === 'redeemed') throw new InvalidGrant('The device code has already been used.');
      if (stored.expiresAt <= now) throw new ExpiredToken();
      if (stored.status === 'denied') throw new AccessDenied('The user denied the request.');
      if (stored.status === 'pending') {
        if ((await recordDevicePoll(ctx, stored, now)) === 'slow_down')
          throw new SlowDown(stored.interval + SLOW_DOWN_STEP_S);
        throw new AuthorizationPending();
      }

      // RFC 8707 §2.2: the token is for the authorization's API or another it covers (decided before the
      // code is redeemed, so a wrong resource does not cost the user their authorization).
      const target = await targetForGrant(apis, stored.apiId, params);
      // Approved: the user must still be allowed to use the app (not disabled, still in a tenant that may).
      const user = stored.userId === null ? undefined : await grantUser(ctx, stored.userId);
      if (!user || !userMayStillUse(client.app, user))
        throw new InvalidGrant('The authorization is no longer valid.');
      const redeemed = await redeemDeviceCode(
        ctx,
        stored,
        user.tenant_id,
        now,
        issuesRefreshTokens(client.app),
      );
      if (!redeemed) throw new InvalidGrant('The device code has already been used.');
      const issued = await tokens.issue({
        sub: stored.userId as string,
        clientId: client.app.client_id,
        scope: grantScopes(target, stored.scope, client.permissions),
        audience: target.api.identifier,
        ttl: target.api.access_token_ttl,
        tenantId: user.tenant_id,
        grantId: redeemed.grantId,
        authTime: Math.floor((stored.authTime ?? now) / 1000),
      });
      return tokenResponse(issued, redeemed.refreshToken);
    },
  };
}
