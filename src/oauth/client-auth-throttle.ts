import { OAuthError } from './errors.js';

/*
 * The single-purpose store behind client-authentication throttling: failed client authentications on the
 * token, introspection and revocation endpoints, counted in memory on each node (no database round trip, so
 * a flood of wrong secrets costs the database nothing), bounded in size. Owned by this file.
 */

export interface ClientAuthThrottlePolicy {
  /** How long failures are remembered, from the first one of a window. */
  windowMs: number;
  /** Failures of one (client_id, address) pair answered at once, before delays start. */
  freeFailures: number;
  /** The first delay; each further failure doubles it, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * Failures of one client_id, from all addresses, beyond which a failing address gets no free failures on
   * it: its first failure already makes it wait (a guesser spread over many addresses).
   */
  clientCeiling: number;
  /** Distinct client_ids one address may fail on within the window before that address is delayed. */
  clientsPerAddress: number;
  /** At most this many counters are kept; the oldest is dropped to make room. */
  maxEntries: number;
}

export const DEFAULT_CLIENT_AUTH_THROTTLE: ClientAuthThrottlePolicy = {
  windowMs: 15 * 60_000,
  // Enough for a client's own instances still using a just-refreshed secret; far too few to guess one.
  freeFailures: 10,
  baseDelayMs: 1000,
  maxDelayMs: 5 * 60_000,
  clientCeiling: 100,
  clientsPerAddress: 20,
  maxEntries: 50_000,
};

interface Counter {
  failures: number;
  windowStart: number;
  lockedUntil: number;
}

/** Which limit refused an attempt (the metrics label). */
export type ClientAuthThrottleReason = 'client_address' | 'address';

/**
 * RFC 6749 §5.2 `invalid_client`, answered with 429 and `Retry-After` (RFC 6585 §4) while the caller is
 * throttled: the credentials were not even checked, and the body says when to try again.
 */
export class ClientAuthThrottled extends OAuthError {
  constructor(
    readonly retryAfterSeconds: number,
    readonly reason: ClientAuthThrottleReason,
  ) {
    super(
      'invalid_client',
      429,
      `Too many failed client authentication attempts; retry after ${retryAfterSeconds} s.`,
    );
    this.headers['retry-after'] = String(retryAfterSeconds);
  }
}

/**
 * Throttles failed client authentication so secrets cannot be guessed at line rate, without ever slowing
 * or refusing a client that authenticates correctly from an address that has not been failing.
 *
 * - Per (client_id, source address): the first `freeFailures` failures are answered at once, then each
 *   failure makes that pair wait 1 s, 2 s, 4 s... up to `maxDelayMs` (429 until then, credentials unchecked).
 * - Per client_id: past `clientCeiling` failures from all addresses, a failing address gets no free
 *   failures on that client. Addresses that have not failed are unaffected, so the client itself keeps
 *   working while someone guesses its secret.
 * - Per address: the limit counts distinct client_ids failed on (guessing client_ids or spraying one
 *   secret), with the same growing delays.
 *
 * The success path costs one `Map.size` read when nothing is failing, and at most three map lookups when
 * something is. Memory is bounded by `maxEntries`.
 */
export class ClientAuthThrottle {
  readonly #entries = new Map<string, Counter>();

  constructor(
    readonly policy: ClientAuthThrottlePolicy = DEFAULT_CLIENT_AUTH_THROTTLE,
    private readonly now: () => number = Date.now,
  ) {}

  /** How many counters are kept (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Refuses an attempt for `clientId` from `address` while either is throttled.
   *
   * @throws {ClientAuthThrottled} with the seconds to wait.
   */
  check(clientId: string, address: string): void {
    if (this.#entries.size === 0) return;
    const now = this.now();
    const pairUntil = this.#live(pairKey(clientId, address), now)?.lockedUntil ?? 0;
    const addressUntil = this.#live(addressKey(address), now)?.lockedUntil ?? 0;
    if (pairUntil <= now && addressUntil <= now) return;
    const [until, reason]: [number, ClientAuthThrottleReason] =
      pairUntil >= addressUntil ? [pairUntil, 'client_address'] : [addressUntil, 'address'];
    throw new ClientAuthThrottled(Math.max(1, Math.ceil((until - now) / 1000)), reason);
  }

  /** Counts a failed authentication for the pair, the client_id and (when new to it) the address. */
  recordFailure(clientId: string, address: string): void {
    const now = this.now();
    const client = this.#bump(clientKey(clientId), now);
    const pair = this.#bump(pairKey(clientId, address), now);
    const free = client.failures > this.policy.clientCeiling ? 0 : this.policy.freeFailures;
    this.#delay(pair, now, free);
    if (pair.failures === 1)
      this.#delay(this.#bump(addressKey(address), now), now, this.policy.clientsPerAddress);
  }

  /** A success: this address is no longer failing on this client (nothing to do when nothing is failing). */
  recordSuccess(clientId: string, address: string): void {
    if (this.#entries.size !== 0) this.#entries.delete(pairKey(clientId, address));
  }

  /** The counter under `key` if its window or its delay still runs; a stale one is dropped. */
  #live(key: string, now: number): Counter | undefined {
    const c = this.#entries.get(key);
    if (c === undefined) return undefined;
    if (c.windowStart + this.policy.windowMs > now || c.lockedUntil > now) return c;
    this.#entries.delete(key);
    return undefined;
  }

  #bump(key: string, now: number): Counter {
    let c = this.#entries.get(key);
    if (c !== undefined && c.windowStart + this.policy.windowMs <= now) {
      c.failures = 0;
      c.windowStart = now;
    }
    if (c === undefined) {
      if (this.#entries.size >= this.policy.maxEntries) this.#evictOldest();
      c = { failures: 0, windowStart: now, lockedUntil: 0 };
    } else this.#entries.delete(key);
    // Re-inserted, so the map's order is least recently failed first, which is what eviction drops.
    this.#entries.set(key, c);
    c.failures++;
    return c;
  }

  /** The delay after the counter's failures: none for the first `free`, then doubling from the base. */
  #delay(c: Counter, now: number, free: number): void {
    if (c.failures <= free) return;
    const ms = Math.min(
      this.policy.maxDelayMs,
      this.policy.baseDelayMs * 2 ** Math.min(30, c.failures - free - 1),
    );
    c.lockedUntil = Math.max(c.lockedUntil, now + ms);
  }

  #evictOldest(): void {
    const oldest = this.#entries.keys().next();
    if (!oldest.done) this.#entries.delete(oldest.value);
  }
}

const pairKey = (clientId: string, address: string) => `p ${address} ${clientId}`;
const clientKey = (clientId: string) => `c ${clientId}`;
const addressKey = (address: string) => `a ${address}`;
