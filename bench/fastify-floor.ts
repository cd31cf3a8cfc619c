/**
 * The "Fastify floor": the bare limit's client_credentials and introspection (bench/bare-limit.ts), the same
 * code, as Fastify 5 routes with no logger, no hooks and no schemas. Run beside the bare limit
 * (`node dist/bench/cpu-per-request.js --servers=limit,floor,sqlite`), it separates what the framework costs
 * from what Clavis's own work on a request costs (bench/README.md, "The Fastify floor, stop 27").
 *
 * - POST /oauth/token, grant_type=client_credentials; POST /oauth/introspect; GET /readyz.
 *
 * Environment: PORT, HOST (default 127.0.0.1), BENCH_CLIENT_ID, BENCH_CLIENT_SECRET. Prints "READY <port>".
 */
import { createHash, generateKeyPairSync, randomBytes, sign, timingSafeEqual, verify } from 'node:crypto';
import Fastify from 'fastify';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const clientId = process.env.BENCH_CLIENT_ID ?? 'bench-client';
const clientSecret = process.env.BENCH_CLIENT_SECRET ?? 'bench-secret';
const issuer = `http://${host}:${port}`;
const ttl = 3600;
const secretHash = createHash('sha256').update(clientSecret).digest();
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const kid = randomBytes(8).toString('base64url');
const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid })).toString('base64url');

/** HTTP Basic against the one client, as the bare limit does it. */
function authenticate(h: string | undefined): string | null {
  if (!h?.startsWith('Basic ')) return null;
  const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  const id = decodeURIComponent(decoded.slice(0, colon));
  const digest = createHash('sha256')
    .update(decodeURIComponent(decoded.slice(colon + 1)))
    .digest();
  return id === clientId && timingSafeEqual(digest, secretHash) ? id : null;
}

const app = Fastify({ logger: false });
app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
  done(null, new URLSearchParams(body as string)),
);
app.get('/readyz', async () => ({ status: 'ok' }));
app.post('/oauth/token', async (req, reply) => {
  const id = authenticate(req.headers.authorization);
  if (!id) return reply.code(401).send({ error: 'invalid_client' });
  if ((req.body as URLSearchParams).get('grant_type') !== 'client_credentials')
    return reply.code(400).send({ error: 'unsupported_grant_type' });
  const iat = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer,
    sub: id,
    aud: 'https://api.bench',
    client_id: id,
    scope: 'api:read',
    iat,
    exp: iat + ttl,
    jti: randomBytes(16).toString('base64url'),
    tid: 'default',
  };
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const sig = await new Promise<Buffer>((resolve, reject) =>
    sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }, (err, s) =>
      err ? reject(err) : resolve(s),
    ),
  );
  reply.header('cache-control', 'no-store');
  return {
    access_token: `${input}.${sig.toString('base64url')}`,
    token_type: 'Bearer',
    expires_in: ttl,
    scope: 'api:read',
  };
});
app.post('/oauth/introspect', async (req, reply) => {
  if (!authenticate(req.headers.authorization)) return reply.code(401).send({ error: 'invalid_client' });
  reply.header('cache-control', 'no-store');
  const parts = ((req.body as URLSearchParams).get('token') ?? '').split('.');
  if (parts.length !== 3) return { active: false };
  const ok = await new Promise<boolean>((resolve) =>
    verify(
      'sha256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      { key: publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(parts[2]!, 'base64url'),
      (err, valid) => resolve(err === null && valid),
    ),
  );
  if (!ok) return { active: false };
  const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  if (claims.iss !== issuer || typeof claims.exp !== 'number' || claims.exp <= Date.now() / 1000)
    return { active: false };
  return { active: true, token_type: 'Bearer', ...claims };
});
await app.listen({ port, host });
process.stdout.write(`READY ${port}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
