import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { problem, sendProblem } from './problem.js';

/** The server's Prometheus metrics, in a registry of its own (several servers can share a process in tests). */
export interface Metrics {
  registry: Registry;
  requests: Histogram<'method' | 'route' | 'status'>;
  tokensIssued: Counter<'grant_type'>;
  tokenErrors: Counter<'error'>;
  /** Sign-in attempts refused for a while (429) or slowed, by which limit applied. */
  loginThrottled: Counter<'reason'>;
  /** Client authentications refused for a while (429) on the token, introspection and revocation endpoints. */
  clientAuthThrottled: Counter<'reason'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Histogram({
      name: 'clavis_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    tokensIssued: new Counter({
      name: 'clavis_tokens_issued_total',
      help: 'Access tokens issued by the token endpoint, by grant type',
      labelNames: ['grant_type'],
      registers: [registry],
    }),
    tokenErrors: new Counter({
      name: 'clavis_token_errors_total',
      help: 'Token endpoint errors by RFC 6749 error code',
      labelNames: ['error'],
      registers: [registry],
    }),
    loginThrottled: new Counter({
      name: 'clavis_login_throttled_total',
      help: 'Sign-in attempts throttled: refused for a while per account and address (account_address) or per address (address), or slowed because the account is failing from many addresses (account_slowed)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    clientAuthThrottled: new Counter({
      name: 'clavis_client_auth_throttled_total',
      help: 'Client authentications refused for a while after failures, per client_id and address (client_address) or per address (address)',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}

/** Whether an Authorization header carries `Bearer <token>`, compared in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header ?? '');
  // Hash both sides so the comparison takes the same time whatever the lengths.
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(m?.[1] ?? ''), digest(token)) && m !== null;
}

/**
 * Serves `/metrics` and records each response's duration.
 *
 * @param options.token When set, `/metrics` requires `Authorization: Bearer <token>` (401 otherwise).
 */
export async function metricsRoutes(
  app: FastifyInstance,
  metrics: Metrics,
  options: { token?: string } = {},
): Promise<void> {
  // One labelled child per method, route and status, kept, so a response costs one observation and no
  // label hashing; a callback-style hook, since it runs on every response.
  const children = new Map<string, ReturnType<Metrics['requests']['labels']>>();
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const key = `${request.method} ${reply.statusCode} ${route}`;
    let child = children.get(key);
    if (child === undefined) {
      child = metrics.requests.labels({ method: request.method, route, status: String(reply.statusCode) });
      if (children.size < 2000) children.set(key, child);
    }
    child.observe(reply.elapsedTime / 1000);
    done();
  });
  const { token } = options;
  app.get('/metrics', { logLevel: 'warn' }, async (request, reply) => {
    if (token !== undefined && !bearerMatches(request.headers.authorization, token))
      return sendProblem(
        reply.header('www-authenticate', 'Bearer realm="metrics"'),
        problem(401, 'The metrics endpoint needs Authorization: Bearer with the configured metrics token.'),
      );
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
