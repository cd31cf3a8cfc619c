import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listAuditEvents } from '../src/domain/audit.js';
import type { DomainContext } from '../src/domain/context.js';
import {
  daysLeft,
  listSentExpiryNotices,
  scanExpiryNotices,
  thresholdFor,
} from '../src/domain/expiry-notices.js';
import { drainOutbox } from '../src/domain/outbox.js';
import { addSecret } from '../src/domain/secrets.js';
import { runCli } from './helpers/cli.js';
import { createTestApp, startTestServer, type TestServer } from './helpers/server.js';
import { startTestSmtp, type TestSmtp } from './helpers/smtp.js';
import { createTenant, createUser, type TestUser } from './helpers/users.js';

/** Expiry notices at 30, 7, 1 days and on expiry: mail and events, each once, on both databases. */
const DAY = 86_400_000;
let clock = Date.UTC(2031, 0, 1);
let ts: TestServer;
let smtp: TestSmtp;
let ctx: DomainContext;
let tenantId: string;
let owner: TestUser;
let admin1: TestUser;
let admin2: TestUser;

beforeAll(async () => {
  smtp = await startTestSmtp();
  ts = await startTestServer({
    now: () => clock,
    env: { CLAVIS_SMTP_URL: smtp.url, CLAVIS_OUTBOX_POLL_MS: '600000', CLAVIS_NOTIFY_INTERVAL: '604800' },
    // The tests run the scan themselves: the server's own first scan, 5 s after start, would claim notices.
    expiryScan: false,
  });
  ctx = ts.server.services.ctx;
  tenantId = (await createTenant(ts)).id;
  owner = await createUser(ts, { tenantId, role: 'developer' });
  admin1 = await createUser(ts, { tenantId, role: 'admin' });
  admin2 = await createUser(ts, { tenantId, role: 'admin' });
});
afterAll(async () => {
  await ts?.close();
  await smtp?.close();
});
beforeEach(() => {
  smtp.mails.length = 0;
});

/** An app of the test tenant owned by `owner`, whose one secret expires at `expiresAt`. */
async function appWithSecret(expiresAt: number, name = 'Billing sync') {
  const { app, secretId } = await createTestApp(ts, { name }, { tenantId });
  await ctx.db.updateTable('apps').set({ owner_user_id: owner.user.id }).where('id', '=', app.id).execute();
  await ctx.db
    .updateTable('client_secrets')
    .set({ expires_at: expiresAt })
    .where('id', '=', secretId as string)
    .execute();
  return { app, secretId: secretId as string };
}

async function events(secretId: string) {
  const rows = await ctx.db.selectFrom('outbox').select(['payload']).where('kind', '=', 'event').execute();
  return (
    rows
      .map(
        (r) => JSON.parse(r.payload) as { type: string; data: { secret: { id: string }; days_left: number } },
      )
      // Only the notices: creating the app and its secrets publishes app.created and secret.created too.
      .filter((e) => e.data.secret?.id === secretId && e.type.startsWith('secret.expir'))
  );
}

describe('thresholds', () => {
  it('picks the nearest threshold, 0 once expired, none far out or long expired', () => {
    const now = clock;
    expect(thresholdFor(now + 31 * DAY, now)).toBeNull();
    expect(thresholdFor(now + 30 * DAY, now)).toBe(30);
    expect(thresholdFor(now + 8 * DAY, now)).toBe(30);
    expect(thresholdFor(now + 7 * DAY, now)).toBe(7);
    expect(thresholdFor(now + 2 * DAY, now)).toBe(7);
    expect(thresholdFor(now + DAY, now)).toBe(1);
    expect(thresholdFor(now, now)).toBe(0);
    expect(thresholdFor(now - 8 * DAY, now)).toBeNull();
    expect(daysLeft(now + 29.2 * DAY, now)).toBe(30);
    expect(daysLeft(now - DAY, now)).toBe(0);
  });
});

describe('scan', () => {
  it('sends each notice once to the owner and the admins, by mail and as an event, and audits it', async () => {
    const start = clock;
    const { app, secretId } = await appWithSecret(start + 30 * DAY - 3600_000);
    const [notice, ...more] = (await scanExpiryNotices(ctx)).filter((n) => n.secret.id === secretId);
    expect(more).toHaveLength(0);
    expect(notice).toMatchObject({
      threshold: 30,
      days_left: 30,
      event: 'secret.expiring',
      superseded: false,
      app: { id: app.id, client_id: app.client_id, name: 'Billing sync' },
    });
    expect(notice?.recipients).toEqual([admin1.email, admin2.email, owner.email].sort());
    // Scanning again, or from another node at once, sends nothing more.
    const again = await Promise.all([scanExpiryNotices(ctx), scanExpiryNotices({ ...ctx })]);
    expect(again.flat().filter((n) => n.secret.id === secretId)).toHaveLength(0);

    const [event] = await events(secretId);
    expect(event).toMatchObject({
      type: 'secret.expiring',
      tenant_id: tenantId,
      data: {
        days_left: 30,
        app: { id: app.id, client_id: app.client_id, name: 'Billing sync' },
        // Named as every app and secret event is: an ISO date, and the actor's id.
        secret: { id: secretId, expires_at: new Date(start + 30 * DAY - 3600_000).toISOString() },
        actor: 'system',
      },
    });
    expect(JSON.stringify(event)).not.toMatch(/"value"|"hash"/);

    await drainOutbox(ctx, { kinds: ['mail'] });
    for (const u of [owner, admin1, admin2]) {
      const [mail, ...dup] = smtp.to(u.email);
      expect(dup).toHaveLength(0);
      expect(mail?.subject).toBe('A client secret of Billing sync expires in 30 days');
      expect(mail?.text).toContain(app.client_id);
      expect(mail?.html).toContain(`/apps/${app.id}/oauth`);
    }

    const audit = await listAuditEvents(ctx, { appId: app.id, type: 'secret.expiry_notice' });
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({ secret_id: secretId, data: { threshold: 30, recipients: 3 } });

    // 7 days, then the clock moves back: no second 30-day notice, nothing out of order.
    clock = start + 23.5 * DAY;
    expect(
      (await scanExpiryNotices(ctx)).filter((n) => n.secret.id === secretId).map((n) => n.threshold),
    ).toEqual([7]);
    clock = start + 5 * DAY;
    expect((await scanExpiryNotices(ctx)).filter((n) => n.secret.id === secretId)).toHaveLength(0);
    clock = start + 29 * DAY;
    expect(
      (await scanExpiryNotices(ctx)).filter((n) => n.secret.id === secretId).map((n) => n.days_left),
    ).toEqual([1]);
    clock = start + 30 * DAY;
    const expired = (await scanExpiryNotices(ctx)).filter((n) => n.secret.id === secretId);
    expect(expired.map((n) => [n.threshold, n.event, n.days_left])).toEqual([[0, 'secret.expired', 0]]);
    expect((await scanExpiryNotices(ctx)).filter((n) => n.secret.id === secretId)).toHaveLength(0);

    const sent = (await listSentExpiryNotices(ctx, [secretId])).get(secretId);
    expect(sent?.map((s) => s.threshold)).toEqual([30, 7, 1, 0]);
    expect((await events(secretId)).map((e) => e.type)).toEqual([
      'secret.expiring',
      'secret.expiring',
      'secret.expiring',
      'secret.expired',
    ]);
    clock = start;
  });

  it('a secret with a newer active secret is mentioned as superseded', async () => {
    const { app, secretId } = await appWithSecret(clock + 6 * DAY, 'Rotated app');
    await addSecret(ctx, { id: 'user:t', tenantId, role: 'admin', platformAdmin: true }, app.id, {
      expires_in_months: 6,
    });
    const [n] = (await scanExpiryNotices(ctx)).filter((x) => x.secret.id === secretId);
    expect(n).toMatchObject({ threshold: 7, superseded: true });
    const [event] = await events(secretId);
    expect(event?.data).toMatchObject({ superseded: true });
    await drainOutbox(ctx, { kinds: ['mail'] });
    expect(smtp.to(owner.email)[0]?.text).toContain('already has a newer active secret');
  });

  it('the tenant setting chooses who is mailed; the event goes out either way', async () => {
    await ctx.db
      .updateTable('tenants')
      .set({ expiry_notice_recipients: 'owner' })
      .where('id', '=', tenantId)
      .execute();
    const a = await appWithSecret(clock + 2 * DAY, 'Owner only');
    expect((await scanExpiryNotices(ctx)).find((n) => n.secret.id === a.secretId)?.recipients).toEqual([
      owner.email,
    ]);
    await ctx.db
      .updateTable('tenants')
      .set({ expiry_notice_recipients: 'none' })
      .where('id', '=', tenantId)
      .execute();
    const b = await appWithSecret(clock + 2 * DAY, 'Nobody');
    expect((await scanExpiryNotices(ctx)).find((n) => n.secret.id === b.secretId)?.recipients).toEqual([]);
    expect(await events(b.secretId)).toHaveLength(1);
    await ctx.db
      .updateTable('tenants')
      .set({ expiry_notice_recipients: 'owner_and_admins' })
      .where('id', '=', tenantId)
      .execute();
  });

  it('revoked secrets and deleted apps get no notice; a dry run writes nothing', async () => {
    const r = await appWithSecret(clock + 2 * DAY, 'Revoked');
    await ctx.db
      .updateTable('client_secrets')
      .set({ revoked_at: clock })
      .where('id', '=', r.secretId)
      .execute();
    const d = await appWithSecret(clock + 2 * DAY, 'Dry');
    const dry = await scanExpiryNotices(ctx, { dryRun: true });
    expect(dry.find((n) => n.secret.id === r.secretId)).toBeUndefined();
    expect(dry.find((n) => n.secret.id === d.secretId)?.threshold).toBe(7);
    expect((await listSentExpiryNotices(ctx, [d.secretId])).size).toBe(0);
    expect(await events(d.secretId)).toHaveLength(0);
    expect((await scanExpiryNotices(ctx)).find((n) => n.secret.id === d.secretId)?.threshold).toBe(7);
  });

  it('many concurrent scans send a notice exactly once', async () => {
    const ids = await Promise.all(
      Array.from(
        { length: 5 },
        async (_, i) => (await appWithSecret(clock + (i + 1) * DAY, `Busy ${i}`)).secretId,
      ),
    );
    const runs = await Promise.all(Array.from({ length: 6 }, () => scanExpiryNotices({ ...ctx })));
    const sent = runs.flat().filter((n) => ids.includes(n.secret.id));
    expect(sent).toHaveLength(5);
    for (const id of ids) expect(await events(id)).toHaveLength(1);
  });
});

describe('clavis notify', () => {
  it('--dry-run prints what it would send; without it, sends once', async () => {
    // The CLI runs in its own process on the real clock: a secret that expires in 3 real days.
    const { app, secretId } = await appWithSecret(Date.now() + 3 * DAY, 'CLI app');
    const env = {
      CLAVIS_DATABASE_URL: ts.db.url,
      CLAVIS_SECRET_KEY: ts.config.secretKey.toString('base64url'),
      CLAVIS_ISSUER: ts.url,
      CLAVIS_SMTP_URL: smtp.url,
    };
    const dry = await runCli(['notify', '--dry-run', '--json'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    const planned = JSON.parse(dry.stdout) as {
      dry_run: boolean;
      notices: Array<{ secret: { id: string } }>;
    };
    expect(planned.dry_run).toBe(true);
    expect(planned.notices.map((n) => n.secret.id)).toContain(secretId);
    expect(await events(secretId)).toHaveLength(0);

    const text = await runCli(['notify', '--dry-run'], { env });
    expect(text.stdout).toContain('Would send:');
    expect(text.stdout).toContain(app.client_id);

    const real = await runCli(['notify'], { env });
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toContain('Sent:');
    expect(real.stdout).toMatch(/Mail: \d+ sent/);
    expect(await events(secretId)).toHaveLength(1);
    expect(smtp.mails.filter((m) => m.subject.includes('CLI app'))).toHaveLength(3);
    const second = await runCli(['notify'], { env });
    expect(second.stdout).not.toContain(app.client_id);
    expect(await events(secretId)).toHaveLength(1);
  });
});
