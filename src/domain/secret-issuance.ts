import { crc32 } from '../crypto/crc32.js';
import { BASE62, randomBase62, uuid } from '../crypto/random.js';
import type { Db } from '../db/database.js';
import type { AppTable, ClientSecretTable } from '../db/schema.js';
import type { AuditInput } from './audit.js';
import type { Actor, DomainContext } from './context.js';
import { invalid } from './errors.js';
import { recordAppEvent } from './event-data.js';
import { type SecretStatus, secretStatus } from './secret-status.js';
import { getTenant } from './tenants.js';

/**
 * Issuing a client secret: its value, its expiry under the tenant's lifetime policy, and its row with the
 * audit event, inside the caller's transaction. Registering an app and the secret operations of
 * `secrets.ts` both issue secrets this way.
 */
/** An app holds at most this many active (unrevoked, unexpired) secrets. */
export const MAX_ACTIVE_SECRETS = 5;
/** Default lifetime of a new secret, unless the tenant's policy is shorter (see {@link defaultSecretExpiry}). */
export const DEFAULT_SECRET_MONTHS = 6;
const DAY = 86_400_000;

/** The latest expiry a tenant's policy (maximum lifetime in days) allows for a secret created at `now`. */
export function policyMaxExpiry(now: number, maxLifetimeDays: number): number {
  // One day of slack, so "N months" is not refused over the odd day between calendar months and days.
  return now + maxLifetimeDays * DAY + DAY;
}

/** Whether a lifetime of `months` from `now` fits the tenant's policy. */
export function monthsWithinPolicy(now: number, maxLifetimeDays: number, months: number): boolean {
  return addMonths(now, months) <= policyMaxExpiry(now, maxLifetimeDays);
}

/**
 * The expiry of a secret created without one (with an app, by "Refresh", or with no lifetime given): six
 * months, or the policy's maximum when that is shorter, so a strict policy never blocks those actions.
 */
export function defaultSecretExpiry(now: number, maxLifetimeDays: number): number {
  return Math.min(addMonths(now, DEFAULT_SECRET_MONTHS), now + maxLifetimeDays * DAY);
}

/** A secret as listed: never its value, only the hint (first 3 characters). */
export interface ClientSecret {
  /** Secret ID: identifies the secret in the hub, the API and the audit log. Authenticates nothing. */
  id: string;
  hint: string;
  description: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  /** The secret a refresh put in place of this one (its status is then `replaced`). */
  replaced_by: string | null;
  /** Its state when it was read, from {@link secretStatus}. */
  status: SecretStatus;
}

/** A secret just created: the only object that ever carries `value`. */
export interface CreatedSecret extends ClientSecret {
  value: string;
}

/** A row as listed, with its status at `now`. */
export function toSecret(row: ClientSecretTable, now: number): ClientSecret {
  return {
    id: row.id,
    hint: row.hint,
    description: row.description,
    created_at: row.created_at,
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
    revoked_at: row.revoked_at,
    replaced_by: row.replaced_by,
    status: secretStatus(row, now),
  };
}

/*
 * The client secret format (since issue 16): identifiable, so secret scanners (GitHub's among them) find
 * leaked secrets with almost no false positives, and checksummed, so a mistyped or made-up value is told
 * from a real one without a database lookup.
 *
 *   Xq3_clavis_<43 random base62 characters><6 characters: CRC-32 of everything before, in base62>
 *
 * - The first 3 characters are random: they are the hint shown in the hub, so they must tell secrets apart.
 * - `_clavis_` is the fixed marker scanners look for.
 * - 43 base62 characters carry 43 × log2(62) ≈ 256.03 random bits.
 * - The checksum is the CRC-32 of the first 54 characters, as a base62 number left-padded with `0` to 6
 *   characters (62^6 > 2^32), as GitHub's own tokens carry one.
 *
 * Every character is an RFC 3986 unreserved one, so form-encoding the value for HTTP Basic (RFC 6749
 * §2.3.1) changes nothing and raw senders present the same value. Secrets issued before this format
 * (43 base64url characters) and operator-chosen ones keep working: client authentication compares
 * keyed hashes and never looks at the format.
 */

/** The fixed marker after the 3-character hint. */
export const SECRET_MARKER = '_clavis_';
const HINT_LENGTH = 3;
const RANDOM_LENGTH = 43;
const CHECKSUM_LENGTH = 6;
/** The length of a secret in the current format: 60 characters. */
export const SECRET_LENGTH = HINT_LENGTH + SECRET_MARKER.length + RANDOM_LENGTH + CHECKSUM_LENGTH;

/** A whole value in the current format (shape only; {@link checkSecretFormat} also checks the checksum). */
export const SECRET_FORMAT = /^[0-9A-Za-z]{3}_clavis_[0-9A-Za-z]{49}$/;
/** The regular expression for scanners, as the README documents it: finds the format inside any text. */
export const SECRET_SCAN_PATTERN = /\b[0-9A-Za-z]{3}_clavis_[0-9A-Za-z]{49}\b/g;

/** The checksum of a secret's first 54 characters: CRC-32 in base62, 6 characters. */
function secretChecksum(body: string): string {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/**
 * A new client secret value in the identifiable format above: a random 3-character hint, the marker,
 * 256 random bits and the checksum.
 */
export function generateSecretValue(): string {
  const body = randomBase62(HINT_LENGTH) + SECRET_MARKER + randomBase62(RANDOM_LENGTH);
  return body + secretChecksum(body);
}

/**
 * What a presented value is, by its form alone:
 * - `valid`: the current format with a correct checksum (it may still be unknown, revoked or expired);
 * - `bad_checksum`: the current format's shape with a wrong checksum, so never a secret Clavis generated
 *   (anyone can compute the checksum, so saying so reveals nothing);
 * - `other`: not the current format: an older secret, an operator-chosen one, or anything else.
 */
export function checkSecretFormat(value: string): 'valid' | 'bad_checksum' | 'other' {
  if (value.length !== SECRET_LENGTH || !SECRET_FORMAT.test(value)) return 'other';
  const body = value.slice(0, SECRET_LENGTH - CHECKSUM_LENGTH);
  return secretChecksum(body) === value.slice(SECRET_LENGTH - CHECKSUM_LENGTH) ? 'valid' : 'bad_checksum';
}

/** Adds calendar months in UTC. */
export function addMonths(at: number, months: number): number {
  const d = new Date(at);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d.getTime();
}

export interface SecretOptions {
  description?: string;
  /** 6, 12 or 24 are the hub's presets; any whole number of months within policy works. */
  expires_in_months?: number;
  /** An explicit expiry (epoch ms); must be in the future and within policy. */
  expires_at?: number;
  /** No expiry: only when the tenant's policy allows it. */
  never_expires?: boolean;
  /** An operator-chosen value (bootstrap only). */
  value?: string;
  /** Skip the tenant's lifetime policy (bootstrap only: the operator manages that secret). */
  bypassPolicy?: boolean;
}

async function resolveExpiry(
  ctx: DomainContext,
  db: Db,
  tenantId: string,
  opts: SecretOptions,
): Promise<number | null> {
  const now = ctx.now();
  const tenant = await getTenant(ctx, tenantId, db);
  const maxDays = tenant.settings.secret_max_lifetime_days;
  const maxAt = policyMaxExpiry(now, maxDays);
  const given = [
    opts.expires_in_months !== undefined,
    opts.expires_at !== undefined,
    !!opts.never_expires,
  ].filter(Boolean);
  if (given.length > 1)
    throw invalid(
      'expires_at',
      'Choose one of: a lifetime in months, an expiry date, or no expiry.',
      'secret_expiry_ambiguous',
    );
  if (opts.never_expires) {
    if (!tenant.settings.secret_allow_never_expire && !opts.bypassPolicy)
      throw invalid(
        'expires_at',
        "Your tenant's policy requires client secrets to expire.",
        'secret_expiry_required',
      );
    return null;
  }
  let at: number;
  if (opts.expires_at !== undefined) {
    if (!Number.isFinite(opts.expires_at))
      throw invalid('expires_at', 'The expiry date is not valid.', 'secret_expiry_invalid');
    at = opts.expires_at;
    if (at <= now + 60_000)
      throw invalid('expires_at', 'The expiry date must be in the future.', 'secret_expiry_invalid');
  } else if (opts.expires_in_months === undefined) {
    return defaultSecretExpiry(now, maxDays);
  } else {
    const months = opts.expires_in_months;
    if (!Number.isInteger(months) || months < 1 || months > 120)
      throw invalid(
        'expires_in_months',
        'The lifetime must be a whole number of months between 1 and 120.',
        'secret_lifetime_invalid',
      );
    at = addMonths(now, months);
  }
  if (at > maxAt)
    throw invalid(
      opts.expires_at !== undefined ? 'expires_at' : 'expires_in_months',
      `Your tenant's policy allows client secrets to live at most ${maxDays} days.`,
      'secret_lifetime_exceeds_policy',
    );
  return at;
}

function checkDescription(d: string | undefined): string {
  const v = (d ?? '').trim();
  if (v.length > 200)
    throw invalid(
      'description',
      'The description is too long (200 characters at most).',
      'secret_description_invalid',
    );
  return v;
}

/**
 * Inserts a secret inside the caller's transaction and records `secret.created`. Used by app creation,
 * bootstrap and the secret operations of `secrets.ts`.
 */
export async function insertSecret(
  ctx: DomainContext,
  trx: Db,
  actor: Actor,
  app: Pick<AppTable, 'id' | 'tenant_id' | 'client_id' | 'name'>,
  opts: SecretOptions,
  auditType: 'secret.created' | 'secret.refreshed' = 'secret.created',
  extra: Record<string, unknown> = {},
): Promise<CreatedSecret> {
  const value = opts.value ?? generateSecretValue();
  const row: ClientSecretTable = {
    id: uuid(),
    app_id: app.id,
    hash: ctx.hasher.hash(value),
    hint: value.slice(0, 3),
    description: checkDescription(opts.description),
    created_at: ctx.now(),
    expires_at: await resolveExpiry(ctx, trx, app.tenant_id, opts),
    last_used_at: null,
    revoked_at: null,
    replaced_by: null,
  };
  await trx.insertInto('client_secrets').values(row).execute();
  await ctx.changes.announce(trx, 'client', app.client_id);
  const audit: AuditInput = {
    type: auditType,
    actor: actor.id,
    tenantId: app.tenant_id,
    appId: app.id,
    secretId: row.id,
    // Times in audit data are ISO 8601, like every other time the API returns.
    data: {
      description: row.description,
      expires_at: row.expires_at === null ? null : new Date(row.expires_at).toISOString(),
      ...extra,
    },
  };
  await recordAppEvent(ctx, trx, audit, auditType, app, actor.id, { secret: row, ...extra });
  return { ...toSecret(row, ctx.now()), value };
}
