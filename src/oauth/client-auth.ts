import { digestMatches } from '../crypto/keyed-hash.js';
import type { ClientRecord } from '../domain/client-lookup.js';
import type { DomainContext } from '../domain/context.js';
import type { ClientAuthThrottle } from './client-auth-throttle.js';
import type { ClientRegistry } from './client-registry.js';
import { InvalidClient, InvalidRequest } from './errors.js';
import { CONTROL_CHARACTER, CONTROL_CHARACTER_MESSAGE, type Params } from './form.js';
import type { SecretUsage } from './secret-usage.js';

/** What client authentication reads (the clients) and records (secret use). */
export interface ClientAuthDeps {
  ctx: DomainContext;
  registry: ClientRegistry;
  usage: SecretUsage;
}

/**
 * Where a request comes from, for throttling failed client authentication: the node's throttle and the
 * request's source address (the client's, behind a trusted proxy).
 */
export interface ClientAuthGuard {
  throttle: ClientAuthThrottle;
  source: string;
}

export type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/** A client that proved who it is (or a public client identified by client_id alone). */
export interface AuthenticatedClient extends ClientRecord {
  method: AuthMethod;
}

interface Presented {
  clientId: string;
  /** Candidate secret values: form-decoded first, then the raw form when it differs (see below). */
  secrets: string[];
  method: AuthMethod;
}

function formDecode(s: string): string | null {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/**
 * Reads HTTP Basic client credentials (RFC 6749 §2.3.1, RFC 7617).
 *
 * The client_id and secret are form-url-encoded before base64, so they are form-decoded after it. Clients
 * that skip the encoding (Python `requests`, curl -u, the seeds' snippets) send Clavis-generated values
 * unchanged, since those use unreserved characters only; for operator-chosen secrets that contain `%` or
 * `+`, the undecoded value is tried as a second candidate. Both candidates are checked against the same
 * stored hash, so this accepts nothing but the real secret.
 */
function parseBasic(header: string): Presented {
  const m = /^Basic[ ]+([A-Za-z0-9+/=_-]*)[ ]*$/i.exec(header);
  if (!m) throw new InvalidClient('The Authorization header is not valid HTTP Basic credentials.');
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new InvalidClient('The Authorization header is not valid HTTP Basic credentials.');
  // A C0 control, raw or form-encoded (RFC 6749 §2.3.1 form-encodes the credentials), is never a client_id
  // or secret of this server: refused before anything is looked up, like controls anywhere in a request.
  if (CONTROL_CHARACTER.test(decoded)) throw new InvalidRequest(CONTROL_CHARACTER_MESSAGE);
  const rawId = decoded.slice(0, colon);
  const rawSecret = decoded.slice(colon + 1);
  const clientId = formDecode(rawId) ?? rawId;
  const decodedSecret = formDecode(rawSecret);
  const secrets =
    decodedSecret === null
      ? [rawSecret]
      : decodedSecret === rawSecret
        ? [rawSecret]
        : [decodedSecret, rawSecret];
  return { clientId, secrets, method: 'client_secret_basic' };
}

/** Extracts the credentials a token-style request presents, enforcing one method per request (RFC 6749 §2.3). */
export function presentedCredentials(authorization: string | undefined, params: Params): Presented | null {
  // RFC 7521 §4.2 assertions are another method, one this server does not offer (discovery's
  // token_endpoint_auth_methods_supported): refused, not ignored, so that one sent beside a secret is not
  // a second method silently dropped (RFC 6749 §2.3).
  if (params.get('client_assertion') !== undefined || params.get('client_assertion_type') !== undefined)
    throw new InvalidClient(
      'Client assertions (private_key_jwt, client_secret_jwt) are not supported; use client_secret_basic or client_secret_post.',
    );
  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  if (authorization !== undefined && authorization !== '') {
    if (!/^Basic /i.test(authorization))
      throw new InvalidClient(
        'Only HTTP Basic client authentication is accepted in the Authorization header.',
      );
    const basic = parseBasic(authorization);
    // RFC 6749 §2.3: a client must not use more than one authentication method in a request.
    if (bodySecret !== undefined)
      throw new InvalidRequest(
        'Client credentials were sent twice (HTTP Basic and client_secret); use only one method.',
      );
    // The seeds' code sends client_id in the body beside Basic: accept it when it names the same client.
    if (bodyId !== undefined && bodyId !== basic.clientId)
      throw new InvalidRequest('The client_id in the body differs from the one in the Authorization header.');
    return basic;
  }
  if (bodyId === undefined) {
    if (bodySecret !== undefined) throw new InvalidRequest('client_secret was sent without client_id.');
    return null;
  }
  if (bodySecret !== undefined)
    return { clientId: bodyId, secrets: [bodySecret], method: 'client_secret_post' };
  return { clientId: bodyId, secrets: [], method: 'none' };
}

/**
 * Authenticates the client of a token, introspection or revocation request: the one client-authentication
 * step of every endpoint that takes client credentials (each says whether public clients may use it).
 *
 * The presented secret is hashed once (keyed SHA-256) and compared in constant time with each active
 * secret's stored hash. An expired or revoked secret fails exactly like a wrong one. With a `guard`, a
 * client_id or address that has been failing is refused before anything is checked, and each failure
 * (unknown client, wrong secret) is counted.
 *
 * @throws {InvalidClient} on any failure ({@link ClientAuthThrottled}, a 429, while throttled);
 *   {@link InvalidRequest} for malformed credentials.
 */
export async function authenticateClient(
  deps: ClientAuthDeps,
  authorization: string | undefined,
  params: Params,
  options: { allowPublic: boolean; guard?: ClientAuthGuard | undefined },
): Promise<AuthenticatedClient> {
  const presented = presentedCredentials(authorization, params);
  if (!presented) throw new InvalidClient('Client authentication is required.');
  // Only presented secrets can be guessed; a public client's bare client_id is not throttled.
  const guard = presented.method === 'none' ? undefined : options.guard;
  guard?.throttle.check(presented.clientId, guard.source);
  let verified: AuthenticatedClient;
  try {
    const client = await deps.registry.find(presented.clientId);
    if (!client) throw new InvalidClient('Client authentication failed.');
    verified = await verifyCredentials(deps.ctx, deps.usage, client, presented, options);
  } catch (err) {
    if (guard && err instanceof InvalidClient) guard.throttle.recordFailure(presented.clientId, guard.source);
    throw err;
  }
  guard?.throttle.recordSuccess(presented.clientId, guard.source);
  // A disabled app gets no tokens from any grant and cannot use the other endpoints either.
  if (verified.app.status === 'disabled') throw new InvalidClient('This client is disabled.');
  return verified;
}

async function verifyCredentials(
  ctx: DomainContext,
  usage: SecretUsage,
  client: ClientRecord,
  presented: Presented,
  options: { allowPublic: boolean },
): Promise<AuthenticatedClient> {
  if (presented.method === 'none') {
    if (client.app.client_type !== 'public' || !options.allowPublic)
      throw new InvalidClient(
        client.app.client_type === 'public'
          ? 'This endpoint requires client authentication.'
          : 'Client authentication failed.',
      );
    return { ...client, method: 'none' };
  }
  if (client.app.client_type !== 'confidential') throw new InvalidClient('Client authentication failed.');

  const now = ctx.now();
  for (const candidate of presented.secrets) {
    const digest = ctx.hasher.digest(candidate);
    let expiredMatch: string | null = null;
    for (const s of client.secrets) {
      if (!digestMatches(digest, s.hash)) continue;
      if (s.expires_at !== null && s.expires_at <= now) {
        expiredMatch = s.id;
        continue;
      }
      usage.touch(client, s);
      return { ...client, method: presented.method };
    }
    if (expiredMatch) usage.expiredUse(client, expiredMatch);
  }
  throw new InvalidClient('Client authentication failed.');
}
