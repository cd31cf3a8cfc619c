import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_CODE_GRANT } from '../src/domain/app-fields.js';
import type { App } from '../src/domain/apps.js';
import {
  createDeviceCode,
  decideDeviceCode,
  findDeviceCode,
  findPendingUserCode,
  formatUserCode,
  normalizeUserCode,
  purgeDeviceCodes,
  recordDevicePoll,
  redeemDeviceCode,
  USER_CODE_ALPHABET,
} from '../src/domain/device-codes.js';
import { grantIsLive, redeemedGrants } from '../src/domain/grant-store.js';
import { createTestApp, startTestServer, type TestServer } from './helpers/server.js';
import { createUser, type TestUser } from './helpers/users.js';

/** The device_codes store (src/domain/device-codes.ts) on the test database: codes, decisions, polls, redemption. */
let ts: TestServer;
let offset = 0;
let app: App;
let user: TestUser;
const ctx = () => ts.server.services.ctx;

beforeAll(async () => {
  ts = await startTestServer({ now: () => Date.now() + offset });
  ({ app } = await createTestApp(ts, {
    client_type: 'public',
    callback_url: 'http://127.0.0.1/cb',
    grant_types: [DEVICE_CODE_GRANT],
  }));
  user = await createUser(ts);
});
afterAll(async () => ts?.close());

const approve = (code: NonNullable<Awaited<ReturnType<typeof findDeviceCode>>>) =>
  decideDeviceCode(ctx(), code, {
    approve: true,
    userId: user.user.id,
    authTime: ctx().now(),
    tenantId: user.user.tenant_id,
  });

describe('user codes', () => {
  it('are 8 characters of a 20-letter alphabet without vowels or look-alikes, read case- and dash-insensitively', () => {
    expect(USER_CODE_ALPHABET).toHaveLength(20);
    expect(USER_CODE_ALPHABET).not.toMatch(/[AEIOUY0-9]/);
    expect(normalizeUserCode('bcdf-ghjk')).toBe('BCDFGHJK');
    expect(normalizeUserCode(' BCDF GHJK ')).toBe('BCDFGHJK');
    expect(normalizeUserCode('BCDFGHJ')).toBeNull();
    expect(normalizeUserCode('BCDFGHJA')).toBeNull();
    expect(normalizeUserCode('x'.repeat(100))).toBeNull();
    expect(formatUserCode('BCDFGHJK')).toBe('BCDF-GHJK');
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const n = normalizeUserCode(s);
        return n === null || (n.length === 8 && [...n].every((c) => USER_CODE_ALPHABET.includes(c)));
      }),
    );
  });

  it('are drawn at random and stored hashed; only a pending, unexpired code is found', async () => {
    const issued = await Promise.all(
      Array.from({ length: 20 }, () => createDeviceCode(ctx(), app, [], null)),
    );
    expect(new Set(issued.map((i) => i.userCode)).size).toBe(20);
    const found = await findPendingUserCode(ctx(), issued[0]!.userCode.toLowerCase());
    expect(found?.clientId).toBe(app.client_id);
    expect(await findPendingUserCode(ctx(), 'BBBB-BBBB')).toBeUndefined();
    offset += 600_001;
    try {
      expect(await findPendingUserCode(ctx(), issued[1]!.userCode)).toBeUndefined();
    } finally {
      offset -= 600_001;
    }
  });
});

describe('decisions, polls and redemption', () => {
  it('a code is decided once, even by concurrent decisions', async () => {
    const issued = await createDeviceCode(ctx(), app, ['contacts:read'], null);
    const code = (await findDeviceCode(ctx(), issued.deviceCode))!;
    const results = await Promise.all(Array.from({ length: 5 }, () => approve(code)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await findPendingUserCode(ctx(), issued.userCode)).toBeUndefined();
    expect((await findDeviceCode(ctx(), issued.deviceCode))?.status).toBe('approved');
  });

  it('polls sooner than the interval are slow_down and grow it by 5 s', async () => {
    const issued = await createDeviceCode(ctx(), app, [], null);
    let code = (await findDeviceCode(ctx(), issued.deviceCode))!;
    expect(await recordDevicePoll(ctx(), code, ctx().now())).toBe('ok');
    code = (await findDeviceCode(ctx(), issued.deviceCode))!;
    expect(await recordDevicePoll(ctx(), code, ctx().now() + 1000)).toBe('slow_down');
    code = (await findDeviceCode(ctx(), issued.deviceCode))!;
    expect(code.interval).toBe(10);
    expect(await recordDevicePoll(ctx(), code, ctx().now() + 12_000)).toBe('ok');
    // Concurrent polls: one is on time, the others are too soon.
    code = (await findDeviceCode(ctx(), issued.deviceCode))!;
    const at = ctx().now() + 30_000;
    const answers = await Promise.all(Array.from({ length: 4 }, () => recordDevicePoll(ctx(), code, at)));
    expect(answers.filter((a) => a === 'ok')).toHaveLength(1);
  });

  it('an approved code is redeemed once into a live user grant, listed under Connected apps', async () => {
    const issued = await createDeviceCode(ctx(), app, ['contacts:read'], null);
    await approve((await findDeviceCode(ctx(), issued.deviceCode))!);
    const code = (await findDeviceCode(ctx(), issued.deviceCode))!;
    const results = await Promise.all(
      Array.from({ length: 6 }, () => redeemDeviceCode(ctx(), code, user.user.tenant_id, ctx().now(), true)),
    );
    const won = results.filter((r) => r !== null);
    expect(won).toHaveLength(1);
    expect(await grantIsLive(ctx(), won[0]!.grantId)).toBe(true);
    expect((await findDeviceCode(ctx(), issued.deviceCode))?.status).toBe('redeemed');
    const listed = await redeemedGrants(ctx(), user.user.id);
    expect(listed.some((g) => g.appId === app.id && g.scope.includes('contacts:read'))).toBe(true);
  });

  it('a pending or denied code is not redeemed; expired codes are purged', async () => {
    const pending = await createDeviceCode(ctx(), app, [], null);
    const p = (await findDeviceCode(ctx(), pending.deviceCode))!;
    expect(await redeemDeviceCode(ctx(), p, user.user.tenant_id, ctx().now(), true)).toBeNull();
    const denied = await createDeviceCode(ctx(), app, [], null);
    const d = (await findDeviceCode(ctx(), denied.deviceCode))!;
    await decideDeviceCode(ctx(), d, {
      approve: false,
      userId: user.user.id,
      authTime: ctx().now(),
      tenantId: user.user.tenant_id,
    });
    const d2 = (await findDeviceCode(ctx(), denied.deviceCode))!;
    expect(d2.status).toBe('denied');
    expect(await redeemDeviceCode(ctx(), d2, user.user.tenant_id, ctx().now(), true)).toBeNull();
    offset += 601_000;
    try {
      expect(await purgeDeviceCodes(ctx())).toBeGreaterThan(0);
      expect(await findDeviceCode(ctx(), pending.deviceCode)).toBeUndefined();
    } finally {
      offset -= 601_000;
    }
  });
});
