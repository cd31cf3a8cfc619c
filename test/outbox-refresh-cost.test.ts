import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishEvent } from '../src/domain/events.js';
import { refreshSecret } from '../src/domain/secrets.js';
import { adminActor, createTestApp, startTestServer, type TestServer } from './helpers/server.js';

/**
 * The bar: the outbox write adds at most 5% to a secret refresh. A refresh in a transaction, with and
 * without one more `publishEvent` in the same transaction (the refresh writes its own event as well, so this
 * is the cost of one outbox write beside a whole refresh), after a warm-up, in ABBA order so both see the same
 * load; the medians are compared. A timing measurement, so it runs only with CLAVIS_BENCH=1
 * (CLAVIS_BENCH_ROUNDS, default 1500). Numbers are in the README (Speed).
 */
let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer({ env: { CLAVIS_OUTBOX_POLL_MS: '600000' } });
});
afterAll(async () => ts?.close());

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

describe('outbox write cost', () => {
  it.runIf(process.env.CLAVIS_BENCH === '1')(
    'adds at most 5% to a secret refresh',
    async () => {
      const ctx = ts.server.services.ctx;
      const actor = await adminActor(ts);
      const { app } = await createTestApp(ts);
      const plain: number[] = [];
      const withEvent: number[] = [];
      const run = (event: boolean) =>
        ctx.db.transaction().execute(async (trx) => {
          // refreshSecret joins the caller's transaction, as the event's write would in the real path.
          const s = await refreshSecret({ ...ctx, db: trx }, actor, app.id);
          if (event)
            await publishEvent(trx, {
              type: 'secret.refreshed',
              tenant_id: app.tenant_id,
              data: {
                app: { id: app.id, client_id: app.client_id, name: app.name },
                secret: { id: s.id, hint: s.hint },
              },
            });
        });
      // Warm up until both paths are optimised by the JIT (the first few hundred runs are several times
      // slower and would measure the compiler), then ABBA blocks, so drift and load fall on both alike.
      const rounds = Number(process.env.CLAVIS_BENCH_ROUNDS ?? 1500);
      for (let i = 0; i < 400; i++) await run(i % 2 === 0);
      for (let i = 0; i < rounds; i++) {
        for (const event of i % 2 === 0 ? [false, true] : [true, false]) {
          const t = performance.now();
          await run(event);
          (event ? withEvent : plain).push(performance.now() - t);
        }
      }
      const overhead = median(withEvent) / median(plain) - 1;
      console.log(
        `${rounds} rounds: refresh median ${median(plain).toFixed(3)} ms, with the outbox write ${median(withEvent).toFixed(3)} ms (+${(overhead * 100).toFixed(1)}%)`,
      );
      expect(overhead).toBeLessThanOrEqual(0.05);
    },
    300_000,
  );
});
