import { DEVICE_CODE_GRANT } from '../domain/app-fields.js';
import { createDeviceCode } from '../domain/device-codes.js';
import { authenticateClient, type ClientAuthDeps, type ClientAuthGuard } from './client-auth.js';
import { UnauthorizedClient } from './errors.js';
import type { Params } from './form.js';
import { checkResource } from './resource.js';
import { resolveRequestedScope } from './scope-request.js';

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
 * (a public client sends its client_id), requires the device grant among its `grant_types`, checks `scope`
 * as the authorization endpoint does, and starts a device authorization.
 *
 * @throws {OAuthError} subclasses, answered as RFC 6749 §5.2 bodies (RFC 8628 §3.2).
 */
export async function handleDeviceAuthorization(
  deps: ClientAuthDeps,
  authorization: string | undefined,
  params: Params,
  guard?: ClientAuthGuard,
): Promise<DeviceAuthorizationResponse> {
  const client = await authenticateClient(deps, authorization, params, { allowPublic: true, guard });
  if (!(client.app.grant_types as readonly string[]).includes(DEVICE_CODE_GRANT))
    throw new UnauthorizedClient('This client is not registered for the device authorization grant.');
  const { ctx } = deps;
  const scope = resolveRequestedScope(client.app, params.get('scope'));
  checkResource(params, ctx.config.apiAudience);
  const issued = await createDeviceCode(ctx, client.app, scope);
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
