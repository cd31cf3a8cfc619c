import type { FastifyInstance, FastifyReply } from 'fastify';
import type { VNode } from 'preact';
import { render } from 'preact-render-to-string';
import { MessagePage } from './pages.js';
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

/**
 * The answer to a signed-out or protocol form whose CSRF token does not check out (expired, or not sent from
 * Clavis): 403 with a page that says what to do next.
 */
export function sendFormExpired(
  reply: FastifyReply,
  next = 'Go back to the app and try again.',
): FastifyReply {
  return sendPage(
    reply,
    403,
    MessagePage({
      title: 'Form expired',
      message: `This form is out of date or was not sent from Clavis. ${next}`,
    }),
  );
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
