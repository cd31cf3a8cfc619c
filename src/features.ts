import { purgeSessions } from './auth/session.js';
import { grantIsLive, purgeGrantData } from './domain/grants.js';
import { authorizationCodeGrant } from './oauth/grants/authorization-code.js';
import {
  refreshTokenGrant,
  refreshTokenIntrospector,
  refreshTokenRevoker,
} from './oauth/grants/refresh-token.js';
import { DefaultLiveness } from './oauth/introspection.js';
import type { Services } from './services.js';

/**
 * Wires optional protocol features into the services (extra grants, introspectors, revokers). Kept apart
 * from the core so each feature lives in its own module.
 */
export async function installFeatures(services: Services): Promise<void> {
  // User authorization (issue 3): authorization code + PKCE, refresh tokens, user grants.
  const { ctx, tokens } = services;
  services.grants.set('authorization_code', authorizationCodeGrant(ctx, tokens));
  services.grants.set('refresh_token', refreshTokenGrant(ctx, tokens));
  services.features.authorizationEndpoint = true;
  services.introspectors.push(refreshTokenIntrospector(ctx));
  services.revokers.push(refreshTokenRevoker(ctx));
  services.liveness = new DefaultLiveness(services.revocations, services.registry, (gid) =>
    grantIsLive(ctx, gid),
  );
  services.purgeSteps.push(() => purgeGrantData(ctx), purgeSessions);
}
