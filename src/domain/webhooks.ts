import { uuid } from '../crypto/random.js';
import { SealedBox } from '../crypto/sealed-box.js';
import { generateWebhookSecret } from '../crypto/webhook-signature.js';
import type { Db } from '../db/database.js';
import type { WebhookAttemptTable, WebhookDeliveryTable, WebhookEndpointTable } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { recordAudit } from './audit.js';
import type { Actor, DomainContext } from './context.js';
import { conflict, DomainError, FieldErrors, forbidden, invalid, notFound } from './errors.js';
import { enqueue } from './outbox.js';
import { keysetPage, type Page, type PageRequest } from './pagination.js';
import { isWebhookEventType, WEBHOOK_EVENT_NAMES } from './webhook-events.js';
import { checkWebhookUrl, WebhookAddressRefused } from './webhook-http.js';

/**
 * Webhook endpoints of a tenant (Standard Webhooks): their URL, the events they receive, and a signing
 * secret (`whsec_…`) shown once when created or rotated. The secret is sealed at rest with the server key,
 * not hashed, because the server signs with it. Tenant admins manage endpoints; platform admins any tenant's.
 */

/** The outbox kind of one delivery to one endpoint (payload: `{ delivery_id }`). */
export const WEBHOOK_DELIVERY_KIND = 'webhook.delivery';
/** Failed attempts of a delivery are retried for this long. */
export const DELIVERY_RETRY_MS = 24 * 3600_000;
/** An endpoint whose deliveries have all failed for this long is disabled, and its owner told. */
export const ENDPOINT_FAILURE_DISABLE_MS = 3 * 24 * 3600_000;
/** The default overlap of a rotation, during which the old secret signs beside the new one. */
export const DEFAULT_ROTATION_OVERLAP_HOURS = 24;
export const MAX_ROTATION_OVERLAP_HOURS = 168;
export const MAX_WEBHOOK_DESCRIPTION = 500;
export const MAX_WEBHOOK_URL = 2000;
/** The most endpoints a tenant may have. */
export const MAX_ENDPOINTS_PER_TENANT = 20;

export interface WebhookEndpoint {
  id: string;
  tenant_id: string;
  url: string;
  /** Event types, or `["*"]` for all. */
  events: string[];
  description: string;
  enabled: boolean;
  disabled_at: number | null;
  disabled_reason: string | null;
  failing_since: number | null;
  /** Until when the previous secret still signs beside the current one (null: no overlap running). */
  previous_secret_expires_at: number | null;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export interface CreatedWebhookEndpoint extends WebhookEndpoint {
  /** The signing secret; returned here and never again. */
  secret: string;
}

export interface WebhookAttempt {
  attempted_at: number;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  ok: boolean;
}

export interface WebhookDelivery {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  status: WebhookDeliveryTable['status'];
  attempt_count: number;
  last_attempt_at: number | null;
  last_status_code: number | null;
  last_duration_ms: number | null;
  last_error: string | null;
  created_at: number;
  completed_at: number | null;
  /** Every attempt, oldest first. */
  attempts: WebhookAttempt[];
}

const boxes = new WeakMap<Buffer, SealedBox>();
/** The sealing box of webhook secrets, derived from the server key for this purpose only. */
function box(ctx: Pick<DomainContext, 'config'>): SealedBox {
  let b = boxes.get(ctx.config.secretKey);
  if (!b) {
    b = new SealedBox(ctx.config.secretKey, 'webhook-signing-secret');
    boxes.set(ctx.config.secretKey, b);
  }
  return b;
}

export function sealWebhookSecret(
  ctx: Pick<DomainContext, 'config'>,
  endpointId: string,
  secret: string,
): string {
  return box(ctx).seal(secret, `webhook:${endpointId}`);
}

/** The secrets an endpoint's deliveries are signed with now: the current one, and the previous during overlap. */
export function signingSecrets(
  ctx: Pick<DomainContext, 'config'>,
  row: Pick<
    WebhookEndpointTable,
    'id' | 'secret_sealed' | 'previous_secret_sealed' | 'previous_secret_expires_at'
  >,
  now: number,
): string[] {
  const secrets = [box(ctx).open(row.secret_sealed, `webhook:${row.id}`)];
  if (
    row.previous_secret_sealed &&
    row.previous_secret_expires_at !== null &&
    row.previous_secret_expires_at > now
  )
    secrets.push(box(ctx).open(row.previous_secret_sealed, `webhook:${row.id}`));
  return secrets;
}

export function toEndpoint(row: WebhookEndpointTable, now: number): WebhookEndpoint {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    url: row.url,
    events: row.events.split(' ').filter(Boolean),
    description: row.description,
    enabled: row.disabled_at === null,
    disabled_at: row.disabled_at,
    disabled_reason: row.disabled_reason,
    failing_since: row.failing_since,
    previous_secret_expires_at:
      row.previous_secret_sealed &&
      row.previous_secret_expires_at !== null &&
      row.previous_secret_expires_at > now
        ? row.previous_secret_expires_at
        : null,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

const bad =
  (code: 'webhook_url_invalid' | 'webhook_events_invalid' | 'webhook_description_invalid', field: string) =>
  (message: string) =>
    invalid(field, message, code);

/**
 * Checks a webhook URL when it is saved: absolute https, no credentials, and no IP literal or local name
 * that webhooks may not reach (names are checked again, after DNS, on every delivery).
 */
export function checkEndpointUrl(ctx: Pick<DomainContext, 'config'>, raw: unknown): string {
  const fail = bad('webhook_url_invalid', 'url');
  if (typeof raw !== 'string' || raw.trim() === '') throw fail('Give the URL that receives the webhooks.');
  const url = raw.trim();
  if (url.length > MAX_WEBHOOK_URL) throw fail(`The URL is longer than ${MAX_WEBHOOK_URL} characters.`);
  try {
    checkWebhookUrl(url, ctx.config.webhooksAllowPrivate);
  } catch (err) {
    if (err instanceof WebhookAddressRefused) throw fail(err.message);
    throw err;
  }
  if (new URL(url).hash) throw fail('The URL must not contain a fragment.');
  return url;
}

/** Checks an events list: `["*"]`, or one or more names from the catalogue (duplicates dropped). */
export function checkEvents(raw: unknown): string[] {
  const fail = bad('webhook_events_invalid', 'events');
  if (!Array.isArray(raw) || raw.length === 0)
    throw fail('Name at least one event, or ["*"] for every event.');
  if (raw.length > 100) throw fail('Name at most 100 events.');
  const names = [...new Set(raw.map((e) => (typeof e === 'string' ? e.trim() : '')))];
  if (names.includes('*')) {
    if (names.length > 1) throw fail('"*" already means every event; give it alone.');
    return ['*'];
  }
  const unknown = names.filter((n) => !isWebhookEventType(n));
  if (unknown.length > 0)
    throw fail(
      `Unknown event ${unknown.map((u) => JSON.stringify(u.slice(0, 60))).join(', ')}. Known events: ${WEBHOOK_EVENT_NAMES.join(', ')}.`,
    );
  return names;
}

export function checkDescription(raw: unknown): string {
  const fail = bad('webhook_description_invalid', 'description');
  if (raw === undefined || raw === null) return '';
  if (typeof raw !== 'string') throw fail('The description must be text.');
  const d = raw.trim();
  if (d.length > MAX_WEBHOOK_DESCRIPTION)
    throw fail(`The description is longer than ${MAX_WEBHOOK_DESCRIPTION} characters.`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(d)) throw fail('The description contains control characters.');
  return d;
}

/** Tenant admins manage their tenant's webhooks; platform admins any tenant's. Others' tenants are "not found". */
function requireTenantAdmin(actor: Actor, tenantId: string): void {
  if (actor.platformAdmin) return;
  if (actor.tenantId !== tenantId) throw notFound('Tenant');
  if (actor.role !== 'admin')
    throw forbidden('Only tenant admins manage webhooks.', 'webhook_admin_forbidden');
}

async function endpointRow(
  ctx: DomainContext,
  actor: Actor,
  id: string,
  db: Db = ctx.db,
): Promise<WebhookEndpointTable> {
  const row = await db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || (!actor.platformAdmin && row.tenant_id !== actor.tenantId)) throw notFound('Webhook endpoint');
  requireTenantAdmin(actor, row.tenant_id);
  return row;
}

export interface EndpointInput {
  url?: unknown;
  events?: unknown;
  description?: unknown;
}

/** Creates an endpoint; the signing secret is returned once. */
export async function createWebhookEndpoint(
  ctx: DomainContext,
  actor: Actor,
  tenantId: string,
  input: EndpointInput,
): Promise<CreatedWebhookEndpoint> {
  requireTenantAdmin(actor, tenantId);
  const errors = new FieldErrors();
  const url = errors.check(() => checkEndpointUrl(ctx, input.url)) as string;
  const events = errors.check(() => checkEvents(input.events ?? ['*'])) as string[];
  const description = errors.check(() => checkDescription(input.description)) as string;
  errors.throwIfAny();
  const now = ctx.now();
  const id = uuid();
  const secret = generateWebhookSecret();
  const row: WebhookEndpointTable = {
    id,
    tenant_id: tenantId,
    url,
    events: events.join(' '),
    description,
    secret_sealed: sealWebhookSecret(ctx, id, secret),
    previous_secret_sealed: null,
    previous_secret_expires_at: null,
    created_by: actor.id,
    owner_user_id: actor.userId ?? null,
    failing_since: null,
    disabled_at: null,
    disabled_reason: null,
    created_at: now,
    updated_at: now,
  };
  await inTransaction(ctx.db, async (trx) => {
    const n = await trx
      .selectFrom('webhook_endpoints')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    if (Number(n.n) >= MAX_ENDPOINTS_PER_TENANT)
      throw conflict(`A tenant can have at most ${MAX_ENDPOINTS_PER_TENANT} webhook endpoints.`);
    await trx.insertInto('webhook_endpoints').values(row).execute();
    await auditEndpoint(ctx, trx, 'webhook.created', actor, row, {
      url,
      events,
      description,
    });
  });
  return { ...toEndpoint(row, now), secret };
}

/** Lists a tenant's endpoints, newest first. */
export async function listWebhookEndpoints(
  ctx: DomainContext,
  actor: Actor,
  tenantId: string,
  page: PageRequest = {},
): Promise<Page<WebhookEndpoint>> {
  requireTenantAdmin(actor, tenantId);
  const now = ctx.now();
  return keysetPage(
    ctx.db.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId),
    page,
    (r) => toEndpoint(r, now),
  );
}

export async function getWebhookEndpoint(
  ctx: DomainContext,
  actor: Actor,
  id: string,
): Promise<WebhookEndpoint> {
  return toEndpoint(await endpointRow(ctx, actor, id), ctx.now());
}

export interface EndpointPatch extends EndpointInput {
  /** `true` enables a disabled endpoint (and forgets its failures); `false` pauses it. */
  enabled?: boolean;
}

/** Changes an endpoint's URL, events, description or enabled state. */
export async function updateWebhookEndpoint(
  ctx: DomainContext,
  actor: Actor,
  id: string,
  patch: EndpointPatch,
): Promise<WebhookEndpoint> {
  const row = await endpointRow(ctx, actor, id);
  const errors = new FieldErrors();
  const url = errors.check(() =>
    patch.url === undefined ? row.url : checkEndpointUrl(ctx, patch.url),
  ) as string;
  const events = errors.check(() =>
    patch.events === undefined ? row.events : checkEvents(patch.events).join(' '),
  ) as string;
  const description = errors.check(() =>
    patch.description === undefined ? row.description : checkDescription(patch.description),
  ) as string;
  errors.throwIfAny();
  const now = ctx.now();
  const set: Partial<WebhookEndpointTable> = { url, events, description, updated_at: now };
  if (patch.enabled === true && row.disabled_at !== null)
    Object.assign(set, { disabled_at: null, disabled_reason: null, failing_since: null });
  if (patch.enabled === false && row.disabled_at === null)
    Object.assign(set, { disabled_at: now, disabled_reason: `Disabled by ${actor.id}.` });
  // What changed, for the audit log (nothing is recorded when nothing did).
  const changed: Record<string, unknown> = {};
  if (url !== row.url) Object.assign(changed, { url, previous_url: row.url });
  if (events !== row.events) changed.events = events.split(' ');
  if (description !== row.description) changed.description = description;
  if (set.disabled_at !== undefined) changed.enabled = set.disabled_at === null;
  await inTransaction(ctx.db, async (trx) => {
    await trx.updateTable('webhook_endpoints').set(set).where('id', '=', id).execute();
    if (Object.keys(changed).length > 0)
      await auditEndpoint(ctx, trx, 'webhook.updated', actor, row, {
        url: row.url,
        fields: Object.keys(changed).filter((k) => k !== 'previous_url'),
        ...changed,
      });
  });
  return toEndpoint({ ...row, ...set }, now);
}

/**
 * Records a change to an endpoint in the audit log, in the change's transaction. `data` names the endpoint
 * (`endpoint_id`, its `url`) and what changed; never a signing secret.
 */
async function auditEndpoint(
  ctx: DomainContext,
  trx: Db,
  type: 'webhook.created' | 'webhook.updated' | 'webhook.deleted' | 'webhook.secret_rotated',
  actor: Actor,
  endpoint: Pick<WebhookEndpointTable, 'id' | 'tenant_id' | 'url'>,
  data: Record<string, unknown> = {},
): Promise<void> {
  await recordAudit(ctx, trx, {
    type,
    actor: actor.id,
    tenantId: endpoint.tenant_id,
    data: { endpoint_id: endpoint.id, url: endpoint.url, ...data },
  });
}

/** Deletes an endpoint with its deliveries; deliveries not yet sent are dropped. */
export async function deleteWebhookEndpoint(ctx: DomainContext, actor: Actor, id: string): Promise<void> {
  const row = await endpointRow(ctx, actor, id);
  await inTransaction(ctx.db, async (trx) => {
    await trx
      .deleteFrom('webhook_attempts')
      .where(
        'delivery_id',
        'in',
        trx.selectFrom('webhook_deliveries').select('id').where('endpoint_id', '=', id),
      )
      .execute();
    await trx.deleteFrom('webhook_deliveries').where('endpoint_id', '=', id).execute();
    const res = await trx.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
    // Deleted twice at once: recorded once.
    if (Number(res.numDeletedRows) > 0)
      await auditEndpoint(ctx, trx, 'webhook.deleted', actor, row, { events: row.events.split(' ') });
  });
}

/**
 * Rotates the signing secret: a new one is returned once, and the previous one keeps signing beside it
 * (two `v1,` signatures) for `overlapHours` (default 24, at most 168; 0 ends it at once).
 */
export async function rotateWebhookSecret(
  ctx: DomainContext,
  actor: Actor,
  id: string,
  overlapHours: number = DEFAULT_ROTATION_OVERLAP_HOURS,
): Promise<CreatedWebhookEndpoint> {
  if (!Number.isInteger(overlapHours) || overlapHours < 0 || overlapHours > MAX_ROTATION_OVERLAP_HOURS)
    throw new DomainError(
      'webhook_overlap_invalid',
      `The overlap is a whole number of hours from 0 to ${MAX_ROTATION_OVERLAP_HOURS}.`,
      { overlap_hours: `Give a whole number of hours from 0 to ${MAX_ROTATION_OVERLAP_HOURS}.` },
    );
  const row = await endpointRow(ctx, actor, id);
  const now = ctx.now();
  const secret = generateWebhookSecret();
  const set = {
    secret_sealed: sealWebhookSecret(ctx, id, secret),
    previous_secret_sealed: overlapHours > 0 ? row.secret_sealed : null,
    previous_secret_expires_at: overlapHours > 0 ? now + overlapHours * 3600_000 : null,
    updated_at: now,
  };
  await inTransaction(ctx.db, async (trx) => {
    await trx.updateTable('webhook_endpoints').set(set).where('id', '=', id).execute();
    await auditEndpoint(ctx, trx, 'webhook.secret_rotated', actor, row, {
      overlap_hours: overlapHours,
      previous_secret_until:
        set.previous_secret_expires_at === null
          ? null
          : new Date(set.previous_secret_expires_at).toISOString(),
    });
  });
  return { ...toEndpoint({ ...row, ...set }, now), secret };
}

export function toAttempt(a: WebhookAttemptTable): WebhookAttempt {
  return {
    attempted_at: a.attempted_at,
    duration_ms: a.duration_ms,
    status_code: a.status_code,
    error: a.error,
    ok: a.ok === 1,
  };
}

/** An endpoint's deliveries, newest first, each with its attempts. */
export async function listWebhookDeliveries(
  ctx: DomainContext,
  actor: Actor,
  endpointId: string,
  filter: PageRequest & { status?: WebhookDeliveryTable['status'] } = {},
): Promise<Page<WebhookDelivery>> {
  await endpointRow(ctx, actor, endpointId);
  let q = ctx.db.selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', endpointId);
  if (filter.status) q = q.where('status', '=', filter.status);
  const page = await keysetPage(q, filter, (r) => r);
  const ids = page.items.map((d) => d.id);
  const attempts = ids.length
    ? await ctx.db
        .selectFrom('webhook_attempts')
        .selectAll()
        .where('delivery_id', 'in', ids)
        .orderBy('attempted_at')
        .orderBy('id')
        .execute()
    : [];
  const byDelivery = new Map<string, WebhookAttempt[]>();
  for (const a of attempts) {
    const list = byDelivery.get(a.delivery_id) ?? [];
    list.push(toAttempt(a));
    byDelivery.set(a.delivery_id, list);
  }
  return {
    items: page.items.map((d) => toDelivery(d, byDelivery.get(d.id) ?? [])),
    next_cursor: page.next_cursor,
  };
}

function toDelivery(d: WebhookDeliveryTable, attempts: WebhookAttempt[]): WebhookDelivery {
  return {
    id: d.id,
    endpoint_id: d.endpoint_id,
    event_id: d.event_id,
    event_type: d.event_type,
    status: d.status,
    attempt_count: d.attempts,
    last_attempt_at: d.last_attempt_at,
    last_status_code: d.last_status_code,
    last_duration_ms: d.last_duration_ms,
    last_error: d.last_error,
    created_at: d.created_at,
    completed_at: d.completed_at,
    attempts,
  };
}

/**
 * Sends a delivery again (same `webhook-id`, so a receiver that already has it can tell), with a fresh
 * 24 hours of retries. Its earlier attempts stay in the log.
 */
export async function redeliverWebhook(
  ctx: DomainContext,
  actor: Actor,
  endpointId: string,
  deliveryId: string,
): Promise<WebhookDelivery> {
  const endpoint = await endpointRow(ctx, actor, endpointId);
  if (endpoint.disabled_at !== null)
    throw conflict('The endpoint is disabled; enable it before redelivering.', 'webhook_disabled');
  const now = ctx.now();
  const row = await inTransaction(ctx.db, async (trx) => {
    const d = await trx
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('id', '=', deliveryId)
      .where('endpoint_id', '=', endpointId)
      .executeTakeFirst();
    if (!d) throw notFound('Webhook delivery');
    const set = { status: 'pending' as const, retry_until: now + DELIVERY_RETRY_MS, completed_at: null };
    await trx.updateTable('webhook_deliveries').set(set).where('id', '=', d.id).execute();
    await enqueue(
      trx,
      { kind: WEBHOOK_DELIVERY_KIND, payload: { delivery_id: d.id, endpoint_id: d.endpoint_id } },
      now,
    );
    return { ...d, ...set };
  });
  const attempts = await ctx.db
    .selectFrom('webhook_attempts')
    .selectAll()
    .where('delivery_id', '=', deliveryId)
    .orderBy('attempted_at')
    .orderBy('id')
    .execute();
  return toDelivery(row, attempts.map(toAttempt));
}
