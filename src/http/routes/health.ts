import type { FastifyInstance } from 'fastify';
import { isReady } from '../../db/database.js';
import type { Services } from '../../services.js';

/** `/livez`: the process is up. `/readyz`: the database answers and every migration is applied. */
export async function healthRoutes(app: FastifyInstance, services: Services): Promise<void> {
  app.get('/livez', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  app.get('/readyz', { logLevel: 'warn' }, async (_req, reply) => {
    const ready = await isReady(services.database);
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ok' : 'unavailable', database: services.database.kind });
  });
}
