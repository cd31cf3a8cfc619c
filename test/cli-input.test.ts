import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize, Browser } from './helpers/browser.js';
import { collect, lines, runCli, spawnCli, tempConfigDir } from './helpers/cli.js';
import { freePort, startTestServer, type TestServer } from './helpers/server.js';

// What a new user typed: a piped secret, an issuer with a trailing slash, a fixed login callback port.
let ts: TestServer;
let env: Record<string, string>;

beforeAll(async () => {
  ts = await startTestServer();
  env = { CLAVIS_CONFIG_DIR: tempConfigDir(), CLAVIS_CLIENT_ID: ts.bootstrapClient.id };
});
afterAll(async () => {
  await ts?.close();
});

const decode = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());

describe('clavis token: secret and issuer as typed', () => {
  it('reads a piped secret without --client-secret-stdin (echo "$S" | clavis token)', async () => {
    const r = await runCli(['token', '--server', ts.url, '--scope', 'clavis:apps'], {
      env,
      input: `${ts.bootstrapClient.secret}\n`,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(decode(lines(r.stdout)[0]!).client_id).toBe(ts.bootstrapClient.id);
  });

  it('empty piped stdin and no other source is still "no client secret"', async () => {
    const r = await runCli(['token', '--server', ts.url], { env, input: '' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no client secret/);
  });

  it("--issuer with a trailing slash the server's issuer lacks: uses the server's issuer and says so", async () => {
    const r = await runCli(['token', '--issuer', `${ts.url}/`, '--scope', 'clavis:apps'], {
      env: { ...env, CLAVIS_CLIENT_SECRET: ts.bootstrapClient.secret },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`the server's issuer is ${ts.url} (RFC 8414 §3.3`);
    expect(decode(lines(r.stdout)[0]!).iss).toBe(ts.url);
  });

  it('an issuer that differs by more than the slash still fails clearly', async () => {
    const r = await runCli(['token', '--issuer', `${ts.url}/other/`], {
      env: { ...env, CLAVIS_CLIENT_SECRET: ts.bootstrapClient.secret },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Check --issuer\/--server/);
    expect(r.stderr).not.toMatch(/server's issuer is/);
  });
});

describe('clavis login: --port and who signed in', () => {
  /** Starts a browser login and waits for the printed authorize URL. */
  async function startLogin(args: string[]) {
    const child = spawnCli(['login', '--server', ts.url, '--no-browser', '--timeout', '20', ...args], {
      env: { CLAVIS_CONFIG_DIR: tempConfigDir() },
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

  it('--port fixes the loopback callback port; --json names the signed-in user', async () => {
    const port = await freePort();
    const { url, result } = await startLogin(['--port', String(port), '--json']);
    expect(new URL(url).searchParams.get('redirect_uri')).toBe(`http://127.0.0.1:${port}/callback`);
    const flow = await authorize(new Browser(ts.url), url, {
      email: ts.admin.email,
      password: ts.admin.password,
    });
    expect((await fetch(flow.location!)).status).toBe(200);
    const r = await result;
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.client_id).toBe('clavis-cli');
    expect(typeof out.user).toBe('string');
    expect(out.user).not.toBe('clavis-cli');
  });

  it('--port that is taken or not a port is a clear usage error', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const taken = await runCli(['login', '--server', ts.url, '--no-browser', '--port', String(port)], {
        env: { CLAVIS_CONFIG_DIR: tempConfigDir() },
      });
      expect(taken.code).toBe(1);
      expect(taken.stderr).toContain(`127.0.0.1:${port} is already in use`);
    } finally {
      busy.close();
    }
    const bad = await runCli(['login', '--server', ts.url, '--no-browser', '--port', '70000'], {
      env: { CLAVIS_CONFIG_DIR: tempConfigDir() },
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--port must be a port number from 1 to 65535/);
  });
});
