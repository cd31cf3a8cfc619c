import { type CompiledQuery, sql } from 'kysely';
import type pg from 'pg';
import type { AppTable } from '../db/schema.js';
import { type HeldPermission, toHeldPermission } from './app-permission-store.js';
import { type App, toApp } from './apps.js';
import type { DomainContext } from './context.js';

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
 * Reads one client as the protocol endpoints need it: the live app joined with its unrevoked secrets and
 * its app permissions, in one query. It only reads `apps`, `client_secrets` and `app_permissions`, whose
 * life the rest of the domain owns. The query is compiled to SQL once (the token endpoint's hot path skips
 * Kysely's query building) and, on PostgreSQL, runs as a named prepared statement straight on the pool.
 */
export class ClientLookup {
  readonly #query: CompiledQuery<LookupRow>;

  /**
   * @param pgPool On PostgreSQL, the pool the named prepared statement runs on.
   */
  constructor(
    private readonly ctx: DomainContext,
    private readonly pgPool?: pg.Pool | undefined,
  ) {
    // Permissions ride along as one aggregated text column (scope tokens hold no tabs or line breaks).
    const aggregate =
      ctx.config.database.kind === 'postgres'
        ? sql<
            string | null
          >`(select string_agg(p.api_id || chr(9) || p.scopes || chr(9) || p.granted_scopes, chr(10)) from app_permissions p where p.app_id = apps.id)`
        : sql<
            string | null
          >`(select group_concat(p.api_id || char(9) || p.scopes || char(9) || p.granted_scopes, char(10)) from app_permissions p where p.app_id = apps.id)`;
    this.#query = ctx.db
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
    if (this.#query.parameters.length !== 1) throw new Error('client lookup must take exactly one parameter');
  }

  /** The client with this `client_id`, or null when there is none (or it was deleted). */
  async load(clientId: string): Promise<ClientRecord | null> {
    const rows = this.pgPool
      ? (
          await this.pgPool.query<LookupRow>({
            name: 'clavis_client_lookup',
            text: this.#query.sql,
            values: [clientId],
          })
        ).rows
      : (await this.ctx.db.executeQuery<LookupRow>({ ...this.#query, parameters: [clientId] })).rows;
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
