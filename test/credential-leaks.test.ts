import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/domain/apps.js';
import { addSecret, listSecrets } from '../src/domain/secrets.js';
import { updateTenantSettings } from '../src/domain/tenants.js';
import { createUser, updateUser } from '../src/domain/user-management.js';
import { REPORT_MIN_MS } from '../src/http/api/credential-leaks.js';
import { secretWorks } from './helpers/api.js';
import { Browser } from './helpers/browser.js';
import {
  adminActor,
  createTestApp,
  defaultTenantId,
  managementToken,
  startTestServer,
  type TestServer,
} from './helpers/server.js';
import { startTestSmtp, type TestSmtp } from './helpers/smtp.js';
import { waitFor } from './helpers/wait.js';

let ts: TestServer;
let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startTestSmtp();
  ts = await startTestServer({
    env: {
      // Each test reports from its own address (X-Forwarded-For from loopback), so only the throttling test
      // meets the limit of 3 reports an hour.
      CLAVIS_TRUST_PROXY: 'loopback',
      CLAVIS_LEAK_REPORT_RATE: '3/1000',
      CLAVIS_SMTP_URL: smtp.url,
      CLAVIS_MAIL_FROM: 'Clavis <clavis@clavis.test>',
      CLAVIS_OUTBOX_POLL_MS: '100',
    },
    logLevel: 'info',
  });
});
afterAll(async () => {
  await ts?.close();
  await smtp?.close();
});

const ctx = () => ts.server.services.ctx;
let addressCounter = 1;
const freshAddress = () => `203.0.113.${addressCounter++}`;

async function report(body: unknown, address = freshAddress()) {
  const started = performance.now();
  const res = await fetch(`${ts.url}/api/v1/credential-leaks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: text ? JSON.parse(text) : undefined,
    ms: performance.now() - started,
  };
}

async function leakEvents(appId: string) {
  return ctx()
    .db.selectFrom('audit_events')
    .selectAll()
    .where('app_id', '=', appId)
    .where('type', '=', 'secret.leaked')
    .execute();
}

/** The `secret.leaked` events in the outbox about an app. */
async function leakedEventsFor(appId: string) {
  const rows = await ctx().db.selectFrom('outbox').select('payload').where('kind', '=', 'event').execute();
  return rows
    .map((r) => JSON.parse(r.payload))
    .filter((p) => p.type === 'secret.leaked' && p.data?.app?.id === appId);
}

async function setPolicy(policy: 'revoke' | 'notify') {
  await updateTenantSettings(ctx(), await adminActor(ts), await defaultTenantId(ts), {
    leaked_secret_policy: policy,
  });
}

describe('POST /api/v1/credential-leaks', () => {
  it('revokes a live secret at once: the next token request fails, the audit log has the URL, never the value', async () => {
    const { app, secret, secretId } = await createTestApp(ts);
    expect(await secretWorks(ts, app.client_id, secret!)).toBe(true);
    const url = 'https://github.com/acme/site/blob/main/.env';
    const r = await report({ credential: secret, url });
    expect(r.status).toBe(202);
    expect(await secretWorks(ts, app.client_id, secret!)).toBe(false);
    const [s] = (await listSecrets(ctx(), await adminActor(ts), app.id)).filter((x) => x.id === secretId);
    expect(s!.status).toBe('revoked');
    const events = await leakEvents(app.id);
    expect(events).toHaveLength(1);
    expect(events[0]!.secret_id).toBe(secretId);
    expect(events[0]!.actor).toBe('system:leak-report');
    expect(JSON.parse(events[0]!.data)).toEqual({ url, source: 'report', action: 'revoked' });
    const leak = await ctx()
      .db.selectFrom('credential_leaks')
      .selectAll()
      .where('secret_id', '=', secretId!)
      .executeTakeFirstOrThrow();
    expect(leak).toMatchObject({ app_id: app.id, url, source: 'report', action: 'revoked' });
    // The value is nowhere: not in the database rows written, not in the logs.
    const audit = await ctx()
      .db.selectFrom('audit_events')
      .selectAll()
      .where('app_id', '=', app.id)
      .execute();
    expect(JSON.stringify(audit)).not.toContain(secret);
    expect(JSON.stringify(leak)).not.toContain(secret);
    expect(ts.logs.text()).toContain('credential leak report');
    expect(ts.logs.text()).not.toContain(secret);
    // The `secret.leaked` event went into the outbox with the report, naming app and secret, not the value.
    const published = await leakedEventsFor(app.id);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      type: 'secret.leaked',
      tenant_id: app.tenant_id,
      data: {
        app: { id: app.id, client_id: app.client_id, name: app.name },
        secret: { id: secretId, hint: secret!.slice(0, 3) },
        actor: 'system:leak-report',
        url,
        source: 'report',
        action: 'revoked',
      },
    });
    expect(JSON.stringify(await ctx().db.selectFrom('outbox').selectAll().execute())).not.toContain(secret);
    // Reporting it again changes nothing.
    expect((await report({ credential: secret, url })).status).toBe(202);
    expect(await leakEvents(app.id)).toHaveLength(1);
    expect(await leakedEventsFor(app.id)).toHaveLength(1);
  });

  it('acts once on concurrent reports of the same secret', async () => {
    const { app, secret } = await createTestApp(ts);
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => report({ credential: secret, url: `https://example.com/c${i}` })),
    );
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202, 202]);
    expect(await secretWorks(ts, app.client_id, secret!)).toBe(false);
    expect(await leakEvents(app.id)).toHaveLength(1);
    expect(await leakedEventsFor(app.id)).toHaveLength(1);
  });

  it('answers the same for a live secret, an unknown value, a bad checksum and a revoked secret', async () => {
    const { app, secret } = await createTestApp(ts);
    const { app: otherApp, secret: other } = await createTestApp(ts);
    const badChecksum = `${other!.slice(0, 59)}${other![59] === 'a' ? 'b' : 'a'}`;
    const url = 'https://pastebin.example/abc';
    const answers = [];
    for (const credential of [
      secret!,
      'not-a-secret',
      randomBytes(32).toString('base64url'),
      badChecksum,
      secret!,
    ])
      answers.push(await report({ credential, url }));
    expect(await secretWorks(ts, app.client_id, secret!)).toBe(false);
    // Only a mistyped copy of `other` was reported: it still works.
    expect(await secretWorks(ts, otherApp.client_id, other!)).toBe(true);
    const shapes = answers.map((a) => ({
      status: a.status,
      text: a.text,
      type: a.headers.get('content-type'),
      length: a.headers.get('content-length'),
      cache: a.headers.get('cache-control'),
    }));
    for (const s of shapes) expect(s).toEqual(shapes[0]);
    expect(shapes[0]!.status).toBe(202);
    for (const a of answers) expect(a.ms).toBeGreaterThanOrEqual(REPORT_MIN_MS - 5);
  });

  it('a mistyped copy of a secret (wrong checksum) does not touch the real one', async () => {
    const { app, secret } = await createTestApp(ts);
    const typo = `${secret!.slice(0, 30)}${secret![30] === 'Z' ? 'Y' : 'Z'}${secret!.slice(31)}`;
    expect((await report({ credential: typo, url: 'https://example.com/x' })).status).toBe(202);
    expect(await secretWorks(ts, app.client_id, secret!)).toBe(true);
    expect(await leakEvents(app.id)).toHaveLength(0);
  });

  it('revokes secrets of the older format too', async () => {
    const { app } = await createTestApp(ts);
    const old = randomBytes(32).toString('base64url');
    await addSecret(ctx(), await adminActor(ts), app.id, { value: old });
    expect(await secretWorks(ts, app.client_id, old)).toBe(true);
    expect((await report({ credential: old, url: 'https://gist.example/1' })).status).toBe(202);
    expect(await secretWorks(ts, app.client_id, old)).toBe(false);
  });

  it('under the "notify" policy the secret keeps working, and the owners are told once', async () => {
    await setPolicy('notify');
    try {
      const { app, secret, secretId } = await createTestApp(ts);
      expect((await report({ credential: secret, url: 'https://example.com/one' })).status).toBe(202);
      expect(await secretWorks(ts, app.client_id, secret!)).toBe(true);
      const events = await leakEvents(app.id);
      expect(events).toHaveLength(1);
      expect(JSON.parse(events[0]!.data)).toMatchObject({
        action: 'notified',
        url: 'https://example.com/one',
      });
      // A second report is known already: nothing more.
      expect((await report({ credential: secret, url: 'https://example.com/two' })).status).toBe(202);
      expect(await leakEvents(app.id)).toHaveLength(1);
      expect((await leakedEventsFor(app.id)).map((e) => e.data.action)).toEqual(['notified']);
      // Once the tenant switches to "revoke", a new report of the still-live secret revokes it.
      await setPolicy('revoke');
      expect((await report({ credential: secret, url: 'https://example.com/three' })).status).toBe(202);
      expect(await secretWorks(ts, app.client_id, secret!)).toBe(false);
      const after = await leakEvents(app.id);
      expect(after.map((e) => JSON.parse(e.data).action).sort()).toEqual(['notified', 'revoked']);
      const leak = await ctx()
        .db.selectFrom('credential_leaks')
        .selectAll()
        .where('secret_id', '=', secretId!)
        .execute();
      expect(leak).toHaveLength(1);
      expect(leak[0]!.action).toBe('revoked');
    } finally {
      await setPolicy('revoke');
    }
  });

  it('refuses bad input with a problem naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ credential: 'x' }, 'url'],
      [{ url: 'https://example.com' }, 'credential'],
      [{ credential: '', url: 'https://example.com' }, 'credential'],
      [{ credential: 'x', url: 'not a url' }, 'url'],
      [{ credential: 'x', url: 'javascript:alert(1)' }, 'url'],
      [{ credential: 'x'.repeat(1001), url: 'https://example.com' }, 'credential'],
      [{ credential: 'x', url: 'https://example.com', extra: 1 }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const r = await report(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      expect(JSON.stringify(r.json.errors ?? {}), JSON.stringify(body)).toContain(field);
    }
    const raw = await fetch(`${ts.url}/api/v1/credential-leaks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': freshAddress() },
      body: '{"credential":',
    });
    expect(raw.status).toBe(400);
  });

  it('throttles per address: 429 with Retry-After, other addresses unaffected', async () => {
    const address = freshAddress();
    const url = 'https://example.com/t';
    for (let i = 0; i < 3; i++)
      expect((await report({ credential: `v${i}`, url }, address)).status).toBe(202);
    const refused = await report({ credential: 'v4', url }, address);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.json.detail).toMatch(/try again in \d+ s/);
    expect((await report({ credential: 'v5', url })).status).toBe(202);
  });

  it('needs no credentials, and ignores a bad token rather than refusing', async () => {
    const r = await fetch(`${ts.url}/api/v1/credential-leaks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer nonsense',
        'x-forwarded-for': freshAddress(),
      },
      body: JSON.stringify({ credential: 'x', url: 'https://example.com' }),
    });
    expect(r.status).toBe(202);
  });
});

describe('the tenant setting leaked_secret_policy', () => {
  it('is read and changed through the API; other values are refused', async () => {
    const token = await managementToken(ts);
    const h = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const get = await fetch(`${ts.url}/api/v1/tenant/settings`, { headers: h });
    expect((await get.json()).leaked_secret_policy).toBe('revoke');
    const patch = await fetch(`${ts.url}/api/v1/tenant/settings`, {
      method: 'PATCH',
      headers: h,
      body: JSON.stringify({ leaked_secret_policy: 'notify' }),
    });
    expect(patch.status).toBe(200);
    expect((await patch.json()).leaked_secret_policy).toBe('notify');
    const bad = await fetch(`${ts.url}/api/v1/tenant/settings`, {
      method: 'PATCH',
      headers: h,
      body: JSON.stringify({ leaked_secret_policy: 'ignore' }),
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify((await bad.json()).errors)).toContain('leaked_secret_policy');
    await setPolicy('revoke');
  });
});

describe('mail to the owners', () => {
  /** An app owned by a developer of the default tenant, with a second admin and a disabled admin. */
  async function ownedApp(tag: string) {
    const ctxt = ctx();
    const admin = await adminActor(ts);
    const tenantId = await defaultTenantId(ts);
    const mk = (email: string, role: 'developer' | 'admin') =>
      createUser(ctxt, admin, { tenantId, email, role, password: 'a long enough password' });
    const { user: dev } = await mk(`dev-${tag}@acme.test`, 'developer');
    const { user: admin2 } = await mk(`admin-${tag}@acme.test`, 'admin');
    const { user: gone } = await mk(`gone-${tag}@acme.test`, 'admin');
    await updateUser(ctxt, admin, gone.id, { disabled: true });
    const { app, secret } = await createApp(
      ctxt,
      { id: `user:${dev.id}`, userId: dev.id, tenantId, role: 'developer' },
      {
        name: `Billing <sync> ${tag}`,
        visibility: 'private',
        client_type: 'confidential',
        callback_url: 'https://app.example/cb',
      },
    );
    return { app, secret: secret!, dev, admin2, gone };
  }

  it('mails the app owner and every active admin, naming the secret by hint, never its value', async () => {
    const { app, secret, dev, admin2, gone } = await ownedApp('r');
    const url = 'https://github.com/acme/site/blob/main/config.js?x=<b>';
    expect((await report({ credential: secret.value, url })).status).toBe(202);
    const recipients = [dev.email, admin2.email, ts.admin.email];
    await waitFor(() => recipients.every((r) => smtp.to(r).some((m) => m.text.includes(app.client_id))), {
      what: 'the leak mails',
    });
    expect(smtp.to(gone.email)).toHaveLength(0);
    for (const r of recipients) {
      const mails = smtp.to(r).filter((m) => m.text.includes(app.client_id));
      expect(mails).toHaveLength(1);
      const m = mails[0]!;
      expect(m.subject).toBe(`A leaked client secret of ${app.name} was revoked`);
      expect(m.text).toContain(url);
      expect(m.text).toContain(`${secret.hint}…`);
      expect(m.text).toContain(secret.id);
      expect(m.text).toContain('revoked it at once');
      expect(m.text).toContain(`/apps/${app.id}/oauth`);
      expect(m.raw).not.toContain(secret.value);
      // Every value is escaped in the HTML part.
      expect(m.html).toContain('Billing &lt;sync&gt; r');
      expect(m.html).toContain('x=&lt;b&gt;');
      expect(m.html).not.toContain('<sync>');
    }
  });

  it('under "notify", says the secret still works', async () => {
    await setPolicy('notify');
    try {
      const { app, secret, dev } = await ownedApp('n');
      expect((await report({ credential: secret.value, url: 'https://example.com/n' })).status).toBe(202);
      const m = await waitFor(() => smtp.to(dev.email).find((x) => x.text.includes(app.client_id)), {
        what: 'the notify mail',
      });
      expect(m.subject).toBe(`A client secret of ${app.name} was found in public`);
      expect(m.text).toContain('still works');
      expect(await secretWorks(ts, app.client_id, secret.value)).toBe(true);
    } finally {
      await setPolicy('revoke');
    }
  });
});

describe('the hub', () => {
  it('tenant settings choose the policy; the audit log shows the report with its URL', async () => {
    const b = new Browser(ts.url);
    await b.submit(await b.get('/login'), '/login', ts.admin);
    const page = await b.get('/admin/settings');
    expect(page.html).toContain('Leaked secrets');
    expect(page.html).toMatch(/value="revoke"[^>]*checked/);
    const saved = await b.submit(page, '/admin/settings', { leaked_secret_policy: 'notify' });
    expect(saved.status).toBe(303);
    const tenant = await ctx()
      .db.selectFrom('tenants')
      .select('leaked_secret_policy')
      .where('id', '=', await defaultTenantId(ts))
      .executeTakeFirstOrThrow();
    expect(tenant.leaked_secret_policy).toBe('notify');
    expect((await b.get('/admin/settings')).html).toMatch(/value="notify"[^>]*checked/);
    // Saving the form without touching the choice keeps it.
    expect((await b.submit(await b.get('/admin/settings'), '/admin/settings')).status).toBe(303);
    expect((await b.get('/admin/settings')).html).toMatch(/value="notify"[^>]*checked/);
    await setPolicy('revoke');

    const { app, secret } = await createTestApp(ts);
    await report({ credential: secret, url: 'https://github.com/acme/leaky/blob/main/.env' });
    const audit = await b.get(`/apps/${app.id}/audit`);
    expect(audit.html).toContain('Client secret reported leaked');
    expect(audit.html).toContain('https://github.com/acme/leaky/blob/main/.env');
    expect(audit.html).toContain('revoked at once');
    expect(audit.html).toContain('A leak report');
    expect(audit.html).not.toContain(secret);
  });
});
