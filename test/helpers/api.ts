import { createApp } from '../../src/domain/apps.js';
import type { Actor } from '../../src/domain/context.js';
import { insertTenant } from '../../src/domain/tenants.js';
import { registerApiSessionResolver } from '../../src/http/api/index.js';
import { basicAuth, postForm, type TestServer } from './server.js';

export interface ApiResponse {
  status: number;
  headers: Headers;
  json: any;
  text: string;
}

/**
 * A small client for the management API that records every response body it sees, so tests can check
 * that a secret value appears in exactly one of them.
 */
export class ApiClient {
  readonly seen: string[] = [];
  constructor(
    readonly ts: TestServer,
    public token?: string,
  ) {}

  async call(
    method: string,
    path: string,
    options: { body?: unknown; raw?: string; headers?: Record<string, string>; token?: string | null } = {},
  ): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? this.token : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.ts.url}/api${path}`, { method, headers, body });
    const text = await res.text();
    this.seen.push(text);
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, headers: res.headers, json, text };
  }
  get = (path: string, o?: Parameters<ApiClient['call']>[2]) => this.call('GET', path, o);
  post = (path: string, body?: unknown, o: Parameters<ApiClient['call']>[2] = {}) =>
    this.call('POST', path, { ...o, body });
  patch = (path: string, body?: unknown, o: Parameters<ApiClient['call']>[2] = {}) =>
    this.call('PATCH', path, { ...o, body });
  delete = (path: string, o?: Parameters<ApiClient['call']>[2]) => this.call('DELETE', path, o);

  /** How many recorded response bodies contain `needle`. */
  count(needle: string): number {
    return this.seen.filter((t) => t.includes(needle)).length;
  }
}

/** A client_credentials token for any confidential client. */
export async function clientToken(
  ts: TestServer,
  clientId: string,
  secret: string,
  scope?: string,
): Promise<string> {
  const body: Record<string, string> = { grant_type: 'client_credentials' };
  if (scope) body.scope = scope;
  const r = await postForm(`${ts.url}/oauth/token`, body, { authorization: basicAuth(clientId, secret) });
  if (r.status !== 200) throw new Error(`token failed: ${r.status} ${r.text}`);
  return r.json.access_token as string;
}

/** Whether /oauth/token accepts a client secret. */
export async function secretWorks(ts: TestServer, clientId: string, secret: string): Promise<boolean> {
  const r = await postForm(
    `${ts.url}/oauth/token`,
    { grant_type: 'client_credentials' },
    {
      authorization: basicAuth(clientId, secret),
    },
  );
  return r.status === 200;
}

/**
 * A second tenant with a management client of its own (clavis:apps, so it acts as that tenant's admin)
 * and an ordinary app.
 */
export async function otherTenant(
  ts: TestServer,
): Promise<{ tenantId: string; token: string; appId: string }> {
  const ctx = ts.server.services.ctx;
  const tenant = await insertTenant(ctx, ctx.db, { name: `Other ${Math.random()}`, kind: 'organization' });
  const op: Actor = { id: 'system', tenantId: tenant.id, platformAdmin: true };
  const base = {
    visibility: 'private' as const,
    client_type: 'confidential' as const,
    callback_url: 'https://other.example.org/cb',
  };
  const mgmt = await createApp(
    ctx,
    op,
    { ...base, name: 'B manager', scopes: ['clavis:apps'] },
    { tenantId: tenant.id },
  );
  const plain = await createApp(ctx, op, { ...base, name: 'B app' }, { tenantId: tenant.id });
  const token = await clientToken(ts, mgmt.app.client_id, mgmt.secret!.value);
  return { tenantId: tenant.id, token, appId: plain.app.id };
}

/**
 * Test sessions: the cookie `test_session=<name>` signs in as the actor registered under that name, with
 * CSRF token `csrf-<name>`. Stands in for the hub's session module through the resolver hook.
 */
export function fakeSessions(ts: TestServer): Map<string, Actor> {
  const actors = new Map<string, Actor>();
  registerApiSessionResolver(ts.server.services, async (request) => {
    const m = /(?:^|;\s*)test_session=([\w-]+)/.exec(request.headers.cookie ?? '');
    const actor = m ? actors.get(m[1]!) : undefined;
    return actor ? { actor, csrfToken: `csrf-${m![1]}` } : null;
  });
  return actors;
}
