import { randomBytes, randomUUID } from 'node:crypto';

/**
 * Returns `bytes` random bytes from the CSPRNG, base64url-encoded (only RFC 3986 unreserved characters).
 *
 * @example
 * ```ts
 * const code = randomToken(32); // 256 bits, 43 characters
 * ```
 */
export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/** A random (version 4) UUID. */
export function uuid(): string {
  return randomUUID();
}
