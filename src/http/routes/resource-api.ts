import type { FastifyInstance } from 'fastify';
import { splitScope } from '../../domain/scopes.js';
import { findUserById } from '../../domain/users.js';
import type { Services } from '../../services.js';
import { requireAccessToken } from '../bearer.js';

/** Sample contacts returned by the protected sample API. */
const SAMPLE_CONTACTS = [
  { id: 'c1', name: 'Ada Lovelace', email: 'ada@example.com' },
  { id: 'c2', name: 'Alan Turing', email: 'alan@example.com' },
  { id: 'c3', name: 'Grace Hopper', email: 'grace@example.com' },
];

/**
 * Clavis's own protected sample resources. They accept tokens whose `aud` is the Clavis API's resource
 * identifier (`CLAVIS_API_AUDIENCE`, default `<issuer>/api`).
 */
export async function resourceApiRoutes(app: FastifyInstance, services: Services): Promise<void> {
  app.get('/api/v1/me', async (request, reply) => {
    const claims = await requireAccessToken(services, request, reply);
    if (!claims) return reply;
    const scopes = splitScope(claims.scope);
    // A user's token (sub is the user, not the client) names the user's email to holders of a scope that
    // already reads it: profile:read, or the management scopes (the management API lists users).
    const user =
      claims.sub !== claims.client_id && scopes.some((s) => s === 'profile:read' || s.startsWith('clavis:'))
        ? await findUserById(services.ctx, claims.sub)
        : undefined;
    return reply.header('cache-control', 'no-store').send({
      sub: claims.sub,
      ...(user && user.tenant_id === claims.tid ? { email: user.email } : {}),
      client_id: claims.client_id,
      tenant_id: claims.tid,
      scopes,
      token_expires_at: claims.exp,
    });
  });

  app.get('/api/v1/contacts', async (request, reply) => {
    const claims = await requireAccessToken(services, request, reply, 'contacts:read');
    if (!claims) return reply;
    return reply.header('cache-control', 'no-store').send({ items: SAMPLE_CONTACTS });
  });
}
