import { sql } from 'kysely';
import { uuid } from '../crypto/random.js';
import { webhookHeaders } from '../crypto/webhook-signature.js';
import type { Db } from '../db/database.js';
import type { WebhookEndpointTable } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { recordAudit } from './audit.js';
import { Coalescer } from './coalescer.js';
import type { DomainContext } from './context.js';
import { EVENT_KIND, type EventPayload } from './events.js';
import {
  backoffMs,
  enqueue,
  type OutboxMessage,
  PermanentFailure,
  RetryLater,
  registerOutboxHandler,
} from './outbox.js';
import { subscribes } from './webhook-events.js';
import { MAX_SOCKETS_PER_URL, postWebhook, type WebhookAttemptResult } from './webhook-http.js';
import { mailEndpointDisabled } from './webhook-mail.js';
import {
  DELIVERY_RETRY_MS,
  ENDPOINT_FAILURE_DISABLE_MS,
  signingSecrets,
  WEBHOOK_DELIVERY_KIND,
} from './webhooks.js';

/**
 * Webhook delivery as two outbox handlers: an `event` message fans out to the tenant's enabled endpoints
 * that subscribe to it (one delivery, and one `webhook.delivery` message, per endpoint, in one transaction),
 * and each delivery message POSTs the signed event. A failed attempt (non-2xx, redirect, 10 s timeout,
 * refused address) is retried with exponential backoff and jitter for 24 hours, then the delivery is failed;
 * an endpoint whose deliveries have all failed for 3 days is disabled and its owner told.
 */

/** The whole attempt, from connecting to the last byte of the answer. */
export const DELIVERY_TIMEOUT_MS = 10_000;
const MAX_ERROR_TEXT = 500;

/** A new delivery id, also its `webhook-id` (Standard Webhooks ids are opaque; `msg_` by convention). */
function deliveryId(): string {
  return `msg_${uuid().replaceAll('-', '')}`;
}

/** The Standard Webhooks body of an event: `{"type", "timestamp", "data"}`. */
export function eventBody(event: Pick<EventPayload, 'type' | 'timestamp' | 'data'>): string {
  return JSON.stringify({
    type: event.type,
    timestamp: new Date(event.timestamp).toISOString(),
    data: event.data,
  });
}

/**
 * Writes one delivery (and its outbox message) for every enabled endpoint of the event's tenant that
 * subscribes to its type. Running it again for the same event adds nothing (one delivery per event and
 * endpoint). Returns how many deliveries were written.
 */
export async function fanOutEvent(ctx: DomainContext, eventId: string, event: EventPayload): Promise<number> {
  const tenantId = event.tenant_id;
  if (!tenantId) return 0;
  const endpoints = await ctx.db
    .selectFrom('webhook_endpoints')
    .select(['id', 'events'])
    .where('tenant_id', '=', tenantId)
    .where('disabled_at', 'is', null)
    .execute();
  const targets = endpoints.filter((e) => subscribes(e.events.split(' '), event.type));
  if (targets.length === 0) return 0;
  const body = eventBody(event);
  const now = ctx.now();
  return inTransaction(ctx.db, async (trx) => {
    let written = 0;
    for (const endpoint of targets) {
      const id = deliveryId();
      const res = await trx
        .insertInto('webhook_deliveries')
        .values({
          id,
          endpoint_id: endpoint.id,
          tenant_id: tenantId,
          event_id: eventId,
          event_type: event.type,
          body,
          status: 'pending',
          attempts: 0,
          last_attempt_at: null,
          last_status_code: null,
          last_duration_ms: null,
          last_error: null,
          retry_until: now + DELIVERY_RETRY_MS,
          created_at: now,
          completed_at: null,
        })
        .onConflict((oc) => oc.columns(['endpoint_id', 'event_id']).doNothing())
        .executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) continue;
      await enqueue(
        trx,
        {
          kind: WEBHOOK_DELIVERY_KIND,
          payload: { delivery_id: id, endpoint_id: endpoint.id } satisfies DeliveryPayload,
          dedupe_key: `webhook:${id}`,
        },
        now,
      );
      written++;
    }
    return written;
  });
}

/** What became of one delivery message. */
export type DeliveryOutcome =
  | { kind: 'sent' | 'skipped' }
  | { kind: 'retry'; retryUntil: number; error: string }
  | { kind: 'failed'; error: string };

/** The payload of a `webhook.delivery` message (`endpoint_id` is missing on messages written before it was added). */
export interface DeliveryPayload {
  delivery_id: string;
  endpoint_id?: string;
}

/** What an attempt needs of a delivery and its endpoint. */
type DeliveryRow = Awaited<ReturnType<typeof loadDeliveries>>[number];

function loadDeliveries(db: Db, ids: string[]) {
  return db
    .selectFrom('webhook_deliveries')
    .innerJoin('webhook_endpoints', 'webhook_endpoints.id', 'webhook_deliveries.endpoint_id')
    .select([
      'webhook_deliveries.id',
      'webhook_deliveries.body',
      'webhook_deliveries.status',
      'webhook_deliveries.retry_until',
      'webhook_endpoints.id as endpoint_id',
      'webhook_endpoints.url',
      'webhook_endpoints.secret_sealed',
      'webhook_endpoints.previous_secret_sealed',
      'webhook_endpoints.previous_secret_expires_at',
      'webhook_endpoints.disabled_at',
      'webhook_endpoints.failing_since',
    ])
    .where('webhook_deliveries.id', 'in', ids)
    .execute();
}

/** A successful attempt waiting to be recorded with others. */
interface Success {
  row: { id: string; endpoint_id: string; failing_since: number | null };
  attemptedAt: number;
  now: number;
  result: WebhookAttemptResult;
}

/**
 * The deliveries that a busy worker runs at once read their rows in one query and record their successes
 * in one transaction (see {@link Coalescer}); a failed attempt is recorded on its own, as it may disable
 * its endpoint. One pair per database.
 */
const batchers = new WeakMap<
  Db,
  { load: Coalescer<string, DeliveryRow | undefined>; succeeded: Coalescer<Success, void> }
>();

function batchersOf(db: Db) {
  let b = batchers.get(db);
  if (!b) {
    b = {
      load: new Coalescer(async (ids) => {
        const rows = new Map((await loadDeliveries(db, [...new Set(ids)])).map((r) => [r.id, r]));
        return ids.map((id) => rows.get(id));
      }, 200),
      succeeded: new Coalescer<Success, void>(async (items) => {
        await recordSuccesses(db, items);
        return items.map(() => undefined);
      }, 200),
    };
    batchers.set(db, b);
  }
  return b;
}

/** `CASE id WHEN … THEN … END` over a group's rows, cast to the column's type. */
function perRow(items: Success[], value: (s: Success) => number | null, type: 'bigint' | 'integer') {
  const cases = items.map((s) => sql`WHEN ${s.row.id} THEN CAST(${value(s)} AS ${sql.raw(type)})`);
  return sql<number>`CASE id ${sql.join(cases, sql` `)} END`;
}

/** Records a group of successful attempts: their attempt rows, their deliveries, and healed endpoints. */
async function recordSuccesses(db: Db, items: Success[]): Promise<void> {
  await inTransaction(db, async (trx) => {
    await trx
      .insertInto('webhook_attempts')
      .values(
        items.map((s) => ({
          id: uuid(),
          delivery_id: s.row.id,
          attempted_at: s.attemptedAt,
          duration_ms: s.result.durationMs,
          status_code: s.result.statusCode,
          error: null,
          ok: 1,
        })),
      )
      .execute();
    await trx
      .updateTable('webhook_deliveries')
      .set({
        status: 'succeeded',
        attempts: sql<number>`attempts + 1`,
        last_attempt_at: perRow(items, (s) => s.attemptedAt, 'bigint'),
        last_status_code: perRow(items, (s) => s.result.statusCode, 'integer'),
        last_duration_ms: perRow(items, (s) => s.result.durationMs, 'integer'),
        last_error: null,
        completed_at: perRow(items, (s) => s.now, 'bigint'),
      })
      .where(
        'id',
        'in',
        items.map((s) => s.row.id),
      )
      .execute();
    // A healthy endpoint (the usual case) needs no write; a failing one is healthy again.
    const healed = [
      ...new Set(items.filter((s) => s.row.failing_since !== null).map((s) => s.row.endpoint_id)),
    ];
    if (healed.length > 0)
      await trx
        .updateTable('webhook_endpoints')
        .set({ failing_since: null })
        .where('id', 'in', healed)
        .where('failing_since', 'is not', null)
        .execute();
  });
}

/**
 * Makes one attempt of a delivery and records it. A delivery already sent or failed, or whose endpoint
 * was deleted, is skipped; one whose endpoint is disabled fails without a request.
 */
export async function attemptDelivery(ctx: DomainContext, id: string): Promise<DeliveryOutcome> {
  const batch = batchersOf(ctx.db);
  const row = await batch.load.add(id);
  if (row?.status !== 'pending') return { kind: 'skipped' };
  if (row.disabled_at !== null) {
    const error = 'The endpoint is disabled.';
    await ctx.db
      .updateTable('webhook_deliveries')
      .set({ status: 'failed', last_error: error, completed_at: ctx.now() })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .execute();
    return { kind: 'failed', error };
  }
  const attemptedAt = ctx.now();
  const secrets = signingSecrets(ctx, { ...row, id: row.endpoint_id }, attemptedAt);
  const headers = webhookHeaders(secrets, row.id, Math.floor(attemptedAt / 1000), row.body);
  const result = await postWebhook(row.url, headers, row.body, {
    allowPrivate: ctx.config.webhooksAllowPrivate,
    timeoutMs: DELIVERY_TIMEOUT_MS,
  });
  if (result.ok) {
    await batch.succeeded.add({ row, attemptedAt, now: ctx.now(), result });
    return { kind: 'sent' };
  }
  return recordFailure(ctx, row, attemptedAt, result);
}

async function recordFailure(
  ctx: DomainContext,
  row: { id: string; endpoint_id: string; retry_until: number },
  attemptedAt: number,
  result: WebhookAttemptResult,
): Promise<DeliveryOutcome> {
  const now = ctx.now();
  const error = result.error?.slice(0, MAX_ERROR_TEXT) ?? null;
  return inTransaction(ctx.db, async (trx) => {
    await trx
      .insertInto('webhook_attempts')
      .values({
        id: uuid(),
        delivery_id: row.id,
        attempted_at: attemptedAt,
        duration_ms: result.durationMs,
        status_code: result.statusCode,
        error,
        ok: 0,
      })
      .execute();
    const last = {
      attempts: sql<number>`attempts + 1`,
      last_attempt_at: attemptedAt,
      last_status_code: result.statusCode,
      last_duration_ms: result.durationMs,
      last_error: error,
    };
    await trx
      .updateTable('webhook_endpoints')
      .set({ failing_since: sql<number>`coalesce(failing_since, ${attemptedAt})` })
      .where('id', '=', row.endpoint_id)
      .execute();
    const endpoint = (await trx
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', row.endpoint_id)
      .executeTakeFirstOrThrow()) as WebhookEndpointTable;
    const failingFor = now - (endpoint.failing_since ?? now);
    if (endpoint.disabled_at === null && failingFor >= ENDPOINT_FAILURE_DISABLE_MS) {
      await disableFailingEndpoint(ctx, trx, endpoint, now, error ?? 'failed');
      await trx
        .updateTable('webhook_deliveries')
        .set({ ...last, status: 'failed', completed_at: now })
        .where('id', '=', row.id)
        .execute();
      return { kind: 'failed', error: `${error ?? 'failed'}; the endpoint was disabled` } as const;
    }
    if (now >= row.retry_until) {
      await trx
        .updateTable('webhook_deliveries')
        .set({ ...last, status: 'failed', completed_at: now })
        .where('id', '=', row.id)
        .execute();
      return { kind: 'failed', error: error ?? 'failed' } as const;
    }
    await trx.updateTable('webhook_deliveries').set(last).where('id', '=', row.id).execute();
    return { kind: 'retry', retryUntil: row.retry_until, error: error ?? 'failed' } as const;
  });
}

/** Disables an endpoint whose deliveries have all failed for 3 days, in the transaction that saw it, and tells its owner. */
async function disableFailingEndpoint(
  ctx: DomainContext,
  trx: Db,
  endpoint: WebhookEndpointTable,
  now: number,
  lastError: string,
): Promise<void> {
  const since = new Date(endpoint.failing_since ?? now).toISOString();
  await trx
    .updateTable('webhook_endpoints')
    .set({
      disabled_at: now,
      disabled_reason: `Every delivery failed since ${since}; disabled after 3 days.`,
      updated_at: now,
    })
    .where('id', '=', endpoint.id)
    .execute();
  await recordAudit(ctx, trx, {
    type: 'webhook.disabled',
    actor: 'system',
    tenantId: endpoint.tenant_id,
    data: { endpoint_id: endpoint.id, url: endpoint.url, failing_since: since },
  });
  await mailEndpointDisabled(ctx, trx, endpoint, since, lastError);
}

/**
 * Registers the outbox handlers of webhooks: `event` (fan out) and `webhook.delivery` (one attempt; retried
 * by the outbox with exponential backoff and jitter until the delivery's 24 hours are over).
 */
export function registerWebhookHandlers(): void {
  registerOutboxHandler(EVENT_KIND, async (msg, ctx) => {
    await fanOutEvent(ctx, msg.id, msg.payload as EventPayload);
  });
  registerOutboxHandler(
    WEBHOOK_DELIVERY_KIND,
    async (msg: OutboxMessage, ctx) => {
      const { delivery_id } = msg.payload as DeliveryPayload;
      const outcome = await attemptDelivery(ctx, delivery_id);
      if (outcome.kind === 'failed') throw new PermanentFailure(outcome.error);
      if (outcome.kind === 'retry') {
        const left = Math.max(0, outcome.retryUntil - ctx.now());
        throw new RetryLater(outcome.error, Math.min(backoffMs(msg.attempt), left));
      }
    },
    // The delivery's own `retry_until` ends the retries (a redelivery starts a new 24 hours); the outbox's
    // limit is only a backstop. The attempt itself is bounded by its 10 s.
    // Deliveries to one endpoint run at most as many at once as it has connections, so one that hangs holds
    // that many workers for its 10 s while the others go on with other endpoints.
    {
      maxAgeMs: DELIVERY_RETRY_MS + 3600_000,
      timeoutMs: DELIVERY_TIMEOUT_MS + 10_000,
      keyOf: (payload) => (payload as DeliveryPayload).endpoint_id,
      maxPerKey: MAX_SOCKETS_PER_URL,
    },
  );
}
