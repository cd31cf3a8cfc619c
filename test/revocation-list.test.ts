import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RevocationList } from '../src/oauth/revocation-list.js';
import { heldReads } from './helpers/held-reads.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => ts?.close());

const exp = () => Math.floor(Date.now() / 1000) + 3600;

describe('the in-memory deny-list of revoked access tokens', () => {
  it('keeps a revocation announced while its load is in flight', async () => {
    const { ctx } = ts.server.services;
    const reads = heldReads(ctx.db);
    const list = new RevocationList({ ...ctx, db: reads.db } as typeof ctx, async () => true);
    reads.hold();
    const loading = list.isRevoked('other');
    await reads.reading();
    // Committed and announced after the load read the table, before it finished.
    await new RevocationList(ctx).revoke('revoked-while-loading', exp());
    list.heard('revoked-while-loading');
    reads.release();
    expect(await loading).toBe(false);
    expect(await list.isRevoked('revoked-while-loading')).toBe(true);
  });

  it('a check after a reset does not join a load that began before it', async () => {
    const { ctx } = ts.server.services;
    const reads = heldReads(ctx.db);
    const list = new RevocationList({ ...ctx, db: reads.db } as typeof ctx, async () => true);
    reads.hold();
    const loading = list.isRevoked('other');
    await reads.reading();
    await new RevocationList(ctx).revoke('revoked-before-reset', exp());
    // The version gate saw the change (no per-token announcement reached this node).
    list.heard('*');
    const after = list.isRevoked('revoked-before-reset');
    reads.release();
    await loading;
    expect(await after).toBe(true);
  });
});
