import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, getApi, listApis } from '../src/domain/apis.js';
import { listAppPermissions, requestAppPermission } from '../src/domain/app-permissions.js';
import { createApp, getAppForActor } from '../src/domain/apps.js';
import { listAuditEvents } from '../src/domain/audit.js';
import type { Actor } from '../src/domain/context.js';
import { Browser, type Page, parseForms } from './helpers/browser.js';
import { createTestApp, startTestServer, type TestServer } from './helpers/server.js';
import { createUser } from './helpers/users.js';

/**
 * The hub's APIs pages and the app's API permissions over real HTTP, on SQLite and PostgreSQL: who may
 * open them, field errors next to the field with what was typed (redirect after POST), "Add a row" without
 * saving, removing a held scope and deleting a used API only after a second, explicit confirmation, and a
 * developer's request granted by an admin with one click.
 */
let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => ts?.close());

let n = 0;
/** A fresh sandbox: its admin (a tenant admin, not a platform admin) signed in. */
async function sandbox() {
  const b = new Browser(ts.url);
  const email = `apis-${Date.now()}-${n++}@example.org`;
  const res = await b.submit(await b.get('/signup'), '/signup', {
    name: 'Api Admin',
    email,
    password: 'a long password 123',
  });
  expect(res.status).toBe(201);
  const actor = await actorOf(email);
  return { b, email, actor, tenantId: actor.tenantId as string, csrf: await csrfOf(b) };
}

async function csrfOf(b: Browser): Promise<string> {
  const csrf = /name="csrf" value="([^"]+)"/.exec((await b.get('/account/connected-apps')).html)?.[1];
  expect(csrf).toBeTruthy();
  return csrf!;
}

async function signIn(email: string, password: string) {
  const b = new Browser(ts.url);
  const res = await b.submit(await b.get('/login'), '/login', { email, password });
  expect(res.status).toBe(303);
  expect(res.location).not.toMatch(/^\/login/);
  return { b, csrf: await csrfOf(b) };
}

/** Follows a failed form's redirect to its page (shown once) and returns that page. */
async function followFlash(b: Browser, res: Page, formPage: string): Promise<Page> {
  expect(res.status, res.html.slice(0, 300)).toBe(303);
  expect(res.location).toMatch(new RegExp(`^${formPage}\\?flash=[A-Za-z0-9_-]+$`));
  const shown = await b.get(res.location!);
  expect(shown.status).toBe(200);
  return shown;
}

/** The API form's fields for these scopes (rows as the page numbers them). */
function apiForm(
  csrf: string,
  values: Record<string, string>,
  scopes: Array<{ name: string; description?: string; admin?: boolean; remove?: boolean }> = [],
): Record<string, string> {
  const body: Record<string, string> = {
    csrf,
    name: 'Invoices',
    description: '',
    access_token_ttl: '900',
    allow_client_credentials: 'yes',
    visibility: 'tenant',
    op: 'save',
    ...values,
  };
  scopes.forEach((s, i) => {
    body[`scope.${i}.name`] = s.name;
    body[`scope.${i}.description`] = s.description ?? '';
    if (s.admin) body[`scope.${i}.admin`] = 'yes';
    if (s.remove) body[`scope.${i}.remove`] = 'yes';
  });
  return body;
}

const apiIdOf = (location: string | null) =>
  /^\/apis\/([0-9a-f-]{36})\?notice=created$/.exec(location ?? '')![1]!;

async function actorOf(email: string): Promise<Actor> {
  const ctx = ts.server.services.ctx;
  const u = await ctx.db
    .selectFrom('users')
    .innerJoin('tenants', 'tenants.id', 'users.tenant_id')
    .select(['users.id', 'users.tenant_id', 'users.role', 'tenants.kind'])
    .where('users.email', '=', email)
    .executeTakeFirstOrThrow();
  return {
    id: `user:${u.id}`,
    tenantId: u.tenant_id,
    userId: u.id,
    role: u.role as Actor['role'],
    platformAdmin: u.role === 'admin' && u.kind === 'default',
  };
}

describe('the APIs pages', () => {
  it('are for admins: a developer gets the 403 page; the nav shows "APIs" to admins only', async () => {
    const { b, tenantId } = await sandbox();
    const list = await b.get('/apis');
    expect(list.status).toBe(200);
    expect(list.html).toContain('href="/apis"');
    // The two built-in APIs, marked and without a Delete button.
    expect(list.html.match(/Built-in<\/span>/g)?.length).toBe(2);
    const builtIn = (await listApis(ts.server.services.ctx, await actorOf(ts.admin.email))).filter(
      (a) => a.built_in,
    );
    for (const a of builtIn) {
      const page = await b.get(`/apis/${a.id}`);
      expect(page.status).toBe(200);
      expect(page.html).toContain(a.identifier);
      expect(page.html).not.toContain('Delete API');
      expect(page.html).not.toContain('name="access_token_ttl"');
    }
    const dev = await createUser(ts, { tenantId, role: 'developer' });
    const d = await signIn(dev.email, dev.password);
    const refused = await d.b.get('/apis');
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('Only admins of your tenant manage APIs');
    expect((await d.b.get('/apps')).html).not.toContain('href="/apis"');
    expect(
      (await d.b.post('/apis/new', apiForm(d.csrf, { identifier: 'https://dev.example.com' }))).status,
    ).toBe(403);
  });

  it('create: errors next to each field with what was typed, once; then the API exists', async () => {
    const { b, csrf } = await sandbox();
    const bad = await followFlash(
      b,
      await b.post(
        '/apis/new',
        apiForm(csrf, { identifier: 'ftp://invoices <x>', name: 'Invoices <b>', access_token_ttl: '12' }, [
          { name: 'invoices:read', description: 'Read invoices' },
          { name: 'invoices:read', description: 'Twice' },
        ]),
      ),
      '/apis/new',
    );
    expect(bad.html).toMatch(/id="f-identifier-error"[^>]*>The identifier may not contain spaces/);
    expect(bad.html).toMatch(/id="f-access_token_ttl-error"[^>]*>The access token lifetime/);
    expect(bad.html).toMatch(/id="f-scopes-error"[^>]*>The scope &quot;invoices:read&quot; is listed twice/);
    expect(bad.html).toContain('value="ftp://invoices &lt;x>"');
    expect(bad.html).toContain('value="Invoices &lt;b>"');
    expect(bad.html).toContain('value="Twice"');
    expect(bad.html).toContain('name="csrf"');
    // Shown once: a reload shows the clean form.
    expect((await b.get('/apis/new')).html).not.toContain('Twice');

    const ok = await b.post(
      '/apis/new',
      apiForm(csrf, { identifier: `https://invoices-${n}.example.com/api`, name: 'Invoices' }, [
        { name: 'invoices:read', description: 'Read invoices' },
        { name: 'invoices:approve', description: 'Approve invoices', admin: true },
      ]),
    );
    expect(ok.status).toBe(303);
    const id = apiIdOf(ok.location);
    const page = await b.get(ok.location!);
    expect(page.html).toContain('The API was created.');
    expect(page.html).toContain('value="invoices:approve"');
    const api = await getApi(
      ts.server.services.ctx,
      { id: 'system', tenantId: null, platformAdmin: true },
      id,
    );
    expect(api.access_token_ttl).toBe(900);
    expect(api.visibility).toBe('tenant');
    expect(api.scopes.map((s) => [s.name, s.admin_consent_required])).toEqual([
      ['invoices:read', false],
      ['invoices:approve', true],
    ]);
    // The same identifier again: a conflict on the form, nothing written.
    const dup = await followFlash(
      b,
      await b.post('/apis/new', apiForm(csrf, { identifier: api.identifier, name: 'Copy' })),
      '/apis/new',
    );
    expect(dup.html).toContain('Another API already has that identifier');
    const audit = await listAuditEvents(ts.server.services.ctx, {
      tenantId: api.tenant_id as string,
      type: 'api.created',
    });
    expect(audit.items).toHaveLength(1);
  });

  it('"Add a row" shows the form as typed with one more row, saving nothing; a tenant admin cannot make an API public', async () => {
    const { b, csrf, email } = await sandbox();
    const actor = await actorOf(email);
    const ctx = ts.server.services.ctx;
    const api = await createApi(ctx, actor, {
      identifier: `https://rows-${n}.example.com`,
      name: 'Rows',
      scopes: [{ name: 'rows:read', description: 'Read rows', admin_consent_required: false }],
    });
    const path = `/apis/${api.id}`;
    const before = await b.get(path);
    expect(before.html.match(/name="scope\.\d+\.name"/g)).toHaveLength(2);
    const added = await followFlash(
      b,
      await b.post(path, {
        ...apiForm(csrf, { name: 'Rows renamed', op: 'add-row', blank_rows: '1' }, [
          { name: 'rows:read', description: 'Read rows' },
          { name: 'rows:write', description: 'Typed, not saved' },
        ]),
      }),
      path,
    );
    expect(added.html).toContain('value="Rows renamed"');
    expect(added.html).toContain('value="Typed, not saved"');
    expect(added.html.match(/name="scope\.\d+\.name"/g)).toHaveLength(4);
    expect((await getApi(ctx, actor, api.id)).name).toBe('Rows');

    const saved = await b.post(
      path,
      apiForm(csrf, { name: 'Rows', visibility: 'public', access_token_ttl: '120' }, [
        { name: 'rows:read', description: 'Read rows' },
        { name: 'rows:write', description: 'Write rows', admin: true },
      ]),
    );
    expect(saved.status).toBe(303);
    expect(saved.location).toBe(`${path}?notice=saved`);
    const after = await getApi(ctx, actor, api.id);
    expect(after.visibility).toBe('tenant');
    expect(after.access_token_ttl).toBe(120);
    expect(after.scopes.map((s) => s.name)).toEqual(['rows:read', 'rows:write']);
    // The form offers no visibility choice to a tenant admin.
    expect((await b.get(path)).html).not.toContain('name="visibility"');
  });

  it('removing a scope an app holds, and deleting an API apps use, ask again and then take the permissions', async () => {
    const { b, csrf, email } = await sandbox();
    const actor = await actorOf(email);
    const ctx = ts.server.services.ctx;
    const api = await createApi(ctx, actor, {
      identifier: `https://held-${n}.example.com`,
      name: 'Held',
      scopes: [
        { name: 'held:read', description: 'Read', admin_consent_required: false },
        { name: 'held:write', description: 'Write', admin_consent_required: false },
      ],
    });
    const { app } = await createTestApp(ts, { name: 'Holder' }, { tenantId: actor.tenantId as string });
    await requestAppPermission(ctx, actor, app.id, api.id, ['held:read', 'held:write']);
    const path = `/apis/${api.id}`;

    const ask = await followFlash(
      b,
      await b.post(
        path,
        apiForm(csrf, { name: 'Held' }, [
          { name: 'held:read', description: 'Read' },
          { name: 'held:write', description: 'Write', remove: true },
        ]),
      ),
      path,
    );
    expect(ask.html).toContain('Apps hold scopes you are removing.');
    expect(ask.html).toContain('Remove the scopes from those apps and save');
    expect((await getApi(ctx, actor, api.id)).scopes).toHaveLength(2);
    const forced = await b.post(path, {
      ...apiForm(csrf, { name: 'Held' }, [
        { name: 'held:read', description: 'Read' },
        { name: 'held:write', description: 'Write', remove: true },
      ]),
      force: 'yes',
    });
    expect(forced.location).toBe(`${path}?notice=saved`);
    expect((await listAppPermissions(ctx, actor, app.id)).find((p) => p.api_id === api.id)?.scopes).toEqual([
      'held:read',
    ]);

    const confirm = await b.get(`${path}?confirm=delete`);
    expect(confirm.html).toMatch(/<dialog[^>]*id="delete-api"[^>]*open/);
    const askDelete = await followFlash(b, await b.post(`${path}/delete`, { csrf }), path);
    expect(askDelete.html).toContain('Apps use this API.');
    expect(askDelete.html).toContain('name="force" value="yes"');
    expect((await listApis(ctx, actor)).some((a) => a.id === api.id)).toBe(true);
    const deleted = await b.post(`${path}/delete`, { csrf, force: 'yes' });
    expect(deleted.location).toBe('/apis?notice=deleted');
    expect((await listApis(ctx, actor)).some((a) => a.id === api.id)).toBe(false);
    expect((await listAppPermissions(ctx, actor, app.id)).some((p) => p.api_id === api.id)).toBe(false);
    expect((await b.get(path)).status).toBe(404);
  });

  it("another tenant's API is 404, and a forged form is refused", async () => {
    const one = await sandbox();
    const other = await sandbox();
    const api = await createApi(ts.server.services.ctx, await actorOf(one.email), {
      identifier: `https://private-${n}.example.com`,
      name: 'Private',
    });
    expect((await other.b.get(`/apis/${api.id}`)).status).toBe(404);
    expect((await other.b.post(`/apis/${api.id}`, apiForm(other.csrf, { name: 'x' }))).status).toBe(404);
    expect((await other.b.post(`/apis/${api.id}/delete`, { csrf: other.csrf, force: 'yes' })).status).toBe(
      404,
    );
    expect((await other.b.get('/apis')).html).not.toContain('Private');
    const forged = await one.b.post(`/apis/${api.id}/delete`, { csrf: 'forged' });
    expect(forged.status).toBe(403);
    expect(forged.html).toContain('This form has expired');
  });
});

describe('every form of the APIs pages and the permissions card', () => {
  it('carries the CSRF token, and a forged one is refused with nothing changed', async () => {
    const { b, email } = await sandbox();
    const ctx = ts.server.services.ctx;
    const actor = await actorOf(email);
    const api = await createApi(ctx, actor, {
      identifier: `https://forms-${n}.example.com`,
      name: 'Forms',
      scopes: [{ name: 'forms:read', description: 'Read', admin_consent_required: true }],
    });
    const dev = await actorOf(
      (await createUser(ts, { tenantId: actor.tenantId as string, role: 'developer' })).email,
    );
    const { app } = await createApp(ctx, dev, {
      name: 'Form app',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://forms.example/cb',
    });
    // A developer's request waits for consent, so the admin's tab has "Grant admin consent" and Remove.
    expect((await requestAppPermission(ctx, dev, app.id, api.id, ['forms:read'])).status).toBe('pending');
    let checked = 0;
    for (const path of [
      '/apis',
      '/apis/new',
      `/apis/${api.id}`,
      `/apis/${api.id}?confirm=delete`,
      `/apps/${app.id}/oauth?request_api=${api.id}`,
      `/apps/${app.id}/oauth?remove_api=${api.id}`,
    ]) {
      const page = await b.get(path);
      expect(page.status, path).toBe(200);
      expect(page.html, path).not.toMatch(/<script(?![^>]*\bsrc=)|\sstyle=/);
      for (const f of parseForms(page.html).filter((x) => x.method === 'post')) {
        expect(f.fields.csrf, `${path} ${f.action}`).toBeTruthy();
        const forged = await b.post(f.action, { ...f.fields, csrf: 'forged' });
        expect(forged.status, `${path} ${f.action}`).toBe(403);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(9);
    expect((await getApi(ctx, actor, api.id)).name).toBe('Forms');
    expect((await listAppPermissions(ctx, actor, app.id)).find((p) => p.api_id === api.id)?.scopes).toEqual([
      'forms:read',
    ]);
  });
});

describe('API permissions on the "OAuth & access scopes" tab', () => {
  it('a developer requests scopes (pending), the admin grants with one click, then removes the permission', async () => {
    const admin = await sandbox();
    const ctx = ts.server.services.ctx;
    const adminActor = await actorOf(admin.email);
    const api = await createApi(ctx, adminActor, {
      identifier: `https://perm-${n}.example.com`,
      name: 'Reports',
      scopes: [
        { name: 'reports:read', description: 'Read reports', admin_consent_required: false },
        { name: 'reports:export', description: 'Export reports', admin_consent_required: true },
      ],
    });
    const hidden = await createApi(ctx, await actorOf((await sandbox()).email), {
      identifier: `https://hidden-${n}.example.com`,
      name: 'Hidden elsewhere',
      scopes: [{ name: 'x:read', description: 'x', admin_consent_required: false }],
    });
    const dev = await createUser(ts, { tenantId: adminActor.tenantId as string, role: 'developer' });
    const d = await signIn(dev.email, dev.password);
    const devActor = await actorOf(dev.email);
    const { app } = await createApp(ctx, devActor, {
      name: 'Report puller',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://reports.example/cb',
    });
    const tab = `/apps/${app.id}/oauth`;

    const empty = await d.b.get(tab);
    expect(empty.html).toContain('API permissions');
    expect(empty.html).toContain(`<option value="${api.id}"`);
    expect(empty.html).not.toContain(hidden.id);
    // A platform admin sees every API, but is offered only those this app may use.
    const platform = await signIn(ts.admin.email, ts.admin.password);
    const platformTab = await platform.b.get(tab);
    expect(platformTab.html).toContain(`<option value="${api.id}"`);
    expect(platformTab.html).not.toContain(`<option value="${hidden.id}"`);
    const chooser = await d.b.get(`${tab}?request_api=${api.id}`);
    expect(chooser.html).toContain('value="reports:export"');
    expect(chooser.html).toContain('admin consent required');

    // No scope ticked: the error is shown next to the checkboxes, once.
    const none = await followFlash(
      d.b,
      await d.b.post(`${tab}/permissions/${api.id}`, { csrf: d.csrf }),
      tab,
    );
    expect(none.html).toMatch(/id="f-scopes-error"[^>]*>Name at least one scope/);
    // An API of another tenant (not public): refused on the form, nothing written.
    const foreign = await followFlash(
      d.b,
      await d.b.post(`${tab}/permissions/${hidden.id}`, `csrf=${encodeURIComponent(d.csrf)}&scopes=x%3Aread`),
      tab,
    );
    // Another tenant's API is invisible to this developer: the form says so, and no permission row exists.
    expect(foreign.html).toContain('No API with that ID is visible to you.');
    expect(
      await ctx.db.selectFrom('app_permissions').select('app_id').where('api_id', '=', hidden.id).execute(),
    ).toEqual([]);

    const requested = await d.b.post(
      `${tab}/permissions/${api.id}`,
      `csrf=${encodeURIComponent(d.csrf)}&scopes=reports%3Aread&scopes=reports%3Aexport`,
    );
    expect(requested.status).toBe(303);
    expect(requested.location).toBe(`${tab}?notice=permission-requested#permissions`);
    const pending = await d.b.get(`${tab}?notice=permission-requested`);
    expect(pending.html).toContain('Pending admin consent');
    expect(pending.html).not.toContain('Grant admin consent');
    expect((await listAppPermissions(ctx, devActor, app.id)).find((p) => p.api_id === api.id)?.status).toBe(
      'pending',
    );
    // A developer's grant (a forged post: the button is not shown) is refused with the domain's message.
    const refused = await followFlash(
      d.b,
      await d.b.post(`${tab}/permissions/${api.id}/grant`, { csrf: d.csrf }),
      tab,
    );
    expect(refused.html).toContain("Only admins of the app's tenant grant permissions.");
    expect((await listAppPermissions(ctx, devActor, app.id)).find((p) => p.api_id === api.id)?.status).toBe(
      'pending',
    );

    const adminTab = await admin.b.get(tab);
    expect(adminTab.html).toContain('Grant admin consent');
    const granted = await admin.b.post(`${tab}/permissions/${api.id}/grant`, { csrf: admin.csrf });
    expect(granted.location).toBe(`${tab}?notice=permission-granted#permissions`);
    const perm = (await listAppPermissions(ctx, adminActor, app.id)).find((p) => p.api_id === api.id)!;
    expect(perm.status).toBe('granted');
    expect(perm.granted_scopes.sort()).toEqual(['reports:export', 'reports:read']);
    const after = await admin.b.get(tab);
    expect(after.html).not.toContain('Grant admin consent');
    expect(after.html).not.toContain('Pending admin consent');

    const confirm = await d.b.get(`${tab}?remove_api=${api.id}`);
    expect(confirm.html).toMatch(new RegExp(`<dialog[^>]*id="remove-perm-${api.id}"[^>]*open`));
    const removed = await d.b.post(`${tab}/permissions/${api.id}/remove`, { csrf: d.csrf });
    expect(removed.location).toBe(`${tab}?notice=permission-removed#permissions`);
    expect((await listAppPermissions(ctx, devActor, app.id)).some((p) => p.api_id === api.id)).toBe(false);

    const audit = await d.b.get(`/apps/${app.id}/audit`);
    expect(audit.html).toContain('API permission requested');
    expect(audit.html).toContain('API permission granted (admin consent)');
    expect(audit.html).toContain('API permission removed');
    expect((await getAppForActor(ctx, devActor, app.id)).id).toBe(app.id);
  });

  it('the review queue shows the API permissions a public app asks for', async () => {
    const ctx = ts.server.services.ctx;
    const platform = await actorOf(ts.admin.email);
    const api = await createApi(ctx, platform, {
      identifier: `https://review-${n}.example.com`,
      name: 'Review API',
      scopes: [{ name: 'review:read', description: 'Read', admin_consent_required: false }],
      visibility: 'public',
    });
    const { app } = await createTestApp(
      ts,
      {
        name: 'Public with permissions',
        visibility: 'public',
        callback_url: 'https://public-perm.acme-corp.io/cb',
        scopes: ['profile:read'],
        default_scopes: ['profile:read'],
      },
      { status: 'in_review' },
    );
    await requestAppPermission(ctx, platform, app.id, api.id, ['review:read']);
    const { b } = await signIn(ts.admin.email, ts.admin.password);
    const queue = await b.get('/admin/review');
    expect(queue.status).toBe(200);
    const item = queue.html.slice(queue.html.indexOf('Public with permissions'));
    expect(item).toContain('API permissions');
    expect(item).toContain('Review API');
    expect(item).toContain('review:read');
  });
});
