import type { FastifyInstance, FastifyReply } from 'fastify';
import type { VNode } from 'preact';
import { render } from 'preact-render-to-string';
import { APP_CSS, ASSET_CSS_PATH } from './styles.js';

/**
 * Sends a server-rendered page. Pages are never cached (they carry CSRF tokens and personal data); the
 * security-headers hook adds the page CSP with `frame-ancestors 'none'`.
 */
export function sendPage(reply: FastifyReply, status: number, page: VNode): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(`<!doctype html>${render(page)}`);
}

/** Serves the design system's stylesheet. */
export async function assetRoutes(app: FastifyInstance): Promise<void> {
  app.get(ASSET_CSS_PATH, async (_req, reply) =>
    reply
      .header('content-type', 'text/css; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(APP_CSS),
  );
}
