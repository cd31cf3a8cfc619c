import { type AuthState, createAuthState } from './auth/auth-state.js';
import type { Config } from './config/config.js';
import { KeyedHasher } from './crypto/keyed-hash.js';
import { SealedBox } from './crypto/sealed-box.js';
import { type ChangeFeed, LocalChangeFeed } from './db/change-feed.js';
import type { DatabaseHandle } from './db/database.js';
import { PgChangeFeed } from './db/pg-change-feed.js';
import { SqliteVersionGate } from './db/sqlite-version-gate.js';
import { VersionGate } from './db/version-gate.js';
import type { DomainContext } from './domain/context.js';
import { KeyStore } from './keys/key-store.js';
import { AccessTokens } from './oauth/access-token.js';
import { ApiRegistry } from './oauth/api-registry.js';
import { type CacheGuard, ClientRegistry } from './oauth/client-registry.js';
import type { GrantHandler } from './oauth/grant.js';
import { clientCredentialsGrant } from './oauth/grants/client-credentials.js';
import { type AccessTokenLiveness, DefaultLiveness, type TokenIntrospector } from './oauth/introspection.js';
import { IdTokens } from './oauth/oidc/id-token.js';
import { PublicOrigins } from './oauth/public-origins.js';
import type { TokenRevoker } from './oauth/revocation.js';
import { RevocationList } from './oauth/revocation-list.js';
import { SecretUsage } from './oauth/secret-usage.js';

/** A maintenance step that deletes expired rows; returns the number deleted. */
export type PurgeStep = (services: Services) => Promise<number>;

/** Everything the HTTP layer and the CLI use, built once per process and never changed afterwards. */
export interface Services {
  readonly config: Config;
  readonly database: DatabaseHandle;
  readonly ctx: DomainContext;
  readonly keys: KeyStore;
  readonly tokens: AccessTokens;
  /** OpenID Connect ID tokens and logout tokens. */
  readonly idTokens: IdTokens;
  /** Back-channel logout deliveries (in the background, retried, audited). */
  readonly registry: ClientRegistry;
  /** The APIs tokens are issued for, cached like the clients. */
  readonly apis: ApiRegistry;
  /** Where public apps run their pages: the origins CORS preflights are answered for. */
  readonly publicOrigins: PublicOrigins;
  readonly usage: SecretUsage;
  readonly revocations: RevocationList;
  readonly liveness: AccessTokenLiveness;
  /** Token endpoint grants by `grant_type`. */
  readonly grants: ReadonlyMap<string, GrantHandler>;
  readonly introspectors: readonly TokenIntrospector[];
  readonly revokers: readonly TokenRevoker[];
  /**
   * Whether `/oauth/authorize`, and the device authorization endpoint with its verification page, are served
   * (advertised in discovery only then).
   */
  readonly features: { readonly authorizationEndpoint: boolean; readonly deviceAuthorization: boolean };
  /** Purge steps beyond the revocation deny-list (expired codes, refresh tokens, sessions, ...). */
  readonly purgeSteps: readonly PurgeStep[];
  /** Browser sign-in state: cookie names, the CSRF key, the login throttle. */
  readonly auth: AuthState;
  /** Called on close, in reverse order. */
  readonly onClose: ReadonlyArray<() => Promise<void> | void>;
}

/** What a feature is built from: the core services, before any feature is added. */
export interface CoreServices {
  readonly config: Config;
  readonly ctx: DomainContext;
  readonly tokens: AccessTokens;
  readonly idTokens: IdTokens;
  readonly registry: ClientRegistry;
  readonly apis: ApiRegistry;
  readonly revocations: RevocationList;
}

/**
 * What an optional protocol feature adds to the services (see src/features.ts). Each part is merged into
 * the one {@link Services} object that {@link createServices} builds.
 */
export interface Feature {
  /** Token endpoint grants by `grant_type`. */
  readonly grants?: Readonly<Record<string, GrantHandler>>;
  readonly introspectors?: readonly TokenIntrospector[];
  readonly revokers?: readonly TokenRevoker[];
  /** Whether an access token's grant (its `gid` claim) is still live; all features must agree. */
  readonly grantIsLive?: (grantId: string) => Promise<boolean>;
  /** Serves `/oauth/authorize`. */
  readonly authorizationEndpoint?: boolean;
  /** Serves the device authorization endpoint and the verification page (RFC 8628). */
  readonly deviceAuthorization?: boolean;
  readonly purgeSteps?: readonly PurgeStep[];
}

/** Builds a feature from the core services. */
export type FeatureFactory = (core: CoreServices) => Feature;

export interface ServicesOptions {
  /** Optional protocol features, in order (src/features.ts has the server's list). */
  features?: readonly FeatureFactory[];
  /**
   * Hear other nodes' changes (PostgreSQL LISTEN), as a server does. Without it, changes are still announced
   * to other nodes (the CLI rotating a key), but this process hears only its own.
   */
  listen?: boolean;
  /** A change feed, for tests; by default one is chosen by database (see {@link changeFeedFor}). */
  changes?: ChangeFeed;
  /** A clock, for tests. */
  now?: () => number;
}

/**
 * The change feed for a database: on PostgreSQL the LISTEN/NOTIFY feed, as changes must bump the shared
 * version even in processes that do not listen (the CLI); otherwise a process-local one (SQLite, one node).
 */
export function changeFeedFor(config: Config, database: DatabaseHandle): LocalChangeFeed | PgChangeFeed {
  return database.pgPool && config.database.kind === 'postgres'
    ? new PgChangeFeed(config.database.url, database.pgPool)
    : new LocalChangeFeed();
}

/**
 * Wires the services for one process from the core and the given features. Keys are loaded (and the first
 * one created) here. The result is frozen: features contribute through their {@link Feature}, never by
 * changing the services afterwards.
 *
 * @throws Error when the configuration has no secret key (`secretKeySource: 'missing'`).
 */
export async function createServices(
  config: Config,
  database: DatabaseHandle,
  options: ServicesOptions = {},
): Promise<Services> {
  if (config.secretKeySource === 'missing')
    throw new Error(
      `no secret key: set CLAVIS_SECRET_KEY or create ${config.secretKeyFile ?? 'secret.key'} (clavis serve creates one on first start)`,
    );
  const onClose: Array<() => Promise<void> | void> = [];
  let changes = options.changes;
  if (!changes) {
    const feed = changeFeedFor(config, database);
    if (feed instanceof PgChangeFeed) {
      if (options.listen) await feed.start();
      onClose.push(() => feed.close());
    }
    changes = feed;
  }
  try {
    const ctx: DomainContext = {
      db: database.db,
      config,
      hasher: new KeyedHasher(config.secretKey),
      changes,
      now: options.now ?? Date.now,
    };
    const keys = new KeyStore(ctx, new SealedBox(config.secretKey));
    await keys.init();
    const tokens = new AccessTokens(ctx, keys);
    const idTokens = new IdTokens(ctx, keys);
    const gate = database.pgPool
      ? new VersionGate(database.pgPool)
      : database.sqlite
        ? new SqliteVersionGate(database.sqlite)
        : undefined;
    const guard: CacheGuard | undefined = gate ? () => gate.check() : undefined;
    const registry = new ClientRegistry(ctx, { guard, pgPool: database.pgPool });
    const revocations = new RevocationList(ctx, guard);
    const apis = new ApiRegistry(ctx, () => registry.trusted);
    const publicOrigins = new PublicOrigins(ctx, guard);
    const unsubscribeGate = gate?.onChange(() => {
      registry.invalidate('*');
      publicOrigins.invalidate();
      apis.invalidate();
      revocations.heard('*');
    });
    if (unsubscribeGate) onClose.push(unsubscribeGate);
    onClose.push(
      ctx.changes.subscribe((topic, key) => {
        if (topic === 'client') {
          registry.invalidate(key);
          publicOrigins.invalidate();
        } else if (topic === 'revoked') revocations.heard(key);
        else if (topic === 'api') apis.invalidate();
        else if (topic === 'keys') keys.reload().catch(() => {});
      }),
    );

    const core: CoreServices = { config, ctx, tokens, idTokens, registry, apis, revocations };
    const features = (options.features ?? []).map((build) => build(core));
    const liveChecks = features.flatMap((f) => (f.grantIsLive ? [f.grantIsLive] : []));
    const grantIsLive = liveChecks.length
      ? async (gid: string) => (await Promise.all(liveChecks.map((check) => check(gid)))).every(Boolean)
      : undefined;
    return Object.freeze({
      config,
      database,
      ctx,
      keys,
      tokens,
      idTokens,
      registry,
      apis,
      publicOrigins,
      usage: new SecretUsage(ctx),
      revocations,
      liveness: new DefaultLiveness(revocations, registry, grantIsLive),
      grants: new Map<string, GrantHandler>([
        ['client_credentials', clientCredentialsGrant(ctx, tokens, apis)],
        ...features.flatMap((f) => Object.entries(f.grants ?? {})),
      ]),
      introspectors: Object.freeze(features.flatMap((f) => f.introspectors ?? [])),
      revokers: Object.freeze(features.flatMap((f) => f.revokers ?? [])),
      features: Object.freeze({
        authorizationEndpoint: features.some((f) => f.authorizationEndpoint),
        deviceAuthorization: features.some((f) => f.deviceAuthorization),
      }),
      purgeSteps: Object.freeze(features.flatMap((f) => f.purgeSteps ?? [])),
      auth: createAuthState(config, ctx),
      onClose: Object.freeze(onClose),
    });
  } catch (err) {
    for (const fn of onClose.reverse()) await fn();
    throw err;
  }
}

/** Releases timers, listeners and the database. */
export async function closeServices(services: Services): Promise<void> {
  for (const fn of [...services.onClose].reverse()) await fn();
  await services.database.close();
}
