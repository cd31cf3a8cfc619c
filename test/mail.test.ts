import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/config.js';
import type { DomainContext } from '../src/domain/context.js';
import { mailEnabled, maskAddress, queueMail } from '../src/domain/mail.js';
import { escapeHtml, expiryNoticeMail, verifyEmailMail } from '../src/domain/mail-templates.js';
import { countOutbox, drainOutbox } from '../src/domain/outbox.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { startTestSmtp, type TestSmtp } from './helpers/smtp.js';

/** Mail through the outbox to a real SMTP server in the test process, on both databases. */
let smtp: TestSmtp;
let ts: TestServer;
let ctx: DomainContext;
const warnings: string[] = [];

beforeAll(async () => {
  smtp = await startTestSmtp({
    rcpt: (address) =>
      address.startsWith('bounce@')
        ? { code: 550, message: 'No such user here' }
        : address.startsWith('later@')
          ? { code: 451, message: 'Try again later' }
          : undefined,
  });
  ts = await startTestServer({
    env: {
      CLAVIS_SMTP_URL: smtp.url,
      CLAVIS_MAIL_FROM: 'Clavis <clavis@clavis.test>',
      CLAVIS_OUTBOX_POLL_MS: '600000',
    },
  });
  ctx = ts.server.services.ctx;
});
afterAll(async () => {
  await ts?.close();
  await smtp?.close();
});

const log = { info() {}, warn: (o: object, m?: string) => warnings.push(`${m} ${JSON.stringify(o)}`) };

describe('configuration', () => {
  it('reads CLAVIS_SMTP_URL and CLAVIS_MAIL_FROM, with a default sender', () => {
    const base = { CLAVIS_ISSUER: 'https://id.example.com' };
    expect(loadConfig(base).mail).toBeUndefined();
    const c = loadConfig({ ...base, CLAVIS_SMTP_URL: 'smtps://u:p%40ss@mail.example.com' });
    expect(c.mail).toMatchObject({ from: 'Clavis <no-reply@id.example.com>', timeoutMs: 30_000 });
    expect(c.mail?.smtpUrl).toBe('smtps://u:p%40ss@mail.example.com');
  });

  it('requires STARTTLS on smtp:// unless the relay is on this machine or CLAVIS_SMTP_REQUIRE_TLS=false', () => {
    const base = { CLAVIS_ISSUER: 'https://id.example.com' };
    const requireTls = (env: Record<string, string>) => loadConfig({ ...base, ...env }).mail?.requireTls;
    expect(requireTls({ CLAVIS_SMTP_URL: 'smtp://u:p@mail.example.com:587' })).toBe(true);
    expect(requireTls({ CLAVIS_SMTP_URL: 'smtp://10.0.0.5:25' })).toBe(true);
    expect(requireTls({ CLAVIS_SMTP_URL: 'smtps://mail.example.com' })).toBe(true);
    for (const host of ['127.0.0.1', '127.0.0.53', 'localhost', '[::1]'])
      expect(requireTls({ CLAVIS_SMTP_URL: `smtp://${host}:25` }), host).toBe(false);
    // localhost.example.com is not this machine.
    expect(requireTls({ CLAVIS_SMTP_URL: 'smtp://localhost.example.com' })).toBe(true);
    expect(requireTls({ CLAVIS_SMTP_URL: 'smtp://mail.internal:25', CLAVIS_SMTP_REQUIRE_TLS: 'false' })).toBe(
      false,
    );
    expect(requireTls({ CLAVIS_SMTP_URL: 'smtp://127.0.0.1:25', CLAVIS_SMTP_REQUIRE_TLS: 'true' })).toBe(
      true,
    );
    // TLS from the start cannot be switched off.
    expect(requireTls({ CLAVIS_SMTP_URL: 'smtps://mail.example.com', CLAVIS_SMTP_REQUIRE_TLS: 'no' })).toBe(
      true,
    );
  });

  it('refuses bad values, naming the variable', () => {
    const bad: Array<[Record<string, string>, string]> = [
      [{ CLAVIS_SMTP_URL: 'http://mail.example.com' }, 'CLAVIS_SMTP_URL'],
      [{ CLAVIS_SMTP_URL: 'not a url' }, 'CLAVIS_SMTP_URL'],
      [{ CLAVIS_SMTP_URL: 'smtp://h', CLAVIS_MAIL_FROM: 'no address' }, 'CLAVIS_MAIL_FROM'],
      [{ CLAVIS_SMTP_URL: 'smtp://h', CLAVIS_MAIL_FROM: 'a@b.c\r\nBcc: x@y.z' }, 'CLAVIS_MAIL_FROM'],
      [{ CLAVIS_MAIL_FROM: 'a@b.c' }, 'CLAVIS_MAIL_FROM'],
      [{ CLAVIS_SMTP_URL: 'smtp://h', CLAVIS_SMTP_TIMEOUT: '0' }, 'CLAVIS_SMTP_TIMEOUT'],
      [{ CLAVIS_SMTP_URL: 'smtp://h', CLAVIS_SMTP_REQUIRE_TLS: 'maybe' }, 'CLAVIS_SMTP_REQUIRE_TLS'],
    ];
    for (const [env, variable] of bad) {
      let err: unknown;
      try {
        loadConfig(env);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(env)).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(variable);
    }
  });
});

describe('templates', () => {
  it('escape every value in HTML and keep control characters out of text and subject', () => {
    const m = verifyEmailMail({
      name: '<img src=x onerror=alert(1)>\r\nBcc: x',
      link: 'https://a.test/v?t=1&u=2',
      minutes: 60,
    });
    expect(m.html).not.toContain('<img src=x');
    expect(m.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(m.html).toContain('href="https://a.test/v?t=1&amp;u=2"');
    expect(m.text).not.toMatch(/Bcc: x\n/);
    const n = expiryNoticeMail({
      app: { name: 'A "quoted" <b>app</b>\nSubject: x', client_id: 'cid' },
      secret: { hint: 'abc', description: '<i>d</i>', expires_at: Date.UTC(2030, 0, 2) },
      daysLeft: 7,
      superseded: false,
      link: 'https://x.test/apps/1',
    });
    expect(n.subject).not.toMatch(/[\r\n]/);
    expect(n.html).toContain(escapeHtml('A "quoted" <b>app</b>'));
    expect(n.html).not.toContain('<b>app</b>');
    expect(n.html).not.toContain('<i>d</i>');
    expect(maskAddress('alice@example.com')).toBe('a***@example.com');
  });
});

describe('sending', () => {
  it('queues sealed mail in a transaction and the worker delivers it with the outbox id as Message-ID', async () => {
    expect(mailEnabled(ctx)).toBe(true);
    const content = verifyEmailMail({
      name: 'Ada',
      link: 'https://clavis.test/signup/verify?token=SECRET-LINK',
      minutes: 60,
    });
    const id = await ctx.db
      .transaction()
      .execute((trx) => queueMail(ctx, trx, { to: 'ada@example.com', content }));
    expect(id).toBeTruthy();
    // The link (a single-use token) is not readable in the table.
    const row = await ctx.db
      .selectFrom('outbox')
      .selectAll()
      .where('id', '=', id as string)
      .executeTakeFirstOrThrow();
    expect(row.payload).not.toContain('SECRET-LINK');
    expect(row.payload).not.toContain('ada@example.com');
    expect(await drainOutbox(ctx, { kinds: ['mail'], log })).toEqual({ delivered: 1, failed: 0, retried: 0 });
    const [mail] = smtp.to('ada@example.com');
    expect(mail?.subject).toBe('Confirm your email address');
    expect(mail?.from).toBe('clavis@clavis.test');
    expect(mail?.messageId).toContain(id as string);
    expect(mail?.text).toContain('https://clavis.test/signup/verify?token=SECRET-LINK');
    expect(mail?.html).toContain('Confirm and create my account');
  });

  it('a bounce (550) is logged and marked failed, not retried', async () => {
    const content = verifyEmailMail({ name: 'B', link: 'https://clavis.test/x', minutes: 60 });
    const id = (await queueMail(ctx, ctx.db, { to: 'bounce@example.com', content })) as string;
    expect(await drainOutbox(ctx, { kinds: ['mail'], log })).toEqual({ delivered: 0, failed: 1, retried: 0 });
    const row = await ctx.db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.status).toBe('failed');
    expect(row.last_error).toMatch(/bounced: 550/);
    expect(warnings.join('\n')).toMatch(/mail bounced.*b\*\*\*@example\.com/);
    expect(warnings.join('\n')).not.toContain('bounce@example.com');
    expect(smtp.to('bounce@example.com')).toHaveLength(0);
  });

  it('a temporary refusal (451) is retried later', async () => {
    const content = verifyEmailMail({ name: 'L', link: 'https://clavis.test/x', minutes: 60 });
    const id = (await queueMail(ctx, ctx.db, { to: 'later@example.com', content })) as string;
    expect(await drainOutbox(ctx, { kinds: ['mail'], log })).toEqual({ delivered: 0, failed: 0, retried: 1 });
    const row = await ctx.db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.status).toBe('pending');
    expect(row.available_at).toBeGreaterThan(ctx.now());
    await ctx.db.deleteFrom('outbox').where('id', '=', id).execute();
  });
});

describe('a server that offers no STARTTLS', () => {
  it('gets no mail while TLS is required: the message waits in the outbox for another try', async () => {
    // The test SMTP server never offers STARTTLS; on loopback TLS is optional unless required explicitly.
    const env = { CLAVIS_SMTP_URL: smtp.url, CLAVIS_OUTBOX_POLL_MS: '600000' };
    const strict = await startTestServer({ env: { ...env, CLAVIS_SMTP_REQUIRE_TLS: 'true' } });
    const to = `tls-${Date.now()}@example.com`;
    let id: string;
    try {
      const sctx = strict.server.services.ctx;
      const content = verifyEmailMail({ name: 'T', link: 'https://clavis.test/x?token=SECRET', minutes: 60 });
      id = (await queueMail(sctx, sctx.db, { to, content })) as string;
      expect(await drainOutbox(sctx, { kinds: ['mail'], log })).toEqual({
        delivered: 0,
        failed: 0,
        retried: 1,
      });
      const row = await sctx.db
        .selectFrom('outbox')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      expect(row.status).toBe('pending');
      expect(row.last_error).toMatch(/TLS/i);
      expect(smtp.to(to)).toHaveLength(0);
    } finally {
      await strict.close();
    }
  });
});

describe('without SMTP configuration', () => {
  it('queues nothing and nothing fails', async () => {
    const plain = await startTestServer({ env: { CLAVIS_OUTBOX_POLL_MS: '600000' } });
    try {
      const pctx = plain.server.services.ctx;
      expect(mailEnabled(pctx)).toBe(false);
      const content = verifyEmailMail({ name: 'N', link: 'https://clavis.test/x', minutes: 60 });
      expect(await queueMail(pctx, pctx.db, { to: 'n@example.com', content })).toBeNull();
      expect(await countOutbox(pctx, 'mail')).toEqual({ pending: 0, done: 0, failed: 0 });
    } finally {
      await plain.close();
    }
  });
});
