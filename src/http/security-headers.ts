import type { FastifyInstance, FastifyReply } from 'fastify';
import { PAGE_CSP } from '../web/csp.js';

/**
 * The CSP source for a client's redirect URI: its origin (any port for loopback IPs, RFC 8252 §7.3), or its
 * scheme for a private-use URI scheme. Null when it cannot be expressed safely.
 */
export function formTargetSource(redirectUri: string): string | null {
  let u: URL;
  try {
    u = new URL(redirectUri);
  } catch {
    return null;
  }
  if (u.protocol === 'https:' || u.protocol === 'http:') {
    if (u.hostname === '127.0.0.1' || u.hostname === '[::1]') return `${u.protocol}//${u.hostname}:*`;
    return /^https?:\/\/[A-Za-z0-9.\-[\]:]+$/.test(u.origin) ? u.origin : null;
  }
  return /^[a-z][a-z0-9+.-]*:$/i.test(u.protocol) ? u.protocol : null;
}

/**
 * Lets this page's forms end in a redirect to the client. Browsers apply `form-action` to every redirect
 * after a form submission, so the sign-in and consent pages of an authorization request must allow the
 * client's redirect URI, or the final 302/303 back to the app is blocked.
 */
export function allowFormRedirectTo(reply: FastifyReply, redirectUri: string): void {
  const src = formTargetSource(redirectUri);
  if (src)
    reply.header(
      'content-security-policy',
      PAGE_CSP.replace("form-action 'self'", `form-action 'self' ${src}`),
    );
}

/**
 * Sets the strict headers of a response whose body has `contentType`: pages also get the CSP. API and
 * protocol responses get `frame-ancestors 'none'` too, and never sniffable content.
 */
export function setSecurityHeaders(reply: FastifyReply, https: boolean, contentType: string): void {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('x-frame-options', 'DENY');
  reply.header('cross-origin-opener-policy', 'same-origin');
  if (contentType.startsWith('text/html')) {
    // A page may carry a narrower variant of the page CSP (see allowFormRedirectTo); never a looser one.
    const own = String(reply.getHeader('content-security-policy') ?? '');
    if (!own.startsWith("default-src 'none'; script-src 'self'; style-src 'self';"))
      reply.header('content-security-policy', PAGE_CSP);
  } else if (!reply.hasHeader('content-security-policy'))
    reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
  if (https) reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
}

/** {@link setSecurityHeaders} on every response that goes through Fastify's hooks. */
export function registerSecurityHeaders(app: FastifyInstance, options: { https: boolean }): void {
  // A callback-style hook, not an async one: it runs on every response, the token endpoint's included.
  app.addHook('onSend', (_req, reply, payload, done) => {
    setSecurityHeaders(reply, options.https, String(reply.getHeader('content-type') ?? ''));
    done(null, payload);
  });
}
