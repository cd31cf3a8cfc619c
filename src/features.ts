import { purgeSessions } from './auth/session.js';
import { DEVICE_CODE_GRANT } from './domain/app-fields.js';
import { purgeDeviceCodes } from './domain/device-codes.js';
import { grantIsLive, purgeGrantData } from './domain/grants.js';
import { purgeIdempotencyKeys } from './http/api/idempotency.js';
import { authorizationCodeGrant } from './oauth/grants/authorization-code.js';
import { deviceCodeGrant } from './oauth/grants/device-code.js';
import {
  refreshTokenGrant,
  refreshTokenIntrospector,
  refreshTokenRevoker,
} from './oauth/grants/refresh-token.js';
import type { FeatureFactory } from './services.js';

/**
 * User authorization: the authorization endpoint, the authorization code grant with PKCE, refresh tokens
 * (introspection and revocation too), access tokens that die with their user grant, and the purge of
 * expired codes, refresh tokens and sessions.
 */
export const userAuthorization: FeatureFactory = ({ ctx, tokens, idTokens, apis }) => ({
  grants: {
    authorization_code: authorizationCodeGrant(ctx, tokens, idTokens, apis),
    refresh_token: refreshTokenGrant(ctx, tokens, idTokens, apis),
  },
  authorizationEndpoint: true,
  introspectors: [refreshTokenIntrospector(ctx)],
  revokers: [refreshTokenRevoker(ctx)],
  grantIsLive: (gid) => grantIsLive(ctx, gid),
  purgeSteps: [() => purgeGrantData(ctx), purgeSessions],
});

/**
 * The device authorization grant (RFC 8628): the device authorization endpoint, the verification page, the
 * `device_code` grant at the token endpoint, and the purge of expired device codes. Apps opt in through
 * their `grant_types`.
 */
export const deviceAuthorization: FeatureFactory = ({ ctx, tokens, apis }) => ({
  grants: { [DEVICE_CODE_GRANT]: deviceCodeGrant(ctx, tokens, apis) },
  deviceAuthorization: true,
  purgeSteps: [() => purgeDeviceCodes(ctx)],
});

/** The management API's purge of idempotency records older than their 24 hours. */
export const managementApi: FeatureFactory = () => ({ purgeSteps: [purgeIdempotencyKeys] });

/**
 * The optional protocol features a server runs, in order, passed to `createServices`. Kept apart from the
 * core so each feature lives in its own module; CLI commands that only need keys and the database build
 * their services without them.
 */
export const SERVER_FEATURES: readonly FeatureFactory[] = [
  userAuthorization,
  deviceAuthorization,
  managementApi,
];
