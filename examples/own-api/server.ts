/**
 * An API of your own, protected by Clavis: the Orders API, a Fastify server whose routes each require a scope.
 * It trusts tokens that Clavis issued for it (`aud` = its identifier, registered with `clavis apis create`)
 * and nothing else: a token for Clavis's sample API, or for another API, is refused with 401.
 *
 *   npx tsc -p examples/own-api/tsconfig.json
 *   CLAVIS_ISSUER=http://localhost:8080 ORDERS_API_IDENTIFIER=https://orders.example.com PORT=3000 \
 *     node examples/own-api/dist/server.js
 *
 * The verifier fetches Clavis's signing keys once (RFC 8414 discovery, then the JWKS) and checks every token
 * locally: signature, `typ: at+jwt`, `iss`, `aud`, `exp` (RFC 9068), and the route's scope.
 */
import { type AccessTokenClaims, createVerifier } from '@clavis/client';
import { fastifyBearerAuth } from '@clavis/client/fastify';
import Fastify from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    auth?: AccessTokenClaims;
  }
}

function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (!value) {
    console.error(`Set ${name}.`);
    process.exit(1);
  }
  return value;
}

const issuer = env('CLAVIS_ISSUER', 'http://localhost:8080');
const identifier = env('ORDERS_API_IDENTIFIER', 'https://orders.example.com');
const port = Number(env('PORT', '3000'));

const verifier = createVerifier({ issuer, audience: identifier });
/** Each route names the scope it needs: 401 without a valid token for this API, 403 without the scope. */
const requires = (scope: string) => ({
  preHandler: fastifyBearerAuth(verifier, { requiredScopes: [scope] }),
});

interface Order {
  id: string;
  item: string;
  quantity: number;
  status: 'open' | 'refunded';
  created_by: string;
}

const orders: Order[] = [
  { id: 'o-1', item: 'Walnut desk', quantity: 1, status: 'open', created_by: 'seed' },
  { id: 'o-2', item: 'Desk lamp', quantity: 2, status: 'open', created_by: 'seed' },
];

const app = Fastify({ logger: false });

app.get('/health', async () => ({ ok: true }));

app.get('/orders', requires('orders:read'), async () => ({ items: orders }));

app.post<{ Body: { item?: unknown; quantity?: unknown } }>(
  '/orders',
  requires('orders:write'),
  async (request, reply) => {
    const { item, quantity } = request.body ?? {};
    if (typeof item !== 'string' || !item || !Number.isInteger(quantity) || (quantity as number) < 1)
      return reply.code(400).send({ error: 'Give item (text) and quantity (a whole number from 1).' });
    // The caller: for client credentials `sub` is the client_id of the app that called.
    const order: Order = {
      id: `o-${orders.length + 1}`,
      item,
      quantity: quantity as number,
      status: 'open',
      created_by: request.auth!.client_id ?? request.auth!.sub!,
    };
    orders.push(order);
    return reply.code(201).send(order);
  },
);

app.post<{ Params: { id: string } }>(
  '/orders/:id/refund',
  requires('orders:refund'),
  async (request, reply) => {
    const order = orders.find((o) => o.id === request.params.id);
    if (!order) return reply.code(404).send({ error: 'No such order.' });
    order.status = 'refunded';
    return order;
  },
);

await app.listen({ port, host: '127.0.0.1' });
console.log(`Orders API (${identifier}) listening on http://127.0.0.1:${port}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
  });
