import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, lines, runCli, tempConfigDir } from './helpers/cli.js';
import { freePort, startTestServer, type TestServer } from './helpers/server.js';

// `clavis token`: the built binary as a subprocess against a real server.
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

describe('clavis token', () => {
  it('prints just the access token (secret from CLAVIS_CLIENT_SECRET, issuer from --server)', async () => {
    const r = await runCli(['token', '--server', ts.url, '--scope', 'clavis:apps'], {
      env: { ...env, CLAVIS_CLIENT_SECRET: ts.bootstrapClient.secret },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out).toHaveLength(1);
    const claims = decode(out[0]!);
    expect(claims.client_id).toBe(ts.bootstrapClient.id);
    expect(claims.scope).toBe('clavis:apps');
    // the token works against the management API
    const api = await fetch(`${ts.url}/api/v1/apps`, { headers: { authorization: `Bearer ${out[0]}` } });
    expect(api.status).toBe(200);
  });

  it('--json prints the whole token response; --client-secret-stdin reads the secret from stdin', async () => {
    const r = await runCli(['token', '--issuer', ts.url, '--client-secret-stdin', '--json'], {
      env,
      input: `${ts.bootstrapClient.secret}\n`,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body.token_type).toMatch(/^bearer$/i);
    expect(body.expires_in).toBeGreaterThan(0);
    expect(typeof body.access_token).toBe('string');
    expect(body.expiresAt).toBeUndefined();
  });

  it('--decode prints header and claims and says they were not verified', async () => {
    const r = await runCli(
      [
        'token',
        '--token-endpoint',
        `${ts.url}/oauth/token`,
        '--client-id',
        ts.bootstrapClient.id,
        '--decode',
      ],
      { env: { CLAVIS_CONFIG_DIR: env.CLAVIS_CONFIG_DIR!, CLAVIS_CLIENT_SECRET: ts.bootstrapClient.secret } },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/NOT verified/);
    const { header, claims } = JSON.parse(r.stdout);
    expect(header.typ).toBe('at+jwt');
    expect(header.kid).toBeTruthy();
    expect(claims.iss).toBe(ts.url);
    expect(claims.sub).toBe(ts.bootstrapClient.id);
  });

  it('a plain --client-secret flag works but warns about shell history', async () => {
    const r = await runCli(['token', '--server', ts.url, '--client-secret', ts.bootstrapClient.secret], {
      env,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: --client-secret puts the secret in your shell history/);
    expect(lines(r.stdout)).toHaveLength(1);
  });

  it('a wrong secret: exit 1 with one line naming invalid_client, no stack trace', async () => {
    const r = await runCli(['token', '--server', ts.url], { env: { ...env, CLAVIS_CLIENT_SECRET: 'wrong' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^clavis: .*invalid_client.*Check the client id and secret\./);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--debug adds the stack trace', async () => {
    const r = await runCli(['token', '--server', ts.url, '--debug'], {
      env: { ...env, CLAVIS_CLIENT_SECRET: 'wrong' },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('an unreachable server: exit 2 with what to do', async () => {
    const port = await freePort();
    const r = await runCli(['token', '--server', `http://127.0.0.1:${port}`], {
      env: { ...env, CLAVIS_CLIENT_SECRET: 'x' },
    });
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([
      `clavis: cannot reach http://127.0.0.1:${port} (connection refused). Is the server running? Check --server.`,
    ]);
  });

  it('no client id or no secret: exit 1 saying where they come from', async () => {
    const noId = await runCli(['token', '--server', ts.url], {
      env: { CLAVIS_CONFIG_DIR: env.CLAVIS_CONFIG_DIR!, CLAVIS_CLIENT_SECRET: 'x' },
    });
    expect(noId.code).toBe(1);
    expect(noId.stderr).toMatch(/--client-id ID or set CLAVIS_CLIENT_ID/);
    const noSecret = await runCli(['token', '--server', ts.url], { env });
    expect(noSecret.code).toBe(1);
    expect(noSecret.stderr).toMatch(/CLAVIS_CLIENT_SECRET.*--client-secret-stdin/);
  });

  it('an unknown scope is a user error (exit 1)', async () => {
    const r = await runCli(['token', '--server', ts.url, '--scope', 'nope:nothing'], {
      env: { ...env, CLAVIS_CLIENT_SECRET: ts.bootstrapClient.secret },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/invalid_scope/);
  });

  it.skipIf(!existsSync('/usr/bin/script'))(
    'on a terminal it prompts for the secret without echoing it',
    async () => {
      // script(1) gives the CLI a pseudo-terminal, so stdin.isTTY is true.
      const child = spawn(
        '/usr/bin/script',
        ['-qec', `"${process.execPath}" "${CLI}" token --server ${ts.url}`, '/dev/null'],
        {
          env: { ...process.env, ...env, CLAVIS_CLIENT_SECRET: '' },
        },
      );
      let out = '';
      const done = new Promise<number | null>((resolve) => child.on('close', resolve));
      await new Promise<void>((resolve) =>
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('Client secret: ')) resolve();
        }),
      );
      child.stdin.write(`${ts.bootstrapClient.secret}\r`);
      expect(await done).toBe(0);
      expect(out).not.toContain(ts.bootstrapClient.secret);
      expect(out).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+\s*$/m);
    },
  );

  it('--help shows examples', async () => {
    const r = await runCli(['token', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples:/);
    expect(r.stdout).toMatch(/--client-secret-stdin/);
  });

  it('--json: an error is also a JSON object on stdout, the one-line message stays on stderr', async () => {
    const r = await runCli(['token', '--server', ts.url, '--json'], {
      env: { ...env, CLAVIS_CLIENT_SECRET: 'wrong' },
    });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      error: 'invalid_client',
      message: expect.stringMatching(/invalid_client.*Check the client id and secret/),
      exit_code: 1,
    });
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(/^clavis: the token request failed \(invalid_client/),
    ]);

    const port = await freePort();
    const down = await runCli(['token', '--server', `http://127.0.0.1:${port}`, '--json'], {
      env: { ...env, CLAVIS_CLIENT_SECRET: 'x' },
    });
    expect(down.code).toBe(2);
    expect(JSON.parse(down.stdout)).toMatchObject({ error: 'unreachable', exit_code: 2 });
  });

  it.skipIf(!existsSync('/usr/bin/script'))(
    '--client-secret-stdin on a terminal prompts without echoing instead of reading an echoed line',
    async () => {
      const child = spawn(
        '/usr/bin/script',
        [
          '-qec',
          `"${process.execPath}" "${CLI}" token --server ${ts.url} --client-secret-stdin`,
          '/dev/null',
        ],
        { env: { ...process.env, ...env, CLAVIS_CLIENT_SECRET: '' } },
      );
      let out = '';
      const done = new Promise<number | null>((resolve) => child.on('close', resolve));
      const prompted = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 10_000);
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('Client secret: ')) {
            clearTimeout(timer);
            resolve(true);
          }
        });
      });
      if (!prompted) child.kill('SIGKILL');
      expect(prompted).toBe(true);
      child.stdin.write(`${ts.bootstrapClient.secret}\r`);
      expect(await done).toBe(0);
      expect(out).not.toContain(ts.bootstrapClient.secret);
      expect(out).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+\s*$/m);
    },
  );
});

describe('clavis token against other servers', () => {
  let mock: Server;
  let base: string;
  let mode: 'json' | 'html200' = 'json';
  beforeAll(async () => {
    mock = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path.startsWith('/.well-known/')) {
        // An issuer with a trailing slash, as Auth0 spells them (https://TENANT.auth0.com/).
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ issuer: `${base}/`, token_endpoint: `${base}/token` }));
      }
      if (path === '/token') {
        if (mode === 'html200') {
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end('<html><body>Welcome to nginx!</body></html>');
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify({ access_token: 'opaque-token', token_type: 'Bearer', expires_in: 60 }),
        );
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => mock.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(mock.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => mock.close(() => resolve())));

  it('--issuer is passed through unchanged: a trailing slash is part of the issuer (RFC 8414 §3.3)', async () => {
    mode = 'json';
    const r = await runCli(['token', '--issuer', `${base}/`, '--client-id', 'svc'], {
      env: { CLAVIS_CONFIG_DIR: env.CLAVIS_CONFIG_DIR!, CLAVIS_CLIENT_SECRET: 's' },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('opaque-token\n');
  });

  it('a token endpoint answering 200 with HTML is a server error (exit 2)', async () => {
    mode = 'html200';
    const r = await runCli(['token', '--token-endpoint', `${base}/token`, '--client-id', 'svc', '--json'], {
      env: { CLAVIS_CONFIG_DIR: env.CLAVIS_CONFIG_DIR!, CLAVIS_CLIENT_SECRET: 's' },
    });
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^clavis: the token request failed: .*non-JSON/)]);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: 'server_error', exit_code: 2 });
  });
});
