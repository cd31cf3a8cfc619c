import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPythonWithRequests } from './helpers/python.js';
import { basicAuth, createTestApp, startTestServer, type TestServer } from './helpers/server.js';

// examples/service-to-service: the TypeScript (SDK), curl and Python versions against a real server.
const run = promisify(execFile);
const DIR = join(import.meta.dirname, '..', 'examples', 'service-to-service');
const ROOT = join(import.meta.dirname, '..');
const python = findPythonWithRequests();

let ts: TestServer;
let clientId: string;
let secret: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  ts = await startTestServer();
  const created = await createTestApp(ts, { name: 'Orders service', default_scopes: ['contacts:read'] });
  clientId = created.app.client_id;
  secret = created.secret!;
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CLAVIS_')) base[k] = v;
  env = {
    ...base,
    CLAVIS_URL: ts.url,
    CLAVIS_ISSUER: ts.url,
    CLAVIS_CLIENT_ID: clientId,
    CLAVIS_CLIENT_SECRET: secret,
  };
});
afterAll(async () => {
  await ts?.close();
});

/** Runs a command; resolves with the exit code instead of throwing. */
async function sh(file: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}, cwd = DIR) {
  try {
    const r = await run(file, args, { env: { ...env, ...extraEnv }, cwd, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('examples/service-to-service', () => {
  it('main.ts (the SDK) compiles and lists the contacts; a wrong secret fails with invalid_client', async () => {
    const tsc = await sh(process.execPath, [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(DIR, 'tsconfig.json'),
    ]);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
    const r = await sh(process.execPath, [join(DIR, 'dist/main.js')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Fetched 3 contacts/);
    expect(r.stdout).toContain('- Ada Lovelace <ada@example.com>');
    const bad = await sh(process.execPath, [join(DIR, 'dist/main.js')], { CLAVIS_CLIENT_SECRET: 'wrong' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/refused: invalid_client/);
  }, 90_000);

  it('get_token.sh (curl) prints a token and calls the API with Bearer; a wrong secret exits 1', async () => {
    const token = await sh('sh', ['get_token.sh']);
    expect(token.code).toBe(0);
    expect(token.stdout.trim()).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+$/);
    const call = await sh('sh', ['get_token.sh', `${ts.url}/api/v1/contacts`]);
    expect(call.code).toBe(0);
    expect(JSON.parse(call.stdout).items).toHaveLength(3);
    const bad = await sh('sh', ['get_token.sh'], { CLAVIS_CLIENT_SECRET: 'wrong' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^token request failed \(HTTP 401\): invalid_client/);
  });

  /** Runs `fn` against a server that records each request's Authorization header and answers 401. */
  async function recordingAuth(fn: (url: string) => Promise<void>): Promise<string[]> {
    const seen: string[] = [];
    const echo = createServer((req, res) => {
      seen.push(req.headers.authorization ?? '');
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    try {
      await fn(`http://127.0.0.1:${(echo.address() as { port: number }).port}`);
    } finally {
      echo.close();
    }
    return seen;
  }
  const weird = { CLAVIS_CLIENT_ID: 'svc:1', CLAVIS_CLIENT_SECRET: 'a:b+c d%/é' };

  it('curl form-encodes client_id and secret before Basic auth (RFC 6749 §2.3.1)', async () => {
    const seen = await recordingAuth(async (url) => {
      const curl = await sh('sh', ['get_token.sh'], { ...weird, CLAVIS_URL: url });
      expect(curl.code).toBe(1);
      expect(curl.stderr).toMatch(/invalid_client/);
    });
    expect(seen).toEqual([basicAuth('svc:1', 'a:b+c d%/é')]);
  });

  it.skipIf(!python)(
    'Python form-encodes client_id and secret before Basic auth (RFC 6749 §2.3.1)',
    async () => {
      const seen = await recordingAuth(async (url) => {
        const py = await sh(python!, ['get_token.py'], { ...weird, CLAVIS_URL: url });
        expect(py.code).toBe(1);
        expect(py.stderr).toMatch(/invalid_client/);
      });
      expect(seen).toEqual([basicAuth('svc:1', 'a:b+c d%/é')]);
    },
  );

  it.skipIf(!python)(
    'get_token.py (requests) calls the API; tokens are cached; one retry after a revoked token',
    async () => {
      const call = await sh(python!, ['get_token.py', `${ts.url}/api/v1/contacts`]);
      expect(call.stderr).toBe('');
      expect(call.code).toBe(0);
      expect(JSON.parse(call.stdout).items).toHaveLength(3);

      const script = `
import json, sys, requests
sys.path.insert(0, ${JSON.stringify(DIR)})
from get_token import ClientCredentials, TokenError

class Counting(requests.Session):
    posts = 0
    gets = 0
    def post(self, *a, **k):
        Counting.posts += 1
        return super().post(*a, **k)
    def request(self, method, *a, **k):
        if method == "GET":
            Counting.gets += 1
        return super().request(method, *a, **k)

c = ClientCredentials.from_env(session=Counting())
api = "${ts.url}/api/v1/contacts"
first = c.get(api)
t1 = c.get_token()
second = c.get(api)
assert c.get_token() == t1
posts_before = Counting.posts
# revoke the cached token server-side: the next call gets 401 invalid_token, a new token, one retry
r = requests.post("${ts.url}/oauth/revoke", data={"token": t1}, auth=(c.client_id, c._secret))
assert r.status_code == 200, r.text
gets_before = Counting.gets
third = c.get(api)
out = {
  "statuses": [first.status_code, second.status_code, third.status_code],
  "token_requests_before_revoke": posts_before,
  "token_requests_after": Counting.posts,
  "gets_for_third": Counting.gets - gets_before,
  "new_token": c.get_token() != t1,
}
try:
    ClientCredentials(c.token_url, c.client_id, "wrong").get_token()
except TokenError as e:
    out["wrong_secret"] = [e.error, e.status]
print(json.dumps(out))
`;
      const r = await sh(python!, ['-c', script]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        statuses: [200, 200, 200],
        token_requests_before_revoke: 1,
        token_requests_after: 2,
        gets_for_third: 2,
        new_token: true,
        wrong_secret: ['invalid_client', 401],
      });
    },
  );
});
