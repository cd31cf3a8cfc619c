import { execFile, spawn } from 'node:child_process';
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
/** Added to the server's clock: the drivers' second call comes after a jump past every token's lifetime. */
let clockOffsetMs = 0;
beforeAll(async () => {
  ts = await startTestServer({ now: () => Date.now() + clockOffsetMs });
});
afterAll(async () => ts?.close());

/** A counter's value from the server's /metrics (0 when the line is not there yet). */
async function metric(line: string): Promise<number> {
  const text = await (await fetch(`${ts.url}/metrics`)).text();
  const hit = text.split('\n').find((l) => l.startsWith(`${line} `));
  return hit ? Number(hit.slice(line.length + 1)) : 0;
}
const ISSUED = 'clavis_tokens_issued_total{grant_type="client_credentials"}';
const REFUSED = 'clavis_http_request_duration_seconds_count{method="GET",route="/api/v1/me",status="401"}';

/**
 * Runs a seed driver (examples/seeds/run_seed_client.*) in `cwd` with the seed code filled in for `app`. It
 * gets a token and calls the API; then the server's clock jumps two hours, past the token's lifetime and the
 * verifier's clock tolerance, and the driver calls again with the same token. So the API really answers 401,
 * and the seed code's own re-authentication is what makes the third step succeed: the test checks both
 * (one more 401 on /api/v1/me and two tokens issued), so it fails if the 401 path is never taken.
 */
async function driveSeed(interpreter: string, script: string, cwd: string) {
  const before = { issued: await metric(ISSUED), refused: await metric(REFUSED) };
  const child = spawn(interpreter, [script], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
  });
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
    // After the first call (two lines out), the token expires on the server's clock.
    if (stdout.split('\n').length - 1 === 2) {
      clockOffsetMs += 2 * 3600_000;
      child.stdin.end('\n');
    }
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`seed driver timed out: ${stdout}\n${stderr}`));
    }, 20_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  if (code !== 0) throw new Error(`seed driver failed (${code}): ${stdout}\n${stderr}`);
  const steps = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return {
    steps,
    stderr,
    issued: (await metric(ISSUED)) - before.issued,
    refused: (await metric(REFUSED)) - before.refused,
  };
}

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
      const { steps, issued, refused } = await driveSeed(python!, 'run_seed_client.py', dir).finally(() =>
        rmSync(dir, { recursive: true, force: true }),
      );
      expect(steps[0]).toEqual({ step: 'token', ok: true });
      expect(steps[1]).toMatchObject({ step: 'call', status: 200, body: { client_id: app.client_id } });
      // The token expired: the API said 401, the seed code re-authenticated and retried.
      expect(steps[2]).toMatchObject({
        step: 'after-expiry',
        status: 200,
        body: { client_id: app.client_id },
      });
      expect({ issued, refused }).toEqual({ issued: 2, refused: 1 });
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
        const { steps, stderr, issued, refused } = await driveSeed(php!, 'run_seed_client.php', dir);
        expect(stderr).toBe('');
        expect(steps[0]).toEqual({ step: 'token', ok: true });
        expect(steps[1]).toMatchObject({ step: 'call', body: { client_id: app.client_id } });
        // The token expired: the API said 401, the seed code re-authenticated and retried.
        expect(steps[2]).toMatchObject({ step: 'after-expiry', body: { client_id: app.client_id } });
        expect({ issued, refused }).toEqual({ issued: 2, refused: 1 });
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
