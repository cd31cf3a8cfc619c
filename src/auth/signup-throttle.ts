/**
 * The single-purpose store behind sign-up rate limiting: in memory, per node. Each sign-up that gets as far
 * as hashing a password is recorded, per source address and overall, in a sliding one-hour window.
 */

/** How many sign-ups one node accepts per hour. */
export interface SignupRate {
  /** From one source address. */
  perAddress: number;
  /** From all addresses together. */
  total: number;
}

const WINDOW_MS = 3600_000;
/** Addresses whose attempts have all expired are dropped at most this often. */
const SWEEP_MS = 60_000;

/** Drops times at or before `cut` from the front of a sorted list; returns how many are left. */
function expire(times: number[], cut: number): number {
  let n = 0;
  while (n < times.length && times[n]! <= cut) n++;
  if (n > 0) times.splice(0, n);
  return times.length;
}

/** What a sign-up attempt may do now. */
export type SignupDecision =
  | { kind: 'go' }
  /** Refused until `until` (epoch ms): too many sign-ups from this address, or overall. */
  | { kind: 'wait'; until: number; reason: 'address' | 'total' };

/**
 * Limits sign-ups per source address and overall per hour, before the password is hashed (each sign-up
 * costs an scrypt hash and a new tenant). Per node: behind a load balancer the limits add up over the nodes.
 * Memory stays bounded: only accepted attempts are remembered, at most `total` of them per window.
 */
export class SignupThrottle {
  /** Times of accepted attempts, oldest first, overall and per address. */
  readonly #all: number[] = [];
  readonly #byAddress = new Map<string, number[]>();
  #sweptAt = 0;

  constructor(
    readonly rate: SignupRate,
    private readonly now: () => number = Date.now,
  ) {}

  /** Checks an attempt from `address` and, when it may go ahead, records it. */
  take(address: string): SignupDecision {
    const now = this.now();
    const cut = now - WINDOW_MS;
    expire(this.#all, cut);
    if (now - this.#sweptAt > SWEEP_MS) {
      this.#sweptAt = now;
      for (const [a, times] of this.#byAddress) if (expire(times, cut) === 0) this.#byAddress.delete(a);
    }
    const mine = this.#byAddress.get(address) ?? [];
    expire(mine, cut);
    // The oldest attempt still counted decides when a place frees up.
    if (mine.length >= this.rate.perAddress)
      return {
        kind: 'wait',
        until: mine[mine.length - this.rate.perAddress]! + WINDOW_MS,
        reason: 'address',
      };
    if (this.#all.length >= this.rate.total)
      return {
        kind: 'wait',
        until: this.#all[this.#all.length - this.rate.total]! + WINDOW_MS,
        reason: 'total',
      };
    mine.push(now);
    this.#byAddress.set(address, mine);
    this.#all.push(now);
    return { kind: 'go' };
  }
}
