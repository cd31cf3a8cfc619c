import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyServerFactory, LogController } from 'fastify';
import { hubRoutes } from '../hub/index.js';
import type { Services } from '../services.js';
import { assetRoutes } from '../web/render.js';
import { managementApiRoutes } from './api/index.js';
import { answerFrameworkError, registerErrorHandler } from './error-handler.js';
import { registerInputGuard } from './input-guard.js';
import { lazySchemaController } from './lazy-schemas.js';
import { loggerOptions } from './logging.js';
import { createMetrics, type Metrics, metricsRoutes } from './metrics.js';
import { authorizeRoutes } from './routes/authorize.js';
import { connectedAppsRoutes } from './routes/connected-apps.js';
import { deviceRoutes } from './routes/device.js';
import { discoveryRoutes } from './routes/discovery.js';
import { endSessionRoutes } from './routes/end-session.js';
import { healthRoutes } from './routes/health.js';
import { loginRoutes } from './routes/login.js';
import { oauthRoutes } from './routes/oauth.js';
import { resourceApiRoutes } from './routes/resource-api.js';
import { userinfoRoutes } from './routes/userinfo.js';
import { registerSecurityHeaders } from './security-headers.js';

export interface BuildOptions {
  /** Where JSON log lines go (tests capture them); defaults to stdout. */
  logStream?: NodeJS.WritableStream;
  /** Extra route plugins (hub, management API, authorization endpoint) registered by other modules. */
  plugins?: Array<(app: FastifyInstance, services: Services, metrics: Metrics) => Promise<void>>;
  /**
   * Serve on an HTTP server the caller made (and may already have bound), instead of one `app.listen()`
   * creates: tests bind port 0 first, so the issuer can name the port the kernel chose.
   */
  serverFactory?: FastifyServerFactory;
}

/**
 * Builds the Fastify application for a set of services. Nothing listens until `app.listen()`.
 */
export async function buildServer(services: Services, options: BuildOptions = {}): Promise<FastifyInstance> {
  const { trustProxy } = services.config;
  const app = Fastify({
    logger: loggerOptions(services.config.logLevel, options.logStream),
    bodyLimit: 256 * 1024,
    // true, false, or the trusted proxies' addresses, ranges and names (proxy-addr, through Fastify).
    trustProxy: typeof trustProxy === 'boolean' ? trustProxy : [...trustProxy],
    // Per-request access lines only at debug/trace: at info they would cost the hot path two log writes.
    logController: new LogController({
      disableRequestLogging: services.config.logLevel !== 'debug' && services.config.logLevel !== 'trace',
    }),
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    return503OnClosing: true,
    frameworkErrors: (error, request, reply) =>
      answerFrameworkError(error, request, reply, services.config.issuer.startsWith('https:')),
    // Route schemas compile on first use: most are never needed on a node serving the token endpoint.
    schemaController: lazySchemaController(),
    ...(options.serverFactory ? { serverFactory: options.serverFactory } : {}),
  });
  const metrics = createMetrics();
  registerErrorHandler(app);
  registerInputGuard(app);
  registerSecurityHeaders(app, { https: services.config.issuer.startsWith('https:') });
  await metricsRoutes(app, metrics, { token: services.config.metricsToken });
  await healthRoutes(app, services);
  await discoveryRoutes(app, services);
  await oauthRoutes(app, services, metrics);
  await resourceApiRoutes(app, services);
  // User authorization: cookies for sessions, the shared stylesheet, sign-in, authorize, grants.
  await app.register(fastifyCookie);
  await assetRoutes(app);
  await loginRoutes(app, services, metrics);
  if (services.features.authorizationEndpoint) {
    await authorizeRoutes(app, services);
    // OpenID Connect: UserInfo and RP-initiated logout.
    await userinfoRoutes(app, services);
    await endSessionRoutes(app, services);
  }
  if (services.features.deviceAuthorization) await deviceRoutes(app, services);
  await connectedAppsRoutes(app, services);
  await managementApiRoutes(app, services);
  // The developer hub: sign-up, apps, secrets, admin area.
  await hubRoutes(app, services);
  for (const plugin of options.plugins ?? []) await plugin(app, services, metrics);
  app.addHook('onClose', async () => {
    metrics.registry.clear();
  });
  return app;
}
