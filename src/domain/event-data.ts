import type { Db } from '../db/database.js';
import { executeTogether } from '../db/write-together.js';
import { type AuditInput, auditWrite } from './audit.js';
import type { DomainContext } from './context.js';
import { type ClavisEvent, eventWrite, publishEvent } from './events.js';
import type { WebhookEventType } from './webhook-events.js';

/**
 * The `data` of events about apps and secrets, built in one place so every event names things the same
 * way: the app by `id`, `client_id` and `name`, a secret by `id`, `hint` and `expires_at`, and the `actor`.
 * Never a secret value (there is no field that could carry one).
 */

export interface AppRef {
  id: string;
  client_id: string;
  name: string;
  tenant_id: string;
}

export interface SecretRef {
  id: string;
  hint: string;
  expires_at: number | null;
}

export const appData = (app: AppRef) => ({ id: app.id, client_id: app.client_id, name: app.name });

export const secretData = (s: SecretRef) => ({
  id: s.id,
  hint: s.hint,
  expires_at: s.expires_at === null ? null : new Date(s.expires_at).toISOString(),
});

/** The event about an app (and, with `secret`, one of its secrets), for the app's tenant. */
function appEvent(
  type: WebhookEventType,
  app: AppRef,
  actor: string,
  extra: { secret?: SecretRef } & Record<string, unknown>,
): ClavisEvent {
  const { secret, ...rest } = extra;
  const data: Record<string, unknown> = { app: appData(app), ...rest, actor };
  if (secret) data.secret = secretData(secret);
  return { type, tenant_id: app.tenant_id, data };
}

/**
 * Publishes an event about an app (and, with `secret`, one of its secrets) to the app's tenant, in the
 * caller's transaction: it exists exactly when the change commits.
 */
export async function publishAppEvent(
  ctx: Pick<DomainContext, 'now'>,
  trx: Db,
  type: WebhookEventType,
  app: AppRef,
  actor: string,
  extra: { secret?: SecretRef } & Record<string, unknown> = {},
  opts: { dedupe_key?: string } = {},
): Promise<void> {
  await publishEvent(trx, appEvent(type, app, actor, extra), { now: ctx.now(), ...opts });
}

/**
 * Records a change to an app in the audit log and publishes its event, in the caller's transaction and in one
 * statement where the database allows it (`executeTogether`): the outbox write then costs no round trip of
 * its own on a change such as a secret refresh (issue 16: at most 5%).
 */
export async function recordAppEvent(
  ctx: Pick<DomainContext, 'now'>,
  trx: Db,
  audit: AuditInput,
  type: WebhookEventType,
  app: AppRef,
  actor: string,
  extra: { secret?: SecretRef } & Record<string, unknown> = {},
): Promise<void> {
  await executeTogether(trx, [
    auditWrite(ctx, trx, audit),
    eventWrite(appEvent(type, app, actor, extra), ctx.now()),
  ]);
}
