import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, migrateToLatest } from '../src/db/database.js';
import { inTransaction } from '../src/db/transaction.js';
import { executeTogether } from '../src/db/write-together.js';
import { auditWrite } from '../src/domain/audit.js';
import { eventWrite } from '../src/domain/events.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';

/**
 * Writes of one change run as one statement on PostgreSQL (data-modifying CTEs) and one after another on
 * SQLite (`src/db/write-together.ts`); either way they commit or fail together.
 */
let tdb: TestDatabase;
let handle: DatabaseHandle;
const ctx = { now: () => Date.now() };

beforeAll(async () => {
  tdb = await createTestDatabase();
  handle = tdb.open();
  await migrateToLatest(handle);
});
afterAll(async () => {
  await handle?.close();
  await tdb?.drop();
});

const auditCount = async (type: string) =>
  Number(
    (
      await handle.db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('actor', '=', type)
        .executeTakeFirstOrThrow()
    ).n,
  );
const outboxCount = async (marker: string) =>
  Number(
    (
      await handle.db
        .selectFrom('outbox')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('payload', 'like', `%${marker}%`)
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('executeTogether', () => {
  it('writes an audit row and its event, with parameters of both numbered right', async () => {
    const actor = `actor-${Math.random()}`;
    await executeTogether(handle.db, [
      auditWrite(ctx, handle.db, { type: 'app.updated', actor, data: { n: 1 } }),
      eventWrite({ type: 'app.updated', tenant_id: null, data: { marker: actor } }),
      auditWrite(ctx, handle.db, { type: 'app.deleted', actor, data: { n: 2 } }),
    ]);
    expect(await auditCount(actor)).toBe(2);
    expect(await outboxCount(actor)).toBe(1);
    const rows = await handle.db
      .selectFrom('audit_events')
      .select(['type', 'data'])
      .where('actor', '=', actor)
      .execute();
    expect(rows.map((r) => [r.type, JSON.parse(r.data).n]).sort()).toEqual([
      ['app.deleted', 2],
      ['app.updated', 1],
    ]);
  });

  it('fails as a whole inside a transaction: no write of a failed change is left', async () => {
    const actor = `actor-${Math.random()}`;
    const dup = auditWrite(ctx, handle.db, { type: 'app.updated', actor });
    await expect(
      inTransaction(handle.db, async (trx) => {
        await executeTogether(trx, [
          eventWrite({ type: 'app.updated', tenant_id: null, data: { marker: actor } }),
          dup,
          dup, // the same id twice: a primary key violation
        ]);
      }),
    ).rejects.toThrow();
    expect(await auditCount(actor)).toBe(0);
    expect(await outboxCount(actor)).toBe(0);
  });

  it('does nothing for no writes, and runs a single write as itself', async () => {
    await executeTogether(handle.db, []);
    const actor = `actor-${Math.random()}`;
    await executeTogether(handle.db, [auditWrite(ctx, handle.db, { type: 'app.updated', actor })]);
    expect(await auditCount(actor)).toBe(1);
  });
});
