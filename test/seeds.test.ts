import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPhpWithCurl } from './helpers/php.js';
import { findPythonWithRequests } from './helpers/python.js';
import { createTestApp, startTestServer, type TestServer } from './helpers/server.js';

const run = promisify(execFile);
const EXAMPLES = join(import.meta.dirname, '..', 'examples', 'seeds');
const SEED_NAME = '001_b97a721c7d3bc39a.txt';
/** The seed document, kept verbatim in the repository so the comparison runs in every clone. */
const SEED = join(import.meta.dirname, 'fixtures', 'seeds', SEED_NAME);
/** The shared source documents next to the repository, when they are there (the project's workspace). */
const SHARED_SEED = join(import.meta.dirname, '..', '..', 'shared', 'seeds', SEED_NAME);

const python = findPythonWithRequests();
const php = findPhpWithCurl();

let ts: TestServer;
beforeAll(async () => {
  // Short-lived tokens, so the seeds' expired-token path can be driven for real.
  ts = await startTestServer({ env: { CLAVIS_ACCESS_TOKEN_TTL: '2' } });
});
afterAll(async () => ts?.close());

describe("the seeds' code, run as written", () => {
  it("the example is the seed's Python code, unchanged", () => {
    const seed = readFileSync(SEED, 'utf8');
    const ours = readFileSync(join(EXAMPLES, 'seed_client.py'), 'utf8');
    const body = ours.slice(ours.indexOf('def get_token_by_client_id_and_client_secret'));
    // Every line of our copy appears in the seed (modulo the trailing whitespace of the pasted page).
    for (const line of body.split('\n').filter((l) => l.trim()))
      expect(seed.includes(line.trimEnd()), `line not in seed: ${line}`).toBe(true);
  });

  it.skipIf(!existsSync(SHARED_SEED))(
    'the in-repository copy of the seed is the shared document, verbatim',
    () => {
      expect(readFileSync(SEED, 'utf8')).toBe(readFileSync(SHARED_SEED, 'utf8'));
    },
  );

  it.skipIf(!python)(
    'Python: gets a token and data, and recovers from an expired token through the 401 path',
    async () => {
      const { app, secret } = await createTestApp(ts);
      const dir = mkdtempSync(join(tmpdir(), 'clavis-seed-'));
      const code = readFileSync(join(EXAMPLES, 'seed_client.py'), 'utf8')
        .replace('"MY_CLIENT_ID"', `"${app.client_id}"`)
        .replace('"MY_CLIENT_SECRET"', `"${secret}"`)
        .replace('"MY_AUTHENTICATION_URL"', `"${ts.url}/oauth/token"`)
        .replace('"https://my-api-endpoint"', `"${ts.url}/api/v1/me"`);
      writeFileSync(join(dir, 'seed_client.py'), code);
      copyFileSync(join(EXAMPLES, 'run_seed_client.py'), join(dir, 'run_seed_client.py'));
      const { stdout } = await run(python!, ['run_seed_client.py', '3'], { cwd: dir, timeout: 20_000 }).catch(
        (e) => {
          throw new Error(`seed script failed: ${e.stdout}\n${e.stderr}`);
        },
      );
      const steps = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(steps[0]).toEqual({ step: 'token', ok: true });
      expect(steps[1]).toMatchObject({ step: 'call', status: 200, body: { client_id: app.client_id } });
      // The token expired during the wait: the API said 401, the seed code re-authenticated and retried.
      expect(steps[2]).toMatchObject({
        step: 'after-expiry',
        status: 200,
        body: { client_id: app.client_id },
      });
      const secretsEvents = await ts.server.services.ctx.db
        .selectFrom('audit_events')
        .select('type')
        .where('app_id', '=', app.id)
        .execute();
      expect(secretsEvents.map((e) => e.type)).toContain('secret.first_used');
    },
  );

  it("the PHP example is the seed's PHP code, unchanged", () => {
    const seed = readFileSync(SEED, 'utf8');
    const ours = readFileSync(join(EXAMPLES, 'seed_client.php'), 'utf8');
    const body = ours.slice(ours.indexOf('function getTokenByClientIdAndClientSecret'));
    expect(body).toContain('function get_data_from_endpoint($access_token)');
    for (const line of body.split('\n').filter((l) => l.trim()))
      expect(seed.includes(line.trimEnd()), `line not in seed: ${line}`).toBe(true);
  });

  it.skipIf(!php)(
    'PHP (curl): gets a token and data, and recovers from an expired token through the 401 path',
    async () => {
      const { app, secret } = await createTestApp(ts);
      const dir = mkdtempSync(join(tmpdir(), 'clavis-seed-php-'));
      try {
        const code = readFileSync(join(EXAMPLES, 'seed_client.php'), 'utf8')
          .replace("'MY_CLIENT_ID'", `'${app.client_id}'`)
          .replace("'MY_CLIENT_SECRET'", `'${secret}'`)
          .replace("'MY_AUTHENTICATION_URL'", `'${ts.url}/oauth/token'`)
          .replace('"https://my-api-endpoint"', `"${ts.url}/api/v1/me"`);
        writeFileSync(join(dir, 'seed_client.php'), code);
        copyFileSync(join(EXAMPLES, 'run_seed_client.php'), join(dir, 'run_seed_client.php'));
        const { stdout, stderr } = await run(php!, ['run_seed_client.php', '3'], {
          cwd: dir,
          timeout: 20_000,
        }).catch((e) => {
          throw new Error(`seed script failed: ${e.stdout}\n${e.stderr}`);
        });
        expect(stderr).toBe('');
        const steps = stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(steps[0]).toEqual({ step: 'token', ok: true });
        expect(steps[1]).toMatchObject({ step: 'call', body: { client_id: app.client_id } });
        // The token expired during the wait: the API said 401, the seed code re-authenticated and retried.
        expect(steps[2]).toMatchObject({ step: 'after-expiry', body: { client_id: app.client_id } });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('JavaScript (axios): the token function works as written', async () => {
    const { app, secret } = await createTestApp(ts);
    const dir = mkdtempSync(join(import.meta.dirname, '..', 'node_modules', '.clavis-seed-'));
    const code = readFileSync(join(EXAMPLES, 'seed_client.cjs'), 'utf8')
      .replace("'MY_CLIENT_ID'", `'${app.client_id}'`)
      .replace("'MY_CLIENT_SECRET'", `'${secret}'`)
      .replace("'MY_AUTHENTICATION_URL'", `'${ts.url}/oauth/token'`);
    writeFileSync(join(dir, 'seed_client.cjs'), code);
    const { stdout, stderr } = await run(process.execPath, [join(dir, 'seed_client.cjs')], {
      timeout: 20_000,
    }).finally(() => rmSync(dir, { recursive: true, force: true }));
    expect(stderr).toBe('');
    const token = stdout.trim();
    const me = await fetch(`${ts.url}/api/v1/me`, { headers: { authorization: token } });
    expect(me.status).toBe(200);
  });

  it('curl: the Postman steps as one command', async () => {
    const { app, secret } = await createTestApp(ts);
    const { stdout } = await run('sh', [join(EXAMPLES, 'get_token.sh')], {
      env: {
        ...process.env,
        CLAVIS_URL: ts.url,
        CLAVIS_CLIENT_ID: app.client_id,
        CLAVIS_CLIENT_SECRET: secret!,
      },
      timeout: 20_000,
    });
    expect(JSON.parse(stdout)).toMatchObject({ client_id: app.client_id, sub: app.client_id });
  });
});
