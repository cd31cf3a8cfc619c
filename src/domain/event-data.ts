import type { Db } from '../db/database.js';
import type { DomainContext } from './context.js';
import { publishEvent } from './events.js';
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
  const { secret, ...rest } = extra;
  const data: Record<string, unknown> = { app: appData(app), ...rest, actor };
  if (secret) data.secret = secretData(secret);
  await publishEvent(trx, { type, tenant_id: app.tenant_id, data }, { now: ctx.now(), ...opts });
}
