import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldReads } from './helpers/held-reads.js';
import { basicAuth, createTestApp, postForm, startTestServer, type TestServer } from './helpers/server.js';

let ts: TestServer;
let auth: string;
beforeAll(async () => {
  ts = await startTestServer();
  const { app, secret } = await createTestApp(ts);
  auth = basicAuth(app.client_id, secret!);
});
afterAll(async () => ts?.close());

const getToken = async () =>
  (await postForm(`${ts.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: auth }))
    .json.access_token as string;
const jwks = async () =>
  (await (await fetch(`${ts.url}/.well-known/jwks.json`)).json()).keys as Array<Record<string, string>>;

describe('signing keys', () => {
  it('publishes only public key material: one key per algorithm (ES256 and EdDSA, RS256 for ID tokens)', async () => {
    const keys = await jwks();
    const shapes = {
      ES256: { kty: 'EC', crv: 'P-256' },
      EdDSA: { kty: 'OKP', crv: 'Ed25519' },
      RS256: { kty: 'RSA', e: 'AQAB' },
    } as Record<string, Record<string, string>>;
    expect(keys.map((k) => k.alg).sort()).toEqual(['ES256', 'EdDSA', 'RS256']);
    for (const k of keys) {
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(k[secret]).toBeUndefined();
      expect(k).toMatchObject({ ...shapes[k.alg!], use: 'sig' });
    }
  });

  it('keeps private keys encrypted at rest', async () => {
    const rows = await ts.server.services.ctx.db.selectFrom('signing_keys').selectAll().execute();
    for (const r of rows) {
      expect(r.private_key_enc.startsWith('v1.')).toBe(true);
      expect(r.private_key_enc).not.toContain('"d"');
    }
  });

  it('rotates with no downtime: old tokens still verify, new tokens use the new key', async () => {
    const before = await getToken();
    const oldKid = decodeProtectedHeader(before).kid;
    const newKid = await ts.server.services.keys.rotate();
    expect(newKid).not.toBe(oldKid);
    const after = await getToken();
    expect(decodeProtectedHeader(after).kid).toBe(newKid);
    const kids = (await jwks()).map((k) => k.kid);
    expect(kids).toContain(oldKid);
    expect(kids).toContain(newKid);
    for (const t of [before, after]) {
      const me = await fetch(`${ts.url}/api/v1/me`, { headers: { authorization: `Bearer ${t}` } });
      expect(me.status).toBe(200);
    }
  });

  it('stops publishing a retired key once every token it signed has expired', async () => {
    const ks = ts.server.services.keys;
    const db = ts.server.services.ctx.db;
    const oldKid = ks.signingKey().kid;
    await ks.rotate();
    // Pretend the retirement happened longer ago than the token lifetime plus the grace period.
    await db
      .updateTable('signing_keys')
      .set({ retired_at: Date.now() - 3 * 3600_000 })
      .where('kid', '=', oldKid)
      .execute();
    await ks.reload();
    expect((await jwks()).map((k) => k.kid)).not.toContain(oldKid);
  });

  it('a reload asked for while an older read is in flight reads again, and sees the change', async () => {
    const { KeyStore } = await import('../src/keys/key-store.js');
    const { SealedBox } = await import('../src/crypto/sealed-box.js');
    const { ctx, config } = ts.server.services;
    // The first read is held open while the change is written.
    const reads = heldReads(ctx.db);
    const ks = new KeyStore({ ...ctx, db: reads.db } as typeof ctx, new SealedBox(config.secretKey));
    await ks.reload();
    const kid = ks.publishedKeys()[0]!.kid;
    reads.hold();
    const first = ks.reload();
    await reads.reading();
    // The change lands while that read is held open; a reload asked for now must not hand back its result.
    await ctx.db
      .updateTable('signing_keys')
      .set({ retired_at: Date.now() - 3 * 3600_000 })
      .where('kid', '=', kid)
      .execute();
    const second = ks.reload();
    reads.release();
    await Promise.all([first, second]);
    expect(ks.publishedKeys().map((k) => k.kid)).not.toContain(kid);
  });

  it('refuses to start with a different secret key, saying which variable to check', async () => {
    const { randomBytes } = await import('node:crypto');
    const { loadConfig } = await import('../src/config/config.js');
    const { startServer } = await import('../src/start.js');
    const config = loadConfig({
      ...process.env,
      CLAVIS_DATABASE_URL: ts.db.url,
      CLAVIS_SECRET_KEY: randomBytes(32).toString('base64url'),
      PORT: '0',
      LOG_LEVEL: 'silent',
    });
    await expect(startServer(config, { listen: false })).rejects.toThrow(
      /^CLAVIS_SECRET_KEY: cannot decrypt signing key/,
    );
  });

  it('supports EdDSA', async () => {
    const ed = await startTestServer({ env: { CLAVIS_SIGNING_ALG: 'EdDSA' } });
    try {
      const { app, secret } = await createTestApp(ed);
      const r = await postForm(
        `${ed.url}/oauth/token`,
        { grant_type: 'client_credentials' },
        { authorization: basicAuth(app.client_id, secret!) },
      );
      expect(decodeProtectedHeader(r.json.access_token)).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
      const me = await fetch(`${ed.url}/api/v1/me`, {
        headers: { authorization: `Bearer ${r.json.access_token}` },
      });
      expect(me.status).toBe(200);
    } finally {
      await ed.close();
    }
  });
});
