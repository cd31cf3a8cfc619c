import type { FastifyInstance, FastifyRequest } from 'fastify';
import { render } from 'preact-render-to-string';
import { PAGE_CSP } from '../web/csp.js';
import { Layout } from '../web/layout.js';

/** Machine endpoints: their errors stay JSON (RFC 6749 or RFC 9457) whatever the client accepts. */
const MACHINE_PREFIXES = ['/oauth/', '/api/', '/.well-known/', '/health', '/metrics', '/assets/'];

const PAGES: Record<number, { title: string; message: string }> = {
  404: {
    title: 'Page not found',
    message: 'There is no page at this address. Check the link, or start again from the home page.',
  },
  413: {
    title: 'The form was too large',
    message:
      'What you sent is larger than Clavis accepts. Go back, shorten the longest field (a name or description) and send the form again.',
  },
};

function wantsHtml(request: FastifyRequest): boolean {
  const path = request.url.split('?')[0] ?? '';
  if (MACHINE_PREFIXES.some((p) => path === p.replace(/\/$/, '') || path.startsWith(p))) return false;
  if (request.method !== 'GET' && request.method !== 'POST') return false;
  return String(request.headers.accept ?? '').includes('text/html');
}

function ErrorPage({ title, message }: { title: string; message: string }) {
  return (
    <Layout title={title} narrow>
      <div class="card">
        <h1>{title}</h1>
        <p class="muted">{message}</p>
        <a class="btn" href="/">
          Go to the home page
        </a>
      </div>
    </Layout>
  );
}

/**
 * Browsers get an HTML page for the framework's 404 (unknown path) and 413 (body too large) answers, which
 * the shared error handler sends as problem+json. Only those two statuses, only problem+json bodies, only
 * for requests that accept text/html, and never on protocol or API paths.
 */
export function registerBrowserErrorPages(app: FastifyInstance): void {
  // A callback-style hook that returns at once for other statuses: it runs on every response, the token
  // endpoint's included, so it must not cost a promise or a header lookup there.
  app.addHook('onSend', (request, reply, payload, done) => {
    const page = PAGES[reply.statusCode];
    if (
      !page ||
      !String(reply.getHeader('content-type') ?? '').startsWith('application/problem+json') ||
      !wantsHtml(request)
    )
      return done(null, payload);
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', PAGE_CSP)
      .removeHeader('content-length');
    done(null, `<!doctype html>${render(ErrorPage(page))}`);
  });
}
