import { createPublicKey } from 'node:crypto';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableApp } from '../src/domain/apps.js';
import { addSecret, refreshSecret, revokeSecret } from '../src/domain/secrets.js';
import {
  adminActor,
  basicAuth,
  createTestApp,
  postForm,
  startTestServer,
  type TestServer,
} from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

let ts: TestServer;
let tokenUrl: string;
beforeAll(async () => {
  ts = await startTestServer();
  tokenUrl = `${ts.url}/oauth/token`;
});
afterAll(async () => ts?.close());

const cc = (extra: Record<string, string> = {}) => ({ grant_type: 'client_credentials', ...extra });

describe('client_credentials grant', () => {
  it("issues an RFC 9068 JWT to the seeds' request shape (Basic + client_id in the body)", async () => {
    const { app, secret } = await createTestApp(ts);
    const r = await postForm(tokenUrl, `grant_type=client_credentials&client_id=${app.client_id}`, {
      authorization: `Basic ${Buffer.from(`${app.client_id}:${secret}`).toString('base64')}`,
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.json).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'contacts:read' });
    const header = decodeProtectedHeader(r.json.access_token);
    expect(header).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    expect(typeof header.kid).toBe('string');
    const jwks = await (await fetch(`${ts.url}/.well-known/jwks.json`)).json();
    const jwk = jwks.keys.find((k: { kid: string }) => k.kid === header.kid);
    const { payload } = await compactVerify(
      r.json.access_token,
      createPublicKey({ key: jwk, format: 'jwk' }),
    );
    const claims = JSON.parse(Buffer.from(payload).toString());
    expect(claims).toMatchObject({
      iss: ts.url,
      sub: app.client_id,
      aud: `${ts.url}/api`,
      client_id: app.client_id,
      scope: 'contacts:read',
      tid: app.tenant_id,
    });
    expect(claims.exp - claims.iat).toBe(3600);
    expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  });

  it('accepts client_secret_post', async () => {
    const { app, secret } = await createTestApp(ts);
    const r = await postForm(tokenUrl, cc({ client_id: app.client_id, client_secret: secret! }));
    expect(r.status).toBe(200);
  });

  it('form-decodes Basic credentials (RFC 6749 §2.3.1) so secrets with ":", "%" and "+" work', async () => {
    const secret = 'a:b%c+d e/f=ghijklmnopqrstuvwxyz';
    const { app } = await createTestApp(ts, {}, {});
    const { insertSecret } = await import('../src/domain/secrets.js');
    await insertSecret(ts.server.services.ctx, ts.server.services.ctx.db, await adminActor(ts), app, {
      value: secret,
    });
    const encoded = await postForm(tokenUrl, cc(), { authorization: basicAuth(app.client_id, secret) });
    expect(encoded.status).toBe(200);
    const post = await postForm(tokenUrl, cc({ client_id: app.client_id, client_secret: secret }));
    expect(post.status).toBe(200);
  });

  it('generated secrets use unreserved characters only, so raw and form-encoded Basic agree', async () => {
    for (let i = 0; i < 20; i++) {
      const { secret } = await createTestApp(ts);
      expect(secret).toMatch(/^[0-9A-Za-z]{3}_clavis_[0-9A-Za-z]{49}$/);
      expect(encodeURIComponent(secret!)).toBe(secret);
    }
  });

  it('rejects a body client_id that differs from the Basic user', async () => {
    const { app, secret } = await createTestApp(ts);
    const r = await postForm(tokenUrl, cc({ client_id: 'someone-else' }), {
      authorization: basicAuth(app.client_id, secret!),
    });
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('invalid_request');
  });

  it('rejects two secrets in one request', async () => {
    const { app, secret } = await createTestApp(ts);
    const r = await postForm(tokenUrl, cc({ client_id: app.client_id, client_secret: secret! }), {
      authorization: basicAuth(app.client_id, secret!),
    });
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('invalid_request');
  });

  it('answers a wrong secret with 401 invalid_client and WWW-Authenticate for Basic', async () => {
    const { app } = await createTestApp(ts);
    const r = await postForm(tokenUrl, cc(), { authorization: basicAuth(app.client_id, 'wrong') });
    expect(r.status).toBe(401);
    expect(r.json.error).toBe('invalid_client');
    expect(r.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const post = await postForm(tokenUrl, cc({ client_id: app.client_id, client_secret: 'wrong' }));
    expect(post.status).toBe(401);
    expect(post.json.error).toBe('invalid_client');
    // Every 401 names a scheme (RFC 9110 §15.5.2), even when the client used client_secret_post.
    expect(post.headers.get('www-authenticate')).toMatch(/^Basic /);
  });

  it('answers an unknown client like a wrong secret', async () => {
    const r = await postForm(tokenUrl, cc(), { authorization: basicAuth('no-such-client', 'x') });
    expect(r.status).toBe(401);
    expect(r.json.error).toBe('invalid_client');
  });

  it('requires client authentication', async () => {
    const r = await postForm(tokenUrl, cc());
    expect(r.status).toBe(401);
    expect(r.json.error).toBe('invalid_client');
  });

  it('gives the default scopes when none is requested, a subset when asked, invalid_scope beyond', async () => {
    const { app, secret } = await createTestApp(ts, {
      scopes: ['contacts:read', 'contacts:write'],
      default_scopes: ['contacts:read'],
    });
    const auth = { authorization: basicAuth(app.client_id, secret!) };
    expect((await postForm(tokenUrl, cc(), auth)).json.scope).toBe('contacts:read');
    expect((await postForm(tokenUrl, cc({ scope: 'contacts:write' }), auth)).json.scope).toBe(
      'contacts:write',
    );
    expect((await postForm(tokenUrl, cc({ scope: 'contacts:write contacts:read' }), auth)).json.scope).toBe(
      'contacts:write contacts:read',
    );
    const wide = await postForm(tokenUrl, cc({ scope: 'contacts:read clavis:admin' }), auth);
    expect(wide.status).toBe(400);
    expect(wide.json.error).toBe('invalid_scope');
    const bad = await postForm(tokenUrl, cc({ scope: 'contacts:read "x' }), auth);
    expect(bad.json.error).toBe('invalid_scope');
  });

  it('is for confidential clients only', async () => {
    const { app } = await createTestApp(ts, { client_type: 'public' });
    const r = await postForm(tokenUrl, cc({ client_id: app.client_id }));
    expect(r.status).toBe(401);
    expect(r.json.error).toBe('invalid_client');
  });

  it('gives unsupported_grant_type for unknown and removed grants', async () => {
    const { app, secret } = await createTestApp(ts);
    for (const g of ['password', 'implicit', 'nope']) {
      const r = await postForm(
        tokenUrl,
        { grant_type: g },
        { authorization: basicAuth(app.client_id, secret!) },
      );
      expect(r.status).toBe(400);
      expect(r.json.error).toBe('unsupported_grant_type');
    }
    // The device grant exists, but an app has it only when it opts in (its grant_types).
    const device = await postForm(
      tokenUrl,
      { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: 'x' },
      { authorization: basicAuth(app.client_id, secret!) },
    );
    expect(device.status).toBe(400);
    expect(device.json.error).toBe('unauthorized_client');
  });

  it('refuses an unknown resource (RFC 8707 invalid_target) and accepts its own', async () => {
    const { app, secret } = await createTestApp(ts);
    const auth = { authorization: basicAuth(app.client_id, secret!) };
    expect((await postForm(tokenUrl, cc({ resource: 'https://evil.test/' }), auth)).json.error).toBe(
      'invalid_target',
    );
    expect((await postForm(tokenUrl, cc({ resource: `${ts.url}/api` }), auth)).status).toBe(200);
  });

  it('gives a disabled app no tokens', async () => {
    const { app, secret } = await createTestApp(ts);
    await disableApp(ts.server.services.ctx, await adminActor(ts), app.id);
    const r = await postForm(tokenUrl, cc(), { authorization: basicAuth(app.client_id, secret!) });
    expect(r.status).toBe(401);
    expect(r.json.error).toBe('invalid_client');
  });
});

describe('secret lifecycle at the token endpoint', () => {
  it('refuses a revoked secret exactly like a wrong one, and keeps other secrets working', async () => {
    const { app, secret, secretId } = await createTestApp(ts);
    const actor = await adminActor(ts);
    const second = await addSecret(ts.server.services.ctx, actor, app.id, { description: 'overlap' });
    await revokeSecret(ts.server.services.ctx, actor, app.id, secretId!);
    const old = await postForm(tokenUrl, cc(), { authorization: basicAuth(app.client_id, secret!) });
    const wrong = await postForm(tokenUrl, cc(), {
      authorization: basicAuth(app.client_id, 'definitely-wrong'),
    });
    expect(old.status).toBe(401);
    expect(old.json).toEqual(wrong.json);
    expect(
      (await postForm(tokenUrl, cc(), { authorization: basicAuth(app.client_id, second.value) })).status,
    ).toBe(200);
  });

  it('refresh deactivates the old secret; tokens issued before stay valid', async () => {
    const { app, secret } = await createTestApp(ts);
    const before = await postForm(tokenUrl, cc(), { authorization: basicAuth(app.client_id, secret!) });
    const fresh = await refreshSecret(ts.server.services.ctx, await adminActor(ts), app.id);
    expect(fresh.value).not.toBe(secret);
    expect(
      (await postForm(tokenUrl, cc(), { authorization: basicAuth(app.client_id, secret!) })).status,
    ).toBe(401);
    expect(
      (await postForm(tokenUrl, cc(), { authorization: basicAuth(app.client_id, fresh.value) })).status,
    ).toBe(200);
    const me = await fetch(`${ts.url}/api/v1/me`, {
      headers: { authorization: `Bearer ${before.json.access_token}` },
    });
    expect(me.status).toBe(200);
  });

  it('refuses an expired secret like a wrong one and audits the attempt without the value', async () => {
    const { app } = await createTestApp(ts);
    const ctx = ts.server.services.ctx;
    const s = await addSecret(ctx, await adminActor(ts), app.id, { expires_in_months: 1 });
    await ctx.db
      .updateTable('client_secrets')
      .set({ expires_at: Date.now() - 1000 })
      .where('id', '=', s.id)
      .execute();
    const r = await postForm(tokenUrl, cc(), { authorization: basicAuth(app.client_id, s.value) });
    expect(r.status).toBe(401);
    expect(r.json.error).toBe('invalid_client');
    // The audit event is written after the response: wait for it to land.
    const events = await waitFor(
      async () => {
        const rows = await ctx.db
          .selectFrom('audit_events')
          .selectAll()
          .where('secret_id', '=', s.id)
          .execute();
        return rows.some((e) => e.type === 'secret.expired_use_attempt') && rows;
      },
      { what: 'the secret.expired_use_attempt audit event' },
    );
    const attempt = events.find((e) => e.type === 'secret.expired_use_attempt')!;
    expect(attempt).toMatchObject({
      actor: `client:${app.client_id}`,
      app_id: app.id,
      tenant_id: app.tenant_id,
    });
    expect(JSON.stringify(events)).not.toContain(s.value);
  });
});
