import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliOptions, lines, runCli, tempConfigDir } from './helpers/cli.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// `clavis apis ...`, `clavis apps permissions ...` and `clavis token --resource` as subprocesses against a
// real server (SQLite or PostgreSQL).
let ts: TestServer;
let clavis: (args: string[], options?: CliOptions) => ReturnType<typeof runCli>;
const ID = 'https://orders.acme-widgets.io';
let app: { id: string; client_id: string; secret: { value: string } };

beforeAll(async () => {
  ts = await startTestServer();
  const dir = tempConfigDir();
  clavis = (args, options = {}) =>
    runCli(args, { ...options, env: { CLAVIS_CONFIG_DIR: dir, CLAVIS_SERVER: ts.url, ...options.env } });
  const login = await clavis(
    ['login', '--server', ts.url, '--client-id', ts.bootstrapClient.id, '--client-secret-stdin'],
    { input: ts.bootstrapClient.secret },
  );
  expect(login.code, login.stderr).toBe(0);
  const created = await clavis([
    'apps',
    'create',
    '--name',
    'Fulfilment',
    '--callback-url',
    'https://fulfilment.acme-widgets.io/cb',
    '--json',
  ]);
  expect(created.code, created.stderr).toBe(0);
  app = JSON.parse(created.stdout);
}, 60_000);
afterAll(async () => ts?.close());

describe('clavis apis', () => {
  it('list shows the built-in APIs', async () => {
    const r = await clavis(['apis', 'list']);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)[0]).toMatch(/^ID\s+IDENTIFIER\s+NAME\s+VISIBILITY\s+BUILT_IN\s+SCOPES$/);
    expect(r.stdout).toContain(ts.config.apiAudience);
    expect(r.stdout).toMatch(/sample\s+contacts:read/);
    const json = JSON.parse((await clavis(['apis', 'list', '--json'])).stdout);
    expect(json.items.map((a: { built_in: string }) => a.built_in)).toEqual(
      expect.arrayContaining(['management', 'sample']),
    );
  }, 90_000);

  it('create with scopes and admin consent; show by identifier', async () => {
    const r = await clavis([
      'apis',
      'create',
      '--identifier',
      ID,
      '--name',
      'Orders API',
      '--scope',
      'orders:read=See orders',
      '--scope',
      'orders:write=Create and change orders',
      '--scope',
      'orders:refund=Refund orders',
      '--admin-consent',
      'orders:refund',
      '--access-token-ttl',
      '900',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Created API Orders API: identifier ${ID} \\(id [\\w-]+\\)\\.`));
    const show = await clavis(['apis', 'show', ID]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^identifier\s+https:\/\/orders\.acme-widgets\.io$/m);
    expect(show.stdout).toMatch(/^access_token_ttl\s+900$/m);
    expect(show.stdout).toMatch(/^allow_client_credentials\s+true$/m);
    expect(show.stdout).toMatch(/^orders:refund\s+yes\s+Refund orders$/m);
    expect(show.stdout).toMatch(/^orders:read\s+no\s+See orders$/m);
    const json = JSON.parse((await clavis(['apis', 'show', ID, '--json'])).stdout);
    const byId = JSON.parse((await clavis(['apis', 'show', json.id, '--json'])).stdout);
    expect(byId).toEqual(json);
  }, 90_000);

  it('readable errors: the server names the field; local checks before any request', async () => {
    const bad = await clavis(['apis', 'create', '--identifier', 'orders', '--name', 'X']);
    expect(bad.code).toBe(1);
    expect(lines(bad.stderr)).toHaveLength(1);
    expect(bad.stderr).toMatch(/^clavis: .*identifier/i);
    const taken = await clavis(['apis', 'create', '--identifier', ID, '--name', 'Again', '--json']);
    expect(taken.code).toBe(1);
    expect(JSON.parse(taken.stdout)).toMatchObject({ error: 'conflict', exit_code: 1 });
    const consent = await clavis([
      'apis',
      'create',
      '--identifier',
      'https://x.acme-widgets.io',
      '--name',
      'X',
      '--scope',
      'a',
      '--admin-consent',
      'b',
    ]);
    expect(consent.code).toBe(1);
    expect(consent.stderr).toBe('clavis: --admin-consent b is not one of the --scope names.\n');
    const ttl = await clavis(['apis', 'update', ID, '--access-token-ttl', '5']);
    expect(ttl.stderr).toBe(
      'clavis: --access-token-ttl must be a whole number of seconds from 60 to 86400.\n',
    );
    const none = await clavis(['apis', 'update', ID]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^clavis: nothing to change/);
    const missing = await clavis(['apis', 'show', 'https://nothing.acme-widgets.io']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^clavis: no API "https:\/\/nothing\.acme-widgets\.io"/);
  }, 90_000);

  it('update edits the scope list, and switches client credentials off and on', async () => {
    const r = await clavis([
      'apis',
      'update',
      ID,
      '--add-scope',
      'orders:export=Export orders',
      '--admin-consent',
      'orders:export',
      '--no-client-credentials',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const updated = JSON.parse(r.stdout);
    expect(updated.allow_client_credentials).toBe(false);
    expect(updated.access_token_ttl).toBe(900);
    expect(updated.scopes.map((s: { name: string }) => s.name)).toEqual([
      'orders:read',
      'orders:write',
      'orders:refund',
      'orders:export',
    ]);
    expect(updated.scopes.find((s: { name: string }) => s.name === 'orders:export')).toEqual({
      name: 'orders:export',
      description: 'Export orders',
      admin_consent_required: true,
    });
    // Other fields stay as they were when the flag is not given.
    const renamed = JSON.parse((await clavis(['apis', 'update', ID, '--name', 'Orders', '--json'])).stdout);
    expect(renamed).toMatchObject({ name: 'Orders', allow_client_credentials: false });
    expect(renamed.scopes).toHaveLength(4);
    const on = JSON.parse((await clavis(['apis', 'update', ID, '--client-credentials', '--json'])).stdout);
    expect(on.allow_client_credentials).toBe(true);
  }, 90_000);
});

describe('clavis apps permissions and clavis token --resource', () => {
  it('request (granted at once for an admin), list, then a token for the API', async () => {
    const r = await clavis([
      'apps',
      'permissions',
      'request',
      app.client_id,
      ID,
      '--scopes',
      'orders:read orders:write',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^${app.client_id} → Orders \\(${ID}\\): orders:read orders:write, granted \\d{4}-`),
    );
    const list = await clavis(['apps', 'permissions', 'list', app.id]);
    expect(list.code, list.stderr).toBe(0);
    expect(lines(list.stdout)[0]).toMatch(/^IDENTIFIER\s+API_NAME\s+STATUS\s+SCOPES\s+GRANTED_AT$/);
    expect(list.stdout).toMatch(/orders\.acme-widgets\.io\s+Orders\s+granted\s+orders:read orders:write/);
    const grant = await clavis(['apps', 'permissions', 'grant', app.client_id, ID, '--json']);
    expect(grant.code, grant.stderr).toBe(0);
    expect(JSON.parse(grant.stdout).status).toBe('granted');

    const env = { CLAVIS_CLIENT_ID: app.client_id, CLAVIS_CLIENT_SECRET: app.secret.value };
    const t = await clavis(['token', '--resource', ID, '--scope', 'orders:read', '--decode'], { env });
    expect(t.code, t.stderr).toBe(0);
    const { header, claims } = JSON.parse(t.stdout);
    expect(header.typ).toBe('at+jwt');
    expect(claims).toMatchObject({ aud: ID, scope: 'orders:read', sub: app.client_id });
    expect(claims.exp - claims.iat).toBe(900);
    const refund = await clavis(['token', '--resource', ID, '--scope', 'orders:refund'], { env });
    expect(refund.code).toBe(1);
    expect(refund.stderr).toMatch(/^clavis: the token request failed \(invalid_scope/);
    const unknown = await clavis(['token', '--resource', 'https://nothing.acme-widgets.io'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^clavis: the token request failed \(invalid_target.*Check --resource/);
    const notUri = await clavis(['token', '--resource', 'orders'], { env });
    expect(notUri.code).toBe(1);
    expect(notUri.stderr).toBe(
      'clavis: --resource orders is not an absolute URI (e.g. https://orders.example.com).\n',
    );
  }, 90_000);

  it('a scope the app holds is removed only with --force; delete needs --yes, then --force', async () => {
    const held = await clavis(['apis', 'update', ID, '--remove-scope', 'orders:write']);
    expect(held.code).toBe(1);
    expect(held.stderr).toMatch(/^clavis: .*force/);
    const forced = await clavis([
      'apis',
      'update',
      ID,
      '--remove-scope',
      'orders:write',
      '--force',
      '--json',
    ]);
    expect(forced.code, forced.stderr).toBe(0);
    const perms = JSON.parse((await clavis(['apps', 'permissions', 'list', app.client_id, '--json'])).stdout);
    expect(perms.items.find((p: { identifier: string }) => p.identifier === ID).scopes).toEqual([
      'orders:read',
    ]);

    const noYes = await clavis(['apis', 'delete', ID]);
    expect(noYes.stderr).toBe(`clavis: deleting ${ID} cannot be undone: add --yes to confirm.\n`);
    const inUse = await clavis(['apis', 'delete', ID, '--yes']);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toMatch(/^clavis: .*force/);
    const gone = await clavis(['apis', 'delete', ID, '--yes', '--force']);
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout).toMatch(new RegExp(`^Deleted API ${ID} \\(id [\\w-]+\\)\\.`));
    expect((await clavis(['apis', 'show', ID])).code).toBe(1);
  }, 90_000);

  it('remove needs --yes; a removed permission gives no more tokens', async () => {
    const id2 = 'https://stock.acme-widgets.io';
    expect(
      (await clavis(['apis', 'create', '--identifier', id2, '--name', 'Stock', '--scope', 'stock:read']))
        .code,
    ).toBe(0);
    expect(
      (await clavis(['apps', 'permissions', 'request', app.client_id, id2, '--scopes', 'stock:read'])).code,
    ).toBe(0);
    const noYes = await clavis(['apps', 'permissions', 'remove', app.client_id, id2]);
    expect(noYes.code).toBe(1);
    expect(noYes.stderr).toMatch(/add --yes to confirm/);
    const r = await clavis(['apps', 'permissions', 'remove', app.client_id, id2, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Removed the permission of ${app.client_id} for ${id2}.\n`);
    const env = { CLAVIS_CLIENT_ID: app.client_id, CLAVIS_CLIENT_SECRET: app.secret.value };
    const t = await clavis(['token', '--resource', id2, '--scope', 'stock:read'], { env });
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/^clavis: the token request failed \(invalid_scope/);
    const again = await clavis(['apps', 'permissions', 'remove', app.client_id, id2, '--yes']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^clavis: .*permission/i);
  }, 90_000);
});
