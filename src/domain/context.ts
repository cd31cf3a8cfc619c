import type { Config } from '../config/config.js';
import type { KeyedHasher } from '../crypto/keyed-hash.js';
import type { Db } from '../db/database.js';
import type { ChangeFeed } from './change-feed.js';

/** Everything domain functions need: no HTTP, no globals. */
export interface DomainContext {
  db: Db;
  config: Config;
  /** Keyed hash for client secrets, codes and refresh tokens. */
  hasher: KeyedHasher;
  /** Tells every node that cached security state changed (secrets, app status, keys). */
  changes: ChangeFeed;
  now(): number;
}

/** Who performs an action, for authorization checks and the audit log. */
export interface Actor {
  /** `user:<id>`, `client:<client_id>` or `system`. */
  id: string;
  tenantId: string | null;
  userId?: string;
  role?: 'admin' | 'developer' | 'user';
  /** A platform operator (bootstrap admin client / `clavis:admin` scope). */
  platformAdmin?: boolean;
}

export const SYSTEM_ACTOR: Actor = { id: 'system', tenantId: null, platformAdmin: true };
