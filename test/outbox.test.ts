import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DomainContext } from '../src/domain/context.js';
import { EVENT_KIND, publishEvent } from '../src/domain/events.js';
import {
  backoffMs,
  countOutbox,
  drainOutbox,
  enqueue,
  type OutboxMessage,
  PermanentFailure,
  RetryLater,
  registerOutboxHandler,
  unregisterOutboxHandler,
} from '../src/domain/outbox.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** The outbox on both databases: transactional writes, delivery, retries with backoff, leases, dedupe. */
let ts: TestServer;
let clock = Date.now();
let ctx: DomainContext;

beforeAll(async () => {
  // The server's own worker stays out of the way: these tests drain by hand.
  ts = await startTestServer({ env: { CLAVIS_OUTBOX_POLL_MS: '600000' } });
  ctx = { ...ts.server.services.ctx, now: () => clock };
});
afterAll(async () => ts?.close());
afterEach(async () => {
  for (const k of ['t.ok', 't.flaky', 't.perm', 't.slow', 't.retry', EVENT_KIND]) unregisterOutboxHandler(k);
  await ctx.db.deleteFrom('outbox').execute();
});

const row = (id: string) =>
  ctx.db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('enqueue', () => {
  it('writes in the caller transaction: a rolled-back change leaves no message', async () => {
    await expect(
      ctx.db.transaction().execute(async (trx) => {
        await enqueue(trx, { kind: 't.ok', payload: { n: 1 } }, clock);
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect((await countOutbox(ctx)).pending).toBe(0);
    const id = await ctx.db
      .transaction()
      .execute((trx) => enqueue(trx, { kind: 't.ok', payload: { n: 2 } }, clock));
    expect((await row(id)).status).toBe('pending');
  });

  it('writes one message per dedupe key and returns the first id again', async () => {
    const a = await enqueue(ctx.db, { kind: 't.ok', payload: 1, dedupe_key: 'k1' }, clock);
    const b = await enqueue(ctx.db, { kind: 't.ok', payload: 2, dedupe_key: 'k1' }, clock);
    const c = await enqueue(ctx.db, { kind: 't.ok', payload: 3, dedupe_key: 'k2' }, clock);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect((await countOutbox(ctx, 't.ok')).pending).toBe(2);
    // In a transaction too (PostgreSQL: ON CONFLICT DO NOTHING does not abort it).
    const d = await ctx.db.transaction().execute(async (trx) => {
      const id = await enqueue(trx, { kind: 't.ok', payload: 4, dedupe_key: 'k1' }, clock);
      await enqueue(trx, { kind: 't.ok', payload: 5 }, clock);
      return id;
    });
    expect(d).toBe(a);
    expect((await countOutbox(ctx, 't.ok')).pending).toBe(3);
  });
});

describe('drain', () => {
  it('delivers each due message once with its payload and id, and leaves future ones', async () => {
    const seen: OutboxMessage[] = [];
    registerOutboxHandler('t.ok', async (msg) => {
      seen.push(msg);
    });
    const id = await enqueue(ctx.db, { kind: 't.ok', payload: { hello: 'world' } }, clock);
    const later = await enqueue(
      ctx.db,
      { kind: 't.ok', payload: 'later', available_at: clock + 60_000 },
      clock,
    );
    expect(await drainOutbox(ctx)).toEqual({ delivered: 1, failed: 0, retried: 0 });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ id, kind: 't.ok', payload: { hello: 'world' }, attempt: 1 });
    expect(await row(id)).toMatchObject({ status: 'done', attempts: 1, claimed_by: null, done_at: clock });
    expect(await drainOutbox(ctx)).toEqual({ delivered: 0, failed: 0, retried: 0 });
    clock += 60_000;
    expect(await drainOutbox(ctx)).toEqual({ delivered: 1, failed: 0, retried: 0 });
    expect(seen.map((m) => m.id)).toEqual([id, later]);
  });

  it('retries a throwing handler with growing backoff, then delivers', async () => {
    let calls = 0;
    registerOutboxHandler('t.flaky', async () => {
      calls++;
      if (calls < 3) throw new Error(`boom ${calls}`);
    });
    const id = await enqueue(ctx.db, { kind: 't.flaky', payload: null }, clock);
    expect(await drainOutbox(ctx)).toEqual({ delivered: 0, failed: 0, retried: 1 });
    const first = await row(id);
    expect(first).toMatchObject({ status: 'pending', attempts: 1, last_error: 'boom 1' });
    const wait1 = first.available_at - clock;
    expect(wait1).toBeGreaterThanOrEqual(2_500);
    expect(wait1).toBeLessThanOrEqual(5_000);
    expect(await drainOutbox(ctx)).toEqual({ delivered: 0, failed: 0, retried: 0 });
    clock = first.available_at;
    expect(await drainOutbox(ctx)).toEqual({ delivered: 0, failed: 0, retried: 1 });
    const second = await row(id);
    const wait2 = second.available_at - clock;
    expect(wait2).toBeGreaterThanOrEqual(5_000);
    expect(wait2).toBeLessThanOrEqual(10_000);
    clock = second.available_at;
    expect(await drainOutbox(ctx)).toEqual({ delivered: 1, failed: 0, retried: 0 });
    expect(await row(id)).toMatchObject({ status: 'done', attempts: 3, last_error: null });
  });

  it('backoff grows exponentially with jitter and is capped', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = Math.min(3600_000, 5_000 * 2 ** (attempt - 1));
      const samples = Array.from({ length: 50 }, () => backoffMs(attempt));
      for (const s of samples) {
        expect(s).toBeGreaterThanOrEqual(ceiling / 2);
        expect(s).toBeLessThanOrEqual(ceiling);
      }
      expect(new Set(samples).size).toBeGreaterThan(1);
    }
  });

  it('RetryLater chooses the delay; PermanentFailure fails at once', async () => {
    registerOutboxHandler('t.retry', async () => {
      throw new RetryLater('busy', 42_000);
    });
    registerOutboxHandler('t.perm', async () => {
      throw new PermanentFailure('550 no such user');
    });
    const r = await enqueue(ctx.db, { kind: 't.retry', payload: null }, clock);
    const p = await enqueue(ctx.db, { kind: 't.perm', payload: null }, clock);
    expect(await drainOutbox(ctx)).toEqual({ delivered: 0, failed: 1, retried: 1 });
    expect((await row(r)).available_at).toBe(clock + 42_000);
    expect(await row(p)).toMatchObject({ status: 'failed', last_error: '550 no such user', attempts: 1 });
    clock += 1_000_000;
    expect(await drainOutbox(ctx, { kinds: ['t.perm'] })).toEqual({ delivered: 0, failed: 0, retried: 0 });
  });

  it('stops retrying after maxAgeMs and marks the message failed', async () => {
    registerOutboxHandler(
      't.flaky',
      async () => {
        throw new Error('down');
      },
      { maxAgeMs: 60_000 },
    );
    const id = await enqueue(ctx.db, { kind: 't.flaky', payload: null }, clock);
    let rounds = 0;
    while ((await row(id)).status === 'pending' && rounds < 50) {
      clock = Math.max(clock, (await row(id)).available_at);
      await drainOutbox(ctx);
      rounds++;
    }
    const last = await row(id);
    expect(last.status).toBe('failed');
    expect(last.last_error).toBe('down');
    // The last attempt happened at the deadline, not later.
    expect(last.last_attempt_at).toBeLessThanOrEqual(last.created_at + 60_000);
    expect(last.attempts).toBeGreaterThan(2);
  });

  it('a handler over its timeout is aborted and retried', async () => {
    let aborted = false;
    registerOutboxHandler(
      't.slow',
      (_msg, dctx) =>
        new Promise<void>((_, reject) => {
          dctx.signal.addEventListener('abort', () => {
            aborted = true;
            reject(dctx.signal.reason);
          });
        }),
      { timeoutMs: 100 },
    );
    const id = await enqueue(ctx.db, { kind: 't.slow', payload: null }, clock);
    expect(await drainOutbox(ctx)).toEqual({ delivered: 0, failed: 0, retried: 1 });
    expect(aborted).toBe(true);
    expect((await row(id)).last_error).toMatch(/timed out after 100 ms/);
  });

  it('an event with no handler is marked done; a registered event handler receives it', async () => {
    const id = await publishEvent(
      ctx.db,
      { type: 'secret.expiring', tenant_id: null, data: { days_left: 7 } },
      { now: clock },
    );
    expect(await drainOutbox(ctx)).toEqual({ delivered: 1, failed: 0, retried: 0 });
    expect(await row(id)).toMatchObject({ status: 'done', last_error: 'no handler for this kind' });
    const seen: unknown[] = [];
    registerOutboxHandler(EVENT_KIND, async (msg) => {
      seen.push(msg.payload);
    });
    await publishEvent(
      ctx.db,
      { type: 'app.created', tenant_id: 't1', data: { app: { id: 'a' } } },
      { now: clock },
    );
    await drainOutbox(ctx);
    expect(seen).toEqual([
      { type: 'app.created', tenant_id: 't1', data: { app: { id: 'a' } }, timestamp: clock },
    ]);
  });
});

describe('claims and leases', () => {
  it('a message claimed by a live worker is not claimed again; after its lease runs out it is', async () => {
    const seen: string[] = [];
    const releases: Array<() => void> = [];
    registerOutboxHandler(
      't.slow',
      (msg) => {
        seen.push(msg.id);
        return new Promise<void>((resolve) => {
          releases.push(resolve);
        });
      },
      { timeoutMs: 10_000 },
    );
    const id = await enqueue(ctx.db, { kind: 't.slow', payload: null }, clock);
    const first = drainOutbox(ctx);
    await expect.poll(() => seen.length).toBe(1);
    const claimed = await row(id);
    expect(claimed.claimed_by).toBeTruthy();
    // Lease: the 10 s timeout plus a margin of the same (at most 30 s).
    expect(claimed.claimed_until).toBe(clock + 20_000);
    // A second worker (another node) finds nothing to claim while the lease holds.
    expect(await drainOutbox(ctx)).toEqual({ delivered: 0, failed: 0, retried: 0 });
    // The first worker "dies": its lease runs out, and another claims the message (same id, attempt 2).
    clock += 20_001;
    const second = drainOutbox(ctx);
    await expect.poll(() => seen.length).toBe(2);
    expect(seen).toEqual([id, id]);
    const reclaimed = await row(id);
    expect(reclaimed.attempts).toBe(2);
    expect(reclaimed.claimed_by).not.toBe(claimed.claimed_by);
    // The stale worker finishing late cannot overwrite the new claim.
    releases[0]?.();
    expect(await first).toEqual({ delivered: 1, failed: 0, retried: 0 });
    expect((await row(id)).claimed_by).toBe(reclaimed.claimed_by);
    releases[1]?.();
    await second;
    expect((await row(id)).status).toBe('done');
  });

  it('concurrent drains in one process deliver each message exactly once', async () => {
    const seen = new Map<string, number>();
    registerOutboxHandler('t.ok', async (msg) => {
      seen.set(msg.id, (seen.get(msg.id) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 1));
    });
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) ids.push(await enqueue(ctx.db, { kind: 't.ok', payload: i }, clock));
    const results = await Promise.all(Array.from({ length: 4 }, () => drainOutbox(ctx, { batchSize: 25 })));
    expect(results.reduce((n, r) => n + r.delivered, 0)).toBe(300);
    expect(seen.size).toBe(300);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  });
});
