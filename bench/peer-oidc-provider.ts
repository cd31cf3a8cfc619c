/**
 * The peer: node-oidc-provider v9, configured as close to Clavis's token endpoint as it allows, in its own
 * process.
 *
 * - one confidential client, client_secret_basic, grants client_credentials + refresh_token;
 * - ES256 JWT access tokens through resource indicators (features.resourceIndicators, accessTokenFormat
 *   'jwt'), with a default resource so a plain client_credentials request gets a JWT;
 * - the default in-memory adapter (the peer's best case);
 * - refresh tokens rotate on every use (rotateRefreshToken: true), as Clavis's do;
 * - introspection enabled (node-oidc-provider refuses to introspect structured/JWT tokens, so the bench
 *   reports it n/a there).
 * - POST /bench/mint-refresh?n=N mints N refresh tokens straight through the provider's models, because the
 *   peer has no login UI to drive (not timed).
 *
 * Environment: PORT, HOST, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET. Prints "READY <port>".
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const clientId = process.env.BENCH_CLIENT_ID ?? 'bench-client';
const clientSecret = process.env.BENCH_CLIENT_SECRET ?? 'bench-secret';
const issuer = `http://${host}:${port}`;
const resource = 'https://api.bench';

// oidc-provider ships no types in this tree; it is loaded dynamically and used untyped.
const { default: Provider } = (await import('oidc-provider' as string)) as { default: any };

const jwk = {
  ...(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as Record<
    string,
    string
  >),
  alg: 'ES256',
  use: 'sig',
  kid: randomBytes(8).toString('base64url'),
};

// The default memory adapter keeps its entries in an LRU capped at 1000, so under refresh-token rotation at
// thousands of requests a second it evicts live grants (and answers invalid_grant). The same adapter over an
// LRU of 5 million entries is still the peer's in-memory best case, without that artefact.
const { default: MemoryAdapter } = (await import(
  'oidc-provider/lib/adapters/memory_adapter.js' as string
)) as {
  default: new (model: string, store: unknown) => unknown;
};
const { default: LRU } = (await import('oidc-provider/lib/helpers/lru.js' as string)) as {
  default: new (options: { maxSize: number }) => unknown;
};
const store = new LRU({ maxSize: 5_000_000 });

const provider = new Provider(issuer, {
  adapter: (model: string) => new MemoryAdapter(model, store),
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials', 'refresh_token', 'authorization_code'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/cb'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
  ],
  jwks: { keys: [jwk] },
  scopes: ['openid', 'offline_access', 'api:read'],
  rotateRefreshToken: true,
  routes: { token: '/oauth/token', introspection: '/oauth/introspect', revocation: '/oauth/revoke' },
  findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api:read',
        audience: resource,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  ttl: {
    AccessToken: 3600,
    ClientCredentials: 3600,
    RefreshToken: 30 * 86400,
    Grant: 30 * 86400,
  },
});
provider.proxy = false;

async function mintRefresh(n: number): Promise<string[]> {
  const client = await provider.Client.find(clientId);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const grant = new provider.Grant({ accountId: `user-${i}`, clientId });
    grant.addOIDCScope('offline_access');
    grant.addResourceScope(resource, 'api:read');
    const grantId = await grant.save();
    const rt = new provider.RefreshToken({
      client,
      accountId: `user-${i}`,
      grantId,
      scope: 'offline_access api:read',
      resource,
      gty: 'authorization_code',
      expiresWithSession: false,
      authTime: Math.floor(Date.now() / 1000),
    });
    out.push(await rt.save());
  }
  return out;
}

const callback = provider.callback();
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const url = req.url ?? '/';
  if (req.method === 'GET' && url === '/readyz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
    return;
  }
  if (req.method === 'POST' && url.startsWith('/bench/mint-refresh')) {
    const n = Number(new URL(url, issuer).searchParams.get('n') ?? '1');
    mintRefresh(n).then(
      (tokens) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ refresh_tokens: tokens }));
      },
      (err: Error) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(err?.message ?? err) }));
      },
    );
    return;
  }
  callback(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(port, host, () => process.stdout.write(`READY ${port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
