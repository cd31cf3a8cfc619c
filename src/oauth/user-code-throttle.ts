/*
 * The single-purpose store behind user-code throttling on the device verification page: failed user-code
 * lookups counted in memory on each node, per source address and per browser session, bounded in size.
 * Owned by this file.
 */

export interface UserCodeThrottlePolicy {
  /** How long failures are remembered, from the first one of a window. */
  windowMs: number;
  /** Failed lookups one session may make in a window; then it waits until the window ends. */
  perSession: number;
  /** Failed lookups one source address may make in a window, across all sessions. */
  perAddress: number;
  /** At most this many counters are kept; the oldest is dropped to make room. */
  maxEntries: number;
}

/**
 * A user code has 20^8 ≈ 2.6 × 10^10 values and lives 10 minutes: at 20 guesses per address per 15 minutes,
 * guessing any one live code is out of reach, while a person mistyping theirs a few times is never stopped.
 */
export const DEFAULT_USER_CODE_THROTTLE: UserCodeThrottlePolicy = {
  windowMs: 15 * 60_000,
  perSession: 10,
  perAddress: 20,
  maxEntries: 50_000,
};

interface Counter {
  failures: number;
  windowStart: number;
}

/**
 * Throttles guessing of user codes (RFC 8628 §5.1): each wrong, expired or already used code typed on the
 * verification page counts against the session and the address; past either limit, lookups are refused
 * (the code is not even checked) until the window ends.
 */
export class UserCodeThrottle {
  readonly #entries = new Map<string, Counter>();

  constructor(
    readonly policy: UserCodeThrottlePolicy = DEFAULT_USER_CODE_THROTTLE,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds to wait before `session` from `address` may look up a user code again; 0 when it may now. */
  retryAfter(session: string, address: string): number {
    const now = this.now();
    let until = 0;
    const s = this.#live(`s ${session}`, now);
    if (s && s.failures >= this.policy.perSession) until = s.windowStart + this.policy.windowMs;
    const a = this.#live(`a ${address}`, now);
    if (a && a.failures >= this.policy.perAddress)
      until = Math.max(until, a.windowStart + this.policy.windowMs);
    return until > now ? Math.max(1, Math.ceil((until - now) / 1000)) : 0;
  }

  /** Counts a failed lookup against the session and the address. */
  recordFailure(session: string, address: string): void {
    const now = this.now();
    this.#bump(`s ${session}`, now);
    this.#bump(`a ${address}`, now);
  }

  #live(key: string, now: number): Counter | undefined {
    const c = this.#entries.get(key);
    if (c === undefined) return undefined;
    if (c.windowStart + this.policy.windowMs > now) return c;
    this.#entries.delete(key);
    return undefined;
  }

  #bump(key: string, now: number): void {
    let c = this.#live(key, now);
    if (c === undefined) {
      if (this.#entries.size >= this.policy.maxEntries) {
        const oldest = this.#entries.keys().next();
        if (!oldest.done) this.#entries.delete(oldest.value);
      }
      c = { failures: 0, windowStart: now };
      this.#entries.set(key, c);
    }
    c.failures++;
  }
}
