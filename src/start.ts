import type { FastifyInstance } from 'fastify';
import type { Config } from './config/config.js';
import { type DatabaseHandle, migrateToLatest, openDatabase } from './db/database.js';
import { type BootstrapResult, bootstrap } from './domain/bootstrap.js';
import { registerMailHandler } from './domain/mail.js';
import { registerWebhookHandlers } from './domain/webhook-delivery.js';
import { type BuildOptions, buildServer } from './http/server.js';
import { startExpiryScan, startMaintenance, startOutboxWorker } from './maintenance.js';
import { registerBackchannelLogoutHandler } from './oauth/oidc/backchannel-logout.js';
import { closeServices, createServices, type Services } from './services.js';

export interface RunningServer {
  app: FastifyInstance;
  services: Services;
  bootstrap: BootstrapResult;
  /** The URL the server listens on (may differ from the issuer behind a proxy). */
  url: string;
  close(): Promise<void>;
}

/**
 * Opens the database, runs migrations, bootstraps, builds the HTTP server and (unless `listen: false`)
 * starts listening.
 */
export async function startServer(
  config: Config,
  options: BuildOptions & {
    listen?: boolean;
    database?: DatabaseHandle;
    now?: () => number;
    /** `false` leaves the secret expiry scan to the caller (tests that run `scanExpiryNotices` themselves). */
    expiryScan?: boolean;
  } = {},
): Promise<RunningServer> {
  const database = options.database ?? openDatabase(config.database);
  let services: Services;
  try {
    await migrateToLatest(database);
    const { SERVER_FEATURES } = await import('./features.js');
    services = await createServices(config, database, {
      features: SERVER_FEATURES,
      listen: true,
      now: options.now,
    });
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
  const boot = await bootstrap(services.ctx, database.kind);
  const app = await buildServer(services, options);
  const stopMaintenance = startMaintenance(services, app.log, services.config.purgeIntervalSec * 1000);
  const closeMail = registerMailHandler(config);
  registerWebhookHandlers();
  registerBackchannelLogoutHandler(services.idTokens);
  const stopOutbox = startOutboxWorker(services, app.log);
  const stopExpiryScan = options.expiryScan === false ? () => {} : startExpiryScan(services, app.log);
  let url = config.issuer;
  if (options.listen !== false) url = await app.listen({ port: config.port, host: config.host });
  return {
    app,
    services,
    bootstrap: boot,
    url,
    async close() {
      stopMaintenance();
      stopExpiryScan();
      await stopOutbox();
      closeMail?.();
      await app.close();
      await closeServices(services);
    },
  };
}
