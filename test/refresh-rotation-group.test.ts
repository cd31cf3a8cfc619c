import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  findAndRotateRefreshToken,
  findRefreshToken,
  insertRedeemedGrant,
} from '../src/domain/grant-store.js';
import { queryPlan } from './helpers/query-plan.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// Rotations that arrive together: on SQLite they commit as one transaction (group commit), on PostgreSQL they
// run as one statement. Either way each must be decided exactly as it would be alone.

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => ts?.close());

/** The app the tokens are issued to. */
const theApp = () =>
  ts.server.services.ctx.db
    .selectFrom('apps')
    .select(['id', 'client_id'])
    .orderBy('client_id')
    .executeTakeFirstOrThrow();
const clientId = async () => (await theApp()).client_id;

/** `n` redeemed grants of one app, with a refresh token each. */
async function freshTokens(n: number): Promise<string[]> {
  const { ctx } = ts.server.services;
  const app = await theApp();
  const user = await ctx.db.selectFrom('users').select(['id', 'tenant_id']).executeTakeFirstOrThrow();
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) {
    const { refreshToken } = await insertRedeemedGrant(
      ctx,
      ctx.db,
      {
        appId: app.id,
        clientId: app.client_id,
        userId: user.id,
        tenantId: user.tenant_id,
        scope: ['contacts:read'],
        apiId: null,
        authTime: Date.now(),
      },
      Date.now(),
      true,
    );
    tokens.push(refreshToken!);
  }
  return tokens;
}

describe('refresh rotations that arrive together', () => {
  it('each token presented once rotates, each to a successor of its own that rotates in turn', async () => {
    const { ctx } = ts.server.services;
    const tokens = await freshTokens(12);
    const client = await clientId();
    const found = await Promise.all(tokens.map((t) => findAndRotateRefreshToken(ctx, t, client, Date.now())));
    const next = found.map((f) => f?.next);
    expect(next.every((n) => typeof n === 'string')).toBe(true);
    expect(new Set(next).size).toBe(tokens.length);
    for (const t of tokens) expect((await findRefreshToken(ctx, t))?.usedAt).not.toBeNull();
    const again = await Promise.all(
      next.map((n) => findAndRotateRefreshToken(ctx, n as string, client, Date.now())),
    );
    expect(again.every((f) => typeof f?.next === 'string')).toBe(true);
  });

  it('one token presented many times at once rotates exactly once; every other use finds it used', async () => {
    const { ctx } = ts.server.services;
    const [token] = await freshTokens(1);
    const client = await clientId();
    const found = await Promise.all(
      Array.from({ length: 10 }, () => findAndRotateRefreshToken(ctx, token!, client, Date.now())),
    );
    const winners = found.filter((f) => f?.next);
    expect(winners).toHaveLength(1);
    // Every other use gets no successor: the grant handler treats it as reuse, whether it saw the winner's
    // mark (SQLite, in the same transaction) or lost the race for the row (PostgreSQL).
    expect(found.filter((f) => f?.next === null)).toHaveLength(9);
    const rows = await ctx.db
      .selectFrom('refresh_tokens')
      .select('token_hash')
      .where('replaces', '=', winners[0]!.stored.tokenHash)
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('a rotation that fails costs only its own request: the others of its group commit, its token stays unused', async () => {
    const { ctx } = ts.server.services;
    const tokens = await freshTokens(5);
    const client = await clientId();
    const doomed = (await findRefreshToken(ctx, tokens[2]!))!.tokenHash;
    const postgres = ctx.config.database.kind === 'postgres';
    // A trigger refuses the successor of one token, as a full disk or a broken constraint would.
    if (postgres) {
      await sql
        .raw(
          `create function clavis_test_refuse() returns trigger language plpgsql as $$
           begin if new.replaces = '${doomed}' then raise exception 'refused by test'; end if; return new; end $$;
           create trigger clavis_test_refuse before insert on refresh_tokens
           for each row execute function clavis_test_refuse();`,
        )
        .execute(ctx.db);
    } else {
      await sql
        .raw(
          `create trigger clavis_test_refuse before insert on refresh_tokens
           when new.replaces = '${doomed}' begin select raise(abort, 'refused by test'); end`,
        )
        .execute(ctx.db);
    }
    try {
      const outcomes = await Promise.allSettled(
        tokens.map((t) => findAndRotateRefreshToken(ctx, t, client, Date.now())),
      );
      expect(outcomes.map((o) => o.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
        'fulfilled',
      ]);
      expect(String((outcomes[2] as PromiseRejectedResult).reason)).toContain('refused by test');
      for (const [i, t] of tokens.entries()) {
        const stored = await findRefreshToken(ctx, t);
        if (i === 2) expect(stored?.usedAt).toBeNull();
        else {
          expect(stored?.usedAt).not.toBeNull();
          const next = (outcomes[i] as PromiseFulfilledResult<{ next: string }>).value.next;
          expect((await findRefreshToken(ctx, next))?.usedAt).toBeNull();
        }
      }
    } finally {
      await sql.raw(`drop trigger clavis_test_refuse${postgres ? ' on refresh_tokens' : ''}`).execute(ctx.db);
      if (postgres) await sql.raw('drop function clavis_test_refuse()').execute(ctx.db);
    }
    // Once the cause is gone, the token rotates as if nothing had happened.
    const retried = await findAndRotateRefreshToken(ctx, tokens[2]!, client, Date.now());
    expect(typeof retried?.next).toBe('string');
  });
});

describe('refresh token chain lookups', () => {
  it("a grant's tokens, and the successor of one of them, are found through one index", async () => {
    const { ctx } = ts.server.services;
    // Revoking a grant (and its cascade) reads by grant; the reuse-grace re-rotation by grant and predecessor.
    for (const query of [
      "delete from refresh_tokens where grant_id = 'g'",
      "delete from refresh_tokens where replaces = 'h' and grant_id = 'g' and used_at is null",
    ])
      expect(await queryPlan(ctx, query)).toContain('refresh_tokens_grant_replaces_idx');
  });
});
