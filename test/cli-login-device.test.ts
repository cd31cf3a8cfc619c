import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from './helpers/browser.js';
import { collect, runCli, spawnCli, tempConfigDir } from './helpers/cli.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// `clavis login --device` (RFC 8628): the CLI prints the verification URI and the user code, a browser (fetch
// and a cookie jar) signs in at /device and allows or denies it, and the CLI polls until it gets tokens.
let ts: TestServer;
let dir: string;

beforeAll(async () => {
  ts = await startTestServer();
  dir = tempConfigDir();
});
afterAll(async () => {
  await ts?.close();
});

/** Starts `clavis login --device` and waits for the printed code. */
async function startDeviceLogin(args: string[] = []) {
  const child = spawnCli(['login', '--server', ts.url, '--device', ...args], {
    env: { CLAVIS_CONFIG_DIR: dir },
  });
  const result = collect(child, 40_000);
  let stderr = '';
  const printed = await new Promise<{ uri: string; code: string; complete: string }>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      stderr += d;
      const uri = /^\s+(http\S+\/device)$/m.exec(stderr)?.[1];
      const code = /^\s+([A-Z]{4}-[A-Z]{4})$/m.exec(stderr)?.[1];
      const complete = /^\s+(http\S+\/device\?user_code=\S+)$/m.exec(stderr)?.[1];
      if (uri && code && complete) resolve({ uri, code, complete });
    });
    child.on('close', () => reject(new Error(`login exited before printing a code: ${stderr}`)));
  });
  return { ...printed, result };
}

async function answer(code: string, decision: 'allow' | 'deny') {
  const b = new Browser(ts.url);
  const first = await b.get(`/device?user_code=${encodeURIComponent(code)}`);
  const back = await b.submit(first, '/login', { email: ts.admin.email, password: ts.admin.password });
  const confirm = await b.get(back.location!);
  expect(confirm.status).toBe(200);
  const done = await b.submit(confirm, '/device/decision', {}, decision);
  expect(done.status).toBe(303);
}

describe('clavis login --device', () => {
  it('prints the URI and code, polls, and saves a refreshable login once allowed', async () => {
    const { uri, code, complete, result } = await startDeviceLogin(['--scope', 'clavis:apps']);
    expect(uri).toBe(`${ts.url}/device`);
    expect(complete).toBe(`${ts.url}/device?user_code=${code}`);
    await answer(code, 'allow');
    const r = await result;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Logged in to .* as ${ts.admin.email} via clavis-cli`));
    const saved = JSON.parse(readFileSync(join(dir, 'credentials.json'), 'utf8')).servers[ts.url];
    expect(saved.grant).toBe('urn:ietf:params:oauth:grant-type:device_code');
    expect(saved.refresh_token).toBeTruthy();
    const list = await runCli(['apps', 'list', '--json'], { env: { CLAVIS_CONFIG_DIR: dir } });
    expect(list.code).toBe(0);
    // logout revokes the refresh token, with the client_id alone.
    const out = await runCli(['logout', '--server', ts.url], { env: { CLAVIS_CONFIG_DIR: dir } });
    expect(out.stdout).toContain('refresh token revoked');
  }, 60_000);

  it('exits with a clear message when the user denies', async () => {
    const { code, result } = await startDeviceLogin();
    await answer(code, 'deny');
    const r = await result;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('login was denied');
  }, 60_000);

  it('refuses --device with client credentials', async () => {
    const r = await runCli(['login', '--server', ts.url, '--device', '--client-id', 'x'], {
      env: { CLAVIS_CONFIG_DIR: dir, CLAVIS_CLIENT_SECRET: 'y' },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--device');
  });
});
