import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { createUser } from './helpers/users.js';

/**
 * The preamble every hub route shares (src/hub/route.ts): sign-in, the role check, the CSRF token of
 * actions, path parameters that do not match (404 page) and domain not-found errors (404 page).
 */
let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => ts?.close());

async function signedIn(email: string, password: string): Promise<{ b: Browser; csrf: string }> {
  const b = new Browser(ts.url);
  const res = await b.submit(await b.get('/login'), '/login', { email, password });
  expect(res.status).toBe(303);
  expect(res.location).not.toMatch(/^\/login/);
  const csrf = /name="csrf" value="([^"]+)"/.exec((await b.get('/account/connected-apps')).html)?.[1];
  expect(csrf).toBeTruthy();
  return { b, csrf: csrf! };
}

describe('hub routes', () => {
  it('send signed-out visitors to the login page, pages and actions alike', async () => {
    const b = new Browser(ts.url);
    for (const path of ['/apps', '/admin/users', '/apps/x/audit'])
      expect((await b.get(path)).location, path).toMatch(/^\/login\?return_to=/);
    expect((await b.post('/admin/users/x/role', { role: 'admin' })).location).toMatch(/^\/login/);
  });

  it('refuse a role that may not use them with the 403 page of that area', async () => {
    const { email, password } = await createUser(ts, { role: 'user' });
    const { b, csrf } = await signedIn(email, password);
    const apps = await b.get('/apps');
    expect(apps.status).toBe(403);
    expect(apps.html).toContain('Apps are for developers');
    const admin = await b.get('/admin/users');
    expect(admin.status).toBe(403);
    expect(admin.html).toContain('Only admins of your tenant can open the admin area.');
    const post = await b.post('/admin/settings', { csrf, secret_max_lifetime_days: '1' });
    expect(post.status).toBe(403);
  });

  it('run an action only with the session CSRF token, and answer 404 for unknown path parameters', async () => {
    const { b, csrf } = await signedIn(ts.admin.email, ts.admin.password);
    const forged = await b.post('/admin/users/some-id/role', { csrf: 'forged', role: 'admin' });
    expect(forged.status).toBe(403);
    expect(forged.html).toContain('This form has expired');
    for (const path of [
      '/admin/users/some-id/promote',
      '/admin/review/some-id/maybe',
      '/admin/requests/x/y',
    ]) {
      const r = await b.post(path, { csrf });
      expect(r.status, path).toBe(404);
      expect(r.html, path).toContain('This page does not exist');
    }
    const missingUser = await b.post('/admin/users/no-such-user/disable', { csrf });
    expect(missingUser.status).toBe(404);
    expect(missingUser.html).toContain('This user does not exist');
    const missingApp = await b.get('/apps/no-such-app/audit');
    expect(missingApp.status).toBe(404);
    expect(missingApp.html).toContain('This app does not exist');
  });
});
