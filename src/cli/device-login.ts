import { setTimeout as sleep } from 'node:timers/promises';
import { type AuthorizationServerMetadata, OAuthError, requestToken, type TokenSet } from '@clavis/client';
import { oauthFailure, unreachable } from './api-client.js';
import { CliError, EXIT_SERVER, EXIT_USER } from './output.js';

/** The device authorization grant's `grant_type` (RFC 8628 §3.4). */
export const DEVICE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  expires_in: number;
  interval?: number;
}

function isDeviceAuthorization(v: unknown): v is DeviceAuthorization {
  const d = v as Partial<DeviceAuthorization> | null;
  return (
    !!d &&
    typeof d.device_code === 'string' &&
    typeof d.user_code === 'string' &&
    typeof d.verification_uri === 'string' &&
    typeof d.expires_in === 'number'
  );
}

/** Sends the device authorization request (RFC 8628 §3.1) as a public client. */
async function startDeviceAuthorization(
  endpoint: string,
  clientId: string,
  scope: string,
): Promise<DeviceAuthorization> {
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ client_id: clientId, scope }).toString(),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw unreachable(endpoint, err);
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (res.ok && isDeviceAuthorization(body)) return body;
  const error = (body as { error?: unknown } | undefined)?.error;
  if (typeof error === 'string') {
    const description = (body as { error_description?: unknown }).error_description;
    throw oauthFailure(
      new OAuthError(
        { error, error_description: typeof description === 'string' ? description : undefined },
        res.status,
      ),
      endpoint,
      'starting the device login',
    );
  }
  throw new CliError(
    `starting the device login failed: ${endpoint} answered HTTP ${res.status} without a device authorization.`,
    res.status >= 500 ? EXIT_SERVER : EXIT_USER,
    'unexpected_response',
  );
}

/**
 * `clavis login --device` (RFC 8628): asks the server for a device code, prints where to enter the user
 * code (on any device with a browser), and polls the token endpoint at the server's interval (5 s more after
 * each `slow_down`) until the user allows or denies, or the code expires.
 */
export async function deviceLogin(
  server: string,
  meta: AuthorizationServerMetadata,
  options: { clientId: string; scope: string; tokenEndpoint: string },
): Promise<TokenSet> {
  const endpoint = meta.device_authorization_endpoint;
  if (typeof endpoint !== 'string')
    throw new CliError(
      `${server} does not offer the device authorization grant (no device_authorization_endpoint in its metadata). Log in without --device.`,
      EXIT_USER,
      'unsupported',
    );
  const started = await startDeviceAuthorization(endpoint, options.clientId, options.scope);
  const complete = started.verification_uri_complete
    ? `\n\nor open this link, which carries the code:\n\n  ${started.verification_uri_complete}`
    : '';
  process.stderr.write(
    `To log in to ${server}, open this address on any device with a browser:\n\n  ${started.verification_uri}\n\nand enter the code:\n\n  ${started.user_code}${complete}\n\nWaiting for you to allow it (the code expires in ${Math.round(started.expires_in / 60)} minutes)...\n`,
  );
  let interval = Math.max(1, started.interval ?? 5);
  const deadline = Date.now() + started.expires_in * 1000;
  for (;;) {
    await sleep(interval * 1000);
    if (Date.now() >= deadline) break;
    try {
      return await requestToken(
        options.tokenEndpoint,
        { grant_type: DEVICE_GRANT_TYPE, device_code: started.device_code },
        { clientId: options.clientId },
        { retry: { retries: 1, baseDelayMs: 200 }, idempotent: false, timeoutMs: 15_000 },
      );
    } catch (err) {
      if (!(err instanceof OAuthError)) throw oauthFailure(err, options.tokenEndpoint, 'the device login');
      if (err.error === 'authorization_pending') continue;
      // RFC 8628 §3.5: the interval grows by 5 seconds for this and all later requests.
      if (err.error === 'slow_down') {
        interval += 5;
        continue;
      }
      if (err.error === 'access_denied')
        throw new CliError('login was denied in the browser.', EXIT_USER, 'access_denied');
      if (err.error === 'expired_token') break;
      throw oauthFailure(err, options.tokenEndpoint, 'the device login');
    }
  }
  throw new CliError(
    'the code expired before it was allowed. Run `clavis login --device` again.',
    EXIT_USER,
    'timeout',
  );
}
