/**
 * The "bare limit" server: the least work a token endpoint can do on this machine with node:http and
 * node:crypto, so Clavis can be compared against the hardware rather than against another product.
 *
 * - POST /oauth/token, grant_type=client_credentials: parse the form body, parse HTTP Basic, SHA-256 the
 *   presented secret and compare it in constant time, sign an ES256 JWT (pre-parsed KeyObject,
 *   dsaEncoding ieee-p1363) on libuv's thread pool, answer {access_token, token_type, expires_in, scope}.
 * - POST /oauth/token, grant_type=refresh_token: the same plus an in-memory, rotated refresh-token store
 *   (SHA-256 of the token as the key; the old one is deleted, a new one issued).
 * - POST /oauth/introspect: client auth as above, then verify an ES256 JWT with node:crypto on the thread
 *   pool, check `exp`, `iss` and a jti deny-list, answer the RFC 7662 JSON.
 *
 * Signatures and verifications run on the thread pool (`crypto.sign`/`crypto.verify` with a callback), the
 * fastest way node:crypto offers on this 2-core machine: done on the event loop, as this server did until stop
 * 26, client_credentials gave about 12,500 req/s and introspection 8,000, against 18,000 and 13,500 on the
 * pool (bench/README.md, "The bare limit, stop 26"). A limit that any real server beats is no limit.
 * - POST /bench/mint-refresh?n=N: mints N refresh tokens (bench helper, not timed).
 * - GET /readyz.
 *
 * Environment: PORT, HOST (default 127.0.0.1), BENCH_CLIENT_ID, BENCH_CLIENT_SECRET. Prints "READY <port>".
 */
import { createHash, generateKeyPairSync, randomBytes, sign, timingSafeEqual, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const clientId = process.env.BENCH_CLIENT_ID ?? 'bench-client';
const clientSecret = process.env.BENCH_CLIENT_SECRET ?? 'bench-secret';
const issuer = `http://${host}:${port}`;
const audience = 'https://api.bench';
const ttl = 3600;

const clients = new Map<string, { secretHash: Buffer; scope: string }>([
  [clientId, { secretHash: createHash('sha256').update(clientSecret).digest(), scope: 'api:read' }],
]);
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const kid = randomBytes(8).toString('base64url');
const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid })).toString('base64url');
const refreshTokens = new Map<string, { clientId: string; scope: string; exp: number }>();
const revokedJtis = new Set<string>();

function send(res: ServerResponse, status: number, body: unknown, extra?: Record<string, string>): undefined {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(json);
}

function authenticate(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (!h?.startsWith('Basic ')) return null;
  const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  const id = decodeURIComponent(decoded.slice(0, colon));
  const secret = decodeURIComponent(decoded.slice(colon + 1));
  const client = clients.get(id);
  const digest = createHash('sha256').update(secret).digest();
  if (!client || !timingSafeEqual(digest, client.secretHash)) return null;
  return id;
}

/** ES256 over `input` on the thread pool. */
function es256(input: string): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }, (err, sig) =>
      err ? reject(err) : resolve(sig),
    ),
  );
}

async function issue(
  sub: string,
  scope: string,
): Promise<{ access_token: string; token_type: string; expires_in: number; scope: string }> {
  const iat = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer,
    sub,
    aud: audience,
    client_id: sub,
    scope,
    iat,
    exp: iat + ttl,
    jti: randomBytes(16).toString('base64url'),
    tid: 'default',
  };
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const sig = await es256(input);
  return {
    access_token: `${input}.${sig.toString('base64url')}`,
    token_type: 'Bearer',
    expires_in: ttl,
    scope,
  };
}

function newRefresh(id: string, scope: string): string {
  const rt = randomBytes(32).toString('base64url');
  refreshTokens.set(createHash('sha256').update(rt).digest('base64url'), {
    clientId: id,
    scope,
    exp: Date.now() + 30 * 86400_000,
  });
  return rt;
}

async function introspect(token: string): Promise<Record<string, unknown>> {
  const parts = token.split('.');
  if (parts.length !== 3) return { active: false };
  const ok = await new Promise<boolean>((resolve, reject) =>
    verify(
      'sha256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      { key: publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(parts[2]!, 'base64url'),
      (err, valid) => (err ? reject(err) : resolve(valid)),
    ),
  );
  if (!ok) return { active: false };
  const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  if (claims.iss !== issuer || typeof claims.exp !== 'number' || claims.exp <= Date.now() / 1000)
    return { active: false };
  if (revokedJtis.has(String(claims.jti))) return { active: false };
  return { active: true, token_type: 'Bearer', ...claims };
}

async function handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<undefined> {
  const url = req.url ?? '/';
  if (req.method === 'GET' && url === '/readyz') return send(res, 200, { status: 'ok' });
  if (req.method !== 'POST') return send(res, 405, { error: 'invalid_request' });
  if (url.startsWith('/bench/mint-refresh')) {
    const n = Number(new URL(url, issuer).searchParams.get('n') ?? '1');
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(newRefresh(clientId, 'api:read'));
    return send(res, 200, { refresh_tokens: out });
  }
  const params = new URLSearchParams(body);
  if (url === '/oauth/token') {
    const id = authenticate(req);
    if (!id)
      return send(res, 401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic realm="bench"' });
    const grant = params.get('grant_type');
    if (grant === 'client_credentials') return send(res, 200, await issue(id, clients.get(id)!.scope));
    if (grant === 'refresh_token') {
      const rt = params.get('refresh_token') ?? '';
      const key = createHash('sha256').update(rt).digest('base64url');
      const entry = refreshTokens.get(key);
      if (!entry || entry.clientId !== id || entry.exp <= Date.now())
        return send(res, 400, { error: 'invalid_grant' });
      refreshTokens.delete(key);
      return send(res, 200, {
        ...(await issue(id, entry.scope)),
        refresh_token: newRefresh(id, entry.scope),
      });
    }
    return send(res, 400, { error: 'unsupported_grant_type' });
  }
  if (url === '/oauth/introspect') {
    if (!authenticate(req)) return send(res, 401, { error: 'invalid_client' });
    return send(res, 200, await introspect(params.get('token') ?? ''));
  }
  send(res, 404, { error: 'not_found' });
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    handle(req, res, Buffer.concat(chunks).toString('utf8')).catch(() => {
      send(res, 400, { error: 'invalid_request' });
    });
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, host, () => {
  process.stdout.write(`READY ${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
