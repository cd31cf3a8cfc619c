import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** Derives a 32-byte sub-key for one purpose from the server's secret key (HKDF-SHA-256). */
export function deriveKey(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `clavis:${purpose}`, 32));
}

/**
 * Keyed SHA-256 (HMAC) for high-entropy values: client secrets, authorization codes and refresh tokens.
 * Such values carry >= 128 random bits, so a slow hash would add latency and no security; the key means a
 * stolen database alone does not allow offline checks either.
 */
export class KeyedHasher {
  readonly #key: Buffer;

  constructor(masterKey: Buffer, purpose = 'token-hash') {
    this.#key = deriveKey(masterKey, purpose);
  }

  /** The base64url HMAC-SHA-256 of `value`: the stored form. */
  hash(value: string): string {
    return this.digest(value).toString('base64url');
  }

  /** The raw HMAC-SHA-256 of `value`, to compare with several stored hashes via {@link digestMatches}. */
  digest(value: string): Buffer {
    return createHmac('sha256', this.#key).update(value, 'utf8').digest();
  }

  /** Compares `value` against a stored hash in constant time. */
  verify(value: string, storedHash: string): boolean {
    return digestMatches(this.digest(value), storedHash);
  }
}

/**
 * Whether a digest equals a stored (base64url) hash, in constant time: the one comparison of secrets
 * against their stored hashes.
 */
export function digestMatches(digest: Buffer, storedHash: string): boolean {
  const stored = Buffer.from(storedHash, 'base64url');
  return digest.length === stored.length && timingSafeEqual(digest, stored);
}
