import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Response headers of the docs app that the main server sets itself. */
const HOP_HEADERS = new Set(['content-length', 'connection', 'date', 'keep-alive', 'transfer-encoding']);

/**
 * Serves the API docs page (Swagger UI) at `/api/docs`, built on its first request.
 *
 * Swagger UI and its static-file server cost about a tenth of a second and several megabytes at start-up,
 * for a page few nodes ever serve. So the main server only declares the routes; the first request builds a
 * small Fastify app holding Swagger UI (its spec read from the main API's `swagger()`), and every request
 * is answered through it. The answer passes back through the main server, so its security headers (the
 * strict CSP among them) apply as on every other page.
 */
export function docsRoutes(api: FastifyInstance, prefix: string, spec: () => unknown): void {
  let docs: Promise<FastifyInstance> | undefined;
  const build = async () => {
    const [{ default: Fastify }, { default: swaggerUi }, { default: fp }] = await Promise.all([
      import('fastify'),
      import('@fastify/swagger-ui'),
      import('fastify-plugin'),
    ]);
    const app = Fastify({ logger: false });
    // Swagger UI depends on the plugin named @fastify/swagger: stand in for it with the main API's document.
    await app.register(
      fp(async (f) => void f.decorate('swagger', spec as never), { name: '@fastify/swagger' }),
    );
    await app.register(swaggerUi, {
      routePrefix: prefix,
      uiConfig: { deepLinking: true, validatorUrl: null } as Record<string, unknown>,
    });
    await app.ready();
    return app;
  };
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    docs ??= build().catch((err: unknown) => {
      docs = undefined;
      throw err;
    });
    const app = await docs;
    const res = await app.inject({
      method: request.method as 'GET' | 'HEAD',
      url: request.url,
      headers: {
        ...(request.headers['if-none-match'] ? { 'if-none-match': request.headers['if-none-match'] } : {}),
        ...(request.headers['accept-encoding']
          ? { 'accept-encoding': request.headers['accept-encoding'] }
          : {}),
      },
    });
    reply.code(res.statusCode);
    for (const [name, value] of Object.entries(res.headers))
      if (!HOP_HEADERS.has(name) && value !== undefined) reply.header(name, value);
    return reply.send(res.rawPayload);
  };
  const local = prefix.replace(/^\/api/, '');
  api.get(local, { schema: { hide: true } }, handler);
  api.get(`${local}/*`, { schema: { hide: true } }, handler);
}
