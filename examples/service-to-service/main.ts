/**
 * Service-to-service with @clavis/client: one service calls another service's API with a client
 * credentials token. Here the API is Clavis's own sample API, GET /api/v1/contacts (needs contacts:read).
 *
 *   npx tsc -p examples/service-to-service/tsconfig.json
 *   CLAVIS_ISSUER=http://localhost:8080 CLAVIS_CLIENT_ID=... CLAVIS_CLIENT_SECRET=... \
 *     node examples/service-to-service/dist/main.js
 *
 * Create the token source and the fetch wrapper ONCE per process and share them: the token is cached and
 * renewed shortly before it expires, concurrent callers share one token request, outages are retried with
 * backoff, and a 401 with error="invalid_token" (e.g. a revoked token) gets a new token and one retry.
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

const issuer = env('CLAVIS_ISSUER', 'http://localhost:8080');
const apiUrl = env('CONTACTS_API_URL', `${issuer}/api/v1/contacts`);

const tokens = clientCredentials({
  issuer, // the token endpoint is discovered from /.well-known/oauth-authorization-server
  clientId: env('CLAVIS_CLIENT_ID'),
  clientSecret: env('CLAVIS_CLIENT_SECRET'), // from the environment or a secret store, never from code
  scope: process.env.CLAVIS_SCOPE ?? 'contacts:read',
});

// Default headers (such as an API gateway's x-api-key) go here too.
const api = authorizedFetch(tokens, { headers: { accept: 'application/json' } });

interface Contact {
  id: string;
  name: string;
  email: string;
}

async function listContacts(): Promise<Contact[]> {
  const res = await api(apiUrl);
  if (!res.ok) throw new Error(`GET ${apiUrl} answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { items: Contact[] }).items;
}

try {
  // Three concurrent calls: one token request between them, and the token is reused afterwards.
  const results = await Promise.all([listContacts(), listContacts(), listContacts()]);
  const contacts = results[0]!;
  console.log(`Fetched ${contacts.length} contacts (3 concurrent calls, one token):`);
  for (const c of contacts) console.log(`- ${c.name} <${c.email}>`);
} catch (err) {
  if (err instanceof OAuthError) {
    // e.g. invalid_client: wrong or revoked secret. Retrying will not help; fix the configuration.
    console.error(
      `The authorization server refused: ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`,
    );
  } else if (err instanceof NetworkError) {
    console.error(`Cannot reach the authorization server: ${err.message}`);
  } else {
    console.error((err as Error).message);
  }
  process.exit(1);
}
