import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/domain/apps.js';
import { pkceAuthUrl } from '../helpers/flow.js';
import { createTestApp, startTestServer, type TestServer } from '../helpers/server.js';
import { createUser, type TestUser } from '../helpers/users.js';
import { DESKTOP, launch, shot, watchConsole } from './browser.js';

/**
 * Redirect after POST on the signed-out forms, in headless Chromium: after a failed sign-in (or sign-up)
 * the address bar holds a GET, the page shows the error with what was typed (never the password), and a
 * reload shows the clean form without posting again.
 */
let ts: TestServer;
let browser: Browser;
let user: TestUser;
let app: { app: App; secret: string | null };

beforeAll(async () => {
  [ts, browser] = await Promise.all([startTestServer(), launch()]);
  user = await createUser(ts);
  app = await createTestApp(ts, { name: 'Reload Sync', callback_url: 'https://app.example/cb' });
});
afterAll(async () => {
  await browser?.close();
  await ts?.close();
});

/** A fresh browser context that counts the form POSTs each path receives. */
async function newPage(): Promise<{
  context: BrowserContext;
  page: Page;
  problems: string[];
  posts: (path: string) => number;
}> {
  const context = await browser.newContext({ viewport: DESKTOP, baseURL: ts.url, colorScheme: 'light' });
  const page = await context.newPage();
  const seen: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST') seen.push(new URL(r.url()).pathname);
  });
  return {
    context,
    page,
    problems: watchConsole(page),
    posts: (path) => seen.filter((p) => p === path).length,
  };
}

describe('a failed sign-in in Chromium', () => {
  it('shows the error once at a GET address; a reload does not post again', async () => {
    const { context, page, problems, posts } = await newPage();
    await page.goto('/login');
    await page.getByLabel('Email address').fill(user.email);
    await page.getByLabel('Password').fill('not the password 42');
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'GET' && r.url().includes('flash=')),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    expect(answer.status()).toBe(401);
    await page.getByRole('alert').filter({ hasText: 'not correct' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(page.url()).toContain('flash=');
    expect(await page.getByLabel('Email address').inputValue()).toBe(user.email);
    expect(await page.getByLabel('Password').inputValue()).toBe('');
    expect(await page.content()).not.toContain('not the password 42');
    await shot(page, 'sign-in-error');
    expect(posts('/login')).toBe(1);

    const reloaded = await page.reload();
    expect(reloaded?.request().method()).toBe('GET');
    expect(reloaded?.status()).toBe(200);
    expect(posts('/login')).toBe(1);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await page.getByLabel('Email address').inputValue()).toBe('');

    // The form works after all this: the right password signs in.
    await page.getByLabel('Email address').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname !== '/login');
    expect(posts('/login')).toBe(2);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('inside an authorization request: the error page keeps the request; a reload neither posts nor loses it', async () => {
    const { context, page, problems, posts } = await newPage();
    await page.goto(pkceAuthUrl(ts, app.app));
    await page.getByText('Reload Sync').first().waitFor();
    await page.getByLabel('Email address').fill(user.email);
    await page.getByLabel('Password').fill('not the password 42');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not correct' }).waitFor();
    await page.reload();
    expect(posts('/login')).toBe(1);
    expect(await page.getByRole('alert').count()).toBe(0);
    // Still the sign-in for that app, and signing in continues to its consent page.
    await page.getByText('Reload Sync').first().waitFor();
    await page.getByLabel('Email address').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname === '/oauth/authorize');
    await page.locator('form[action="/oauth/authorize/decision"]').waitFor();
    expect(problems).toEqual([]);
    await context.close();
  });

  it('a failed sign-up: errors shown once with the name and email, a reload does not post', async () => {
    const { context, page, problems, posts } = await newPage();
    await page.goto('/signup');
    await page.getByLabel('Your name').fill('Reload Tester');
    await page.getByLabel('Email address').fill('not-an-email');
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('Enter a valid email address').waitFor();
    expect(await page.getByLabel('Your name').inputValue()).toBe('Reload Tester');
    expect(await page.getByLabel('Password').inputValue()).toBe('');
    await page.reload();
    expect(posts('/signup')).toBe(1);
    expect(await page.getByText('Enter a valid email address').count()).toBe(0);
    expect(await page.getByLabel('Your name').inputValue()).toBe('');
    expect(problems).toEqual([]);
    await context.close();
  });
});
