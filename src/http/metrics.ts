import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The server's Prometheus metrics, in a registry of its own (several servers can share a process in tests). */
export interface Metrics {
  registry: Registry;
  requests: Histogram<'method' | 'route' | 'status'>;
  tokensIssued: Counter<'grant_type'>;
  tokenErrors: Counter<'error'>;
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
  };
}

export async function metricsRoutes(app: FastifyInstance, metrics: Metrics): Promise<void> {
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
  app.get('/metrics', { logLevel: 'warn' }, async (_req, reply) =>
    reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}
