import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize, Browser } from './helpers/browser.js';
import { collect, lines, runCli, spawnCli, tempConfigDir } from './helpers/cli.js';
import { postForm, startTestServer, type TestServer } from './helpers/server.js';

// `clavis login` through the browser: the printed URL is driven with fetch + a cookie jar (login form,
// consent), the redirect goes to the CLI's loopback listener, the CLI exchanges the code (PKCE, state, iss).
let ts: TestServer;
let dir: string;

beforeAll(async () => {
  ts = await startTestServer();
  dir = tempConfigDir();
});
afterAll(async () => {
  await ts?.close();
});

/** Starts `clavis login`, waits for the printed URL, returns it with the still running process. */
async function startLogin(args: string[] = []) {
  const child = spawnCli(['login', '--server', ts.url, '--no-browser', '--timeout', '20', ...args], {
    env: { CLAVIS_CONFIG_DIR: dir },
  });
  const result = collect(child, 30_000);
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      stderr += d;
      const m = /^\s+(http\S+\/oauth\/authorize\?\S+)$/m.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child.on('close', () => reject(new Error(`login exited before printing a URL: ${stderr}`)));
  });
  return { url, result };
}

describe('clavis login (browser, PKCE, loopback redirect)', () => {
  it('prints the URL, receives the callback, saves access and refresh token (0600)', async () => {
    const { url, result } = await startLogin(['--scope', 'clavis:apps clavis:admin']);
    const u = new URL(url);
    expect(u.origin).toBe(ts.url);
    expect(u.searchParams.get('client_id')).toBe('clavis-cli');
    expect(u.searchParams.get('code_challenge_method')).toBe('S256');
    expect(u.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);

    const browser = new Browser(ts.url);
    const flow = await authorize(browser, url, { email: ts.admin.email, password: ts.admin.password });
    expect(flow.sawLogin).toBe(true);
    expect(flow.location).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
    const cb = await fetch(flow.location!);
    expect(cb.status).toBe(200);
    expect(await cb.text()).toMatch(/Logged in/);

    const r = await result;
    expect(r.code).toBe(0);
    // It names the signed-in user (the server's /api/v1/me for the token), not the CLI's client.
    const who = /Logged in to .* as (\S+) via clavis-cli \(scopes: clavis:apps clavis:admin\)/.exec(r.stdout);
    expect(who, r.stdout).not.toBeNull();
    const file = join(dir, 'credentials.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8')).servers[ts.url];
    const me = await fetch(`${ts.url}/api/v1/me`, {
      headers: { authorization: `Bearer ${saved.access_token}` },
    });
    const body = (await me.json()) as { email?: string; sub: string };
    expect(who![1]).toBe(body.email ?? body.sub);
    expect(body.sub).not.toBe('clavis-cli');
    expect(saved.grant).toBe('authorization_code');
    expect(saved.refresh_token).toBeTruthy();

    // the saved token works, acting as the admin user
    const list = await runCli(['apps', 'list', '--json'], { env: { CLAVIS_CONFIG_DIR: dir } });
    expect(list.code).toBe(0);
    expect(
      JSON.parse(list.stdout).items.some((a: { client_id: string }) => a.client_id === 'clavis-cli'),
    ).toBe(true);
  });

  it('an expired access token is refreshed with the refresh token (rotated and saved)', async () => {
    const file = join(dir, 'credentials.json');
    const before = JSON.parse(readFileSync(file, 'utf8'));
    before.servers[ts.url].expires_at = Date.now() - 1000;
    writeFileSync(file, JSON.stringify(before), { mode: 0o600 });
    const r = await runCli(['apps', 'show', 'clavis-cli', '--json'], { env: { CLAVIS_CONFIG_DIR: dir } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const after = JSON.parse(readFileSync(file, 'utf8')).servers[ts.url];
    expect(after.access_token).not.toBe(before.servers[ts.url].access_token);
    expect(after.refresh_token).not.toBe(before.servers[ts.url].refresh_token);
    expect(after.expires_at).toBeGreaterThan(Date.now());
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('parallel commands after the access token expires: one refresh under the lock, all succeed, login kept', async () => {
    const file = join(dir, 'credentials.json');
    const before = JSON.parse(readFileSync(file, 'utf8'));
    before.servers[ts.url].expires_at = 1;
    writeFileSync(file, JSON.stringify(before), { mode: 0o600 });
    // a lock left behind by a process that died: taken over, not waited for
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(`${file}.lock`, JSON.stringify({ pid: dead, at: Date.now() - 5000 }));
    utimesSync(`${file}.lock`, new Date(Date.now() - 5000), new Date(Date.now() - 5000));
    const cmds = [
      ['apps', 'list'],
      ['apps', 'list', '--status', 'approved'],
      ['apps', 'show', 'clavis-cli'],
    ];
    const results = await Promise.all(
      cmds.map((cmd) => runCli([...cmd, '--json'], { env: { CLAVIS_CONFIG_DIR: dir } })),
    );
    for (const [i, r] of results.entries()) {
      expect(r.stderr, cmds[i]!.join(' ')).toBe('');
      expect(r.code, cmds[i]!.join(' ')).toBe(0);
    }
    const after = JSON.parse(readFileSync(file, 'utf8')).servers[ts.url];
    expect(after.refresh_token).not.toBe(before.servers[ts.url].refresh_token);
    expect(after.expires_at).toBeGreaterThan(Date.now());
    expect(existsSync(`${file}.lock`)).toBe(false);
    // the grant survived: a rotated refresh token was never presented twice
    after.expires_at = 1;
    writeFileSync(file, JSON.stringify({ ...before, servers: { [ts.url]: after } }), { mode: 0o600 });
    const again = await runCli(['apps', 'show', 'clavis-cli'], { env: { CLAVIS_CONFIG_DIR: dir } });
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
  });

  it('logout revokes the refresh token at /oauth/revoke and deletes the login', async () => {
    const file = join(dir, 'credentials.json');
    const saved = JSON.parse(readFileSync(file, 'utf8')).servers[ts.url];
    const r = await runCli(['logout', '--json'], { env: { CLAVIS_CONFIG_DIR: dir } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ server: ts.url, logged_out: true, revoked: true });
    const refresh = await postForm(`${ts.url}/oauth/token`, {
      grant_type: 'refresh_token',
      refresh_token: saved.refresh_token,
      client_id: 'clavis-cli',
    });
    expect(refresh.status).toBe(400);
    expect(refresh.json.error).toBe('invalid_grant');
    const list = await runCli(['apps', 'list'], { env: { CLAVIS_CONFIG_DIR: dir } });
    expect(list.code).toBe(1);
    expect(list.stderr).toMatch(/not logged in/);
  });

  it('a denied consent fails the login with exit 1 and one line', async () => {
    const { url, result } = await startLogin();
    const browser = new Browser(ts.url);
    const flow = await authorize(browser, url, {
      email: ts.admin.email,
      password: ts.admin.password,
      decision: 'deny',
    });
    if (flow.location) await fetch(flow.location).catch(() => undefined);
    const r = await result;
    expect(r.code).toBe(1);
    expect(lines(r.stderr).at(-1)).toMatch(/^clavis: login was denied in the browser\.$/);
  });

  it('a callback with the wrong state gets an error page and is ignored; the real redirect still logs in', async () => {
    const { url, result } = await startLogin();
    const redirect = new URL(new URL(url).searchParams.get('redirect_uri')!);
    redirect.searchParams.set('code', 'forged');
    redirect.searchParams.set('state', 'not-the-state');
    redirect.searchParams.set('iss', ts.url);
    const forged = await fetch(redirect);
    expect(forged.status).toBe(400);
    expect(await forged.text()).toMatch(/does not belong to the login/);
    const noState = await fetch(new URL('/callback?error=access_denied', redirect));
    expect(noState.status).toBe(400);

    const browser = new Browser(ts.url);
    const flow = await authorize(browser, url, { email: ts.admin.email, password: ts.admin.password });
    const cb = await fetch(flow.location!);
    expect(cb.status).toBe(200);
    const r = await result;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/ignored a callback whose state does not match/);
    expect(r.stdout).toMatch(/Logged in to /);
  });
});
