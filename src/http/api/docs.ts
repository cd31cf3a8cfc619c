import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Clavis's mark (the hub's "C" badge), as the page icon. */
const MARK_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#2f54d1"/>' +
  '<text x="16" y="22.5" font-family="system-ui,sans-serif" font-size="18" font-weight="700" fill="#fff" text-anchor="middle">C</text></svg>';

/** The Clavis bar above Swagger UI: built by a script file, since the page allows no inline code or style. */
const BRAND_JS = `'use strict';
(function () {
  var bar = document.createElement('header');
  bar.className = 'clavis-docs-bar';
  var brand = document.createElement('a');
  brand.className = 'clavis-docs-brand';
  brand.href = '/';
  var mark = document.createElement('span');
  mark.className = 'clavis-docs-mark';
  mark.setAttribute('aria-hidden', 'true');
  mark.textContent = 'C';
  brand.append(mark, document.createTextNode('Clavis API'));
  var spec = document.createElement('a');
  spec.className = 'clavis-docs-link';
  spec.href = '/api/openapi.json';
  spec.textContent = 'openapi.json';
  bar.append(brand, spec);
  document.body.insertBefore(bar, document.body.firstChild);
})();
`;

const BRAND_CSS = `.clavis-docs-bar { display: flex; align-items: center; justify-content: space-between; gap: 1rem;
  padding: .7rem 1.25rem; border-bottom: 1px solid #e3e6ec; background: #fff; font-family: system-ui, sans-serif; }
.clavis-docs-brand { display: inline-flex; align-items: center; gap: .55rem; font-weight: 700; font-size: 1.05rem;
  color: #1b1f27; text-decoration: none; }
.clavis-docs-mark { width: 28px; height: 28px; border-radius: 8px; background: #2f54d1; color: #fff;
  display: inline-flex; align-items: center; justify-content: center; font-weight: 800; }
.clavis-docs-link { color: #2f54d1; font-size: .9rem; }
`;

const DOCS_THEME = {
  title: 'Clavis API',
  css: [{ filename: 'clavis.css', content: BRAND_CSS }],
  js: [{ filename: 'clavis.js', content: BRAND_JS }],
  favicon: [{ filename: 'clavis.svg', rel: 'icon', sizes: 'any', type: 'image/svg+xml', content: MARK_SVG }],
};

/** Response headers of the docs app that the main server sets itself. */
const HOP_HEADERS = new Set(['content-length', 'connection', 'date', 'keep-alive', 'transfer-encoding']);

/**
 * Serves the API docs page (Swagger UI, titled and branded "Clavis API") at `/api/docs`, built on its
 * first request.
 *
 * Swagger UI and its static-file server cost about a tenth of a second and several megabytes at start-up,
 * for a page few nodes ever serve. So the main server only declares the routes; the first request builds a
 * small Fastify app holding Swagger UI (its spec the main API's document), and every request
 * is answered through it. The answer passes back through the main server, so its security headers (the
 * strict CSP among them) apply as on every other page.
 */
export function docsRoutes(api: FastifyInstance, prefix: string, spec: () => Promise<unknown>): void {
  let docs: Promise<FastifyInstance> | undefined;
  const build = async () => {
    const [{ default: Fastify }, { default: swaggerUi }, { default: fp }, document] = await Promise.all([
      import('fastify'),
      import('@fastify/swagger-ui'),
      import('fastify-plugin'),
      spec(),
    ]);
    const app = Fastify({ logger: false });
    // Swagger UI depends on the plugin named @fastify/swagger: stand in for it with the main API's document.
    await app.register(
      fp(async (f) => void f.decorate('swagger', (() => document) as never), { name: '@fastify/swagger' }),
    );
    await app.register(swaggerUi, {
      routePrefix: prefix,
      // BaseLayout: no stock top bar, whose logo carries an inline <style> that the strict CSP refuses.
      uiConfig: { deepLinking: true, validatorUrl: null, layout: 'BaseLayout' } as Record<string, unknown>,
      theme: DOCS_THEME,
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
