import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainContext } from '../src/domain/context.js';
import {
  countOutbox,
  drainOutbox,
  registerOutboxHandler,
  unregisterOutboxHandler,
} from '../src/domain/outbox.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * The speed bar: 10,000 pending deliveries drain at 200 per second or more against a local HTTP
 * receiver (each delivery one POST, answered 200).
 */
let ts: TestServer;
let ctx: DomainContext;
let receiver: Server;
let url: string;
const seen = new Set<string>();

beforeAll(async () => {
  ts = await startTestServer({ env: { CLAVIS_OUTBOX_POLL_MS: '600000' } });
  ctx = ts.server.services.ctx;
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.add(String(req.headers['x-id']));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
});
afterAll(async () => {
  unregisterOutboxHandler('bench.http');
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
  await ts?.close();
});

describe('outbox throughput', () => {
  it('drains 10,000 pending HTTP deliveries at 200/s or more', async () => {
    registerOutboxHandler('bench.http', async (msg, dctx) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-id': msg.id },
        body: JSON.stringify(msg.payload),
        signal: dctx.signal,
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
    });
    const now = ctx.now();
    const N = 10_000;
    for (let i = 0; i < N; i += 500) {
      const rows = Array.from({ length: Math.min(500, N - i) }, (_, j) => ({
        id: `bench-${i + j}`,
        kind: 'bench.http',
        payload: JSON.stringify({ type: 'app.updated', n: i + j }),
        dedupe_key: null,
        status: 'pending' as const,
        attempts: 0,
        available_at: now,
        created_at: now,
      }));
      await ctx.db.insertInto('outbox').values(rows).execute();
    }
    const started = performance.now();
    const result = await drainOutbox(ctx, { kinds: ['bench.http'], batchSize: 200, concurrency: 32 });
    const seconds = (performance.now() - started) / 1000;
    const rate = N / seconds;
    console.log(`outbox: ${N} deliveries in ${seconds.toFixed(2)} s = ${Math.round(rate)}/s`);
    expect(result).toEqual({ delivered: N, failed: 0, retried: 0 });
    expect(seen.size).toBe(N);
    expect(await countOutbox(ctx, 'bench.http')).toEqual({ pending: 0, done: N, failed: 0 });
    expect(rate).toBeGreaterThanOrEqual(200);
  }, 120_000);
});
