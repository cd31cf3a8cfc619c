/**
 * PKCE (RFC 7636) and `state` helpers. Only the `S256` method is supported; `plain` offers no protection when the
 * authorization request can be observed.
 *
 * @packageDocumentation
 */

import { base64url } from 'jose';

function randomBase64url(bytes: number): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}

/**
 * Generates a PKCE `code_verifier`: `length` characters (43–128, default 64) of base64url drawn from
 * `crypto.getRandomValues` (RFC 7636 §4.1).
 *
 * @example
 * ```ts
 * import { generateCodeVerifier } from '@clavis/client';
 *
 * const verifier = generateCodeVerifier(); // e.g. 'q3Vd...' (64 chars)
 * ```
 */
export function generateCodeVerifier(length = 64): string {
  if (!Number.isInteger(length) || length < 43 || length > 128) {
    throw new RangeError('code_verifier length must be an integer between 43 and 128 (RFC 7636 §4.1)');
  }
  return randomBase64url(Math.ceil((length * 3) / 4)).slice(0, length);
}

/**
 * Computes the `S256` `code_challenge` for a verifier: `BASE64URL(SHA-256(ASCII(code_verifier)))`.
 *
 * @example
 * ```ts
 * import { calculateCodeChallenge, generateCodeVerifier } from '@clavis/client';
 *
 * const verifier = generateCodeVerifier();
 * const challenge = await calculateCodeChallenge(verifier);
 * ```
 */
export async function calculateCodeChallenge(codeVerifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(codeVerifier));
  return base64url.encode(new Uint8Array(digest));
}

/**
 * Generates an unguessable `state` value (32 random bytes, base64url) to bind the authorization response to the
 * user agent that started the request (RFC 6749 §10.12).
 *
 * @example
 * ```ts
 * import { generateState } from '@clavis/client';
 *
 * const state = generateState();
 * ```
 */
export function generateState(): string {
  return randomBase64url(32);
}
