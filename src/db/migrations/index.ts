import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_core.js';

/** Every migration, in order. Add new ones here with the next number. */
const migrations: Record<string, Migration> = {
  '0001_core': m0001,
};

/** Migrations compiled into the program, so they run the same from source, from dist, and in tests. */
export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
