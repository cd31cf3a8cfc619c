import { sql } from 'kysely';
import type { DomainContext } from '../domain/context.js';

export interface ThrottlePolicy {
  /** Failures allowed per account within the window before it is locked. */
  perAccount: number;
  /** Failures allowed per client IP within the window before it is locked. */
  perIp: number;
  windowMs: number;
  lockMs: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = {
  perAccount: 5,
  perIp: 30,
  windowMs: 15 * 60_000,
  lockMs: 15 * 60_000,
};

/**
 * Login throttling, shared by every node through the database: after `perAccount` failures for one email
 * address (known or not) or `perIp` failures from one address within the window, further attempts are refused
 * for `lockMs`, whatever the password. A success clears the account's counter (not the IP's).
 */
export class LoginThrottle {
  constructor(
    private readonly ctx: DomainContext,
    readonly policy: ThrottlePolicy = DEFAULT_THROTTLE,
  ) {}

  static keys(email: string, ip: string): { account: string; ip: string } {
    return { account: `acct:${email.trim().toLowerCase().slice(0, 320)}`, ip: `ip:${ip}` };
  }

  /** @returns the epoch ms until which login is locked for this account or IP, or null. */
  async lockedUntil(email: string, ip: string): Promise<number | null> {
    const k = LoginThrottle.keys(email, ip);
    const rows = await this.ctx.db
      .selectFrom('login_throttle')
      .select('locked_until')
      .where('key', 'in', [k.account, k.ip])
      .execute();
    const now = this.ctx.now();
    const until = Math.max(0, ...rows.map((r) => r.locked_until ?? 0));
    return until > now ? until : null;
  }

  /** Counts a failed attempt against both keys, locking whichever reached its limit. */
  async recordFailure(email: string, ip: string): Promise<void> {
    const k = LoginThrottle.keys(email, ip);
    await this.#bump(k.account, this.policy.perAccount);
    await this.#bump(k.ip, this.policy.perIp);
  }

  async recordSuccess(email: string, ip: string): Promise<void> {
    await this.ctx.db
      .deleteFrom('login_throttle')
      .where('key', '=', LoginThrottle.keys(email, ip).account)
      .execute();
  }

  async #bump(key: string, limit: number): Promise<void> {
    const now = this.ctx.now();
    const cut = now - this.policy.windowMs;
    // One atomic upsert: a fresh window restarts the count, so concurrent failures are all counted.
    await this.ctx.db
      .insertInto('login_throttle')
      .values({ key, failures: 1, window_start: now, locked_until: null })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          failures: sql`case when login_throttle.window_start < ${cut} then 1 else login_throttle.failures + 1 end`,
          window_start: sql`case when login_throttle.window_start < ${cut} then ${now} else login_throttle.window_start end`,
        }),
      )
      .execute();
    await this.ctx.db
      .updateTable('login_throttle')
      .set({ locked_until: now + this.policy.lockMs, failures: 0, window_start: now })
      .where('key', '=', key)
      .where('failures', '>=', limit)
      .execute();
  }

  /** Deletes rows whose window and lock have both passed. */
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
