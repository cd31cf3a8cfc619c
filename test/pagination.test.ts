import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, migrateToLatest } from '../src/db/database.js';
import { DomainError } from '../src/domain/errors.js';
import { decodeCursor, encodeCursor, keysetPage, pageSize } from '../src/domain/pagination.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';

describe('cursors', () => {
  it('round-trip a (created_at, id) pair', () => {
    expect(decodeCursor(encodeCursor(1_700_000_000_123, 'abc-def'))).toEqual([1_700_000_000_123, 'abc-def']);
  });

  it.each([
    ['not base64 JSON', '!!'],
    ['garbage', 'garbage'],
    ['an empty string', ''],
    ['a JSON object', Buffer.from('{"at":1,"id":"x"}').toString('base64url')],
    ['a string time', Buffer.from('["1","x"]').toString('base64url')],
    ['a fractional time', Buffer.from('[1.5,"x"]').toString('base64url')],
    ['a numeric id', Buffer.from('[1,2]').toString('base64url')],
    ['an extra element', Buffer.from('[1,"x",3]').toString('base64url')],
  ])('refuse %s with cursor_invalid (a 400 on the API)', (_what, cursor) => {
    let err: unknown;
    try {
      decodeCursor(cursor);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).errorCode).toBe('cursor_invalid');
    expect((err as DomainError).code).toBe('malformed');
    expect((err as DomainError).fields).toHaveProperty('cursor');
  });
});

describe('page sizes', () => {
  it('default to 50 and stay within 1..200', () => {
    expect(pageSize(undefined)).toBe(50);
    expect(pageSize(0)).toBe(1);
    expect(pageSize(-5)).toBe(1);
    expect(pageSize(7)).toBe(7);
    expect(pageSize(10_000)).toBe(200);
  });
});

describe('keysetPage', () => {
  let tdb: TestDatabase;
  let handle: DatabaseHandle;
  const tag = randomBytes(4).toString('hex');

  beforeAll(async () => {
    tdb = await createTestDatabase();
    handle = tdb.open();
    await migrateToLatest(handle);
    // Seven events, three of them in the same millisecond: the id breaks the tie.
    const times = [1000, 2000, 2000, 2000, 3000, 4000, 5000];
    await handle.db
      .insertInto('audit_events')
      .values(
        times.map((t, i) => ({
          id: `${tag}-${i}`,
          type: 'app.created',
          actor: 'system',
          tenant_id: null,
          app_id: tag,
          secret_id: null,
          data: '{}',
          created_at: t,
        })),
      )
      .execute();
  });
  afterAll(async () => {
    await handle?.close();
    await tdb?.drop();
  });

  const query = () => handle.db.selectFrom('audit_events').selectAll().where('app_id', '=', tag);

  it('walks every row once, newest first, ties broken by id, with the limit+1 look-ahead', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await keysetPage(query(), { limit: 2, cursor }, (r) => r.id);
      seen.push(...page.items);
      cursor = page.next_cursor ?? undefined;
      pages++;
      expect(page.items.length).toBeLessThanOrEqual(2);
    } while (cursor);
    expect(pages).toBe(4);
    expect(seen).toEqual([6, 5, 4, 3, 2, 1, 0].map((i) => `${tag}-${i}`));
  });

  it('ends with a null cursor when the page is exactly full', async () => {
    const page = await keysetPage(query(), { limit: 7 }, (r) => r.created_at);
    expect(page.items).toEqual([5000, 4000, 3000, 2000, 2000, 2000, 1000]);
    expect(page.next_cursor).toBeNull();
  });

  it('refuses a malformed cursor before querying', async () => {
    await expect(keysetPage(query(), { cursor: 'garbage' }, (r) => r)).rejects.toMatchObject({
      errorCode: 'cursor_invalid',
    });
  });
});
