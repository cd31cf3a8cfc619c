import { sql } from 'kysely';
import type { DomainContext } from '../domain/context.js';

/**
 * The single-purpose store behind sign-in throttling: the `login_throttle` table, shared by every node
 * through the database (so a guesser gains nothing by spreading attempts over nodes), owned by this file.
 */

export interface ThrottlePolicy {
  /** How long failures are remembered. */
  windowMs: number;
  /** Failures of one (account, address) pair answered at once, before delays start. */
  freeFailures: number;
  /** The first delay; each further failure doubles it, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * Failures of one account, from all addresses, beyond which every attempt on it is slowed by
   * `accountPauseMs` (answered late, never refused).
   */
  accountCeiling: number;
  accountPauseMs: number;
  /** Distinct accounts one address may fail on within the window before that address is delayed. */
  accountsPerAddress: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = {
  windowMs: 15 * 60_000,
  freeFailures: 3,
  baseDelayMs: 1000,
  maxDelayMs: 5 * 60_000,
  accountCeiling: 50,
  accountPauseMs: 1000,
  accountsPerAddress: 20,
};

/** What a sign-in attempt may do now. */
export type ThrottleDecision =
  /** Go ahead, after waiting `pauseMs` (the account is under attack from many addresses). */
  | { kind: 'go'; pauseMs: number }
  /** Refuse until `until` (epoch ms): this address has been failing on this account, or on many accounts. */
  | { kind: 'wait'; until: number; reason: 'account_address' | 'address' };

/**
 * Sign-in throttling that slows the guesser and not the owner (OWASP ASVS 2.2.1): nothing locks an account.
 *
 * - Failures count per (account, source address): the first `freeFailures` are answered at once, then each
 *   failure makes that pair wait 1 s, 2 s, 4 s... up to `maxDelayMs`. A stranger's failures never delay the
 *   owner signing in from another address.
 * - Per account, past `accountCeiling` failures from all addresses, attempts are answered `accountPauseMs`
 *   late: slowed, never refused, so the right password from an address that has not been failing works.
 * - Per address, the limit counts distinct accounts failed on (password spraying), not failures: an office
 *   behind one NAT where people mistype their own passwords is not shut out.
 *
 * A success clears the pair's count. Unknown email addresses count like known ones (no enumeration).
 */
export class LoginThrottle {
  constructor(
    private readonly ctx: DomainContext,
    readonly policy: ThrottlePolicy = DEFAULT_THROTTLE,
  ) {}

  static keys(email: string, ip: string): { pair: string; account: string; ip: string } {
    const account = email.trim().toLowerCase().slice(0, 320);
    return { pair: `pair:${ip}|${account}`, account: `acct:${account}`, ip: `ip:${ip}` };
  }

  /** The delay after `n` counted failures: none for the first `free`, then doubling from the base. */
  delayAfter(n: number, free: number): number {
    if (n <= free) return 0;
    return Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** Math.min(30, n - free - 1));
  }

  /** Decides whether an attempt for `email` from `ip` may be checked now. */
  async check(email: string, ip: string): Promise<ThrottleDecision> {
    const k = LoginThrottle.keys(email, ip);
    const rows = await this.ctx.db
      .selectFrom('login_throttle')
      .select(['key', 'failures', 'window_start', 'locked_until'])
      .where('key', 'in', [k.pair, k.account, k.ip])
      .execute();
    const now = this.ctx.now();
    const row = (key: string) => rows.find((r) => r.key === key);
    const pairUntil = row(k.pair)?.locked_until ?? 0;
    const ipUntil = row(k.ip)?.locked_until ?? 0;
    if (pairUntil > now || ipUntil > now)
      return pairUntil >= ipUntil
        ? { kind: 'wait', until: pairUntil, reason: 'account_address' }
        : { kind: 'wait', until: ipUntil, reason: 'address' };
    const account = row(k.account);
    const busy =
      account !== undefined &&
      account.window_start >= now - this.policy.windowMs &&
      account.failures >= this.policy.accountCeiling;
    return { kind: 'go', pauseMs: busy ? this.policy.accountPauseMs : 0 };
  }

  /** Counts a failed attempt for the pair, the account and (when the account is new to it) the address. */
  async recordFailure(email: string, ip: string): Promise<void> {
    const k = LoginThrottle.keys(email, ip);
    const pair = await this.#bump(k.pair);
    await this.#delay(k.pair, this.delayAfter(pair, this.policy.freeFailures));
    await this.#bump(k.account);
    // The address's row counts distinct accounts: bumped only when this pair starts a new window.
    if (pair === 1) {
      const accounts = await this.#bump(k.ip);
      await this.#delay(k.ip, this.delayAfter(accounts, this.policy.accountsPerAddress));
    }
  }

  /** The right password: this address is no longer failing on this account. */
  async recordSuccess(email: string, ip: string): Promise<void> {
    await this.ctx.db
      .deleteFrom('login_throttle')
      .where('key', '=', LoginThrottle.keys(email, ip).pair)
      .execute();
  }

  /** One atomic upsert (a stale window restarts at 1), so concurrent failures are all counted. */
  async #bump(key: string): Promise<number> {
    const now = this.ctx.now();
    const cut = now - this.policy.windowMs;
    const row = await this.ctx.db
      .insertInto('login_throttle')
      .values({ key, failures: 1, window_start: now, locked_until: null })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          failures: sql`case when login_throttle.window_start < ${cut} then 1 else login_throttle.failures + 1 end`,
          window_start: sql`case when login_throttle.window_start < ${cut} then ${now} else login_throttle.window_start end`,
        }),
      )
      .returning('failures')
      .executeTakeFirstOrThrow();
    return Number(row.failures);
  }

  async #delay(key: string, ms: number): Promise<void> {
    if (ms <= 0) return;
    await this.ctx.db
      .updateTable('login_throttle')
      .set({ locked_until: this.ctx.now() + ms })
      .where('key', '=', key)
      .execute();
  }

  /** Deletes rows whose window and delay have both passed. */
  async purge(): Promise<number> {
    const now = this.ctx.now();
    const res = await this.ctx.db
      .deleteFrom('login_throttle')
      .where('window_start', '<', now - this.policy.windowMs)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
