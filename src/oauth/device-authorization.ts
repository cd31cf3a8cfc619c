import { BUILT_IN_API_IDS } from '../domain/apis.js';
import { DEVICE_CODE_GRANT } from '../domain/app-fields.js';
import { createDeviceCode, type StoredDeviceCode } from '../domain/device-codes.js';
import { type ConsentGroup, consentGroups } from './authorize-decision.js';
import { authenticateClient, type ClientAuthDeps, type ClientAuthGuard } from './client-auth.js';
import { UnauthorizedClient } from './errors.js';
import type { Params } from './form.js';
import { allowsGrant } from './grant.js';
import { type ApiLookup, resolveScope, resolveTarget, targetFor, usableScopes } from './resource.js';

/** The path of the verification page, where users type or confirm a user code. */
export const VERIFICATION_PATH = '/device';

/** The device authorization response (RFC 8628 §3.2). */
export interface DeviceAuthorizationResponse {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** The verification URI with the user code in it (RFC 8628 §3.3.1), for a QR code or a link. */
export function verificationUriComplete(issuer: string, userCode: string): string {
  return `${issuer}${VERIFICATION_PATH}?user_code=${encodeURIComponent(userCode)}`;
}

/**
 * The device authorization endpoint (RFC 8628 §3.1–3.2): authenticates the client as the token endpoint does
 * (a public client sends its client_id), requires the device grant among its `grant_types`, resolves the
 * API (`resource` / `audience`, RFC 8707 §2) and `scope` exactly as the authorization endpoint does (a user's
 * flow), and starts a device authorization for that API.
 *
 * @throws {OAuthError} subclasses, answered as RFC 6749 §5.2 bodies (RFC 8628 §3.2).
 */
export async function handleDeviceAuthorization(
  deps: ClientAuthDeps & { apis: ApiLookup },
  authorization: string | undefined,
  params: Params,
  guard?: ClientAuthGuard,
): Promise<DeviceAuthorizationResponse> {
  const client = await authenticateClient(deps, authorization, params, { allowPublic: true, guard });
  if (!allowsGrant(client.app, DEVICE_CODE_GRANT))
    throw new UnauthorizedClient('This client is not registered for the device authorization grant.');
  const { ctx } = deps;
  const target = await resolveTarget(ctx, deps.apis, params, client.app);
  const usable = usableScopes(target, client.permissions, 'user');
  const scope = resolveScope(target, usable, client.app, params.get('scope'));
  // The sample API is a grant's `api_id` null, as the authorization endpoint records it.
  const apiId = target.api.built_in === 'sample' ? null : target.api.id;
  const issued = await createDeviceCode(ctx, client.app, scope, apiId);
  const issuer = ctx.config.issuer;
  return {
    device_code: issued.deviceCode,
    user_code: issued.userCode,
    verification_uri: `${issuer}${VERIFICATION_PATH}`,
    verification_uri_complete: verificationUriComplete(issuer, issued.userCode),
    expires_in: issued.expiresIn,
    interval: issued.interval,
  };
}

/**
 * What a pending device authorization asks for, grouped by API as the consent page groups it (each API's
 * name, each scope's description); `null` when its API has since been deleted. Scopes no API describes
 * any more are left out: a token could not carry them either.
 */
export async function deviceScopeGroups(
  apis: ApiLookup,
  code: Pick<StoredDeviceCode, 'apiId' | 'scope'>,
): Promise<ConsentGroup[] | null> {
  const api = await apis.findById(code.apiId ?? BUILT_IN_API_IDS.sample);
  if (!api) return null;
  return consentGroups({ target: await targetFor(apis, api), scope: code.scope }, apis);
}
