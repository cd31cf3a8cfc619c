/**
 * A backend that calls the Orders API (server.ts) with a client credentials token for it: the token request
 * names the API with `resource` (RFC 8707), so Clavis issues a token whose `aud` is the API's identifier and
 * whose `scope` holds only the scopes granted to this app for that API.
 *
 *   CLAVIS_ISSUER=http://localhost:8080 ORDERS_API_IDENTIFIER=https://orders.example.com \
 *   ORDERS_API_URL=http://127.0.0.1:3000 CLAVIS_CLIENT_ID=... CLAVIS_CLIENT_SECRET=... \
 *     node examples/own-api/dist/client.js
 */
import { authorizedFetch, clientCredentials, NetworkError, OAuthError } from '@clavis/client';

function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (!value) {
    console.error(`Set ${name}.`);
    process.exit(1);
  }
  return value;
}

const identifier = env('ORDERS_API_IDENTIFIER', 'https://orders.example.com');
const apiUrl = env('ORDERS_API_URL', 'http://127.0.0.1:3000');

const tokens = clientCredentials({
  issuer: env('CLAVIS_ISSUER', 'http://localhost:8080'),
  clientId: env('CLAVIS_CLIENT_ID'),
  clientSecret: env('CLAVIS_CLIENT_SECRET'),
  audience: identifier, // sent as resource=<identifier>: a token for this API and no other
  // No `scope`: every scope granted to this app for the API.
});
const api = authorizedFetch(tokens, { headers: { accept: 'application/json' } });

/** What the Orders API answers: an order, a list of orders, or an RFC 6750 error body. */
interface Answer {
  id?: string;
  created_by?: string;
  status?: string;
  items?: unknown[];
  error?: string;
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Answer }> {
  const res = await api(`${apiUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Answer };
}

try {
  const granted = (await tokens.getTokenResponse()).scope ?? '';
  console.log(`Token for ${identifier} with scope "${granted}"`);

  const list = await call('GET', '/orders');
  if (list.status !== 200)
    throw new Error(`GET /orders answered ${list.status}: ${JSON.stringify(list.json)}`);
  console.log(`GET /orders: ${list.json.items?.length} orders`);

  const created = await call('POST', '/orders', { item: 'Oak bookshelf', quantity: 1 });
  if (created.status !== 201)
    throw new Error(`POST /orders answered ${created.status}: ${JSON.stringify(created.json)}`);
  console.log(`POST /orders: created ${created.json.id} (by ${created.json.created_by})`);

  // orders:refund needs a tenant admin's consent, and this app was never granted it: the API says 403.
  const refund = await call('POST', '/orders/o-1/refund');
  console.log(`POST /orders/o-1/refund: ${refund.status} ${refund.json.error ?? refund.json.status}`);
} catch (err) {
  if (err instanceof OAuthError) {
    // e.g. invalid_scope (a scope not granted for this API) or invalid_target (no such API).
    console.error(
      `Clavis refused the token request: ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`,
    );
  } else if (err instanceof NetworkError) {
    console.error(`Cannot reach Clavis: ${err.message}`);
  } else {
    console.error((err as Error).message);
  }
  process.exit(1);
}
