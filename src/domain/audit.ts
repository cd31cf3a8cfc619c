import { uuid } from '../crypto/random.js';
import type { Db } from '../db/database.js';
import type { DomainContext } from './context.js';
import { keysetPage, type Page, type PageRequest } from './pagination.js';

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
  | 'app.review_required'
  | 'app.change_approved'
  | 'app.change_rejected'
  | 'app.change_withdrawn'
  | 'secret.created'
  | 'secret.refreshed'
  | 'secret.revoked'
  | 'secret.first_used'
  | 'secret.expired_use_attempt'
  | 'secret.leaked'
  | 'secret.expiry_notice'
  | 'user.email_verified'
  | 'user.password_reset'
  | 'grant.revoked'
  | 'device.approved'
  | 'device.denied'
  | 'backchannel_logout.delivered'
  | 'backchannel_logout.failed'
  | 'user.created'
  | 'user.updated'
  | 'tenant.updated'
  | 'app_request.created'
  | 'app_request.fulfilled'
  | 'app_request.declined'
  | 'keys.rotated'
  | 'api.created'
  | 'api.updated'
  | 'api.deleted'
  | 'app_permission.requested'
  | 'app_permission.granted'
  | 'app_permission.removed'
  | 'webhook.created'
  | 'webhook.updated'
  | 'webhook.deleted'
  | 'webhook.secret_rotated'
  | 'webhook.disabled';

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
  await auditWrite(ctx, db, event).execute();
}

/**
 * The insert of an audit event, not yet run: for `executeTogether`, which writes it in one statement with
 * other writes of the same change (e.g. the change's event). {@link recordAudit} runs it alone.
 */
export function auditWrite(ctx: Pick<DomainContext, 'now'>, db: Db, event: AuditInput) {
  return db.insertInto('audit_events').values({
    id: uuid(),
    type: event.type,
    actor: event.actor,
    tenant_id: event.tenantId ?? null,
    app_id: event.appId ?? null,
    secret_id: event.secretId ?? null,
    data: JSON.stringify(event.data ?? {}),
    created_at: ctx.now(),
  });
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
 * @param filter.types Only events of these types.
 */
export async function listAuditEvents(
  ctx: DomainContext,
  filter: {
    tenantId?: string | null;
    appId?: string;
    type?: string;
    types?: readonly string[];
  } & PageRequest,
): Promise<Page<AuditEvent>> {
  let q = ctx.db.selectFrom('audit_events').selectAll();
  if (filter.tenantId) q = q.where('tenant_id', '=', filter.tenantId);
  if (filter.appId) q = q.where('app_id', '=', filter.appId);
  if (filter.type) q = q.where('type', '=', filter.type);
  if (filter.types) q = q.where('type', 'in', filter.types.length ? [...filter.types] : ['']);
  return keysetPage(q, filter, (r) => ({ ...r, data: JSON.parse(r.data) as Record<string, unknown> }));
}
