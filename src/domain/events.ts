import type { Db } from '../db/database.js';
import { enqueue, outboxWrite } from './outbox.js';

/**
 * An event for webhooks (`app.created`, `secret.expiring`, ...). `data` names what it is about (an app by
 * `id`, `client_id` and `name`, a secret by `id`, `hint` and `expires_at`) and never carries a secret value.
 */
export interface ClavisEvent {
  type: string;
  tenant_id: string | null;
  data: Record<string, unknown>;
}

/** The outbox payload of an `event` message. */
export interface EventPayload extends ClavisEvent {
  /** When the event happened (epoch ms). */
  timestamp: number;
}

/** The outbox kind of events; the webhooks module registers its handler, which fans out to endpoints. */
export const EVENT_KIND = 'event';

/**
 * Publishes an event: writes one outbox message of kind `event` in the caller's transaction, so the event
 * exists exactly when the change does. Returns the message id.
 *
 * @param opts.dedupe_key Publishes at most one event per key (e.g. one expiry notice per secret and threshold).
 */
export async function publishEvent(
  trx: Db,
  event: ClavisEvent,
  opts: { now?: number; dedupe_key?: string } = {},
): Promise<string> {
  const timestamp = opts.now ?? Date.now();
  const payload: EventPayload = { ...event, timestamp };
  return enqueue(trx, { kind: EVENT_KIND, payload, dedupe_key: opts.dedupe_key }, timestamp);
}

/**
 * The outbox write of an event (no `dedupe_key`), not yet run: for `executeTogether`, which writes it in one
 * statement with the change's other writes. {@link publishEvent} runs one alone.
 */
export function eventWrite(event: ClavisEvent, now: number = Date.now()) {
  const payload: EventPayload = { ...event, timestamp: now };
  return outboxWrite({ kind: EVENT_KIND, payload }, now).write;
}
