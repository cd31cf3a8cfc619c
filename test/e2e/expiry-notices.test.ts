import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanExpiryNotices } from '../../src/domain/expiry-notices.js';
import { ApiClient } from '../helpers/api.js';
import { managementToken, startTestServer, type TestServer } from '../helpers/server.js';
import { DESKTOP, launch, shotOf, watchConsole } from './browser.js';

/**
 * The expiry notices on a secret, as the hub shows them: a secret 29 days from its expiry gets the 30-day
 * notice from a scan, and 23 days later, 6 days from it, the 7-day notice; the app's OAuth tab then says
 * "Expiry notices sent: 30 days (date), 7 days (date)" under the secret's expiry. The server's clock is moved
 * forward, as the days passing would.
 */
const DAY = 86_400_000;
let ts: TestServer;
let browser: Browser;
/** Added to the real clock of the server. */
let skew = 0;

beforeAll(async () => {
  [ts, browser] = await Promise.all([
    // The test runs the scan itself: the server's own first scan would claim the notices.
    startTestServer({
      env: { CLAVIS_OUTBOX_POLL_MS: '600000' },
      now: () => Date.now() + skew,
      expiryScan: false,
    }),
    launch(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await ts?.close();
});

describe('hub: expiry notices on a secret', () => {
  it('a scan at 30 days and one at 7 days show under the secret', { timeout: 60_000 }, async () => {
    const ctx = ts.server.services.ctx;
    const api = new ApiClient(ts, await managementToken(ts));
    const created = await api.post('/v1/apps', {
      name: 'Payroll sync',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://payroll.example.com/cb',
      scopes: ['contacts:read'],
    });
    expect(created.status, created.text).toBe(201);
    const app = created.json as { id: string; secret: { id: string; expires_at: string } };
    const expiresAt = Date.parse(app.secret.expires_at);

    // 29 days before the expiry: the 30-day notice; 6 days before it: the 7-day notice.
    skew = expiresAt - 29 * DAY - Date.now();
    const first = (await scanExpiryNotices(ctx)).filter((n) => n.secret.id === app.secret.id);
    expect(first.map((n) => n.threshold)).toEqual([30]);
    skew = expiresAt - 6 * DAY - Date.now();
    const second = (await scanExpiryNotices(ctx)).filter((n) => n.secret.id === app.secret.id);
    expect(second.map((n) => n.threshold)).toEqual([7]);

    // Signed in at the server's time (a session from before the move would have run out).
    const context = await browser.newContext({ viewport: DESKTOP, baseURL: ts.url, colorScheme: 'light' });
    const page = await context.newPage();
    const problems = watchConsole(page);
    await page.goto(`/login?return_to=${encodeURIComponent(`/apps/${app.id}/oauth`)}`);
    await page.getByLabel('Email address').fill(ts.admin.email);
    await page.getByLabel('Password').fill(ts.admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Client secrets' }).waitFor();

    const row = page.locator('.secrets-table tbody tr').filter({ hasText: app.secret.id });
    const notices = row.locator('.expiry-notices');
    await notices.waitFor();
    const text = (await notices.textContent())?.replace(/\s+/g, ' ').trim();
    const m = /^Expiry notices sent: 30 days \((.+)\), 7 days \((.+)\)$/.exec(text ?? '');
    expect(m, text).not.toBeNull();
    // Each with the date it was sent: 23 days apart.
    expect(m?.[1]).not.toBe(m?.[2]);
    await shotOf(page.locator('section[aria-labelledby="secrets-title"]'), 'expiry-notices-sent', {
      docs: true,
    });
    expect(problems).toEqual([]);
    await context.close();
  });
});
