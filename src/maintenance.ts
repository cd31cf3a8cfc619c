import type { FastifyBaseLogger } from 'fastify';
import { scanExpiryNotices } from './domain/expiry-notices.js';
import { drainOutbox, purgeOutbox } from './domain/outbox.js';
import type { Services } from './services.js';

/** Runs every purge step once; returns the rows deleted per step name. */
export async function purgeExpired(services: Services): Promise<number> {
  let total = await services.revocations.purge();
  for (const step of services.purgeSteps) total += await step(services);
  total += await purgeOutbox(services.ctx);
  return total;
}

/**
 * Background jobs: purge expired rows so tables stay bounded, and re-read signing keys now and then in case
 * a rotation notice was missed. Returns a stop function.
 */
export function startMaintenance(
  services: Services,
  log: FastifyBaseLogger,
  intervalMs = 60_000,
): () => void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const purged = await purgeExpired(services);
      if (purged > 0) log.info({ purged }, 'purged expired rows');
      await services.keys.refreshIfStale();
    } catch (err) {
      log.warn({ err }, 'maintenance failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The outbox worker: every `intervalMs` it delivers the messages that are due (mail, events), on every node
 * at once (claims keep each message to one node). Returns a stop function that waits for a running drain.
 */
export function startOutboxWorker(
  services: Services,
  log: FastifyBaseLogger,
  intervalMs = services.config.outboxPollMs,
): () => Promise<void> {
  let running: Promise<void> | undefined;
  let stopped = false;
  // A drain goes on while a slow receiver holds some of its messages (claiming new ones meanwhile): stopping
  // ends its claiming, and waits for what it already runs.
  const stop = new AbortController();
  const tick = () => {
    if (running || stopped) return;
    running = drainOutbox(services.ctx, { log, signal: stop.signal })
      .then((r) => {
        if (r.delivered + r.failed + r.retried > 0) log.debug(r, 'outbox drained');
      })
      .catch((err: unknown) => log.warn({ err }, 'outbox worker failed'))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return async () => {
    stopped = true;
    stop.abort();
    clearInterval(timer);
    await running;
  };
}

/**
 * The expiry notice scan (30, 7, 1 days before a secret expires, and when it has): soon after start, then
 * every `intervalMs`. Every node may run it; each notice is sent once (see domain/expiry-notices.ts).
 */
export function startExpiryScan(
  services: Services,
  log: FastifyBaseLogger,
  intervalMs = services.config.notifyIntervalSec * 1000,
): () => void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const sent = await scanExpiryNotices(services.ctx);
      if (sent.length > 0) log.info({ notices: sent.length }, 'secret expiry notices sent');
    } catch (err) {
      log.warn({ err }, 'expiry notice scan failed');
    } finally {
      running = false;
    }
  };
  const first = setTimeout(tick, Math.min(intervalMs, 5_000));
  first.unref();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
