import type { FastifyServerOptions } from 'fastify';

/** Parameters whose values never reach a log line, wherever they appear in a logged URL. */
const SENSITIVE_PARAMS =
  /^(client_secret|code|user_code|device_code|code_verifier|refresh_token|access_token|token|id_token|password|state|assertion|subject_token|csrf|_csrf)$/i;

const JWT_SHAPE = /^eyJ[\w-]*\.[\w-]*\.[\w-]*$/;

/** How deep a URL encoded inside another URL's parameter is followed (`return_to` of an authorize URL...). */
const MAX_NESTING = 3;

function decode(s: string): string | null {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** Redacts a `name=value&...` string: sensitive names lose their value, other values are searched. */
function redactParams(query: string, depth: number): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      if (SENSITIVE_PARAMS.test(decode(name) ?? name)) return `${name}=[redacted]`;
      if (eq === -1) return pair;
      const value = decode(pair.slice(eq + 1));
      // A JWT under any name (a token passed as `assertion`, `id_token_hint`, `jwt`...).
      if (value !== null && JWT_SHAPE.test(value)) return `${name}=[redacted]`;
      if (depth >= MAX_NESTING) return pair;
      // A value that itself holds a URL or a query (e.g. return_to=/oauth/authorize%3F...%26code%3D...).
      if (value === null || !value.includes('=')) return pair;
      const inner = redactUrlAt(value.includes('?') || value.includes('#') ? value : `?${value}`, depth + 1);
      const redacted = value.includes('?') || value.includes('#') ? inner : inner.slice(1);
      return redacted === value ? pair : `${name}=${encodeURIComponent(redacted)}`;
    })
    .join('&');
}

function redactUrlAt(url: string, depth: number): string {
  const hash = url.indexOf('#');
  const fragment = hash === -1 ? '' : `#${redactParams(url.slice(hash + 1), depth)}`;
  const rest = hash === -1 ? url : url.slice(0, hash);
  const q = rest.indexOf('?');
  if (q === -1) return rest + fragment;
  return `${rest.slice(0, q)}?${redactParams(rest.slice(q + 1), depth)}${fragment}`;
}

/**
 * Replaces the values of sensitive parameters in a URL with `[redacted]`: in its query and fragment, and in
 * URLs or queries encoded inside another parameter's value (a sign-in `return_to` holding an authorization
 * request, a `redirect_uri` holding a `code`).
 */
export function redactUrl(url: string): string {
  return redactUrlAt(url, 0);
}

interface LoggableRequest {
  method: string;
  url: string;
  ip?: string;
  id?: string;
}

/**
 * Pino options for Fastify: JSON lines; requests logged by method, redacted URL and address only (never
 * headers or bodies, which carry credentials); errors by type and code only for client errors.
 */
export function loggerOptions(level: string, stream?: NodeJS.WritableStream): FastifyServerOptions['logger'] {
  return {
    level,
    ...(stream ? { stream } : {}),
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'res.headers["set-cookie"]',
        // Not `*.code`: that would blank `err.code` (ECONNREFUSED, 57P01...), which the log needs.
        '*.client_secret',
        '*.password',
        '*.refresh_token',
        '*.access_token',
        '*.token',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req(req: LoggableRequest) {
        return { method: req.method, url: redactUrl(req.url), remoteAddress: req.ip, id: req.id };
      },
      res(res: { statusCode: number }) {
        return { statusCode: res.statusCode };
      },
      err(err: Error & { code?: string; statusCode?: number }) {
        // Parser errors can quote the request body (e.g. V8's JSON.parse messages): for 4xx keep only
        // the type and code.
        if (err.statusCode && err.statusCode < 500)
          return { type: err.name, code: err.code, statusCode: err.statusCode };
        return { type: err.name, code: err.code, message: err.message, stack: err.stack };
      },
    },
  } as FastifyServerOptions['logger'];
}
