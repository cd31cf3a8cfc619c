import type { FastifyServerOptions } from 'fastify';

/** Query parameters whose values never reach a log line. */
const SENSITIVE_PARAMS =
  /^(client_secret|code|code_verifier|refresh_token|access_token|token|id_token|password|state|assertion|subject_token|csrf|_csrf)$/i;

/** Replaces the values of sensitive query parameters with `[redacted]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const parts = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {}
      return SENSITIVE_PARAMS.test(decoded) ? `${name}=[redacted]` : pair;
    });
  return `${url.slice(0, q)}?${parts.join('&')}`;
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
        '*.client_secret',
        '*.password',
        '*.code',
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
