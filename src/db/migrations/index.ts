import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_core.js';
import * as m0002 from './0002_user_auth.js';
import * as m0003 from './0003_app_requests.js';
import * as m0004 from './0004_change_version.js';
import * as m0005 from './0005_secret_replaced_by.js';
import * as m0006 from './0006_refresh_token_chain.js';
import * as m0007 from './0007_app_pending_change.js';
import * as m0008 from './0008_apis.js';
import * as m0009 from './0009_oidc.js';
import * as m0010 from './0010_device_codes.js';
import * as m0011 from './0011_outbox_mail.js';
import * as m0012 from './0012_webhooks.js';
import * as m0013 from './0013_credential_leaks.js';
import * as m0014 from './0014_purge_indexes.js';
import * as m0015 from './0015_refresh_token_chain_index.js';

/** Every migration, in order. Add new ones here with the next number. */
const migrations: Record<string, Migration> = {
  '0001_core': m0001,
  '0002_user_auth': m0002,
  '0003_app_requests': m0003,
  '0004_change_version': m0004,
  '0005_secret_replaced_by': m0005,
  '0006_refresh_token_chain': m0006,
  '0007_app_pending_change': m0007,
  '0008_apis': m0008,
  '0009_oidc': m0009,
  '0010_device_codes': m0010,
  '0011_outbox_mail': m0011,
  '0012_webhooks': m0012,
  '0013_credential_leaks': m0013,
  '0014_purge_indexes': m0014,
  '0015_refresh_token_chain_index': m0015,
};

/** Migrations compiled into the program, so they run the same from source, from dist, and in tests. */
export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
