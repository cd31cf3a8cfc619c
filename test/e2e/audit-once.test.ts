import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, startTestServer, type TestServer } from '../helpers/server.js';
import { DESKTOP, launch, watchConsole } from './browser.js';

/**
 * One edit, one audit row, in Chromium (issue 13: "the audit log ... records the change twice"): a platform
 * admin changes only an app's callback URL on the Basic info tab, for a private app and for an approved
 * public app (asked first, then held as a pending change), approves the held change on the review page,
 * and double-clicks Save; the rows written are counted in `audit_events` and on the Audit log tab.
 * test/audit-once.test.ts covers the same paths over HTTP and through the management API.
 */
let ts: TestServer;
let browser: Browser;

beforeAll(async () => {
  [ts, browser] = await Promise.all([startTestServer(), launch()]);
});
afterAll(async () => {
  await browser?.close();
  await ts?.close();
});

async function signedIn(): Promise<{ page: Page; problems: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: DESKTOP, baseURL: ts.url, colorScheme: 'light' });
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto('/login');
  await page.getByLabel('Email address').fill(ts.admin.email);
  await page.getByLabel('Password').fill(ts.admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === '/apps');
  return { page, problems, close: () => context.close() };
}

/** The audit types recorded for an app, oldest first. */
async function auditTypes(appId: string): Promise<string[]> {
  const rows = await ts.server.services.ctx.db
    .selectFrom('audit_events')
    .select(['type', 'created_at'])
    .where('app_id', '=', appId)
    .orderBy('created_at')
    .execute();
  return rows.map((r) => r.type);
}

/** The Audit log tab's entries, as the page lists them (newest first). */
async function auditTab(page: Page, appId: string): Promise<string[]> {
  await page.goto(`/apps/${appId}/audit`);
  return (await page.locator('ul.audit-list > li').allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
}

describe('changing only the callback URL in Chromium', () => {
  it('private app: one app.updated row, one entry on the Audit log tab', async () => {
    const { app } = await createTestApp(ts, { callback_url: 'https://one.acme-corp.io/cb' });
    const before = await auditTypes(app.id);
    const { page, problems, close } = await signedIn();
    await page.goto(`/apps/${app.id}`);
    await page.getByLabel('OAuth callback URL').fill('https://two.acme-corp.io/cb');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForURL((u) => u.searchParams.get('notice') === 'saved');
    await page.reload();
    expect((await auditTypes(app.id)).slice(before.length)).toEqual(['app.updated']);
    const entries = await auditTab(page, app.id);
    expect(entries.filter((e) => e.includes('callback_url'))).toHaveLength(1);
    expect(entries[0]).toContain('Changed: callback_url');
    expect(entries[0]).not.toContain('visibility');
    expect(problems).toEqual([]);
    await close();
  });

  it('approved public app: one row for the held change, one for its approval', async () => {
    const { app } = await createTestApp(
      ts,
      { name: 'Held in Chromium', visibility: 'public', callback_url: 'https://live.acme-corp.io/cb' },
      { status: 'approved' },
    );
    const before = await auditTypes(app.id);
    const { page, problems, close } = await signedIn();
    await page.goto(`/apps/${app.id}`);
    await page.getByLabel('OAuth callback URL').fill('https://next.acme-corp.io/cb');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('heading', { name: 'This change needs review' }).waitFor();
    expect((await auditTypes(app.id)).slice(before.length)).toEqual([]);
    await page.getByRole('button', { name: 'Save and send the change for review' }).click();
    await page.waitForURL((u) => u.searchParams.get('notice') === 'change-pending');
    await page.reload();
    expect((await auditTypes(app.id)).slice(before.length)).toEqual(['app.review_required']);

    await page.goto('/admin/review');
    await page.getByRole('button', { name: /Approve.*Held in Chromium/ }).click();
    await page.waitForURL((u) => u.searchParams.get('notice') === 'approved');
    await page.reload();
    expect((await auditTypes(app.id)).slice(before.length)).toEqual([
      'app.review_required',
      'app.change_approved',
    ]);
    const entries = await auditTab(page, app.id);
    expect(entries.filter((e) => e.includes('callback_url'))).toHaveLength(2);
    expect(problems).toEqual([]);
    await close();
  });

  it('a double-click on Save writes one row', async () => {
    const { app } = await createTestApp(ts, { callback_url: 'https://one.acme-corp.io/cb' });
    const before = await auditTypes(app.id);
    const { page, problems, close } = await signedIn();
    await page.goto(`/apps/${app.id}`);
    let posts = 0;
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === `/apps/${app.id}`) posts++;
    });
    await page.getByLabel('OAuth callback URL').fill('https://two.acme-corp.io/cb');
    await page.getByRole('button', { name: 'Save', exact: true }).dblclick();
    await page.waitForURL((u) => u.searchParams.has('notice'));
    await page.waitForLoadState('networkidle');
    // Chromium sends one post here; a second one would carry no change and write nothing (the same form
    // posted twice over HTTP: test/audit-once.test.ts).
    expect(posts).toBeGreaterThanOrEqual(1);
    expect((await auditTypes(app.id)).slice(before.length)).toEqual(['app.updated']);
    expect(problems).toEqual([]);
    await close();
  });
});
