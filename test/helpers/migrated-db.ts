import { afterAll, beforeAll } from 'vitest';
import { type DatabaseHandle, migrateToLatest } from '../../src/db/database.js';
import { createTestDatabase, type TestDatabase } from './db.js';

/**
 * A fresh test database for the calling file (the kind `CLAVIS_TEST_DB` chooses), opened and migrated before
 * its tests and dropped after them. Read `handle` inside tests or hooks: it is set once `beforeAll` ran.
 */
export function useMigratedTestDatabase(): { readonly handle: DatabaseHandle } {
  let tdb: TestDatabase | undefined;
  let handle: DatabaseHandle | undefined;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    handle = tdb.open();
    await migrateToLatest(handle);
  });
  afterAll(async () => {
    await handle?.close();
    await tdb?.drop();
  });
  return {
    get handle() {
      if (!handle)
        throw new Error('The test database is opened in beforeAll; read it inside a test or hook.');
      return handle;
    },
  };
}
