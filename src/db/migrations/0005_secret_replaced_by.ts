import type { Kysely } from 'kysely';

interface Tables {
  client_secrets: { id: string; replaced_by: string | null };
  audit_events: { type: string; secret_id: string | null; data: string };
}

/**
 * `client_secrets.replaced_by`: the secret a refresh put in place of this one, so a secret deactivated by a
 * refresh ("Replaced") is told apart from one revoked on purpose ("Revoked"). Secrets refreshed before
 * this column existed are filled in from their `secret.refreshed` audit events, which name what they replaced.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('client_secrets').addColumn('replaced_by', 'text').execute();
  const k = db as unknown as Kysely<Tables>;
  const events = await k
    .selectFrom('audit_events')
    .select(['secret_id', 'data'])
    .where('type', '=', 'secret.refreshed')
    .execute();
  for (const e of events) {
    let replaces: unknown;
    try {
      replaces = (JSON.parse(e.data) as { replaces?: unknown }).replaces;
    } catch {
      continue;
    }
    const ids = Array.isArray(replaces) ? replaces.filter((r): r is string => typeof r === 'string') : [];
    if (e.secret_id && ids.length > 0)
      await k
        .updateTable('client_secrets')
        .set({ replaced_by: e.secret_id })
        .where('id', 'in', ids)
        .execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('client_secrets').dropColumn('replaced_by').execute();
}
