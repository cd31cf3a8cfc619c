import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { ExpiryNoticeRecipients } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { recordAudit } from './audit.js';
import type { DomainContext } from './context.js';
import { invalid } from './errors.js';
import { publishAppEvent } from './event-data.js';
import { queueMail } from './mail.js';
import { expiryNoticeMail } from './mail-templates.js';

/**
 * Secret expiry notices: 30, 7 and 1 days before a secret's `expires_at`, and once it has expired, the app's
 * owner and the tenant's admins (as the tenant's setting says) get a mail, and a `secret.expiring` /
 * `secret.expired` event is published. A notice is one row per secret and threshold
 * (`secret_expiry_notices`), inserted in the transaction that queues its mail and event: a second node, a
 * restart or a rerun finds the row and sends nothing. A threshold is skipped once a nearer one was sent,
 * so a clock moving backwards does not send an earlier notice after a later one.
 */

const DAY_MS = 86_400_000;
/** Days before expiry at which a notice goes out; 0 is "has expired". */
export const EXPIRY_THRESHOLDS = [30, 7, 1, 0] as const;
/** An expired notice is sent only this long after the expiry (not for secrets that expired long ago). */
const EXPIRED_NOTICE_WINDOW_MS = 7 * DAY_MS;

export const EXPIRY_RECIPIENT_SETTINGS: readonly ExpiryNoticeRecipients[] = [
  'owner_and_admins',
  'owner',
  'admins',
  'none',
];

/** @throws DomainError `validation` on `expiry_notice_recipients` unless `v` is a setting. */
export function checkExpiryRecipients(v: string): ExpiryNoticeRecipients {
  if (!(EXPIRY_RECIPIENT_SETTINGS as readonly string[]).includes(v))
    throw invalid('expiry_notice_recipients', `Choose one of ${EXPIRY_RECIPIENT_SETTINGS.join(', ')}.`);
  return v as ExpiryNoticeRecipients;
}

/** The threshold a secret is at: the nearest of 30/7/1 days it is within, 0 once expired, else null. */
export function thresholdFor(expiresAt: number, now: number): number | null {
  const left = expiresAt - now;
  if (left <= 0) return -left <= EXPIRED_NOTICE_WINDOW_MS ? 0 : null;
  let at: number | null = null;
  for (const t of EXPIRY_THRESHOLDS) if (t > 0 && left <= t * DAY_MS) at = t;
  return at;
}

/** Whole days left (rounded up), 0 once expired: the `days_left` of events and mails. */
export function daysLeft(expiresAt: number, now: number): number {
  return Math.max(0, Math.ceil((expiresAt - now) / DAY_MS));
}

/** A notice a scan sends (or, in a dry run, would send). */
export interface ExpiryNotice {
  threshold: number;
  days_left: number;
  event: 'secret.expiring' | 'secret.expired';
  tenant_id: string;
  app: { id: string; client_id: string; name: string };
  secret: { id: string; hint: string; expires_at: number };
  /** A newer active secret of the same app, which outlives this one, exists. */
  superseded: boolean;
  /** Addresses mailed (none when mail is not configured or the tenant setting is `none`). */
  recipients: string[];
}

interface Candidate {
  secret_id: string;
  hint: string;
  description: string;
  expires_at: number;
  created_at: number;
  app_id: string;
  client_id: string;
  app_name: string;
  owner_user_id: string | null;
  tenant_id: string;
  setting: ExpiryNoticeRecipients;
}

async function candidates(db: Db, now: number): Promise<Candidate[]> {
  const rows = await db
    .selectFrom('client_secrets as s')
    .innerJoin('apps as a', 'a.id', 's.app_id')
    .innerJoin('tenants as t', 't.id', 'a.tenant_id')
    .select([
      's.id as secret_id',
      's.hint',
      's.description',
      's.expires_at',
      's.created_at',
      'a.id as app_id',
      'a.client_id',
      'a.name as app_name',
      'a.owner_user_id',
      'a.tenant_id',
      't.expiry_notice_recipients as setting',
    ])
    .where('s.revoked_at', 'is', null)
    .where('a.deleted_at', 'is', null)
    .where('s.expires_at', 'is not', null)
    .where('s.expires_at', '<=', now + EXPIRY_THRESHOLDS[0] * DAY_MS)
    .where('s.expires_at', '>', now - EXPIRED_NOTICE_WINDOW_MS)
    .orderBy('s.expires_at')
    .execute();
  return rows as Candidate[];
}

async function recipientsFor(db: Db, c: Candidate): Promise<string[]> {
  if (c.setting === 'none') return [];
  const ids: string[] = [];
  const emails = new Set<string>();
  if (c.setting !== 'admins' && c.owner_user_id) ids.push(c.owner_user_id);
  const q = db
    .selectFrom('users')
    .select('email')
    .where('disabled_at', 'is', null)
    .where('is_test_user', '=', 0);
  if (ids.length) for (const u of await q.where('id', 'in', ids).execute()) emails.add(u.email);
  if (c.setting !== 'owner')
    for (const u of await q.where('tenant_id', '=', c.tenant_id).where('role', '=', 'admin').execute())
      emails.add(u.email);
  return [...emails].sort();
}

async function isSuperseded(db: Db, c: Candidate, now: number): Promise<boolean> {
  const newer = await db
    .selectFrom('client_secrets')
    .select('id')
    .where('app_id', '=', c.app_id)
    .where('id', '!=', c.secret_id)
    .where('revoked_at', 'is', null)
    // Newer (created with or after it) and outliving it: the app has moved on to that one.
    .where('created_at', '>=', c.created_at)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', Math.max(now, c.expires_at))]))
    .executeTakeFirst();
  return newer !== undefined;
}

/** Whether this threshold (or a nearer one) was already sent for the secret. */
async function alreadySent(db: Db, secretId: string, threshold: number): Promise<boolean> {
  const row = await db
    .selectFrom('secret_expiry_notices')
    .select('threshold')
    .where('secret_id', '=', secretId)
    .where('threshold', '<=', threshold)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Finds the notices due now and sends each once: in one transaction per notice, its row, the mails (through
 * the outbox), the event and an audit record. With `dryRun`, nothing is written and the notices that would
 * be sent are returned. Safe on several nodes at once.
 */
export async function scanExpiryNotices(
  ctx: DomainContext,
  opts: { dryRun?: boolean } = {},
): Promise<ExpiryNotice[]> {
  const now = ctx.now();
  const sent: ExpiryNotice[] = [];
  for (const c of await candidates(ctx.db, now)) {
    const threshold = thresholdFor(c.expires_at, now);
    if (threshold === null) continue;
    if (await alreadySent(ctx.db, c.secret_id, threshold)) continue;
    const notice: ExpiryNotice = {
      threshold,
      days_left: daysLeft(c.expires_at, now),
      event: threshold === 0 ? 'secret.expired' : 'secret.expiring',
      tenant_id: c.tenant_id,
      app: { id: c.app_id, client_id: c.client_id, name: c.app_name },
      secret: { id: c.secret_id, hint: c.hint, expires_at: c.expires_at },
      superseded: await isSuperseded(ctx.db, c, now),
      recipients: ctx.config.mail ? await recipientsFor(ctx.db, c) : [],
    };
    if (opts.dryRun) {
      sent.push(notice);
      continue;
    }
    const done = await inTransaction(ctx.db, async (trx) => {
      // The unique (secret, threshold) row: whoever inserts it sends the notice; everyone else skips it.
      const inserted = await trx
        .insertInto('secret_expiry_notices')
        .values({ secret_id: c.secret_id, threshold, sent_at: now, recipients: notice.recipients.length })
        .onConflict((oc) => oc.columns(['secret_id', 'threshold']).doNothing())
        .returning('secret_id')
        .executeTakeFirst();
      if (!inserted) return false;
      const content = expiryNoticeMail({
        app: { name: c.app_name, client_id: c.client_id },
        secret: { hint: c.hint, description: c.description, expires_at: c.expires_at },
        daysLeft: notice.days_left,
        superseded: notice.superseded,
        link: `${ctx.config.issuer}/apps/${encodeURIComponent(c.app_id)}/oauth`,
      });
      for (const to of notice.recipients)
        await queueMail(ctx, trx, { to, content, dedupe_key: `expiry:${c.secret_id}:${threshold}:${to}` });
      // Named like every other app and secret event (event-data.ts): ISO `expires_at`, the actor's id.
      await publishAppEvent(
        { now: () => now },
        trx,
        notice.event,
        { ...notice.app, tenant_id: c.tenant_id },
        'system',
        { secret: notice.secret, days_left: notice.days_left, superseded: notice.superseded },
        { dedupe_key: `expiry:${c.secret_id}:${threshold}` },
      );
      await recordAudit(ctx, trx, {
        type: 'secret.expiry_notice',
        actor: 'system',
        tenantId: c.tenant_id,
        appId: c.app_id,
        secretId: c.secret_id,
        data: {
          threshold,
          days_left: notice.days_left,
          superseded: notice.superseded,
          recipients: notice.recipients.length,
        },
      });
      return true;
    });
    if (done) sent.push(notice);
  }
  return sent;
}

/** A notice already sent for a secret, for the hub ("expiry notices sent: 30 days (date), …"). */
export interface SentExpiryNotice {
  threshold: number;
  sent_at: number;
  recipients: number;
}

/** The notices sent for each of these secrets, farthest threshold first. */
export async function listSentExpiryNotices(
  ctx: DomainContext,
  secretIds: readonly string[],
): Promise<Map<string, SentExpiryNotice[]>> {
  const out = new Map<string, SentExpiryNotice[]>();
  if (secretIds.length === 0) return out;
  const rows = await ctx.db
    .selectFrom('secret_expiry_notices')
    .select(['secret_id', 'threshold', 'sent_at', 'recipients'])
    .where('secret_id', 'in', [...secretIds])
    .orderBy('secret_id')
    .orderBy(sql`threshold`, 'desc')
    .execute();
  for (const r of rows) {
    const list = out.get(r.secret_id) ?? [];
    list.push({ threshold: r.threshold, sent_at: r.sent_at, recipients: r.recipients });
    out.set(r.secret_id, list);
  }
  return out;
}
