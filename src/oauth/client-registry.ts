import { type CompiledQuery, sql } from 'kysely';
import type pg from 'pg';
import type { AppTable } from '../db/schema.js';
import { type HeldPermission, toHeldPermission } from '../domain/app-permission-store.js';
import type { App } from '../domain/apps.js';
import { toApp } from '../domain/apps.js';
import type { DomainContext } from '../domain/context.js';

type LookupRow = AppTable & {
  /** The app's permissions, one line each: `api_id TAB scopes TAB granted_scopes`. */
  permissions: string | null;
  secret_id: string | null;
  secret_hash: string | null;
  secret_expires_at: number | null;
  secret_last_used_at: number | null;
};

/**
 * What client authentication and the grants need about one client: the app, its unrevoked secrets, and
 * its app permissions by API id (loaded in the same query, so a token for any API costs no extra query).
 */
export interface ClientRecord {
  app: App;
  secrets: Array<{ id: string; hash: string; expires_at: number | null; last_used_at: number | null }>;
  permissions: ReadonlyMap<string, HeldPermission>;
}

function parsePermissions(text: string | null): Map<string, HeldPermission> {
  const out = new Map<string, HeldPermission>();
  if (!text) return out;
  for (const line of text.split('\n')) {
    const [apiId, scopes, granted] = line.split('\t');
    if (apiId) out.set(apiId, toHeldPermission(scopes ?? '', granted ?? ''));
  }
  return out;
}

/**
 * Decides, before a cached record is used, whether caches may be trusted: it resolves after a version read
 * that began after the call (the SQLite or PostgreSQL version gate), false when that read failed. A moved
 * version drops the caches through the gate's `onChange`, before this resolves.
 */
export type CacheGuard = () => Promise<boolean>;

/** How many clients a node keeps in memory. */
const CACHE_LIMIT = 10_000;

/**
 * The token endpoint's compiled client lookup, a single-purpose store that only reads `apps` and
 * `client_secrets` (the domain owns their life). Loads clients for the protocol endpoints in one query (the app joined with its unrevoked secrets), and
 * caches them only under a {@link CacheGuard} that guarantees freshness (SQLite: every change is announced
 * locally and `data_version` reveals other processes' commits; PostgreSQL: a shared version read that
 * began after the request arrived), so a secret revoked or an app disabled anywhere is refused on the very
 * next request. Without a guard every lookup reads the database. Secret expiry is checked at use, against the clock, so a cached entry never outlives it.
 */
export class ClientRegistry {
  /** The lookup, compiled to SQL once: the token endpoint's hot path skips Kysely's query building. */
  readonly #lookup: CompiledQuery<LookupRow>;
  readonly #cache = new Map<string, ClientRecord>();
  /** Bumped on every invalidation, so a load that raced with a change is not cached. */
  #generation = 0;
  /** Whether the latest guard check allowed caches (the API catalogue follows it: see ApiRegistry). */
  #trusted = false;

  readonly #guard: CacheGuard | undefined;
  readonly #pgPool: pg.Pool | undefined;

  /**
   * @param options.guard Enables the cache (see {@link CacheGuard}).
   * @param options.pgPool On PostgreSQL, the lookup runs as a named prepared statement straight on the pool.
   */
  constructor(
    private readonly ctx: DomainContext,
    options: { guard?: CacheGuard | undefined; pgPool?: pg.Pool | undefined } = {},
  ) {
    this.#guard = options.guard;
    this.#pgPool = options.pgPool;
    // Permissions ride along as one aggregated text column (scope tokens hold no tabs or line breaks).
    const aggregate =
      ctx.config.database.kind === 'postgres'
        ? sql<
            string | null
          >`(select string_agg(p.api_id || chr(9) || p.scopes || chr(9) || p.granted_scopes, chr(10)) from app_permissions p where p.app_id = apps.id)`
        : sql<
            string | null
          >`(select group_concat(p.api_id || char(9) || p.scopes || char(9) || p.granted_scopes, char(10)) from app_permissions p where p.app_id = apps.id)`;
    this.#lookup = ctx.db
      .selectFrom('apps')
      .leftJoin('client_secrets', (join) =>
        join.onRef('client_secrets.app_id', '=', 'apps.id').on('client_secrets.revoked_at', 'is', null),
      )
      .selectAll('apps')
      .select(aggregate.as('permissions'))
      .select([
        'client_secrets.id as secret_id',
        'client_secrets.hash as secret_hash',
        'client_secrets.expires_at as secret_expires_at',
        'client_secrets.last_used_at as secret_last_used_at',
      ])
      .where('apps.client_id', '=', '')
      .where('apps.deleted_at', 'is', null)
      .compile();
    if (this.#lookup.parameters.length !== 1)
      throw new Error('client lookup must take exactly one parameter');
  }

  /** Drops one client (`*`: all) from the cache. */
  invalidate(clientId: string): void {
    this.#generation++;
    if (clientId === '*') this.#cache.clear();
    else this.#cache.delete(clientId);
  }

  /** Whether the latest lookup's freshness check allowed caches. */
  get trusted(): boolean {
    return this.#trusted;
  }

  async find(clientId: string): Promise<ClientRecord | null> {
    if (clientId.length === 0 || clientId.length > 256) return null;
    const trusted = this.#guard ? await this.#guard() : false;
    this.#trusted = trusted;
    if (!trusted) {
      if (this.#cache.size > 0) this.invalidate('*');
      return this.#load(clientId);
    }
    const hit = this.#cache.get(clientId);
    if (hit) return hit;
    const generation = this.#generation;
    const record = await this.#load(clientId);
    if (record && generation === this.#generation) {
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(clientId, record);
    }
    return record;
  }

  async #load(clientId: string): Promise<ClientRecord | null> {
    const rows = this.#pgPool
      ? (
          await this.#pgPool.query<LookupRow>({
            name: 'clavis_client_lookup',
            text: this.#lookup.sql,
            values: [clientId],
          })
        ).rows
      : (await this.ctx.db.executeQuery<LookupRow>({ ...this.#lookup, parameters: [clientId] })).rows;
    const first = rows[0];
    if (!first) return null;
    const {
      permissions,
      secret_id: _a,
      secret_hash: _b,
      secret_expires_at: _c,
      secret_last_used_at: _d,
      ...appRow
    } = first;
    return {
      app: toApp(appRow),
      permissions: parsePermissions(permissions),
      secrets: rows
        .filter((r) => r.secret_id !== null)
        .map((r) => ({
          id: r.secret_id!,
          hash: r.secret_hash!,
          expires_at: r.secret_expires_at,
          last_used_at: r.secret_last_used_at,
        })),
    };
  }
}
