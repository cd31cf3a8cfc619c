import { Type } from '@sinclair/typebox';
import type { Actor } from '../../domain/context.js';
import { notFound } from '../../domain/errors.js';
import { WEBHOOK_EVENT_TYPES } from '../../domain/webhook-events.js';
import {
  type CreatedWebhookEndpoint,
  createWebhookEndpoint,
  DEFAULT_ROTATION_OVERLAP_HOURS,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  MAX_ROTATION_OVERLAP_HOURS,
  MAX_WEBHOOK_DESCRIPTION,
  redeliverWebhook,
  rotateWebhookSecret,
  updateWebhookEndpoint,
  type WebhookDelivery,
  type WebhookEndpoint,
} from '../../domain/webhooks.js';
import type { Services } from '../../services.js';
import { type ApiInstance, authenticate, checkCursor } from './context.js';
import { IdParams, iso, isoOrNull, optionalBody, Page, PageQuery, problems } from './schemas.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const NullableTime = (description: string) =>
  Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description });

const eventList = Object.entries(WEBHOOK_EVENT_TYPES)
  .map(([name, text]) => `- \`${name}\`: ${text}`)
  .join('\n');

export const WebhookEndpointSchema = Type.Object({
  id: Type.String(),
  tenant_id: Type.String(),
  url: Type.String({ description: 'Where events are POSTed (https).' }),
  events: Type.Array(Type.String(), { description: 'The event types it receives, or `["*"]` for all.' }),
  description: Type.String(),
  enabled: Type.Boolean({ description: 'False once disabled (by an admin, or after 3 days of failures).' }),
  disabled_at: NullableTime('When it was disabled.'),
  disabled_reason: Nullable(Type.String()),
  failing_since: NullableTime('Since when every delivery has failed; null after a success.'),
  previous_secret_expires_at: NullableTime(
    'During a rotation: until when the previous secret still signs beside the new one.',
  ),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

const CreatedEndpointSchema = Type.Object({
  ...WebhookEndpointSchema.properties,
  secret: Type.String({
    description:
      'The signing secret (`whsec_` + base64). Returned only in this response; verify deliveries with it (Standard Webhooks).',
  }),
});

const AttemptSchema = Type.Object({
  attempted_at: Type.String({ format: 'date-time' }),
  duration_ms: Type.Integer(),
  status_code: Type.Union([Type.Integer(), Type.Null()], { description: "The receiver's HTTP status." }),
  error: Nullable(Type.String({ description: 'Why the attempt failed.' })),
  ok: Type.Boolean(),
});

const DeliverySchema = Type.Object({
  id: Type.String({ description: 'Also the `webhook-id` header, the same on every attempt.' }),
  event_id: Type.String(),
  event_type: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
  attempt_count: Type.Integer(),
  last_attempt_at: NullableTime('The latest attempt.'),
  last_status_code: Type.Union([Type.Integer(), Type.Null()]),
  last_duration_ms: Type.Union([Type.Integer(), Type.Null()]),
  last_error: Nullable(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
  completed_at: NullableTime('When it succeeded or finally failed.'),
  attempts: Type.Array(AttemptSchema, { description: 'Every attempt, oldest first.' }),
});

const apiEndpoint = (e: WebhookEndpoint) => ({
  id: e.id,
  tenant_id: e.tenant_id,
  url: e.url,
  events: e.events,
  description: e.description,
  enabled: e.enabled,
  disabled_at: isoOrNull(e.disabled_at),
  disabled_reason: e.disabled_reason,
  failing_since: isoOrNull(e.failing_since),
  previous_secret_expires_at: isoOrNull(e.previous_secret_expires_at),
  created_at: iso(e.created_at),
  updated_at: iso(e.updated_at),
});

const apiCreatedEndpoint = (e: CreatedWebhookEndpoint) => ({ ...apiEndpoint(e), secret: e.secret });

const apiDelivery = (d: WebhookDelivery) => ({
  id: d.id,
  event_id: d.event_id,
  event_type: d.event_type,
  status: d.status,
  attempt_count: d.attempt_count,
  last_attempt_at: isoOrNull(d.last_attempt_at),
  last_status_code: d.last_status_code,
  last_duration_ms: d.last_duration_ms,
  last_error: d.last_error,
  created_at: iso(d.created_at),
  completed_at: isoOrNull(d.completed_at),
  attempts: d.attempts.map((a) => ({
    attempted_at: iso(a.attempted_at),
    duration_ms: a.duration_ms,
    status_code: a.status_code,
    error: a.error,
    ok: a.ok,
  })),
});

// Loose enough that the domain's checks answer (naming the field, with a code); bounded against abuse.
const EndpointFields = {
  url: Type.String({ maxLength: 4000, description: 'An https URL on a public address.' }),
  events: Type.Array(Type.String({ maxLength: 200 }), {
    maxItems: 200,
    description: `Event types, or \`["*"]\` for every event (the default):\n\n${eventList}`,
  }),
  description: Type.String({
    maxLength: 4000,
    description: `At most ${MAX_WEBHOOK_DESCRIPTION} characters.`,
  }),
};

const TenantQuery = Type.Object(
  {
    tenant_id: Type.Optional(
      Type.String({ maxLength: 200, description: "Platform admins: another tenant than the caller's." }),
    ),
  },
  { additionalProperties: false },
);

/** The tenant a request addresses: the caller's own, or (platform admins only) the one named. */
function tenantOf(actor: Actor, requested: string | undefined): string {
  const id = requested ?? actor.tenantId;
  if (!id || (!actor.platformAdmin && id !== actor.tenantId)) throw notFound('Tenant');
  return id;
}

const DeliveryParams = Type.Object({
  id: Type.String({ maxLength: 200, description: 'The endpoint ID.' }),
  deliveryId: Type.String({ maxLength: 200, description: 'The delivery ID.' }),
});

/** `/v1/webhooks`: a tenant's webhook endpoints, their secrets and their delivery log. Tenant admins. */
export async function webhookRoutes(api: ApiInstance, services: Services): Promise<void> {
  const ctx = services.ctx;
  const tags = ['webhooks'];

  api.post(
    '/v1/webhooks',
    {
      schema: {
        tags,
        summary: 'Add a webhook endpoint',
        operationId: 'createWebhook',
        description:
          'Events are POSTed to the URL signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`). The signing `secret` is in this response only. URLs must be https and must not resolve to loopback, private, link-local or metadata addresses: 400 naming `url`.',
        querystring: TenantQuery,
        body: Type.Object(
          {
            url: EndpointFields.url,
            events: Type.Optional(EndpointFields.events),
            description: Type.Optional(EndpointFields.description),
          },
          { additionalProperties: false },
        ),
        response: { 201: CreatedEndpointSchema, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { actor } = await authenticate(services, request, 'clavis:admin');
      const created = await createWebhookEndpoint(
        ctx,
        actor,
        tenantOf(actor, request.query.tenant_id),
        request.body,
      );
      reply.header('location', `/api/v1/webhooks/${created.id}`);
      return reply.code(201).send(apiCreatedEndpoint(created));
    },
  );

  api.get(
    '/v1/webhooks',
    {
      schema: {
        tags,
        summary: "List the tenant's webhook endpoints",
        operationId: 'listWebhooks',
        querystring: Type.Object(
          { tenant_id: Type.Optional(Type.String({ maxLength: 200 })), ...PageQuery },
          { additionalProperties: false },
        ),
        response: { 200: Page(WebhookEndpointSchema), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:admin');
      const q = request.query;
      const page = await listWebhookEndpoints(ctx, actor, tenantOf(actor, q.tenant_id), {
        limit: q.limit,
        cursor: checkCursor(q.cursor),
      });
      return { items: page.items.map(apiEndpoint), next_cursor: page.next_cursor };
    },
  );

  api.get(
    '/v1/webhooks/:id',
    {
      schema: {
        tags,
        summary: 'Get a webhook endpoint',
        operationId: 'getWebhook',
        params: IdParams,
        response: { 200: WebhookEndpointSchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:admin');
      return apiEndpoint(await getWebhookEndpoint(ctx, actor, request.params.id));
    },
  );

  api.patch(
    '/v1/webhooks/:id',
    {
      schema: {
        tags,
        summary: 'Change a webhook endpoint',
        operationId: 'updateWebhook',
        description:
          '`enabled: true` enables a disabled endpoint again (forgetting its failures); `false` pauses it (its pending deliveries fail).',
        params: IdParams,
        body: Type.Object(
          {
            url: Type.Optional(EndpointFields.url),
            events: Type.Optional(EndpointFields.events),
            description: Type.Optional(EndpointFields.description),
            enabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 200: WebhookEndpointSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:admin');
      return apiEndpoint(await updateWebhookEndpoint(ctx, actor, request.params.id, request.body));
    },
  );

  api.delete(
    '/v1/webhooks/:id',
    {
      schema: {
        tags,
        summary: 'Delete a webhook endpoint',
        operationId: 'deleteWebhook',
        description: 'Its delivery log goes with it; deliveries not yet sent are dropped.',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Deleted.' }), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { actor } = await authenticate(services, request, 'clavis:admin');
      await deleteWebhookEndpoint(ctx, actor, request.params.id);
      return reply.code(204).send(null);
    },
  );

  api.post(
    '/v1/webhooks/:id/secret/rotate',
    {
      schema: {
        tags,
        summary: "Rotate an endpoint's signing secret",
        operationId: 'rotateWebhookSecret',
        description: `A new secret, in this response only. For \`overlap_hours\` (default ${DEFAULT_ROTATION_OVERLAP_HOURS}, at most ${MAX_ROTATION_OVERLAP_HOURS}; 0 ends the old one at once) deliveries carry two signatures, \`v1,<new> v1,<old>\`, so receivers switch secrets without losing a message.`,
        params: IdParams,
        body: optionalBody(
          Type.Object(
            {
              overlap_hours: Type.Optional(
                Type.Integer({ description: 'Hours the old secret keeps signing.' }),
              ),
            },
            { additionalProperties: false },
          ),
        ),
        response: { 200: CreatedEndpointSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:admin');
      return apiCreatedEndpoint(
        await rotateWebhookSecret(ctx, actor, request.params.id, request.body?.overlap_hours),
      );
    },
  );

  api.get(
    '/v1/webhooks/:id/deliveries',
    {
      schema: {
        tags,
        summary: "An endpoint's deliveries and their attempts",
        operationId: 'listWebhookDeliveries',
        description:
          'Newest first. Each delivery is one event for this endpoint: its status (`pending` while retried, for up to 24 hours), and each attempt with its duration and response code.',
        params: IdParams,
        querystring: Type.Object(
          {
            status: Type.Optional(
              Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
            ),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(DeliverySchema), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:admin');
      const q = request.query;
      const page = await listWebhookDeliveries(ctx, actor, request.params.id, {
        status: q.status,
        limit: q.limit,
        cursor: checkCursor(q.cursor),
      });
      return { items: page.items.map(apiDelivery), next_cursor: page.next_cursor };
    },
  );

  api.post(
    '/v1/webhooks/:id/deliveries/:deliveryId/redeliver',
    {
      schema: {
        tags,
        summary: 'Send a delivery again',
        operationId: 'redeliverWebhook',
        description:
          'Queues the delivery again with the same `webhook-id` and a fresh 24 hours of retries; its earlier attempts stay listed.',
        params: DeliveryParams,
        body: optionalBody(Type.Object({}, { additionalProperties: false })),
        response: { 202: DeliverySchema, ...problems(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { actor } = await authenticate(services, request, 'clavis:admin');
      const d = await redeliverWebhook(ctx, actor, request.params.id, request.params.deliveryId);
      return reply.code(202).send(apiDelivery(d));
    },
  );
}
