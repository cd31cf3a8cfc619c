import { describe, expect, it } from 'vitest';
import { inTransaction } from '../src/db/transaction.js';
import { executeTogether } from '../src/db/write-together.js';
import { auditWrite } from '../src/domain/audit.js';
import { eventWrite } from '../src/domain/events.js';
import { useMigratedTestDatabase } from './helpers/migrated-db.js';

/**
 * Writes of one change run as one statement on PostgreSQL (data-modifying CTEs) and one after another on
 * SQLite (`src/db/write-together.ts`); either way they commit or fail together.
 */
const tdb = useMigratedTestDatabase();
const ctx = { now: () => Date.now() };

const auditCount = async (type: string) =>
  Number(
    (
      await tdb.handle.db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('actor', '=', type)
        .executeTakeFirstOrThrow()
    ).n,
  );
const outboxCount = async (marker: string) =>
  Number(
    (
      await tdb.handle.db
        .selectFrom('outbox')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('payload', 'like', `%${marker}%`)
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('executeTogether', () => {
  it('writes an audit row and its event, with parameters of both numbered right', async () => {
    const actor = `actor-${Math.random()}`;
    await executeTogether(tdb.handle.db, [
      auditWrite(ctx, tdb.handle.db, { type: 'app.updated', actor, data: { n: 1 } }),
      eventWrite({ type: 'app.updated', tenant_id: null, data: { marker: actor } }),
      auditWrite(ctx, tdb.handle.db, { type: 'app.deleted', actor, data: { n: 2 } }),
    ]);
    expect(await auditCount(actor)).toBe(2);
    expect(await outboxCount(actor)).toBe(1);
    const rows = await tdb.handle.db
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
    const dup = auditWrite(ctx, tdb.handle.db, { type: 'app.updated', actor });
    await expect(
      inTransaction(tdb.handle.db, async (trx) => {
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
    await executeTogether(tdb.handle.db, []);
    const actor = `actor-${Math.random()}`;
    await executeTogether(tdb.handle.db, [auditWrite(ctx, tdb.handle.db, { type: 'app.updated', actor })]);
    expect(await auditCount(actor)).toBe(1);
  });
});
