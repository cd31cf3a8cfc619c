/**
 * The authorization-code round trip against Clavis, driven like a browser would: GET /oauth/authorize, the
 * login form (with its CSRF field), the consent form if one is shown, the redirect with the code, then the
 * code exchange at the token endpoint with PKCE.
 *
 * Written defensively because the authorization endpoint is being built alongside this bench: every step
 * that does not go as expected throws an Error whose message says which step, and run.ts reports the
 * scenario as "n/a" with that message.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { basic } from './lib.js';

export interface AuthCodeClient {
  clientId: string;
  secret: string;
  redirectUri: string;
  scope: string;
}

export interface AuthCodeTarget {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  email: string;
  password: string;
  client: AuthCodeClient;
}

/** A cookie jar: name → value (paths and domains are all the same on loopback). */
export type Jar = Map<string, string>;

function storeCookies(jar: Jar, res: Response): void {
  const list = (res.headers as unknown as { getSetCookie?: () => string[] }).getSetCookie?.() ?? [];
  for (const c of list) {
    const [pair] = c.split(';');
    const eq = pair!.indexOf('=');
    if (eq <= 0) continue;
    const name = pair!.slice(0, eq).trim();
    const value = pair!.slice(eq + 1).trim();
    if (/max-age=0|expires=thu, 01 jan 1970/i.test(c) || value === '') jar.delete(name);
    else jar.set(name, value);
  }
}

function cookieHeader(jar: Jar): Record<string, string> {
  return jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {};
}

function decodeEntities(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#x2F;|&#47;/g, '/')
    .replace(/&amp;/g, '&');
}

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  if (!m) return undefined;
  return decodeEntities(m[1] ?? m[2] ?? m[3] ?? '');
}

interface ParsedForm {
  action: string | undefined;
  method: string;
  inputs: Array<{ name: string; value: string; type: string }>;
  buttons: Array<{ name: string | undefined; value: string; text: string }>;
}

export function parseForms(html: string): ParsedForm[] {
  const forms: ParsedForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const open = `<form ${m[1]}>`;
    const body = m[2]!;
    const inputs = [...body.matchAll(/<input\b[^>]*>/gi)]
      .map((t) => ({
        name: attr(t[0], 'name'),
        value: attr(t[0], 'value') ?? '',
        type: (attr(t[0], 'type') ?? 'text').toLowerCase(),
      }))
      .filter((i): i is { name: string; value: string; type: string } => !!i.name);
    const buttons = [...body.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)].map((b) => ({
      name: attr(`<b ${b[1]}>`, 'name'),
      value: attr(`<b ${b[1]}>`, 'value') ?? '',
      text: b[2]!.replace(/<[^>]+>/g, '').trim(),
    }));
    // <input type=submit> counts as a button too.
    for (const i of inputs.filter((x) => x.type === 'submit'))
      buttons.push({ name: i.name, value: i.value, text: i.value });
    forms.push({
      action: attr(open, 'action'),
      method: (attr(open, 'method') ?? 'get').toLowerCase(),
      inputs: inputs.filter((i) => i.type !== 'submit'),
      buttons,
    });
  }
  return forms;
}

const APPROVE = /allow|approve|accept|consent|authori[sz]e|continue|yes|grant/i;
const DENY = /deny|cancel|reject|decline|no\b/i;

/** Picks and fills the form a person would submit on this page. */
function fillForm(
  forms: ParsedForm[],
  email: string,
  password: string,
): { form: ParsedForm; body: URLSearchParams } | null {
  const login = forms.find((f) => f.inputs.some((i) => i.type === 'password'));
  if (login) {
    const body = new URLSearchParams();
    for (const i of login.inputs) {
      if (i.type === 'password') body.set(i.name, password);
      else if (i.type === 'email' || /email|user|login|identifier/i.test(i.name)) body.set(i.name, email);
      else if (i.type === 'checkbox' || i.type === 'radio') continue;
      else body.set(i.name, i.value);
    }
    const btn = login.buttons.find((b) => b.name && !DENY.test(`${b.value} ${b.text}`));
    if (btn?.name) body.set(btn.name, btn.value);
    return { form: login, body };
  }
  const consent =
    forms.find((f) =>
      f.buttons.some(
        (b) => APPROVE.test(`${b.name ?? ''} ${b.value} ${b.text}`) && !DENY.test(`${b.value} ${b.text}`),
      ),
    ) ?? forms.find((f) => /authorize|consent/i.test(f.action ?? ''));
  if (!consent) return null;
  const body = new URLSearchParams();
  for (const i of consent.inputs) {
    if (i.type === 'checkbox' || i.type === 'radio') body.append(i.name, i.value || 'on');
    else body.set(i.name, i.value);
  }
  const btn = consent.buttons.find(
    (b) => APPROVE.test(`${b.name ?? ''} ${b.value} ${b.text}`) && !DENY.test(`${b.value} ${b.text}`),
  );
  if (btn?.name) body.set(btn.name, btn.value);
  return { form: consent, body };
}

export interface RoundTripResult {
  accessToken: string;
  refreshToken?: string;
  /** Which pages were seen: "login", "consent". */
  steps: string[];
  /** The code exchange alone (POST /oauth/token), ms. */
  exchangeMs: number;
  idToken?: string;
}

/**
 * One full round trip. `jar` carries the browser session: pass a fresh one to include the login, or keep
 * one across calls to measure the flow of a user who is already logged in (consent already given).
 */
export async function authCodeRoundTrip(
  t: AuthCodeTarget,
  jar: Jar,
  options: { scope?: string } = {},
): Promise<RoundTripResult> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomUUID();
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: t.client.clientId,
    redirect_uri: t.client.redirectUri,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const scope = options.scope ?? t.client.scope;
  if (scope) q.set('scope', scope);
  let url = `${t.authorizationEndpoint}?${q}`;
  let method = 'GET';
  let body: string | undefined;
  const steps: string[] = [];
  let code: string | undefined;
  for (let hop = 0; hop < 15 && !code; hop++) {
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: {
        ...cookieHeader(jar),
        ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        origin: t.issuer,
        accept: 'text/html',
      },
      body,
    });
    storeCookies(jar, res);
    if (res.status >= 300 && res.status < 400) {
      await res.arrayBuffer();
      const loc = res.headers.get('location');
      if (!loc) throw new Error(`authorize: ${res.status} without Location`);
      const next = new URL(loc, url);
      if (next.href.startsWith(t.client.redirectUri)) {
        const err = next.searchParams.get('error');
        if (err)
          throw new Error(
            `authorize: redirected with error=${err} ${next.searchParams.get('error_description') ?? ''}`,
          );
        if (next.searchParams.get('state') !== state) throw new Error('authorize: state mismatch');
        code = next.searchParams.get('code') ?? undefined;
        if (!code) throw new Error('authorize: redirect without code');
        break;
      }
      url = next.href;
      method = 'GET';
      body = undefined;
      continue;
    }
    const html = await res.text();
    if (res.status !== 200)
      throw new Error(
        `authorize: ${method} ${new URL(url).pathname} gave ${res.status}: ${html.slice(0, 160)}`,
      );
    const filled = fillForm(parseForms(html), t.email, t.password);
    if (!filled) throw new Error(`authorize: page at ${new URL(url).pathname} has no login or consent form`);
    steps.push(filled.form.inputs.some((i) => i.type === 'password') ? 'login' : 'consent');
    url = new URL(filled.form.action || url, url).href;
    method = filled.form.method === 'get' ? 'GET' : 'POST';
    if (method === 'GET') {
      const u = new URL(url);
      for (const [k, v] of filled.body) u.searchParams.set(k, v);
      url = u.href;
      body = undefined;
    } else body = filled.body.toString();
  }
  if (!code) throw new Error('authorize: no code after 15 hops');
  const exchangeStart = performance.now();
  const tr = await fetch(t.tokenEndpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(t.client.clientId, t.client.secret),
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: t.client.redirectUri,
      code_verifier: verifier,
    }).toString(),
  });
  const text = await tr.text();
  const exchangeMs = performance.now() - exchangeStart;
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {}
  if (tr.status !== 200 || typeof json.access_token !== 'string')
    throw new Error(`token: code exchange gave ${tr.status}: ${text.slice(0, 160)}`);
  return {
    accessToken: json.access_token,
    refreshToken: typeof json.refresh_token === 'string' ? json.refresh_token : undefined,
    steps,
    exchangeMs,
    idToken: typeof json.id_token === 'string' ? json.id_token : undefined,
  };
}
