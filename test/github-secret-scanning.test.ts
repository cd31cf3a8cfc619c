import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, GITHUB_SCANNING_KEYS_URL, loadConfig } from '../src/config/config.js';
import { addSecret, revokeSecret } from '../src/domain/secrets.js';
import { GitHubScanningKeys, ScanningKeysUnavailable } from '../src/http/github-scanning-keys.js';
import { secretWorks } from './helpers/api.js';
import { adminActor, createTestApp, startTestServer, type TestServer } from './helpers/server.js';

/** A P-256 key pair as GitHub publishes its public half, with an identifier like GitHub's (a SHA-256 hex). */
function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { privateKey, pem, id: createHash('sha256').update(pem).digest('hex') };
}

/** GitHub's public keys document. */
const keysDocument = (...keys: Array<{ id: string; pem: string }>) =>
  JSON.stringify({
    public_keys: keys.map((k, i) => ({ key_identifier: k.id, key: k.pem, is_current: i === 0 })),
  });

/** The base64 DER ECDSA P-256 SHA-256 signature of the raw body, as GitHub sends it. */
const signBody = (key: KeyObject, body: string) => sign('sha256', Buffer.from(body), key).toString('base64');

const github = keyPair();
const stranger = keyPair();
let dir: string;
let ts: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'clavis-gh-keys-'));
  const file = join(dir, 'secret_scanning.json');
  writeFileSync(file, keysDocument(github));
  ts = await startTestServer({ env: { CLAVIS_GITHUB_SCANNING_KEYS_URL: file } });
});
afterAll(async () => {
  await ts?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post(body: string, headers: Record<string, string>) {
  const res = await fetch(`${ts.url}/api/v1/credential-leaks/github`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, json, text };
}

const signed = (body: string, key = github) => ({
  'github-public-key-identifier': key.id,
  'github-public-key-signature': signBody(key.privateKey, body),
});

describe('POST /api/v1/credential-leaks/github (secret scanning partner program)', () => {
  it('labels each token and revokes the live ones', async () => {
    const { app, secret } = await createTestApp(ts);
    const { app: app2, secret: dead } = await createTestApp(ts);
    const actor = await adminActor(ts);
    const old = randomBytes(32).toString('base64url');
    await addSecret(ts.server.services.ctx, actor, app2.id, { value: old });
    const [deadRow] = await ts.server.services.ctx.db
      .selectFrom('client_secrets')
      .select('id')
      .where('app_id', '=', app2.id)
      .where('hint', '=', dead!.slice(0, 3))
      .execute();
    await revokeSecret(ts.server.services.ctx, actor, app2.id, deadRow!.id);
    const unknown = `abc_clavis_${'A'.repeat(43)}000000`;
    const matches = [
      {
        token: secret,
        type: 'clavis_client_secret',
        url: 'https://github.com/o/r/blob/abc/.env',
        source: 'content',
      },
      { token: unknown, type: 'clavis_client_secret', url: '', source: 'commit' },
      {
        token: dead,
        type: 'clavis_client_secret',
        url: 'https://github.com/o/r/issues/1',
        source: 'issue_comment',
      },
      { token: old, type: 'clavis_client_secret', url: 'https://gist.github.com/x', source: 'gist_content' },
    ];
    // Spacing as GitHub may send it: the signature covers these exact bytes.
    const body = `${JSON.stringify(matches, null, 1)}\n`;
    const r = await post(body, signed(body));
    expect(r.status).toBe(200);
    expect(r.json).toEqual([
      { token_raw: secret, token_type: 'clavis_client_secret', label: 'true_positive' },
      { token_raw: unknown, token_type: 'clavis_client_secret', label: 'false_positive' },
      { token_raw: dead, token_type: 'clavis_client_secret', label: 'true_positive' },
      { token_raw: old, token_type: 'clavis_client_secret', label: 'true_positive' },
    ]);
    expect(await secretWorks(ts, app.client_id, secret!)).toBe(false);
    expect(await secretWorks(ts, app2.client_id, old)).toBe(false);
    const events = await ts.server.services.ctx.db
      .selectFrom('audit_events')
      .selectAll()
      .where('type', '=', 'secret.leaked')
      .where('app_id', 'in', [app.id, app2.id])
      .orderBy('created_at')
      .execute();
    expect(events.map((e) => [e.actor, JSON.parse(e.data)])).toEqual([
      [
        'system:github-secret-scanning',
        { url: matches[0]!.url, source: 'github', action: 'revoked', location: 'content' },
      ],
      [
        'system:github-secret-scanning',
        { url: matches[3]!.url, source: 'github', action: 'revoked', location: 'gist_content' },
      ],
    ]);
    expect(JSON.stringify(events)).not.toContain(secret);
  });

  it('refuses a bad signature, an unknown key and missing headers with 401, touching nothing', async () => {
    const { app, secret } = await createTestApp(ts);
    const body = JSON.stringify([
      { token: secret, type: 't', url: 'https://github.com/x', source: 'content' },
    ]);
    const tampered = body.replace('content', 'commit!');
    const cases: Array<[string, Record<string, string>]> = [
      [tampered, signed(body)],
      [body, signed(body, stranger)],
      [body, { ...signed(body), 'github-public-key-identifier': stranger.id }],
      [
        body,
        { 'github-public-key-identifier': github.id, 'github-public-key-signature': 'bm90IGEgc2lnbmF0dXJl' },
      ],
      [body, { 'github-public-key-identifier': github.id, 'github-public-key-signature': '%%%' }],
      [body, { 'github-public-key-identifier': github.id }],
      [body, {}],
    ];
    for (const [b, h] of cases) {
      const r = await post(b, h);
      expect(r.status, JSON.stringify(h)).toBe(401);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
    }
    expect(await secretWorks(ts, app.client_id, secret!)).toBe(true);
  });

  it('answers 400 to a signed body that is not an array of matches', async () => {
    for (const body of [
      '{"token":"x"}',
      '[{"type":"t"}]',
      '[{"token":5}]',
      'not json',
      '[{"token":"x","url":"a\\u0000b"}]',
    ]) {
      const r = await post(body, signed(body));
      expect(r.status, body).toBe(400);
    }
    const empty = '[]';
    expect((await post(empty, signed(empty))).json).toEqual([]);
  });
});

describe('GitHub scanning keys', () => {
  let server: Server;
  let url: string;
  let served: string;
  let fetches = 0;
  beforeAll(async () => {
    served = keysDocument(github);
    server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(served);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/meta/public_keys/secret_scanning`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('are fetched from a URL, cached, and fetched again for a new key identifier', async () => {
    let now = 1_000_000;
    const keys = new GitHubScanningKeys(url, { now: () => now, refetchMs: 60_000 });
    const body = Buffer.from('[]');
    const before = fetches;
    expect(await keys.verify(github.id, signBody(github.privateKey, '[]'), body)).toBe(true);
    expect(await keys.verify(github.id, signBody(github.privateKey, '[]'), body)).toBe(true);
    expect(fetches - before).toBe(1);
    // GitHub rotates: a new key appears. An unknown identifier fetches again, at most once a minute.
    const rotated = keyPair();
    served = keysDocument(rotated, github);
    expect(await keys.verify(rotated.id, signBody(rotated.privateKey, '[]'), body)).toBe(false);
    expect(fetches - before).toBe(1);
    now += 61_000;
    expect(await keys.verify(rotated.id, signBody(rotated.privateKey, '[]'), body)).toBe(true);
    expect(fetches - before).toBe(2);
    // Forged identifiers do not hammer GitHub.
    for (let i = 0; i < 5; i++) expect(await keys.verify(`forged-${i}`, 'AAAA', body)).toBe(false);
    expect(fetches - before).toBe(2);
  });

  it('unreadable keys are an error the endpoint answers with 503, never a 500', async () => {
    const keys = new GitHubScanningKeys(join(dir, 'missing.json'));
    await expect(keys.verify(github.id, 'AAAA', Buffer.from('[]'))).rejects.toBeInstanceOf(
      ScanningKeysUnavailable,
    );
    const broken = await startTestServer({
      env: { CLAVIS_GITHUB_SCANNING_KEYS_URL: join(dir, 'missing.json') },
    });
    try {
      const body = '[]';
      const r = await fetch(`${broken.url}/api/v1/credential-leaks/github`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signed(body) },
        body,
      });
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('60');
    } finally {
      await broken.close();
    }
  });
});

describe('configuration', () => {
  const base = { CLAVIS_SECRET_KEY: randomBytes(32).toString('base64url') };
  it("defaults to GitHub's keys and 20/1000 reports an hour; takes a URL or a path; names bad values", () => {
    const c = loadConfig(base);
    expect(c.githubScanningKeysUrl).toBe(GITHUB_SCANNING_KEYS_URL);
    expect(c.githubScanningKeysUrl).toBe('https://api.github.com/meta/public_keys/secret_scanning');
    expect(c.leakReportRate).toEqual({ perAddress: 20, total: 1000 });
    expect(
      loadConfig({ ...base, CLAVIS_GITHUB_SCANNING_KEYS_URL: '/etc/keys.json' }).githubScanningKeysUrl,
    ).toBe('/etc/keys.json');
    expect(loadConfig({ ...base, CLAVIS_LEAK_REPORT_RATE: '2/10' }).leakReportRate).toEqual({
      perAddress: 2,
      total: 10,
    });
    for (const [name, value] of [
      ['CLAVIS_GITHUB_SCANNING_KEYS_URL', 'ftp://example.com/keys'],
      ['CLAVIS_LEAK_REPORT_RATE', 'lots'],
      ['CLAVIS_LEAK_REPORT_RATE', '10/5'],
    ] as const) {
      let err: unknown;
      try {
        loadConfig({ ...base, [name]: value });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(name);
    }
  });
});
