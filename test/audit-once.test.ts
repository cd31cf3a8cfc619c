import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, approveApp, updateApp } from '../src/domain/apps.js';
import { ApiClient } from './helpers/api.js';
import { Browser, parseForms } from './helpers/browser.js';
import {
  adminActor,
  createTestApp,
  managementToken,
  startTestServer,
  type TestServer,
} from './helpers/server.js';

/**
 * One edit, one audit row (issue 13: "the audit log ... records the change twice"). Each way of changing
 * only an app's callback URL, through the hub's form (as a browser posts it, reload included) and through
 * the management API (an Idempotency-Key retry included), writes exactly the rows listed here, and the
 * approval of a held change writes one row. test/e2e/review-and-consent.test.ts does the same in Chromium.
 */
let ts: TestServer;
let api: ApiClient;
let admin: Browser;

beforeAll(async () => {
  ts = await startTestServer();
  api = new ApiClient(ts, await managementToken(ts));
  admin = new Browser(ts.url);
  const signedIn = await admin.submit(await admin.get('/login'), '/login', ts.admin);
  expect(signedIn.location).toBe('/');
});
afterAll(async () => ts?.close());

/** The audit rows written for `appId` while `act` runs, oldest first: type and data. */
async function rowsDuring(appId: string, act: () => Promise<unknown>) {
  const db = ts.server.services.ctx.db;
  const ids = async () =>
    new Set(
      (await db.selectFrom('audit_events').select('id').where('app_id', '=', appId).execute()).map(
        (r) => r.id,
      ),
    );
  const before = await ids();
  await act();
  const rows = await db
    .selectFrom('audit_events')
    .select(['id', 'type', 'data', 'created_at'])
    .where('app_id', '=', appId)
    .orderBy('created_at')
    .execute();
  return rows
    .filter((r) => !before.has(r.id))
    .map((r) => ({ type: r.type, data: JSON.parse(r.data) as Record<string, unknown> }));
}

/**
 * Saves the Basic info form with only the callback URL changed, as a browser sends it: every field, the
 * visibility radio as checked (the test's form parser does not read `checked`, so it is named here).
 */
async function saveCallbackInHub(app: App, callback: string) {
  const page = await admin.get(`/apps/${app.id}`);
  expect(page.status).toBe(200);
  const saved = await admin.submit(page, `/apps/${app.id}`, {
    callback_url: callback,
    visibility: app.visibility,
  });
  if (saved.status === 200 && parseForms(saved.html).some((f) => f.fields.confirm === 'yes')) {
    // The change needs review again: the page asks first; confirming posts once more.
    const confirmed = await admin.submit(saved, `/apps/${app.id}`, { confirm: 'yes' });
    expect(confirmed.status).toBe(303);
    // A reload of the page the redirect led to is a GET: nothing more is written.
    await admin.get(confirmed.location!);
    await admin.get(confirmed.location!);
    return;
  }
  expect(saved.status).toBe(303);
  await admin.get(saved.location!);
  await admin.get(saved.location!);
}

const publicApproved = () =>
  createTestApp(
    ts,
    { visibility: 'public', callback_url: 'https://live.acme-corp.io/cb' },
    { status: 'approved' },
  );

describe('changing only the callback URL writes one audit row', () => {
  it('private app, hub form', async () => {
    const { app } = await createTestApp(ts, { callback_url: 'https://one.acme-corp.io/cb' });
    const rows = await rowsDuring(app.id, () => saveCallbackInHub(app, 'https://two.acme-corp.io/cb'));
    expect(rows).toEqual([{ type: 'app.updated', data: { fields: ['callback_url'] } }]);
  });

  it('private app, the same form posted twice (a double submission)', async () => {
    const { app } = await createTestApp(ts, { callback_url: 'https://one.acme-corp.io/cb' });
    const rows = await rowsDuring(app.id, async () => {
      const page = await admin.get(`/apps/${app.id}`);
      const values = { callback_url: 'https://two.acme-corp.io/cb', visibility: app.visibility };
      const [first, second] = await Promise.all([
        admin.submit(page, `/apps/${app.id}`, values),
        admin.submit(page, `/apps/${app.id}`, values),
      ]);
      expect([first.status, second.status]).toEqual([303, 303]);
    });
    expect(rows).toEqual([{ type: 'app.updated', data: { fields: ['callback_url'] } }]);
  });

  it('the same change saved four times at once (domain): one row; approving a held change twice: one row', async () => {
    const ctx = ts.server.services.ctx;
    const actor = await adminActor(ts);
    const { app } = await createTestApp(ts, { callback_url: 'https://one.acme-corp.io/cb' });
    const patch = { callback_url: 'https://two.acme-corp.io/cb' };
    const rows = await rowsDuring(app.id, () =>
      Promise.all([1, 2, 3, 4].map(() => updateApp(ctx, actor, app.id, patch))),
    );
    expect(rows).toEqual([{ type: 'app.updated', data: { fields: ['callback_url'] } }]);

    const held = await publicApproved();
    const heldRows = await rowsDuring(held.app.id, () =>
      Promise.all([1, 2, 3].map(() => updateApp(ctx, actor, held.app.id, patch))),
    );
    expect(heldRows.map((r) => r.type)).toEqual(['app.review_required']);
    const approvals = await rowsDuring(held.app.id, () =>
      Promise.allSettled([approveApp(ctx, actor, held.app.id), approveApp(ctx, actor, held.app.id)]),
    );
    // The second approval finds nothing awaiting review (the app is approved): refused, nothing written.
    expect(approvals.map((r) => r.type)).toEqual(['app.change_approved']);
  });

  it('private app, API (and a retry with the same Idempotency-Key)', async () => {
    const { app } = await createTestApp(ts, { callback_url: 'https://one.acme-corp.io/cb' });
    const rows = await rowsDuring(app.id, async () => {
      const headers = { 'idempotency-key': `audit-once-${app.id}` };
      const body = { callback_url: 'https://two.acme-corp.io/cb' };
      expect((await api.patch(`/v1/apps/${app.id}`, body, { headers })).status).toBe(200);
      expect((await api.patch(`/v1/apps/${app.id}`, body, { headers })).status).toBe(200);
    });
    expect(rows).toEqual([{ type: 'app.updated', data: { fields: ['callback_url'] } }]);
  });

  it('approved public app, hub form: the held change is one row, its approval one more', async () => {
    const { app } = await publicApproved();
    const held = await rowsDuring(app.id, () => saveCallbackInHub(app, 'https://next.acme-corp.io/cb'));
    expect(held).toEqual([
      {
        type: 'app.review_required',
        data: { fields: ['callback_url'], added_scopes: [], previous_status: 'approved', pending: true },
      },
    ]);
    const approval = await rowsDuring(app.id, async () => {
      const review = await admin.get('/admin/review');
      const approved = await admin.submit(review, `/admin/review/${app.id}/approve`);
      expect(approved.status).toBe(303);
      await admin.get(approved.location!);
    });
    expect(approval).toEqual([
      { type: 'app.change_approved', data: { fields: ['callback_url'], added_scopes: [] } },
    ]);
  });

  it('approved public app, API: one row for the held change, one for its approval', async () => {
    const { app } = await publicApproved();
    const held = await rowsDuring(app.id, async () => {
      const r = await api.patch(`/v1/apps/${app.id}`, { callback_url: 'https://next.acme-corp.io/cb' });
      expect(r.status).toBe(200);
      expect(r.json.pending_change.fields).toEqual(['callback_url']);
    });
    expect(held.map((r) => r.type)).toEqual(['app.review_required']);
    const approval = await rowsDuring(app.id, async () => {
      expect((await api.post(`/v1/apps/${app.id}/approve`)).status).toBe(200);
    });
    expect(approval.map((r) => r.type)).toEqual(['app.change_approved']);
  });

  it('saving the held value again, or the form unchanged, writes nothing', async () => {
    const { app } = await publicApproved();
    await saveCallbackInHub(app, 'https://next.acme-corp.io/cb');
    const again = await rowsDuring(app.id, async () => {
      const page = await admin.get(`/apps/${app.id}`);
      // The form shows the held value; saving it as it is (a double click, a second tab) is no new change.
      expect(parseForms(page.html).find((f) => f.action === `/apps/${app.id}`)?.fields.callback_url).toBe(
        'https://next.acme-corp.io/cb',
      );
      const saved = await admin.submit(page, `/apps/${app.id}`, { visibility: app.visibility });
      expect(saved.status).toBe(303);
      expect(
        (await api.patch(`/v1/apps/${app.id}`, { callback_url: 'https://next.acme-corp.io/cb' })).status,
      ).toBe(200);
    });
    expect(again).toEqual([]);
  });

  it('public app in review: the change and its consequence, one row each (back to Draft)', async () => {
    const { app } = await createTestApp(
      ts,
      { visibility: 'public', callback_url: 'https://live.acme-corp.io/cb' },
      { status: 'in_review' },
    );
    const rows = await rowsDuring(app.id, () => saveCallbackInHub(app, 'https://next.acme-corp.io/cb'));
    // The new URL applies at once (app.updated) and takes the app out of review (app.review_required):
    // two events about one edit, each written once.
    expect(rows).toEqual([
      { type: 'app.updated', data: { fields: ['callback_url'] } },
      {
        type: 'app.review_required',
        data: { fields: ['callback_url'], added_scopes: [], previous_status: 'in_review' },
      },
    ]);
  });
});
