import type { FastifyBaseLogger } from 'fastify';
import type { Services } from './services.js';

/** Runs every purge step once; returns the rows deleted per step name. */
export async function purgeExpired(services: Services): Promise<number> {
  let total = await services.revocations.purge();
  for (const step of services.purgeSteps) total += await step(services);
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
