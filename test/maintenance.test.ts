import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeGrantData } from '../src/domain/grant-store.js';
import { purgeExpired } from '../src/maintenance.js';
import { queryPlan } from './helpers/query-plan.js';
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

  it('purges expired refresh tokens, codes and stale grants in batches, and keeps live ones', async () => {
    const { ctx } = ts.server.services;
    const now = Date.now();
    const app = await ctx.db.selectFrom('apps').select(['id', 'client_id']).executeTakeFirstOrThrow();
    const user = await ctx.db.selectFrom('users').select(['id', 'tenant_id']).executeTakeFirstOrThrow();
    const grant = (id: string, redeemedAt: number | null, createdAt: number) => ({
      id,
      user_id: user.id,
      app_id: app.id,
      client_id: app.client_id,
      tenant_id: user.tenant_id,
      scope: 'contacts:read',
      api_id: null,
      auth_time: createdAt,
      created_at: createdAt,
      redeemed_at: redeemedAt,
      revoked_at: null,
    });
    const live = randomUUID();
    const staleIds = Array.from({ length: 7 }, () => randomUUID());
    await ctx.db
      .insertInto('grants')
      .values([grant(live, now, now), ...staleIds.map((id) => grant(id, null, now - 3600_000))])
      .execute();
    const token = (hash: string, expiresAt: number) => ({
      token_hash: hash,
      grant_id: live,
      client_id: app.client_id,
      scope: 'contacts:read',
      created_at: now - 1000,
      expires_at: expiresAt,
      used_at: null,
      replaces: null,
    });
    const expired = Array.from({ length: 11 }, (_, i) => token(`purge-test-expired-${i}`, now - 1000 - i));
    const kept = [token('purge-test-live-1', now + 3600_000), token('purge-test-live-2', now + 7200_000)];
    await ctx.db
      .insertInto('refresh_tokens')
      .values([...expired, ...kept])
      .execute();
    await ctx.db
      .insertInto('authorization_codes')
      .values(
        Array.from({ length: 5 }, (_, i) => ({
          code_hash: `purge-test-code-${i}`,
          grant_id: live,
          client_id: app.client_id,
          redirect_uri: 'https://app.example/cb',
          code_challenge: null,
          nonce: null,
          created_at: now - 120_000,
          expires_at: now - 60_000,
          consumed_at: null,
        })),
      )
      .execute();
    // Batches of 3 rows: every table needs several statements, the last one short.
    const purged = await purgeGrantData(ctx, 3);
    expect(purged).toBe(11 + 5 + 7);
    const tokensLeft = await ctx.db
      .selectFrom('refresh_tokens')
      .select('token_hash')
      .where('token_hash', 'like', 'purge-test-%')
      .orderBy('token_hash')
      .execute();
    expect(tokensLeft.map((r) => r.token_hash)).toEqual(['purge-test-live-1', 'purge-test-live-2']);
    const grantsLeft = await ctx.db
      .selectFrom('grants')
      .select('id')
      .where('id', 'in', [live, ...staleIds])
      .execute();
    expect(grantsLeft.map((r) => r.id)).toEqual([live]);
    const codesLeft = await ctx.db
      .selectFrom('authorization_codes')
      .select('code_hash')
      .where('code_hash', 'like', 'purge-test-code-%')
      .execute();
    expect(codesLeft).toEqual([]);
  });
});

describe('purge lookups', () => {
  it('find never-redeemed grants through their partial index, not a scan of every grant', async () => {
    const { ctx } = ts.server.services;
    const plan = await queryPlan(
      ctx,
      'select id from grants where redeemed_at is null and created_at < 1 limit 200',
    );
    expect(plan).toContain('grants_unredeemed_idx');
  });
});
