import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { HUB_CSS } from './hub-css.js';
import { HUB_JS } from './hub-js.js';

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 12);

/** Content-addressed paths: a changed asset gets a new URL, so the old one may be cached for a year. */
export const HUB_CSS_PATH = `/assets/hub.${hash(HUB_CSS)}.css`;
export const HUB_JS_PATH = `/assets/hub.${hash(HUB_JS)}.js`;

const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * Serves the hub's stylesheet and script with long-lived cache headers. They live beside the layout that
 * links them on every page (the hub's and the sign-in and consent pages alike).
 */
export async function hubAssetRoutes(app: FastifyInstance): Promise<void> {
  app.get(HUB_CSS_PATH, async (_req, reply) =>
    reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', IMMUTABLE).send(HUB_CSS),
  );
  app.get(HUB_JS_PATH, async (_req, reply) =>
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', IMMUTABLE)
      .send(HUB_JS),
  );
  // Browsers ask for it on every site; answer without a 404 in the console.
  app.get('/favicon.ico', async (_req, reply) =>
    reply.code(204).header('cache-control', 'public, max-age=86400').send(),
  );
}
