import fc from 'fast-check';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from './helpers/api.js';
import { parseForms } from './helpers/browser.js';
import { TEST_DB } from './helpers/db.js';
import {
  basicAuth,
  createTestApp,
  defaultTenantId,
  managementToken,
  startTestServer,
  type TestServer,
} from './helpers/server.js';
import { createUser } from './helpers/users.js';

/**
 * Property-based fuzzing of every route in the server's route table: malformed path parameters, query
 * strings, headers (credentials, cookies, content types), bodies and methods, sent in-process with
 * `app.inject` by a signed-in admin (session and CSRF token), a management client and strangers. However
 * wrong the request, the answer is never a 5xx.
 *
 * Bounded by time: `CLAVIS_FUZZ_SECONDS` (default 10). A failure prints the seed; run it again with
 * `CLAVIS_FUZZ_SEED=<seed>` (and the same database) to reproduce.
 */

const SECONDS = Number(process.env.CLAVIS_FUZZ_SECONDS || 10);
const SEED = process.env.CLAVIS_FUZZ_SEED ? Number(process.env.CLAVIS_FUZZ_SEED) : Date.now() ^ 0x5eed;

interface Route {
  method: string;
  url: string;
}

/** The route table, from Fastify's own listing (each node: path segment and its methods). */
function routesOf(app: FastifyInstance): Route[] {
  const routes: Route[] = [];
  const stack: Array<{ depth: number; path: string }> = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    while (stack.length > 0 && stack[stack.length - 1]!.depth >= depth) stack.pop();
    const parent = stack[stack.length - 1]?.path ?? '';
    const segment = m[2]!;
    const path = parent.endsWith('/') || segment.startsWith('/') ? parent + segment : `${parent}/${segment}`;
    stack.push({ depth, path });
    for (const method of (m[3] ?? '').split(', ').filter(Boolean)) routes.push({ method, url: path });
  }
  return routes;
}

/** What the seeded server holds, for requests that get past authentication and reach the handlers. */
interface Seed {
  ids: string[];
  clientIds: string[];
  secrets: string[];
  tokens: string[];
  session: string;
  csrf: string;
  clientId: string;
  secret: string;
}

let ts: TestServer;
let app: FastifyInstance;
let seed: Seed;
let routes: Route[];

/** Signs in through the real form with inject; returns the session cookie pair. */
async function signIn(email: string, password: string): Promise<string> {
  const form = await app.inject({ method: 'GET', url: '/login?return_to=%2F' });
  const pre = cookiePairs(form.headers['set-cookie']);
  const csrf = parseForms(form.body)[0]!.fields.csrf!;
  const res = await app.inject({
    method: 'POST',
    url: '/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: pre },
    payload: new URLSearchParams({ csrf, email, password, return_to: '/' }).toString(),
  });
  if (res.statusCode !== 303 || String(res.headers.location).startsWith('/login'))
    throw new Error(`sign-in failed: ${res.statusCode} ${res.headers.location}`);
  return cookiePairs(res.headers['set-cookie']);
}

function cookiePairs(header: string | string[] | undefined): string {
  return (Array.isArray(header) ? header : header ? [header] : []).map((c) => c.split(';')[0]).join('; ');
}

async function csrfOf(cookie: string): Promise<string> {
  const page = await app.inject({ method: 'GET', url: '/apps/new', headers: { cookie } });
  const token = parseForms(page.body).find((f) => f.fields.csrf)?.fields.csrf;
  if (!token) throw new Error(`no CSRF token (${page.statusCode})`);
  return token;
}

beforeAll(async () => {
  ts = await startTestServer();
  app = ts.server.app;
  routes = routesOf(app);
  const mgmt = await managementToken(ts);
  const api = new ApiClient(ts, mgmt);
  const confidential = await createTestApp(ts);
  const pub = await createTestApp(ts, {
    name: 'Public app',
    client_type: 'public',
    callback_url: 'http://127.0.0.1:8123/cb',
  });
  const user = await createUser(ts);
  const developer = await createUser(ts, { role: 'developer' });
  const request = await api.post('/v1/app-requests', {
    name: 'Requested',
    visibility: 'private',
    client_type: 'confidential',
    callback_url: 'https://req.example/cb',
    scopes: ['contacts:read'],
    justification: 'for the fuzzer',
  });
  const session = await signIn(ts.admin.email, ts.admin.password);
  const csrf = await csrfOf(session);
  seed = {
    ids: [
      confidential.app.id,
      pub.app.id,
      confidential.secretId!,
      user.user.id,
      developer.user.id,
      request.json?.id ?? 'no-request',
      await defaultTenantId(ts),
      'approve',
      'reject',
      'decline',
      'fulfil',
      'disable',
      'enable',
    ],
    clientIds: [confidential.app.client_id, pub.app.client_id, ts.bootstrapClient.id],
    secrets: [confidential.secret!, ts.bootstrapClient.secret],
    tokens: [mgmt, await managementToken(ts, 'clavis:apps')],
    session,
    csrf,
    clientId: confidential.app.client_id,
    secret: confidential.secret!,
  };
}, 120_000);
afterAll(async () => ts?.close());

// ---- arbitraries ---------------------------------------------------------------------------------------

const NASTY = [
  '',
  '\0',
  'a\0b',
  '%00',
  '%2500',
  '\u0001\u0007\u001b[31m',
  '\t',
  '\r\n',
  '\uD800',
  '\uFFFF',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  'ﬁ',
  '../../etc/passwd',
  "' OR '1'='1",
  '%',
  '%zz',
  '%C0%80',
  '%ED%A0%80',
  '%FF',
  '-1',
  '0',
  '1e309',
  '99999999999999999999999',
  'NaN',
  'true',
  'null',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  '<script>alert(1)</script>',
  'http://evil.example/cb',
  'javascript:alert(1)',
  ' ',
  '+',
  '&',
  '=',
  '#',
];

const huge = fc.integer({ min: 1, max: 20 }).map((k) => 'x'.repeat(k * 1000));
const text = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 3, arbitrary: fc.string() },
  { weight: 2, arbitrary: fc.string({ unit: 'binary' }) },
  { weight: 1, arbitrary: huge },
);

/** A value: something the server knows (so requests reach handlers), or junk. */
function value(): fc.Arbitrary<string> {
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom(...seed.ids, ...seed.clientIds, ...seed.secrets, ...seed.tokens),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'client_credentials',
        'authorization_code',
        'refresh_token',
        'code',
        'S256',
        'plain',
        'contacts:read',
        'contacts:read profile:read',
        'clavis:apps clavis:admin',
        'https://app.example/cb',
        'http://127.0.0.1:8123/cb',
        '/',
        '/apps',
        'private',
        'public',
        'confidential',
        'admin',
        'developer',
        'user',
        'allow',
        'deny',
        '10',
        '100000',
        'admin@clavis.test',
      ),
    },
    { weight: 4, arbitrary: text },
  );
}

const NAMES = [
  'grant_type',
  'client_id',
  'client_secret',
  'scope',
  'code',
  'code_verifier',
  'redirect_uri',
  'refresh_token',
  'token',
  'token_type_hint',
  'response_type',
  'state',
  'code_challenge',
  'code_challenge_method',
  'resource',
  'return_to',
  'email',
  'password',
  'name',
  'description',
  'callback_url',
  'visibility',
  'client_type',
  'scopes',
  'default_scopes',
  'role',
  'reason',
  'justification',
  'decision',
  'app_id',
  'tenant_id',
  'q',
  'limit',
  'cursor',
  'status',
  'type',
  'expires_in_days',
  'users_can_register_apps',
  'secret_max_lifetime_days',
  'secret_allow_never_expire',
  'display_name',
  'disabled',
];
const name = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...NAMES) }, { weight: 1, arbitrary: text });
const pairs = () => fc.array(fc.tuple(name, value()), { maxLength: 8 });

const jsonish = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.jsonValue(),
    fc.dictionary(name, fc.oneof(value(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(value()))),
  );

/** Bodies: none, forms (with the CSRF token most of the time), JSON of every shape, and broken ones. */
function body(): fc.Arbitrary<{ type?: string; payload?: string }> {
  const formOf = (p: Array<[string, string]>, withCsrf: boolean) => {
    const u = new URLSearchParams(p);
    if (withCsrf) u.set('csrf', CSRF);
    return u.toString();
  };
  return fc.oneof(
    fc.constant({}),
    fc.record({
      type: fc.constantFrom(
        'application/x-www-form-urlencoded',
        'application/x-www-form-urlencoded; charset=utf-8',
      ),
      payload: fc.tuple(pairs(), fc.boolean()).map(([p, c]) => formOf(p, c)),
    }),
    fc.record({
      type: fc.constant('application/x-www-form-urlencoded'),
      payload: fc
        .array(fc.tuple(text, text), { maxLength: 5 })
        .map((p) => p.map(([k, v]) => `${k}=${v}`).join('&')),
    }),
    fc.record({
      type: fc.constantFrom('application/json', 'application/json; charset=utf-8'),
      payload: jsonish().map((v) => JSON.stringify(v) ?? 'null'),
    }),
    fc.record({
      type: fc.constant('application/json'),
      payload: fc.constantFrom('{}', '[]', 'null', '""', '0', 'true', '{"":""}'),
    }),
    fc.record({
      type: fc.constant('application/json'),
      payload: fc.constantFrom(
        '{',
        '{"a":',
        '[1,]',
        'nul',
        '"\\ud800"',
        '{"__proto__":{"x":1}}',
        ' ',
        '{"a":1e999}',
      ),
    }),
    fc.record({
      type: fc.constant('application/json'),
      payload: fc.integer({ min: 1, max: 5000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
    }),
    fc.record({
      type: fc.constant('application/json'),
      payload: fc.integer({ min: 1, max: 2000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
    }),
    fc.record({
      type: fc.constantFrom(
        'text/plain',
        'application/xml',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
        'application/x-www-form-urlencoded; charset=latin1',
        'application/json; charset=utf-16',
        '',
        ';;;',
        'application/json, text/html',
      ),
      payload: text,
    }),
    fc.record({
      type: fc.constantFrom('application/x-www-form-urlencoded', 'application/json'),
      payload: fc.constant('x'.repeat(300 * 1024)),
    }),
  );
}

function authorization(): fc.Arbitrary<string | undefined> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(...seed.tokens).map((t) => `Bearer ${t}`),
    fc.constant(basicAuth(seed.clientId, seed.secret)),
    fc.tuple(fc.constantFrom(...seed.clientIds), value()).map(([id, s]) => basicAuth(id, wellFormed(s))),
    fc.tuple(text, text).map(([id, s]) => `Basic ${b64(`${id}:${s}`)}`),
    text.map((t) => `Basic ${t}`),
    text.map((t) => `Bearer ${t}`),
    fc.constantFrom(
      'Bearer',
      'Basic',
      'Basic ===',
      'Basic Og==',
      'Digest x',
      'bearer  a.b.c',
      'Bearer eyJ.eyJ.sig',
    ),
    fc.constantFrom(...seed.tokens).map((t) => `Bearer ${t.slice(0, -3)}abc`),
  );
}

/** A path for a route: its parameters filled with known ids or junk, encoded or raw. */
function path(route: Route): fc.Arbitrary<string> {
  const params = route.url.match(/:[A-Za-z]+|\*/g) ?? [];
  const param = fc.oneof(
    { weight: 3, arbitrary: value().map(enc) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('%', '%zz', '%00', '%C0%80', '%ED%A0%80', '%2F', '..', '.', '%2e%2e'),
    },
  );
  return fc.array(param, { minLength: params.length, maxLength: params.length }).map((values) => {
    let i = 0;
    return route.url.replace(/:[A-Za-z]+|\*/g, () => values[i++] ?? 'x');
  });
}

function query(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constant(''),
    pairs().map((p) => (p.length ? `?${new URLSearchParams(p)}` : '')),
    fc
      .array(fc.tuple(text, text), { maxLength: 4 })
      .map((p) => `?${p.map(([k, v]) => `${k}=${v}`).join('&')}`),
    fc.constantFrom('?', '?&&', '?a', '?a=1&a=2', '?limit=-1', '?limit=1e9', '?cursor=%00', '?q=%', '?%=%'),
  );
}

/** Stand-ins for the admin's session cookie and CSRF token, filled in when a request is sent. */
const SESSION = 'fuzz-session-cookie';
const CSRF = 'fuzz-csrf-token';

/** The request with today's session and CSRF token in place of their stand-ins. */
function withSession(r: InjectOptions): InjectOptions {
  const fill = (s: string) => s.replaceAll(SESSION, seed.session).replaceAll(CSRF, seed.csrf);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries((r.headers ?? {}) as Record<string, string>)) headers[k] = fill(v);
  return { ...r, headers, ...(typeof r.payload === 'string' ? { payload: fill(r.payload) } : {}) };
}

/** Lone surrogates become U+FFFD, as a browser would send them (so they can be percent-encoded). */
const wellFormed = (s: string) =>
  s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

/** Percent-encodes anything, lone surrogates included (as U+FFFD, which a browser would send). */
const enc = (s: string) => encodeURIComponent(wellFormed(s));

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Mostly the well-formed value, sometimes the malformed one: most requests break one thing at a time. */
const mostly = <T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: bad });

interface Credentials {
  authorization?: string;
  cookie?: string;
  csrfHeader?: string;
}

/** Well-formed credentials for the route's surface: the admin's session, a management token, a client. */
function goodCredentials(url: string): fc.Arbitrary<Credentials> {
  if (/^\/oauth\/(token|introspect|revoke)/.test(url))
    return fc.constant({ authorization: basicAuth(seed.clientId, seed.secret) });
  if (url.startsWith('/api/'))
    return fc.oneof(
      fc.constant({ cookie: SESSION, csrfHeader: CSRF }),
      fc.constantFrom(...seed.tokens).map((t) => ({ authorization: `Bearer ${t}` })),
    );
  return fc.constant({ cookie: SESSION });
}

function badCredentials(): fc.Arbitrary<Credentials> {
  return fc.record(
    {
      authorization: authorization(),
      cookie: fc.oneof(
        fc.constant(SESSION),
        text.map((t) => `clavis_session=${enc(t)}`),
        fc.constantFrom(
          'clavis_session=%00',
          'clavis_session',
          '=;=;',
          'clavis_pre=%ff%fe; clavis_session=a',
        ),
      ),
      csrfHeader: fc.oneof(fc.constant(CSRF), text),
    },
    { requiredKeys: [] },
  );
}

/** A well-formed body for the route: none, a JSON object of known fields (maybe empty), or a form. */
function goodBody(route: Route): fc.Arbitrary<{ type?: string; payload?: string }> {
  if (route.method === 'GET' || route.method === 'HEAD' || route.method === 'DELETE') return fc.constant({});
  const known = fc.tuple(fc.constantFrom(...NAMES), value());
  if (route.url.startsWith('/api/'))
    return fc
      .dictionary(
        fc.constantFrom(...NAMES),
        fc.oneof(
          value(),
          fc.integer({ min: -1, max: 1000 }),
          fc.boolean(),
          fc.array(value(), { maxLength: 3 }),
        ),
        { maxKeys: 4 },
      )
      .map((o) => ({ type: 'application/json', payload: JSON.stringify(o) }));
  const csrf =
    route.url.startsWith('/oauth/') && !route.url.startsWith('/oauth/authorize') ? [] : [['csrf', CSRF]];
  return fc.array(known, { maxLength: 6 }).map((p) => ({
    type: 'application/x-www-form-urlencoded',
    payload: new URLSearchParams([...csrf, ...p]).toString(),
  }));
}

function goodPath(route: Route): fc.Arbitrary<string> {
  const n = (route.url.match(/:[A-Za-z]+|\*/g) ?? []).length;
  return fc.array(fc.constantFrom(...seed.ids), { minLength: n, maxLength: n }).map((values) => {
    let i = 0;
    return route.url.replace(/:[A-Za-z]+|\*/g, () => values[i++] ?? 'x');
  });
}

function request(): fc.Arbitrary<InjectOptions> {
  // HEAD is one of the methods tried on every route, so the table's HEAD twins of GET routes are left out.
  return fc.constantFrom(...routes.filter((r) => r.method !== 'HEAD')).chain((route) =>
    fc
      .record({
        method: mostly(fc.constant(route.method), fc.constantFrom(...METHODS)),
        path: mostly(goodPath(route), path(route)),
        query: mostly(fc.constant(''), query()),
        body: mostly(goodBody(route), body()),
        credentials: mostly(goodCredentials(route.url), badCredentials()),
        accept: fc.constantFrom(undefined, 'text/html', 'application/json', '*/*', 'text/html;q=0, */*'),
        extra: fc.array(
          fc.tuple(
            fc.constantFrom(
              'x-forwarded-for',
              'idempotency-key',
              'origin',
              'referer',
              'if-none-match',
              'accept-language',
              'content-encoding',
            ),
            text,
          ),
          { maxLength: 2 },
        ),
      })
      .map((r) => {
        const headers: Record<string, string> = {};
        if (r.body.type !== undefined) headers['content-type'] = r.body.type;
        if (r.credentials.authorization !== undefined) headers.authorization = r.credentials.authorization;
        if (r.credentials.cookie !== undefined) headers.cookie = r.credentials.cookie;
        if (r.credentials.csrfHeader !== undefined) headers['x-csrf-token'] = r.credentials.csrfHeader;
        if (r.accept !== undefined) headers.accept = r.accept;
        for (const [k, v] of r.extra) headers[k] = v;
        // Header values are what an HTTP parser lets through: tab, visible ASCII and obs-text (RFC 9110 §5.5).
        for (const k of Object.keys(headers))
          headers[k] = headers[k]!.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
        return {
          method: r.method as InjectOptions['method'],
          url: `${r.path}${r.query}`,
          headers,
          ...(r.body.payload !== undefined ? { payload: r.body.payload } : {}),
        };
      }),
  );
}

function describeRequest(r: InjectOptions): string {
  const payload = typeof r.payload === 'string' ? r.payload : '';
  return JSON.stringify({
    ...r,
    payload: payload.length > 500 ? `${payload.slice(0, 500)}… (${payload.length})` : payload,
  });
}

describe(`fuzzing every route (${TEST_DB}, ${SECONDS}s)`, () => {
  it('reads the whole route table', () => {
    const urls = new Set(routes.map((r) => `${r.method} ${r.url}`));
    for (const r of [
      'POST /oauth/token',
      'GET /oauth/authorize',
      'PATCH /api/v1/apps/:id',
      'POST /signup',
      'POST /admin/users/:id/:action',
    ])
      expect(urls).toContain(r);
    expect(routes.length).toBeGreaterThan(60);
  });

  it(
    'never answers 5xx, whatever the request',
    async () => {
      console.log(`fuzz seed ${SEED} (CLAVIS_FUZZ_SEED=${SEED} CLAVIS_TEST_DB=${TEST_DB} to reproduce)`);
      let sent = 0;
      const statuses = new Map<number, number>();
      const result = await fc.check(
        fc.asyncProperty(request(), async (req) => {
          sent++;
          const res = await app.inject(withSession(req));
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          // A fuzzed sign-out or user change may have ended the admin's session: sign in again.
          if (/^\/(logout|admin\/users)/.test(String(req.url))) await refreshSession();
          if (res.statusCode >= 500)
            throw new Error(`${res.statusCode} for ${describeRequest(req)}\n${res.body.slice(0, 500)}`);
        }),
        {
          seed: SEED,
          numRuns: Number.MAX_SAFE_INTEGER,
          endOnFailure: true,
          plugins: [fc.interruptAfterTimeLimit(SECONDS * 1000)],
        },
      );
      console.log(`fuzz: ${sent} requests, by status ${JSON.stringify(Object.fromEntries(statuses))}`);
      if (result.failed)
        throw new Error(
          `fuzzing found a 5xx; CLAVIS_FUZZ_SEED=${SEED} CLAVIS_TEST_DB=${TEST_DB} reproduces it\n${fc.defaultReportMessage(result)}`,
        );
      expect(sent).toBeGreaterThan(10);
    },
    (SECONDS + 60) * 1000,
  );
});

/** Keeps the admin signed in: a fuzzed request may have signed out or disabled the session. */
async function refreshSession(): Promise<void> {
  const probe = await app.inject({ method: 'GET', url: '/apps/new', headers: { cookie: seed.session } });
  if (probe.statusCode === 200) return;
  seed.session = await signIn(ts.admin.email, ts.admin.password);
  seed.csrf = await csrfOf(seed.session);
}
