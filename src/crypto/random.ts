import { randomBytes, randomUUID } from 'node:crypto';

const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/**
 * Returns `bytes` random bytes from the CSPRNG, base64url-encoded (only RFC 3986 unreserved characters).
 *
 * Small requests are served from a pool refilled 4 KiB at a time (as `crypto.randomUUID` does), since one
 * `getrandom` call per token cost 5% of the token endpoint; each byte is used once and zeroed after use.
 *
 * @example
 * ```ts
 * const code = randomToken(32); // 256 bits, 43 characters
 * ```
 */
export function randomToken(bytes: number): string {
  if (bytes > 256) return randomBytes(bytes).toString('base64url');
  if (offset + bytes > pool.length) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  const out = pool.toString('base64url', offset, offset + bytes);
  pool.fill(0, offset, offset + bytes);
  offset += bytes;
  return out;
}

/** A random (version 4) UUID. */
export function uuid(): string {
  return randomUUID();
}

/** The 62 alphanumeric characters, digits first (the order of base62 numbers, as GitHub's token checksums use). */
export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * `length` characters drawn uniformly from {@link BASE62} by the CSPRNG (rejection sampling: bytes of 248
 * and above are dropped, so no character is likelier than another). Each carries log2(62) ≈ 5.95 bits.
 */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    const bytes = randomBytes(Math.ceil((length - out.length) * 1.1) + 4);
    for (const b of bytes) {
      if (b >= 248) continue;
      out += BASE62[b % 62];
      if (out.length === length) break;
    }
  }
  return out;
}
