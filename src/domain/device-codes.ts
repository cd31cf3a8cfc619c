import { randomInt } from 'node:crypto';
import { randomToken } from '../crypto/random.js';
import type { DeviceCodeStatus } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import type { App } from './apps.js';
import { recordAudit } from './audit.js';
import type { DomainContext } from './context.js';
import { insertRedeemedGrant } from './grant-store.js';
import { joinScope, splitScope } from './scopes.js';

/*
 * The device authorization store (RFC 8628): the one module that creates, reads, decides, polls, redeems and
 * purges rows of `device_codes`. The device code (256 random bits) and the user code are stored only as keyed
 * hashes. The protocol flow (`oauth/grants/device-code.ts`) makes the RFC checks on what it returns.
 */

/** How long a device code and its user code live (RFC 8628 §3.2 `expires_in`). */
export const DEVICE_CODE_TTL_S = 600;
/** The polling interval a client starts with (RFC 8628 §3.2 `interval`). */
export const DEVICE_POLL_INTERVAL_S = 5;
/** What each `slow_down` adds to the interval (RFC 8628 §3.5). */
export const SLOW_DOWN_STEP_S = 5;

/**
 * The user code alphabet: 20 consonants, no vowels (no words) and none of the look-alikes (0/O, 1/I/L, 5/S,
 * 2/Z, 8/B are avoided by using letters only, RFC 8628 §6.1). 8 characters: 20^8 ≈ 2.6 × 10^10 codes.
 */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const USER_CODE_LENGTH = 8;

/** Device codes longer than this were never issued here, so they are not even looked up. */
const MAX_DEVICE_CODE_LENGTH = 512;

const deviceHash = (ctx: DomainContext, code: string) => ctx.hasher.hash(`device:${code}`);
const userHash = (ctx: DomainContext, normalized: string) => ctx.hasher.hash(`user-code:${normalized}`);

/** A user code as people read it: `XXXX-XXXX`. */
export function formatUserCode(normalized: string): string {
  return `${normalized.slice(0, 4)}-${normalized.slice(4)}`;
}

/**
 * Reads a user code as a person types it: case does not matter, and dashes and spaces are ignored
 * (RFC 8628 §6.1). `null` when what is left is not 8 characters of the alphabet.
 */
export function normalizeUserCode(input: string): string | null {
  if (input.length > 64) return null;
  const v = input.toUpperCase().replace(/[\s-]/g, '');
  if (v.length !== USER_CODE_LENGTH) return null;
  for (const c of v) if (!USER_CODE_ALPHABET.includes(c)) return null;
  return v;
}

function newUserCode(): string {
  let s = '';
  for (let i = 0; i < USER_CODE_LENGTH; i++) s += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return s;
}

/** What the device authorization endpoint answers with (RFC 8628 §3.2), before the URIs are added. */
export interface IssuedDeviceCode {
  deviceCode: string;
  /** Formatted, `XXXX-XXXX`. */
  userCode: string;
  expiresIn: number;
  interval: number;
}

/**
 * Starts a device authorization: a device code and a user code for `app`, `scope` and the API `apiId` (null:
 * the built-in sample API, as a grant's `api_id`), pending until a user
 * decides. A fresh user code is drawn again in the (unlikely) case it is already in use.
 */
export async function createDeviceCode(
  ctx: DomainContext,
  app: Pick<App, 'id' | 'client_id'>,
  scope: string[],
  apiId: string | null,
): Promise<IssuedDeviceCode> {
  const deviceCode = randomToken(32);
  const now = ctx.now();
  for (let attempt = 0; ; attempt++) {
    const userCode = newUserCode();
    const hash = userHash(ctx, userCode);
    const taken = await ctx.db
      .selectFrom('device_codes')
      .select('device_code_hash')
      .where('user_code_hash', '=', hash)
      .executeTakeFirst();
    if (taken && attempt < 5) continue;
    await ctx.db
      .insertInto('device_codes')
      .values({
        device_code_hash: deviceHash(ctx, deviceCode),
        user_code_hash: hash,
        app_id: app.id,
        client_id: app.client_id,
        scope: joinScope(scope),
        api_id: apiId,
        status: 'pending',
        interval_s: DEVICE_POLL_INTERVAL_S,
        last_polled_at: null,
        user_id: null,
        auth_time: null,
        created_at: now,
        expires_at: now + DEVICE_CODE_TTL_S * 1000,
        decided_at: null,
      })
      .execute();
    return {
      deviceCode,
      userCode: formatUserCode(userCode),
      expiresIn: DEVICE_CODE_TTL_S,
      interval: DEVICE_POLL_INTERVAL_S,
    };
  }
}

/** A stored device authorization, as the lookups return it. */
export interface StoredDeviceCode {
  readonly deviceCodeHash: string;
  readonly userCodeHash: string;
  appId: string;
  clientId: string;
  scope: string[];
  /** The API the authorization is for (null: the built-in sample API). */
  apiId: string | null;
  status: DeviceCodeStatus;
  /** Seconds. */
  interval: number;
  lastPolledAt: number | null;
  userId: string | null;
  authTime: number | null;
  expiresAt: number;
}

type Row = {
  device_code_hash: string;
  user_code_hash: string;
  app_id: string;
  client_id: string;
  scope: string;
  api_id: string | null;
  status: DeviceCodeStatus;
  interval_s: number;
  last_polled_at: number | null;
  user_id: string | null;
  auth_time: number | null;
  expires_at: number;
};

const toStored = (r: Row): StoredDeviceCode => ({
  deviceCodeHash: r.device_code_hash,
  userCodeHash: r.user_code_hash,
  appId: r.app_id,
  clientId: r.client_id,
  scope: splitScope(r.scope),
  apiId: r.api_id,
  status: r.status,
  interval: Number(r.interval_s),
  lastPolledAt: r.last_polled_at === null ? null : Number(r.last_polled_at),
  userId: r.user_id,
  authTime: r.auth_time === null ? null : Number(r.auth_time),
  expiresAt: Number(r.expires_at),
});

const COLUMNS = [
  'device_code_hash',
  'user_code_hash',
  'app_id',
  'client_id',
  'scope',
  'api_id',
  'status',
  'interval_s',
  'last_polled_at',
  'user_id',
  'auth_time',
  'expires_at',
] as const;

/** Looks up a device code (any status, expired or not); `undefined` when it was never issued. */
export async function findDeviceCode(
  ctx: DomainContext,
  deviceCode: string,
): Promise<StoredDeviceCode | undefined> {
  if (deviceCode.length === 0 || deviceCode.length > MAX_DEVICE_CODE_LENGTH) return undefined;
  const row = await ctx.db
    .selectFrom('device_codes')
    .select(COLUMNS)
    .where('device_code_hash', '=', deviceHash(ctx, deviceCode))
    .executeTakeFirst();
  return row && toStored(row);
}

/**
 * Looks up a user code as typed (see {@link normalizeUserCode}) that still awaits a decision: pending and
 * unexpired. `undefined` for anything else, so a used, decided or expired code reads like a wrong one.
 */
export async function findPendingUserCode(
  ctx: DomainContext,
  userCode: string,
): Promise<StoredDeviceCode | undefined> {
  const normalized = normalizeUserCode(userCode);
  if (normalized === null) return undefined;
  const row = await ctx.db
    .selectFrom('device_codes')
    .select(COLUMNS)
    .where('user_code_hash', '=', userHash(ctx, normalized))
    .where('status', '=', 'pending')
    .where('expires_at', '>', ctx.now())
    .executeTakeFirst();
  return row && toStored(row);
}

/**
 * Records a user's decision on a pending device authorization: approved (with who and when they signed in)
 * or denied. Single use: of concurrent decisions exactly one (a conditional update) returns true; a code
 * already decided or expired returns false. Audited as `device.approved` or `device.denied`.
 */
export async function decideDeviceCode(
  ctx: DomainContext,
  code: StoredDeviceCode,
  decision: { approve: boolean; userId: string; authTime: number; tenantId: string },
): Promise<boolean> {
  const now = ctx.now();
  return inTransaction(ctx.db, async (trx) => {
    const res = await trx
      .updateTable('device_codes')
      .set({
        status: decision.approve ? 'approved' : 'denied',
        user_id: decision.userId,
        auth_time: decision.authTime,
        decided_at: now,
      })
      .where('device_code_hash', '=', code.deviceCodeHash)
      .where('status', '=', 'pending')
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
    await recordAudit(ctx, trx, {
      type: decision.approve ? 'device.approved' : 'device.denied',
      actor: `user:${decision.userId}`,
      tenantId: decision.tenantId,
      appId: code.appId,
      data: { user_id: decision.userId, scope: joinScope(code.scope) },
    });
    return true;
  });
}

/**
 * Records a poll of the token endpoint (RFC 8628 §3.5). A poll sooner than the interval after the previous
 * one is `slow_down`: the interval grows by {@link SLOW_DOWN_STEP_S} for this and every later poll. Of
 * concurrent polls only one moves `last_polled_at` (a conditional update); the others are too soon.
 *
 * @returns `'ok'`, or `'slow_down'` with the new interval recorded.
 */
export async function recordDevicePoll(
  ctx: DomainContext,
  code: StoredDeviceCode,
  now: number,
): Promise<'ok' | 'slow_down'> {
  const tooSoon = code.lastPolledAt !== null && now - code.lastPolledAt < code.interval * 1000;
  let q = ctx.db
    .updateTable('device_codes')
    .set(
      tooSoon
        ? { last_polled_at: now, interval_s: code.interval + SLOW_DOWN_STEP_S }
        : { last_polled_at: now },
    )
    .where('device_code_hash', '=', code.deviceCodeHash)
    .where('interval_s', '=', code.interval);
  q =
    code.lastPolledAt === null
      ? q.where('last_polled_at', 'is', null)
      : q.where('last_polled_at', '=', code.lastPolledAt);
  const res = await q.executeTakeFirst();
  if (tooSoon) return 'slow_down';
  if (Number(res.numUpdatedRows) === 1) return 'ok';
  // Another poll got there first: this one came too soon after it.
  await ctx.db
    .updateTable('device_codes')
    .set((eb) => ({ interval_s: eb('interval_s', '+', SLOW_DOWN_STEP_S) }))
    .where('device_code_hash', '=', code.deviceCodeHash)
    .execute();
  return 'slow_down';
}

/**
 * Redeems an approved device code: marks it redeemed and records the user grant (for the code's API) with its
 * first refresh token when `withRefreshToken` (the app may use the refresh grant), in one transaction. Single use: of any number of concurrent redemptions exactly one (a conditional update)
 * gets the grant; the others get `null`, as does a code that is not approved or has expired.
 */
export async function redeemDeviceCode(
  ctx: DomainContext,
  code: StoredDeviceCode,
  tenantId: string,
  now: number,
  withRefreshToken: boolean,
): Promise<{ grantId: string; refreshToken: string | undefined } | null> {
  if (code.userId === null || code.authTime === null) return null;
  const { userId, authTime } = code;
  return inTransaction(ctx.db, async (trx) => {
    const res = await trx
      .updateTable('device_codes')
      .set({ status: 'redeemed' })
      .where('device_code_hash', '=', code.deviceCodeHash)
      .where('status', '=', 'approved')
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return null;
    return insertRedeemedGrant(
      ctx,
      trx,
      {
        appId: code.appId,
        clientId: code.clientId,
        userId,
        tenantId,
        scope: code.scope,
        apiId: code.apiId,
        authTime,
      },
      now,
      withRefreshToken,
    );
  });
}

/** Deletes device codes that have expired (any status). */
export async function purgeDeviceCodes(ctx: DomainContext): Promise<number> {
  const res = await ctx.db.deleteFrom('device_codes').where('expires_at', '<', ctx.now()).executeTakeFirst();
  return Number(res.numDeletedRows);
}
