import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, startTestServer, type TestServer } from '../helpers/server.js';
import { createUser } from '../helpers/users.js';
import { DESKTOP, launch } from './browser.js';

/**
 * A single-page app in real Chromium (CORS, src/http/cors.ts): a public client whose page runs at its
 * loopback callback's address signs a user in with the code flow and PKCE, then from the page redeems the
 * code, reads UserInfo (a preflighted request) and revokes its token. A page at another origin sends the same
 * requests and its browser keeps every answer from it. The app's pages come from a real server on the
 * loopback address (a page Playwright made up would sit in the public address space, and Chromium keeps
 * such pages from loopback servers whatever they answer).
 */
let ts: TestServer;
let browser: Browser;
let pages: Server;
let SPA = '';
let OTHER = '';

beforeAll(async () => {
  pages = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<title>SPA</title><p>the app</p>');
  });
  await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r));
  const { port } = pages.address() as AddressInfo;
  SPA = `http://127.0.0.1:${port}`;
  OTHER = `http://localhost:${port}`;
  [ts, browser] = await Promise.all([startTestServer(), launch()]);
});
afterAll(async () => {
  await browser?.close();
  await ts?.close();
  pages?.close();
});

async function spaPage(): Promise<{ page: Page; problems: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: DESKTOP, colorScheme: 'light' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  return { page, problems, close: () => context.close() };
}

/** Runs fetch in the page and says what the page could read: the status and body, or the error it got. */
const pageFetch = (
  page: Page,
  url: string,
  init: { method?: string; headers?: Record<string, string>; form?: Record<string, string> },
) =>
  page.evaluate(
    async ({ url, init }) => {
      try {
        const r = await fetch(url, {
          method: init.method ?? (init.form ? 'POST' : 'GET'),
          headers: init.headers,
          body: init.form ? new URLSearchParams(init.form) : undefined,
        });
        return { status: r.status, body: await r.text(), challenge: r.headers.get('www-authenticate') };
      } catch (err) {
        return { error: String(err) };
      }
    },
    { url, init },
  );

describe('a single-page app in Chromium', () => {
  it('signs a user in and uses its tokens from the page; a page at another origin reads nothing', async () => {
    const { app } = await createTestApp(ts, {
      name: 'Browser app',
      client_type: 'public',
      callback_url: 'http://127.0.0.1/callback',
    });
    const user = await createUser(ts);
    const { page, problems, close } = await spaPage();
    const verifier = randomBytes(32).toString('base64url');
    const redirectUri = `${SPA}/callback`;
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: app.client_id,
      redirect_uri: redirectUri,
      scope: 'openid',
      state: 's1',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
    await page.goto(`${ts.url}/oauth/authorize?${q}`);
    await page.getByLabel('Email address').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${redirectUri}?**`);
    const code = new URL(page.url()).searchParams.get('code')!;
    expect(code).toBeTruthy();

    // The app's page redeems the code: a simple (form) POST, read thanks to Access-Control-Allow-Origin.
    const form = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      client_id: app.client_id,
    };
    const redeemed = await pageFetch(page, `${ts.url}/oauth/token`, { form });
    expect(redeemed.status, JSON.stringify(redeemed)).toBe(200);
    const tokens = JSON.parse(redeemed.body!) as { access_token: string; refresh_token: string };
    // UserInfo with the token in the Authorization header: the browser sends a preflight first.
    const bearer = { authorization: `Bearer ${tokens.access_token}` };
    const info = await pageFetch(page, `${ts.url}/oauth/userinfo`, { headers: bearer });
    expect(info.status, JSON.stringify(info)).toBe(200);
    expect(JSON.parse(info.body!).sub).toBeTruthy();

    // The same requests from a page at another origin: the browser keeps the answers from it.
    await page.goto(`${OTHER}/`);
    const stolen = await pageFetch(page, `${ts.url}/oauth/token`, {
      form: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: app.client_id },
    });
    expect(stolen.error, JSON.stringify(stolen)).toMatch(/Failed to fetch/);
    const otherInfo = await pageFetch(page, `${ts.url}/oauth/userinfo`, { headers: bearer });
    expect(otherInfo.error, JSON.stringify(otherInfo)).toMatch(/Failed to fetch/);
    // Kept from it by CORS, not by anything else.
    expect(problems.filter((p) => p.includes('CORS policy')).length).toBeGreaterThanOrEqual(2);
    expect(problems.join('\n')).toMatch(/No 'Access-Control-Allow-Origin' header/);
    problems.length = 0;
    // Any page reads discovery.
    const meta = await pageFetch(page, `${ts.url}/.well-known/openid-configuration`, {});
    expect(JSON.parse(meta.body!).issuer).toBe(ts.server.services.config.issuer);

    // Back at the app: it revokes the token, and reads the 401 and its challenge that follow.
    await page.goto(`${SPA}/`);
    const revoked = await pageFetch(page, `${ts.url}/oauth/revoke`, {
      form: { token: tokens.access_token, client_id: app.client_id },
    });
    expect(revoked.status, JSON.stringify(revoked)).toBe(200);
    const after = await pageFetch(page, `${ts.url}/oauth/userinfo`, { headers: bearer });
    expect(after.status, JSON.stringify(after)).toBe(401);
    expect(after.challenge).toMatch(/invalid_token/);
    // Only the expected 401 was logged as a failed load.
    expect(problems.filter((p) => !/status of 401/.test(p))).toEqual([]);
    await close();
  });
});
