import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliOptions, lines, runCli, tempConfigDir } from './helpers/cli.js';
import { basicAuth, freePort, postForm, startTestServer, type TestServer } from './helpers/server.js';

// Remote commands (login with client credentials, apps, secrets) as subprocesses against a real server.
let ts: TestServer;
let dir: string;
let clavis: (args: string[], options?: CliOptions) => ReturnType<typeof runCli>;

beforeAll(async () => {
  ts = await startTestServer();
  dir = tempConfigDir();
  clavis = (args, options = {}) =>
    runCli(args, { ...options, env: { CLAVIS_CONFIG_DIR: dir, ...options.env } });
});
afterAll(async () => {
  await ts?.close();
});

async function tokenWorks(clientId: string, secret: string): Promise<number> {
  const r = await postForm(
    `${ts.url}/oauth/token`,
    { grant_type: 'client_credentials' },
    { authorization: basicAuth(clientId, secret) },
  );
  return r.status;
}

describe('clavis login (client credentials) and the saved login', () => {
  it('a wrong secret: exit 1, one line, nothing saved', async () => {
    const r = await clavis(
      ['login', '--server', ts.url, '--client-id', ts.bootstrapClient.id, '--client-secret-stdin'],
      {
        input: 'wrong-secret',
      },
    );
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^clavis: logging in failed \(invalid_client/);
    expect(() => statSync(join(dir, 'credentials.json'))).toThrow();
  });

  it('before login, remote commands say how to log in (exit 1)', async () => {
    const r = await clavis(['apps', 'list', '--server', ts.url]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `clavis: not logged in to ${ts.url}. Run \`clavis login --server ${ts.url}\`.`,
    ]);
  });

  it('logs in with --client-secret-stdin; the file is 0600 in a 0700 dir and holds no secret', async () => {
    const r = await clavis(
      ['login', '--server', ts.url, '--client-id', ts.bootstrapClient.id, '--client-secret-stdin'],
      {
        input: `${ts.bootstrapClient.secret}\n`,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Logged in to ${ts.url} as ${ts.bootstrapClient.id}`));
    const file = join(dir, 'credentials.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(ts.bootstrapClient.secret);
    const saved = JSON.parse(text);
    expect(saved.default_server).toBe(ts.url);
    expect(saved.servers[ts.url].grant).toBe('client_credentials');
    expect(saved.servers[ts.url].access_token).toMatch(/^ey/);
  });
});

describe('clavis apps', () => {
  let app: { id: string; client_id: string };

  it('create prints the app and its first secret once, in a box', async () => {
    const r = await clavis([
      'apps',
      'create',
      '--name',
      'Orders service',
      '--callback-url',
      'https://orders.acme-widgets.io/callback',
      '--scopes',
      'contacts:read contacts:write',
      '--default-scopes',
      'contacts:read',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Created app Orders service: client_id \S+/);
    expect(r.stdout).toMatch(/┌─+┐\n│ Client secret \(shown once, store it now\): *│\n│ \S+ *│\n└─+┘/);
    const secret = /│ Client secret.*\n│ (\S+)/.exec(r.stdout)![1]!;
    const clientId = /client_id (\S+)/.exec(r.stdout)![1]!;
    expect(await tokenWorks(clientId, secret)).toBe(200);
  });

  it('create --json includes secret.value; list shows the apps in a table and as JSON', async () => {
    const r = await clavis([
      'apps',
      'create',
      '--name',
      'Billing',
      '--callback-url',
      'https://billing.acme-widgets.io/cb',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const created = JSON.parse(r.stdout);
    expect(created.secret.value).toBeTruthy();
    app = created;
    const table = await clavis(['apps', 'list']);
    expect(table.code).toBe(0);
    expect(lines(table.stdout)[0]).toMatch(/^ID\s+CLIENT_ID\s+NAME\s+STATUS\s+VISIBILITY\s+CLIENT_TYPE$/);
    expect(table.stdout).toContain(app.client_id);
    expect(table.stdout).toContain('Orders service');
    const json = JSON.parse((await clavis(['apps', 'list', '--json', '--search', app.client_id])).stdout);
    expect(json.items.map((a: { id: string }) => a.id)).toEqual([app.id]);
  });

  it('show finds an app by client_id or by id', async () => {
    const byClientId = await clavis(['apps', 'show', app.client_id]);
    expect(byClientId.code).toBe(0);
    expect(byClientId.stdout).toMatch(new RegExp(`^id\\s+${app.id}$`, 'm'));
    expect(byClientId.stdout).toMatch(/^name\s+Billing$/m);
    const byId = JSON.parse((await clavis(['apps', 'show', app.id, '--json'])).stdout);
    expect(byId.client_id).toBe(app.client_id);
  });

  it('an unknown app: exit 1 with a hint', async () => {
    for (const cmd of [
      ['apps', 'show', 'no-such-app'],
      ['secrets', 'list', 'no-such-app'],
      ['apps', 'delete', 'no-such-app', '--yes'],
    ]) {
      const r = await clavis(cmd);
      expect(r.code, cmd.join(' ')).toBe(1);
      expect(lines(r.stderr)).toEqual([
        'clavis: no app "no-such-app" (neither an app id nor a client_id you can manage). Run `clavis apps list` to see yours.',
      ]);
    }
    const json = await clavis(['apps', 'show', 'no-such-app', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      error: 'not_found',
      message: expect.stringMatching(/^no app "no-such-app"/),
      exit_code: 1,
    });
    expect(lines(json.stderr)).toHaveLength(1);
  });

  it('update changes only the given fields; validation errors show the server detail (exit 1)', async () => {
    const r = await clavis(['apps', 'update', app.client_id, '--name', 'Billing v2', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      name: 'Billing v2',
      callback_url: 'https://billing.acme-widgets.io/cb',
    });
    const bad = await clavis(['apps', 'update', app.client_id, '--callback-url', 'not a url']);
    expect(bad.code).toBe(1);
    expect(lines(bad.stderr)).toHaveLength(1);
    expect(bad.stderr).toMatch(/^clavis: .*callback/i);
    const nothing = await clavis(['apps', 'update', app.client_id]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/nothing to change/);
  });

  it('submit, approve and reject walk the review states', async () => {
    const pub = JSON.parse(
      (
        await clavis([
          'apps',
          'create',
          '--name',
          'Partner portal',
          '--visibility',
          'public',
          '--callback-url',
          'https://portal.northwind-traders.com/callback',
          '--scopes',
          'profile:read',
          '--json',
        ])
      ).stdout,
    );
    expect(pub.status).toBe('draft');
    const submit = await clavis(['apps', 'submit', pub.client_id]);
    expect(submit.stderr).toBe('');
    expect(submit.stdout).toBe(`${pub.client_id} is now in_review.\n`);
    const approve = await clavis(['apps', 'approve', pub.client_id, '--json']);
    expect(JSON.parse(approve.stdout).status).toBe('approved');
    // approving again is a conflict: the server's detail, exit 1
    const again = await clavis(['apps', 'approve', pub.client_id]);
    expect(again.code).toBe(1);
    expect(lines(again.stderr)).toHaveLength(1);

    const other = JSON.parse(
      (
        await clavis([
          'apps',
          'create',
          '--name',
          'Other portal',
          '--visibility',
          'public',
          '--callback-url',
          'https://other.northwind-traders.com/callback',
          '--scopes',
          'profile:read',
          '--json',
        ])
      ).stdout,
    );
    await clavis(['apps', 'submit', other.id]);
    const reject = await clavis(['apps', 'reject', other.id, '--reason', 'Use your own domain.']);
    expect(reject.code).toBe(0);
    expect(reject.stdout).toMatch(/is now rejected: Use your own domain\./);
    const noReason = await clavis(['apps', 'reject', other.id]);
    expect(noReason.code).toBe(1);
    expect(noReason.stderr).toMatch(/--reason/);
  });

  it('the "More:" hint of apps list repeats the filters, so the next page is of the same list', async () => {
    for (const name of ['Draft one', 'Draft two', 'Draft three'])
      await clavis([
        'apps',
        'create',
        '--name',
        name,
        '--visibility',
        'public',
        '--callback-url',
        'https://drafts.northwind-traders.com/callback',
      ]);
    const r = await clavis(['apps', 'list', '--status', 'draft', '--limit', '1', '--server', ts.url]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toHaveLength(3); // header, one row, the hint
    const hint = /^More: clavis (.*)$/m.exec(r.stdout)![1]!;
    expect(hint).toMatch(
      new RegExp(
        `^apps list --status draft --limit 1 --server ${ts.url.replace(/\./g, '\\.')} --cursor \\S+$`,
      ),
    );
    const next = await clavis(hint.split(' '));
    expect(next.code).toBe(0);
    const rows = lines(next.stdout).filter((l) => !/^(ID|More:)/.test(l));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(/\sdraft\s/);
    expect(rows[0]).not.toBe(lines(r.stdout)[1]);
  });

  describe('clavis secrets', () => {
    it('list, add (shown once), refresh (old value dies), revoke', async () => {
      const list = await clavis(['secrets', 'list', app.client_id]);
      expect(list.code).toBe(0);
      expect(lines(list.stdout)[0]).toMatch(/^ID\s+HINT\s+STATUS/);
      expect(lines(list.stdout)).toHaveLength(2);

      const add = await clavis([
        'secrets',
        'add',
        app.client_id,
        '--description',
        'k8s prod',
        '--expires-in-months',
        '12',
      ]);
      expect(add.code).toBe(0);
      expect(add.stdout).toMatch(/Client secret \(shown once, store it now\)/);
      const added = /│ Client secret.*\n│ (\S+)/.exec(add.stdout)![1]!;
      expect(await tokenWorks(app.client_id, added)).toBe(200);
      const addedId = /Secret id (\S+?),/.exec(add.stdout)![1]!;

      // two active secrets now: refresh needs a secret id
      const ambiguous = await clavis(['secrets', 'refresh', app.client_id]);
      expect(ambiguous.code).toBe(1);
      expect(ambiguous.stderr).toMatch(/has 2 active secrets: name the one to refresh/);

      const refreshed = JSON.parse(
        (await clavis(['secrets', 'refresh', app.client_id, addedId, '--json'])).stdout,
      );
      expect(refreshed.value).toBeTruthy();
      expect(await tokenWorks(app.client_id, added)).toBe(401);
      expect(await tokenWorks(app.client_id, refreshed.value)).toBe(200);

      const noYes = await clavis(['secrets', 'revoke', app.client_id, refreshed.id]);
      expect(noYes.code).toBe(1);
      expect(noYes.stderr).toMatch(/--yes/);
      const revoke = await clavis(['secrets', 'revoke', app.client_id, refreshed.id, '--yes']);
      expect(revoke.code).toBe(0);
      expect(revoke.stdout).toMatch(/Revoked secret/);
      expect(await tokenWorks(app.client_id, refreshed.value)).toBe(401);

      const json = JSON.parse((await clavis(['secrets', 'list', app.id, '--json'])).stdout);
      expect(json.items).toHaveLength(3);
      expect(JSON.stringify(json)).not.toContain(refreshed.value);

      const unknownSecret = await clavis(['secrets', 'revoke', app.client_id, 'no-such-secret', '--yes']);
      expect(unknownSecret.code).toBe(1);
      expect(lines(unknownSecret.stderr)).toHaveLength(1);
    });

    it('conflicting expiry flags are a user error before any request', async () => {
      const r = await clavis([
        'secrets',
        'add',
        app.client_id,
        '--never-expires',
        '--expires-in-months',
        '3',
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/at most one of/);
    });
  });

  it('delete needs --yes, then the app is gone', async () => {
    const noYes = await clavis(['apps', 'delete', app.client_id]);
    expect(noYes.code).toBe(1);
    const del = await clavis(['apps', 'delete', app.client_id, '--yes', '--json']);
    expect(del.code).toBe(0);
    expect(JSON.parse(del.stdout)).toEqual({ id: app.id, client_id: app.client_id, deleted: true });
    const show = await clavis(['apps', 'show', app.id]);
    expect(show.code).toBe(1);
  });
});

describe('errors', () => {
  it('an unreachable server: exit 2 for every remote command', async () => {
    const port = await freePort();
    const server = `http://127.0.0.1:${port}`;
    // a saved login for it, so the commands get as far as the network
    const saved = JSON.parse(readFileSync(join(dir, 'credentials.json'), 'utf8'));
    const other = tempConfigDir();
    writeFileSync(
      join(other, 'credentials.json'),
      JSON.stringify({ servers: { [server]: { ...saved.servers[ts.url], server } } }),
    );
    const cmds = [
      ['apps', 'list'],
      ['apps', 'show', 'x'],
      ['secrets', 'list', 'x'],
      ['apps', 'approve', 'x'],
    ];
    const results = await Promise.all(
      cmds.map((cmd) => runCli([...cmd, '--server', server], { env: { CLAVIS_CONFIG_DIR: other } })),
    );
    for (const [i, r] of results.entries()) {
      expect(r.code, cmds[i]!.join(' ')).toBe(2);
      expect(lines(r.stderr)).toEqual([
        `clavis: cannot reach ${server} (connection refused). Is the server running? Check --server.`,
      ]);
    }
    const login = await runCli(['login', '--server', server, '--client-id', 'x'], {
      env: { CLAVIS_CONFIG_DIR: other, CLAVIS_CLIENT_SECRET: 'y' },
    });
    expect(login.code).toBe(2);
  });

  it('a token without clavis:admin: approve says which scope to log in with (exit 1)', async () => {
    const other = tempConfigDir();
    const login = await runCli(
      [
        'login',
        '--server',
        ts.url,
        '--client-id',
        ts.bootstrapClient.id,
        '--client-secret-stdin',
        '--scope',
        'clavis:apps',
      ],
      { env: { CLAVIS_CONFIG_DIR: other }, input: ts.bootstrapClient.secret },
    );
    expect(login.code).toBe(0);
    const r = await runCli(['apps', 'approve', 'clavis-cli'], { env: { CLAVIS_CONFIG_DIR: other } });
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/clavis:admin.*clavis login --server/);
  });

  it('a client credentials login that expired asks to log in again', async () => {
    const file = join(dir, 'credentials.json');
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    saved.servers[ts.url].expires_at = Date.now() - 1000;
    writeFileSync(file, JSON.stringify(saved));
    const r = await clavis(['apps', 'list']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `clavis: your token for ${ts.url} has expired. Run \`clavis login --server ${ts.url}\` again.`,
    ]);
  });

  it('logout after a client credentials login revokes the access token (RFC 7009) and says so', async () => {
    const file = join(dir, 'credentials.json');
    const saved = JSON.parse(readFileSync(file, 'utf8')).servers[ts.url];
    const use = () =>
      fetch(`${ts.url}/api/v1/apps`, { headers: { authorization: `Bearer ${saved.access_token}` } });
    expect((await use()).status).toBe(200);
    const r = await clavis(['logout'], { env: { CLAVIS_CLIENT_SECRET: ts.bootstrapClient.secret } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Logged out of ${ts.url} (access token revoked).\n`);
    expect((await use()).status).toBe(401);
    expect(() => statSync(file)).toThrow();
    const again = await clavis(['logout', '--server', ts.url]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Not logged in/);
  });

  it('logout without the client secret deletes the login but warns that the token still works', async () => {
    const other = tempConfigDir();
    const login = await runCli(
      ['login', '--server', ts.url, '--client-id', ts.bootstrapClient.id, '--client-secret-stdin'],
      { env: { CLAVIS_CONFIG_DIR: other }, input: ts.bootstrapClient.secret },
    );
    expect(login.code).toBe(0);
    const r = await runCli(['logout', '--json'], { env: { CLAVIS_CONFIG_DIR: other } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ server: ts.url, logged_out: true, revoked: false });
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(/^clavis: warning: the access token was NOT revoked .*CLAVIS_CLIENT_SECRET/),
    ]);
  });

  it('every command, the top level and the groups included, has --help with examples', async () => {
    const cmds = [
      [],
      ['serve'],
      ['migrate'],
      ['doctor'],
      ['backup'],
      ['keys'],
      ['keys', 'list'],
      ['keys', 'rotate'],
      ['token'],
      ['login'],
      ['logout'],
      ['apps'],
      ...['list', 'create', 'show', 'update', 'delete', 'submit', 'approve', 'reject'].map((c) => [
        'apps',
        c,
      ]),
      ['secrets'],
      ...['list', 'add', 'refresh', 'revoke'].map((c) => ['secrets', c]),
    ];
    const results = [];
    for (let i = 0; i < cmds.length; i += 6)
      results.push(...(await Promise.all(cmds.slice(i, i + 6).map((cmd) => runCli([...cmd, '--help'])))));
    for (const [i, r] of results.entries()) {
      const cmd = cmds[i]!.join(' ') || '(top level)';
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(/Examples?:\n {2}\$ /);
      expect(r.stdout, cmd).toMatch(/^ {2}\$ .*\bclavis /m);
      // realistic identifiers only: client_ids are 32 hex characters, ids are UUIDs
      expect(r.stdout, cmd).not.toMatch(/orders-service|partner-portal|01J9Z/);
      if (/<app>/.test(r.stdout))
        expect(r.stdout, cmd).toMatch(/APP is the app's client_id .* `clavis apps list` shows both/);
    }
  });

  it('secrets list follows next_cursor until every secret is listed', async () => {
    const secret = (n: number) => ({
      id: `5c8e1f3a-7b2d-4e6f-9a0c-00000000000${n}`,
      hint: `h${n}`,
      description: `secret ${n}`,
      created_at: '2026-01-01T00:00:00.000Z',
      expires_at: null,
      last_used_at: null,
      revoked_at: null,
    });
    const app = { id: 'a1b2c3d4-0000-4000-8000-000000000001', client_id: '3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81' };
    const mock = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      res.setHeader('content-type', 'application/json');
      if (url.pathname === '/api/v1/apps')
        return res.end(JSON.stringify({ items: [app], next_cursor: null }));
      if (url.pathname === `/api/v1/apps/${app.id}/secrets`) {
        const page = url.searchParams.get('cursor');
        const body =
          page === null
            ? { items: [secret(1), secret(2)], next_cursor: 'page-2' }
            : page === 'page-2'
              ? { items: [secret(3)], next_cursor: 'page-3' }
              : { items: [secret(4)], next_cursor: null };
        return res.end(JSON.stringify(body));
      }
      res.statusCode = 404;
      res.end('{}');
    });
    await new Promise<void>((resolve) => mock.listen(0, '127.0.0.1', resolve));
    const server = `http://127.0.0.1:${(mock.address() as { port: number }).port}`;
    try {
      const other = tempConfigDir();
      writeFileSync(
        join(other, 'credentials.json'),
        JSON.stringify({
          default_server: server,
          servers: {
            [server]: {
              server,
              grant: 'client_credentials',
              client_id: 'ci',
              token_endpoint: `${server}/oauth/token`,
              access_token: 'token',
              saved_at: Date.now(),
            },
          },
        }),
      );
      const json = await runCli(['secrets', 'list', app.client_id, '--json'], {
        env: { CLAVIS_CONFIG_DIR: other },
      });
      expect(json.stderr).toBe('');
      expect(JSON.parse(json.stdout).items.map((s: { hint: string }) => s.hint)).toEqual([
        'h1',
        'h2',
        'h3',
        'h4',
      ]);
      const table = await runCli(['secrets', 'list', app.client_id], { env: { CLAVIS_CONFIG_DIR: other } });
      expect(lines(table.stdout)).toHaveLength(5);
    } finally {
      mock.close();
    }
  });
});
