/**
 * The Content-Security-Policy for every HTML page: no inline script, no framing. Here, beside the pages,
 * so that both the security-headers hook (src/http/security-headers.ts) and the hub's browser error pages
 * send the same policy.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');
