import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishEvent } from '../src/domain/events.js';
import { countOutbox, drainOutbox } from '../src/domain/outbox.js';
import { postWebhook } from '../src/domain/webhook-http.js';
import { ApiClient } from './helpers/api.js';
import { defaultTenantId, managementToken, startTestServer, type TestServer } from './helpers/server.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

/**
 * Throughput of webhook delivery (issue 16's "Speed": 10,000 pending deliveries drain at 200 a second against
 * a local receiver; `CLAVIS_WEBHOOK_BENCH_N=10000`, 1,000 by default). Each delivery is signed, POSTed on a
 * kept-alive connection of its endpoint and recorded, drained with the server's worker's own settings. On a
 * shared machine the absolute rate follows the load, so the test prints the pipeline's rate beside bare POSTs
 * to the same receiver measured just before, checks that every delivery arrived exactly once, and asserts
 * 200/s only with CLAVIS_WEBHOOK_BENCH_STRICT=1.
 */
let ts: TestServer;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await new WebhookReceiver().start();
  // The server's own worker stays out of the way: the test drains by hand and times it.
  ts = await startTestServer({
    env: { CLAVIS_WEBHOOKS_ALLOW_PRIVATE: 'true', CLAVIS_OUTBOX_POLL_MS: '600000' },
  });
});
afterAll(async () => {
  await ts?.close();
  await receiver?.close();
});

describe('webhook throughput', () => {
  /** The rate the first test measured (deliveries per second), for the strict check. */
  let rate = 0;

  it('drains pending deliveries, each once, and reports the rate', {
    timeout: 300_000,
  }, async () => {
    const n = Number(process.env.CLAVIS_WEBHOOK_BENCH_N ?? 1000);
    const ctx = ts.server.services.ctx;
    const api = new ApiClient(ts, await managementToken(ts));
    const ep = await api.post('/v1/webhooks', { url: `${receiver.url}/any`, events: ['app.updated'] });
    expect(ep.status).toBe(201);
    const tenant_id = await defaultTenantId(ts);
    await ctx.db.deleteFrom('outbox').execute();
    await ctx.db.transaction().execute(async (trx) => {
      for (let i = 0; i < n; i++)
        await publishEvent(trx, {
          type: 'app.updated',
          tenant_id,
          data: { app: { id: `a${i}`, client_id: `c${i}`, name: `App ${i}` } },
        });
    });
    // Fan-out first (one delivery per event), then time the deliveries themselves.
    await drainOutbox(ctx, { kinds: ['event'], batchSize: 500 });
    expect((await countOutbox(ctx, 'webhook.delivery')).pending).toBe(n);
    // Bare POSTs, same concurrency, same receiver: what the machine allows right now.
    const bare = Math.min(n, 500);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next++ < bare) await postWebhook(`${receiver.url}/bare`, {}, '{}', { allowPrivate: true });
      }),
    );
    const bareRate = bare / ((performance.now() - t0) / 1000);
    const started = performance.now();
    // The worker's defaults (batch, concurrency, per-endpoint limit): what a server does.
    const r = await drainOutbox(ctx, { kinds: ['webhook.delivery'] });
    const seconds = (performance.now() - started) / 1000;
    rate = n / seconds;
    console.log(
      `${n} webhook deliveries in ${seconds.toFixed(2)} s: ${rate.toFixed(0)}/s (bare POSTs: ${bareRate.toFixed(0)}/s)`,
    );
    expect(r.delivered).toBe(n);
    expect(receiver.received.filter((x) => x.path === '/any')).toHaveLength(n);
  });

  // The 200/s, on a machine of our own: reported skipped unless asked for, never silently passed.
  it.runIf(process.env.CLAVIS_WEBHOOK_BENCH_STRICT === '1')('delivers at least 200 per second', () => {
    expect(rate).toBeGreaterThanOrEqual(200);
  });
});
