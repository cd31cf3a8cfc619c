import { uuid } from '../crypto/random.js';
import type { Db } from '../db/database.js';
import type { CredentialLeakSource, CredentialLeakTable } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { recordAudit } from './audit.js';
import type { DomainContext } from './context.js';
import { publishAppEvent } from './event-data.js';
import { queueMail } from './mail.js';
import { leakedSecretMail } from './mail-templates.js';
import { checkSecretFormat } from './secret-issuance.js';

/**
 * Leaked client secrets: what happens when someone reports a value found in public (`POST
 * /api/v1/credential-leaks`) or GitHub's secret scanning sends one. A live secret is revoked at once (or,
 * by the tenant's `leaked_secret_policy`, left working), and the report is recorded with where the value
 * was found, never the value itself. The one home of that rule; the HTTP surface only parses and answers.
 */

/** The audit actor of each source: a leak report has no signed-in actor. */
export const LEAK_ACTORS: Readonly<Record<CredentialLeakSource, string>> = {
  report: 'system:leak-report',
  github: 'system:github-secret-scanning',
};

/** A leaked value and where it was found. */
export interface LeakReport {
  /** The value as found; only its keyed hash is ever looked up, and it is never stored or logged. */
  credential: string;
  /** Where it was found (a URL as the reporter gave it; GitHub's may be empty). */
  url: string;
  source: CredentialLeakSource;
  /** GitHub's `source` (content, commit, issue_comment, ...): kept in the audit event. */
  location?: string;
}

/** What a report came to. Only the GitHub endpoint tells its caller (as a label); reporters learn nothing. */
export type LeakOutcome =
  /** The current format with a wrong checksum: never a Clavis secret; no lookup was made. */
  | { kind: 'malformed' }
  /** No secret has this value. */
  | { kind: 'unknown' }
  /** A Clavis secret that no longer works (revoked, expired, or its app deleted): nothing to do. */
  | { kind: 'inactive'; secretId: string }
  /** A live secret reported before under the "notify" policy: the owners were told already. */
  | { kind: 'already_reported'; secretId: string }
  /** A live secret: revoked now, or (policy "notify") left working; the owners are told either way. */
  | { kind: 'revoked' | 'notified'; secretId: string; appId: string; tenantId: string };

/** Whether an outcome is a real Clavis secret (GitHub's `true_positive`), live or not. */
export function isRealSecret(outcome: LeakOutcome): boolean {
  return outcome.kind !== 'malformed' && outcome.kind !== 'unknown';
}

/** The longest URL kept with a report; longer ones are cut (the audit log is not a dump). */
export const LEAK_URL_MAX = 2000;

interface Found {
  secret_id: string;
  app_id: string;
  tenant_id: string;
  client_id: string;
  app_name: string;
  owner_user_id: string | null;
  hint: string;
  expires_at: number | null;
  revoked_at: number | null;
  deleted_at: number | null;
  leaked_secret_policy: 'revoke' | 'notify';
}

/** The secret whose keyed hash is `hash`, with its app and tenant policy. */
async function findByHash(db: Db, hash: string): Promise<Found | undefined> {
  return db
    .selectFrom('client_secrets')
    .innerJoin('apps', 'apps.id', 'client_secrets.app_id')
    .innerJoin('tenants', 'tenants.id', 'apps.tenant_id')
    .select([
      'client_secrets.id as secret_id',
      'apps.id as app_id',
      'apps.tenant_id as tenant_id',
      'apps.client_id as client_id',
      'apps.name as app_name',
      'apps.owner_user_id as owner_user_id',
      'client_secrets.hint as hint',
      'client_secrets.expires_at as expires_at',
      'client_secrets.revoked_at as revoked_at',
      'apps.deleted_at as deleted_at',
      'tenants.leaked_secret_policy as leaked_secret_policy',
    ])
    .where('client_secrets.hash', '=', hash)
    .executeTakeFirst();
}

/**
 * Handles one leaked value. Returns what it came to; callers on the public endpoint must not reveal it.
 *
 * - A value in the current secret format with a wrong checksum is `malformed` without any lookup (the
 *   checksum is public, so skipping the lookup reveals nothing a reporter could not compute).
 * - Otherwise its keyed hash is looked up, so secrets of every format (older base64url ones, an operator's
 *   bootstrap secret) are found.
 * - A live secret: in one transaction, the first report of it is recorded (`credential_leaks`, unique per
 *   secret, so concurrent reports on several nodes act once), the secret is revoked when the tenant's
 *   policy is `revoke`, and a `secret.leaked` audit event names the URL and the source. A second report of a
 *   secret left working under `notify` does nothing more; under `revoke` a secret reported earlier under
 *   `notify` is revoked now.
 * - In the same transaction, the `secret.leaked` event is published and the app's owner and the tenant's
 *   admins are mailed (through the outbox), so both exist exactly when the report's effect does.
 */
export async function reportLeakedCredential(ctx: DomainContext, report: LeakReport): Promise<LeakOutcome> {
  const value = report.credential.trim();
  if (value === '' || checkSecretFormat(value) === 'bad_checksum') return { kind: 'malformed' };
  const found = await findByHash(ctx.db, ctx.hasher.hash(value));
  if (!found) return { kind: 'unknown' };
  const now = ctx.now();
  const live = (f: Found) =>
    f.revoked_at === null && f.deleted_at === null && (f.expires_at === null || f.expires_at > now);
  if (!live(found)) return { kind: 'inactive', secretId: found.secret_id };
  const url = report.url.slice(0, LEAK_URL_MAX);
  const action = found.leaked_secret_policy === 'revoke' ? 'revoked' : 'notified';

  const outcome = await inTransaction(ctx.db, async (trx): Promise<LeakOutcome> => {
    const row: CredentialLeakTable = {
      id: uuid(),
      tenant_id: found.tenant_id,
      app_id: found.app_id,
      secret_id: found.secret_id,
      source: report.source,
      url,
      action,
      created_at: now,
    };
    if (action === 'revoked') {
      const res = await trx
        .updateTable('client_secrets')
        .set({ revoked_at: now })
        .where('id', '=', found.secret_id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      // Another report (or the owner) revoked it first: that one told everybody, and nothing is written.
      if (Number(res.numUpdatedRows) === 0) return { kind: 'inactive', secretId: found.secret_id };
      await ctx.changes.announce(trx, 'client', found.client_id);
    }
    const inserted = await trx
      .insertInto('credential_leaks')
      .values(row)
      .onConflict((oc) => oc.column('secret_id').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) {
      // Reported before, under "notify": told already, unless this report revokes it now.
      if (action === 'notified') return { kind: 'already_reported', secretId: found.secret_id };
      await trx
        .updateTable('credential_leaks')
        .set({ action: 'revoked' })
        .where('secret_id', '=', found.secret_id)
        .execute();
    }
    await recordAudit(ctx, trx, {
      type: 'secret.leaked',
      actor: LEAK_ACTORS[report.source],
      tenantId: found.tenant_id,
      appId: found.app_id,
      secretId: found.secret_id,
      data: { url, source: report.source, action, ...(report.location ? { location: report.location } : {}) },
    });
    await notifyLeak(ctx, trx, {
      action,
      url,
      source: report.source,
      location: report.location ?? null,
      app: { id: found.app_id, client_id: found.client_id, name: found.app_name, tenant_id: found.tenant_id },
      ownerUserId: found.owner_user_id,
      secret: { id: found.secret_id, hint: found.hint, expires_at: found.expires_at },
    });
    return {
      kind: action,
      secretId: found.secret_id,
      appId: found.app_id,
      tenantId: found.tenant_id,
    };
  });
  // Every node drops its cached copy of the client: the very next token request is refused.
  if (outcome.kind === 'revoked') await ctx.changes.publish('client', found.client_id);
  return outcome;
}

/** What the owners are told of a leak: the app, the secret (never its value) and what was done. */
interface LeakNotice {
  action: 'revoked' | 'notified';
  url: string;
  source: CredentialLeakSource;
  location: string | null;
  app: { id: string; client_id: string; name: string; tenant_id: string };
  ownerUserId: string | null;
  secret: { id: string; hint: string; expires_at: number | null };
}

/**
 * Who is mailed about a leak: the app's owner (when a user owns it) and the tenant's admins, active ones
 * only, each address once.
 */
async function leakRecipients(trx: Db, tenantId: string, ownerUserId: string | null): Promise<string[]> {
  const rows = await trx
    .selectFrom('users')
    .select(['email'])
    .where('disabled_at', 'is', null)
    .where((eb) => {
      const admins = eb.and([eb('tenant_id', '=', tenantId), eb('role', '=', 'admin')]);
      return ownerUserId === null ? admins : eb.or([admins, eb('id', '=', ownerUserId)]);
    })
    .orderBy('email')
    .execute();
  return [...new Set(rows.map((r) => r.email))];
}

/**
 * Mails the owners (see {@link leakRecipients}) through the outbox and publishes `secret.leaked` (data as every app and secret event names them: the app by `id`, `client_id`
 * and `name`, the secret by `id`, `hint` and `expires_at`, the `actor`; plus where it was found and what
 * was done) in the caller's transaction.
 */
async function notifyLeak(ctx: DomainContext, trx: Db, leak: LeakNotice): Promise<void> {
  const content = leakedSecretMail({
    app: leak.app,
    secret: leak.secret,
    url: leak.url,
    source: leak.source,
    action: leak.action,
    link: `${ctx.config.issuer}/apps/${encodeURIComponent(leak.app.id)}/oauth`,
  });
  // One mail per secret, action and address, however many nodes take reports of it.
  for (const to of await leakRecipients(trx, leak.app.tenant_id, leak.ownerUserId))
    await queueMail(ctx, trx, {
      to,
      content,
      dedupe_key: `secret.leaked:${leak.secret.id}:${leak.action}:${to}`,
    });
  await publishAppEvent(ctx, trx, 'secret.leaked', leak.app, LEAK_ACTORS[leak.source], {
    secret: leak.secret,
    url: leak.url,
    source: leak.source,
    action: leak.action,
  });
}
