import { uuid } from '../crypto/random.js';
import type { Db } from '../db/database.js';
import type { DomainContext } from './context.js';
import { invalid } from './errors.js';

/** Audit event types. Secret events never carry the secret's value, only its ID. */
export type AuditType =
  | 'app.created'
  | 'app.updated'
  | 'app.deleted'
  | 'app.submitted'
  | 'app.approved'
  | 'app.rejected'
  | 'app.disabled'
  | 'app.enabled'
  | 'secret.created'
  | 'secret.refreshed'
  | 'secret.revoked'
  | 'secret.first_used'
  | 'secret.expired_use_attempt'
  | 'grant.revoked'
  | 'user.created'
  | 'user.updated'
  | 'tenant.updated'
  | 'app_request.created'
  | 'app_request.fulfilled'
  | 'app_request.declined'
  | 'keys.rotated';

export interface AuditInput {
  type: AuditType;
  actor: string;
  tenantId?: string | null;
  appId?: string | null;
  secretId?: string | null;
  data?: Record<string, unknown>;
}

/** Appends an audit event. Pass a transaction as `db` to record it atomically with the change. */
export async function recordAudit(ctx: Pick<DomainContext, 'now'>, db: Db, event: AuditInput): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      id: uuid(),
      type: event.type,
      actor: event.actor,
      tenant_id: event.tenantId ?? null,
      app_id: event.appId ?? null,
      secret_id: event.secretId ?? null,
      data: JSON.stringify(event.data ?? {}),
      created_at: ctx.now(),
    })
    .execute();
}

export interface AuditEvent {
  id: string;
  type: string;
  actor: string;
  tenant_id: string | null;
  app_id: string | null;
  secret_id: string | null;
  data: Record<string, unknown>;
  created_at: number;
}

/**
 * Lists audit events, newest first, with cursor pagination.
 *
 * @param filter.cursor The `next_cursor` of the previous page.
 */
export async function listAuditEvents(
  ctx: DomainContext,
  filter: { tenantId?: string | null; appId?: string; type?: string; limit?: number; cursor?: string },
): Promise<{ items: AuditEvent[]; next_cursor: string | null }> {
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
  let q = ctx.db.selectFrom('audit_events').selectAll();
  if (filter.tenantId) q = q.where('tenant_id', '=', filter.tenantId);
  if (filter.appId) q = q.where('app_id', '=', filter.appId);
  if (filter.type) q = q.where('type', '=', filter.type);
  if (filter.cursor) {
    const [at, id] = decodeCursor(filter.cursor);
    q = q.where((eb) =>
      eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', id)])]),
    );
  }
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map((r) => ({ ...r, data: JSON.parse(r.data) as Record<string, unknown> })),
    next_cursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null,
  };
}

export function encodeCursor(at: number, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

/** @throws DomainError (validation) on a malformed cursor. */
export function decodeCursor(cursor: string): [number, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {}
  throw invalid('cursor', 'The cursor is not valid.');
}
