import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeExpired } from '../src/maintenance.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => ts?.close());

describe('background purge', () => {
  it('deletes deny-list entries whose tokens have expired and keeps live ones', async () => {
    const { revocations, ctx } = ts.server.services;
    const now = Math.floor(Date.now() / 1000);
    await revocations.revoke('expired-jti', now - 10);
    await revocations.revoke('live-jti', now + 600);
    const purged = await purgeExpired(ts.server.services);
    expect(purged).toBeGreaterThanOrEqual(1);
    expect(await revocations.isRevoked('expired-jti')).toBe(false);
    expect(await revocations.isRevoked('live-jti')).toBe(true);
    const left = await ctx.db.selectFrom('revoked_tokens').select('jti').execute();
    expect(left.map((r) => r.jti)).toEqual(['live-jti']);
  });
});
