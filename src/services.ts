import type { Config } from './config/config.js';
import { KeyedHasher } from './crypto/keyed-hash.js';
import { SealedBox } from './crypto/sealed-box.js';
import type { DatabaseHandle } from './db/database.js';
import { PgChangeFeed } from './db/pg-change-feed.js';
import { SqliteVersionGate } from './db/sqlite-version-gate.js';
import { VersionGate } from './db/version-gate.js';
import type { ChangeFeed } from './domain/change-feed.js';
import { LocalChangeFeed } from './domain/change-feed.js';
import type { DomainContext } from './domain/context.js';
import { KeyStore } from './keys/key-store.js';
import { AccessTokens } from './oauth/access-token.js';
import { type CacheGuard, ClientRegistry } from './oauth/client-registry.js';
import type { GrantHandler } from './oauth/grant.js';
import { clientCredentialsGrant } from './oauth/grants/client-credentials.js';
import { type AccessTokenLiveness, DefaultLiveness, type TokenIntrospector } from './oauth/introspection.js';
import type { TokenRevoker } from './oauth/revocation.js';
import { RevocationList } from './oauth/revocation-list.js';
import { SecretUsage } from './oauth/secret-usage.js';

/** Everything the HTTP layer and the CLI use, built once per process. */
export interface Services {
  config: Config;
  database: DatabaseHandle;
  ctx: DomainContext;
  keys: KeyStore;
  tokens: AccessTokens;
  registry: ClientRegistry;
  usage: SecretUsage;
  revocations: RevocationList;
  liveness: AccessTokenLiveness;
  /** Token endpoint grants by `grant_type`. */
  grants: Map<string, GrantHandler>;
  introspectors: TokenIntrospector[];
  revokers: TokenRevoker[];
  /** Whether `/oauth/authorize` is served (advertised in discovery only then). */
  features: { authorizationEndpoint: boolean };
  /** Extra purge steps added by features (expired codes, refresh tokens, sessions); each returns rows deleted. */
  purgeSteps: Array<(services: Services) => Promise<number>>;
  /** Called on close, in reverse order. */
  onClose: Array<() => Promise<void> | void>;
}

/**
 * Wires the services for one process. Keys are loaded (and the first one created) here.
 *
 * @param options.changes A change feed; defaults to a process-local one (SQLite, single node).
 * @param options.now A clock, for tests.
 */
export async function createServices(
  config: Config,
  database: DatabaseHandle,
  options: { changes?: ChangeFeed; now?: () => number } = {},
): Promise<Services> {
  const ctx: DomainContext = {
    db: database.db,
    config,
    hasher: new KeyedHasher(config.secretKey),
    // On PostgreSQL, changes must bump the shared version even in processes without a listener (the CLI).
    changes:
      options.changes ??
      (database.pgPool && config.database.kind === 'postgres'
        ? new PgChangeFeed(config.database.url, database.pgPool)
        : new LocalChangeFeed()),
    now: options.now ?? Date.now,
  };
  const keys = new KeyStore(ctx, new SealedBox(config.secretKey));
  await keys.init();
  const tokens = new AccessTokens(ctx, keys);
  const gate = database.pgPool
    ? new VersionGate(database.pgPool)
    : database.sqlite
      ? new SqliteVersionGate(database.sqlite)
      : undefined;
  const guard: CacheGuard | undefined = gate ? () => gate.check() : undefined;
  const registry = new ClientRegistry(ctx, { guard, pgPool: database.pgPool });
  const revocations = new RevocationList(ctx, guard);
  const unsubscribeGate = gate?.onChange(() => {
    registry.invalidate('*');
    revocations.heard('*');
  });
  const unsubscribeClients = ctx.changes.subscribe((topic, key) => {
    if (topic === 'client') registry.invalidate(key);
    else if (topic === 'revoked') revocations.heard(key);
  });
  const services: Services = {
    config,
    database,
    ctx,
    keys,
    tokens,
    registry,
    usage: new SecretUsage(ctx),
    revocations,
    liveness: new DefaultLiveness(revocations, registry),
    grants: new Map([['client_credentials', clientCredentialsGrant(tokens, config.apiAudience)]]),
    introspectors: [],
    revokers: [],
    features: { authorizationEndpoint: false },
    purgeSteps: [],
    onClose: [],
  };
  const unsubscribe = ctx.changes.subscribe((topic) => {
    if (topic === 'keys') keys.reload().catch(() => {});
  });
  services.onClose.push(unsubscribe, unsubscribeClients);
  if (unsubscribeGate) services.onClose.push(unsubscribeGate);
  return services;
}

/** Releases timers, listeners and the database. */
export async function closeServices(services: Services): Promise<void> {
  for (const fn of [...services.onClose].reverse()) await fn();
  await services.database.close();
}
