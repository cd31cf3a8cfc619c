import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverMetadata } from '../src/http/routes/discovery.js';
import { managementToken, startTestServer, type TestServer } from './helpers/server.js';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => ts?.close());

describe('operations endpoints', () => {
  it('/livez and /readyz', async () => {
    expect((await fetch(`${ts.url}/livez`)).status).toBe(200);
    const ready = await fetch(`${ts.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok' });
  });

  it('/readyz says 503 when a migration is pending', async () => {
    const db = ts.server.services.ctx.db;
    const rows = await db
      .selectFrom('kysely_migration' as never)
      .selectAll()
      .execute();
    const last = (rows as Array<{ name: string; timestamp: string }>).at(-1)!;
    await db
      .deleteFrom('kysely_migration' as never)
      .where('name' as never, '=', last.name as never)
      .execute();
    try {
      expect((await fetch(`${ts.url}/readyz`)).status).toBe(503);
    } finally {
      await db
        .insertInto('kysely_migration' as never)
        .values(last as never)
        .execute();
    }
    expect((await fetch(`${ts.url}/readyz`)).status).toBe(200);
  });

  it('/metrics exposes Prometheus metrics, including token issuance', async () => {
    await managementToken(ts);
    const res = await fetch(`${ts.url}/metrics`);
    const text = await res.text();
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(text).toMatch(/clavis_tokens_issued_total\{grant_type="client_credentials"\} [1-9]/);
    expect(text).toContain('clavis_http_request_duration_seconds_bucket');
  });

  it('discovery lists what is supported and nothing else', async () => {
    const meta = await (await fetch(`${ts.url}/.well-known/oauth-authorization-server`)).json();
    expect(meta).toEqual(await serverMetadata(ts.server.services));
    expect(meta.grant_types_supported).not.toContain('password');
    expect(meta.grant_types_supported).not.toContain('implicit');
    expect(meta.response_types_supported ?? []).not.toContain('token');
    expect(meta.scopes_supported).toEqual(expect.arrayContaining(['contacts:read', 'contacts:write']));
    for (const key of ['token_endpoint', 'jwks_uri', 'introspection_endpoint', 'revocation_endpoint'])
      expect(meta[key]).toMatch(new RegExp(`^${ts.url}/`));
    // The OpenID Provider document is the same plus the OpenID Connect fields.
    const oidc = await (await fetch(`${ts.url}/.well-known/openid-configuration`)).json();
    expect(oidc).toMatchObject(meta);
    expect(oidc.userinfo_endpoint).toBe(`${ts.url}/oauth/userinfo`);
  });

  it('sends strict headers', async () => {
    const res = await fetch(`${ts.url}/.well-known/jwks.json`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });
});
