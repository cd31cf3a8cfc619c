import type { CompiledQuery } from 'kysely';
import type { AppTable } from '../db/schema.js';
import type { App } from '../domain/apps.js';
import { toApp } from '../domain/apps.js';
import type { DomainContext } from '../domain/context.js';

type LookupRow = AppTable & {
  secret_id: string | null;
  secret_hash: string | null;
  secret_expires_at: number | null;
  secret_last_used_at: number | null;
};

/** What client authentication needs about one client: the app and its unrevoked secrets. */
export interface ClientRecord {
  app: App;
  secrets: Array<{ id: string; hash: string; expires_at: number | null; last_used_at: number | null }>;
}

/**
 * Loads clients for the protocol endpoints in one query (the app joined with its unrevoked secrets).
 *
 * Nothing is cached across requests, so a secret revoked or an app disabled on any node is refused by every
 * node on its next request.
 */
export class ClientRegistry {
  /** The lookup, compiled to SQL once: the token endpoint's hot path skips Kysely's query building. */
  readonly #lookup: CompiledQuery<LookupRow>;

  constructor(private readonly ctx: DomainContext) {
    this.#lookup = ctx.db
      .selectFrom('apps')
      .leftJoin('client_secrets', (join) =>
        join.onRef('client_secrets.app_id', '=', 'apps.id').on('client_secrets.revoked_at', 'is', null),
      )
      .selectAll('apps')
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

  async find(clientId: string): Promise<ClientRecord | null> {
    if (clientId.length === 0 || clientId.length > 256) return null;
    const { rows } = await this.ctx.db.executeQuery<LookupRow>({ ...this.#lookup, parameters: [clientId] });
    const first = rows[0];
    if (!first) return null;
    const {
      secret_id: _a,
      secret_hash: _b,
      secret_expires_at: _c,
      secret_last_used_at: _d,
      ...appRow
    } = first;
    return {
      app: toApp(appRow),
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
