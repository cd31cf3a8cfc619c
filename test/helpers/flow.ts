import { createHash, randomBytes } from 'node:crypto';
import type { App } from '../../src/domain/apps.js';
import { authorize, Browser } from './browser.js';
import { basicAuth, postForm, type TestServer } from './server.js';
import type { TestUser } from './users.js';

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** An /oauth/authorize URL with parameters in the given order (raw strings are appended as-is). */
export function authUrl(ts: TestServer, params: Record<string, string> | string): string {
  const q = typeof params === 'string' ? params : new URLSearchParams(params).toString();
  return `${ts.url}/oauth/authorize?${q}`;
}

/** A code-flow authorization URL for `app` with a fresh S256 challenge and state `s1`; `extra` adds or overrides. */
export function pkceAuthUrl(ts: TestServer, app: App, extra: Record<string, string> = {}): string {
  const p = pkce();
  return authUrl(ts, {
    response_type: 'code',
    client_id: app.client_id,
    redirect_uri: app.callback_url,
    state: 's1',
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
    ...extra,
  });
}

/** Runs login + consent for `user` and returns the code (and the browser, still signed in). */
export async function getCode(
  ts: TestServer,
  app: App,
  user: TestUser,
  options: {
    browser?: Browser;
    scope?: string;
    challenge?: string | null;
    redirectUri?: string;
    state?: string;
  } = {},
): Promise<{ code: string; browser: Browser; location: string; verifier?: string }> {
  const browser = options.browser ?? new Browser(ts.url);
  const p = options.challenge === undefined ? pkce() : null;
  const params: Record<string, string> = {
    response_type: 'code',
    client_id: app.client_id,
    redirect_uri: options.redirectUri ?? app.callback_url,
    state: options.state ?? 'st-1',
  };
  if (options.scope) params.scope = options.scope;
  const challenge = p ? p.challenge : options.challenge;
  if (challenge) {
    params.code_challenge = challenge;
    params.code_challenge_method = 'S256';
  }
  const r = await authorize(browser, authUrl(ts, params), { email: user.email, password: user.password });
  if (!r.location) throw new Error(`no redirect: ${r.page.status} ${r.page.html.slice(0, 800)}`);
  const code = new URL(r.location).searchParams.get('code');
  if (!code) throw new Error(`no code in ${r.location}`);
  return { code, browser, location: r.location, verifier: p?.verifier };
}

/** POSTs to the token endpoint as the app (Basic for confidential apps, client_id for public ones). */
export async function token(ts: TestServer, app: App, secret: string | null, body: Record<string, string>) {
  const headers: Record<string, string> = {};
  const form = { ...body };
  if (secret) headers.authorization = basicAuth(app.client_id, secret);
  else form.client_id = app.client_id;
  return postForm(`${ts.url}/oauth/token`, form, headers);
}

export async function exchange(
  ts: TestServer,
  app: App,
  secret: string | null,
  code: string,
  verifier: string | undefined,
  redirectUri = app.callback_url,
) {
  const body: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: redirectUri };
  if (verifier) body.code_verifier = verifier;
  return token(ts, app, secret, body);
}

export async function apiMe(ts: TestServer, accessToken: string): Promise<number> {
  return (await fetch(`${ts.url}/api/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status;
}

/** Introspects a token as the given confidential client. */
export async function introspect(ts: TestServer, clientId: string, secret: string, tokenValue: string) {
  return (
    await postForm(
      `${ts.url}/oauth/introspect`,
      { token: tokenValue },
      { authorization: basicAuth(clientId, secret) },
    )
  ).json;
}
