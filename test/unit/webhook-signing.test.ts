import { lookup } from 'node:dns/promises';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWebhookSecret, signWebhook, webhookHeaders } from '../../src/crypto/webhook-signature.js';
import { hostAddress, isPublicAddress } from '../../src/domain/webhook-address.js';
import { checkWebhookUrl, postWebhook } from '../../src/domain/webhook-http.js';

describe('Standard Webhooks signatures', () => {
  it('verify with the standardwebhooks package, and fail when anything changes', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const body = JSON.stringify({ type: 'app.created', timestamp: new Date().toISOString(), data: { a: 1 } });
    const ts = Math.floor(Date.now() / 1000);
    const headers = webhookHeaders([secret], 'msg_1', ts, body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    // Same value as the library's own signer.
    expect(headers['webhook-signature']).toBe(new Webhook(secret).sign('msg_1', new Date(ts * 1000), body));
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'msg_2' })).toThrow();
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
  });

  it('during a rotation both secrets sign, space-separated, and either verifies', () => {
    const [a, b] = [generateWebhookSecret(), generateWebhookSecret()];
    const ts = Math.floor(Date.now() / 1000);
    const headers = webhookHeaders([a, b], 'msg_x', ts, '{}');
    expect(headers['webhook-signature'].split(' ')).toEqual([
      signWebhook(a, 'msg_x', ts, '{}'),
      signWebhook(b, 'msg_x', ts, '{}'),
    ]);
    expect(new Webhook(a).verify('{}', headers)).toEqual({});
    expect(new Webhook(b).verify('{}', headers)).toEqual({});
  });
});

describe('webhook addresses (SSRF)', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fe80::1',
    'fd00:ec2::254',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '64:ff9b::a9fe:a9fe',
    '2002:c0a8:0101::1',
    '224.0.0.1',
  ])('%s is refused', (ip) => expect(isPublicAddress(ip)).toBe(false));

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('%s is public', (ip) =>
    expect(isPublicAddress(ip)).toBe(true),
  );

  it('URLs: https only; IP literals in any spelling and local names refused; the flag lifts both', () => {
    const refused = [
      'http://example.com/hook',
      'ftp://example.com/',
      'https://127.0.0.1/x',
      'https://2130706433/x', // 127.0.0.1 as one number
      'https://0x7f.1/x',
      'https://[::1]/x',
      'https://[::ffff:169.254.169.254]/x',
      'https://localhost/x',
      'https://metadata.google.internal/x',
      'https://user:pw@example.com/x',
      'not a url',
    ];
    for (const u of refused) expect(() => checkWebhookUrl(u, false), u).toThrow();
    expect(checkWebhookUrl('https://example.com/hook', false).hostname).toBe('example.com');
    expect(checkWebhookUrl('http://127.0.0.1:9/x', true).port).toBe('9');
    expect(hostAddress('[::1]')).toBe('::1');
    expect(hostAddress('example.com')).toBeUndefined();
  });
});

describe('postWebhook', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/hang') return; // never answers
      if (req.url === '/redirect') return res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end();
      if (req.url === '/big') {
        res.writeHead(200);
        const chunk = Buffer.alloc(16 * 1024, 97);
        const write = () => {
          while (res.write(chunk)) {}
          res.once('drain', write);
        };
        return write();
      }
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('a 2xx is ok; a redirect is a failure and is not followed', async () => {
    expect(await postWebhook(`${base}/ok`, {}, '{}', { allowPrivate: true })).toMatchObject({
      ok: true,
      statusCode: 204,
      error: null,
    });
    const r = await postWebhook(`${base}/redirect`, {}, '{}', { allowPrivate: true });
    expect(r).toMatchObject({ ok: false, statusCode: 302 });
    expect(r.error).toMatch(/redirects are not followed/);
  });

  it('a receiver that hangs is cut off at the timeout', async () => {
    const r = await postWebhook(`${base}/hang`, {}, '{}', { allowPrivate: true, timeoutMs: 300 });
    expect(r.ok).toBe(false);
    expect(r.statusCode).toBeNull();
    expect(r.error).toMatch(/No answer within/);
    expect(r.durationMs).toBeGreaterThanOrEqual(290);
    expect(r.durationMs).toBeLessThan(2000);
  });

  it('an endless answer is not read past 64 KiB', async () => {
    const r = await postWebhook(`${base}/big`, {}, '{}', { allowPrivate: true, timeoutMs: 5000 });
    expect(r).toMatchObject({ ok: true, statusCode: 200 });
  });

  it('without the flag, a name resolving to loopback is refused after DNS, before connecting', async () => {
    const port = (server.address() as { port: number }).port;
    // The machine's own name resolves to a loopback address (/etc/hosts) and looks like any public name.
    const name = hostname();
    const { address } = await lookup(name);
    expect(isPublicAddress(address)).toBe(false);
    const r = await postWebhook(`https://${name}:${port}/ok`, {}, '{}', { allowPrivate: false });
    expect(r.ok).toBe(false);
    expect(r.statusCode).toBeNull();
    expect(r.error).toBe(
      `${name} resolves to a loopback, private, link-local or reserved address, which webhooks may not reach.`,
    );
    expect(r.error).not.toContain(address);
    const lit = await postWebhook(`https://127.0.0.1:${port}/ok`, {}, '{}', { allowPrivate: false });
    expect(lit.error).toMatch(/may not reach/);
  });
});
