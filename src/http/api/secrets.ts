import { Type } from '@sinclair/typebox';
import {
  addSecret,
  listSecrets,
  refreshSecret,
  revokeSecret,
  type SecretOptions,
} from '../../domain/secrets.js';
import type { Services } from '../../services.js';
import { type ApiInstance, authenticate, parseTime } from './context.js';
import { idempotent } from './idempotency.js';
import {
  apiCreatedSecret,
  apiSecret,
  CreatedSecretSchema,
  IdParams,
  optionalBody,
  problems,
  SecretSchema,
} from './schemas.js';

const IdempotencyHeader = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      description:
        'Retry safely: the same key returns the first response (value included) and creates no second secret.',
    }),
  ),
});

const ExpiryFields = {
  expires_in_months: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 120,
      description: 'Lifetime in months (the hub offers 6, 12 or 24). Default 6.',
    }),
  ),
  expires_at: Type.Optional(
    Type.String({
      format: 'date-time',
      description: "An explicit expiry, within the tenant's maximum lifetime.",
    }),
  ),
  never_expires: Type.Optional(
    Type.Boolean({ description: "No expiry: only when the tenant's secret policy allows it." }),
  ),
};

const NewSecretBody = Type.Object(
  { description: Type.Optional(Type.String({ maxLength: 1000 })), ...ExpiryFields },
  {
    additionalProperties: false,
    description: 'Give at most one of expires_in_months, expires_at and never_expires.',
  },
);

const SecretParams = Type.Object({
  id: Type.String({ maxLength: 200, description: "The app's object ID." }),
  secretId: Type.String({ maxLength: 200, description: 'The secret ID.' }),
});

const tags = ['secrets'];

function options(
  body:
    | { description?: string; expires_in_months?: number; expires_at?: string; never_expires?: boolean }
    | undefined,
): SecretOptions {
  if (!body) return {};
  const o: SecretOptions = {};
  if (body.description !== undefined) o.description = body.description;
  if (body.expires_in_months !== undefined) o.expires_in_months = body.expires_in_months;
  if (body.expires_at !== undefined) o.expires_at = parseTime('expires_at', body.expires_at);
  if (body.never_expires) o.never_expires = true;
  return o;
}

export async function secretRoutes(api: ApiInstance, services: Services): Promise<void> {
  const ctx = services.ctx;

  api.get(
    '/v1/apps/:id/secrets',
    {
      schema: {
        tags,
        summary: "List an app's client secrets",
        operationId: 'listSecrets',
        description:
          'Newest first, revoked ones included. Never returns a value: only the hint (first 3 characters).',
        params: IdParams,
        response: {
          200: Type.Object({ items: Type.Array(SecretSchema), next_cursor: Type.Null() }),
          ...problems(401, 403, 404),
        },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      const items = await listSecrets(ctx, actor, request.params.id);
      return { items: items.map(apiSecret), next_cursor: null };
    },
  );

  api.post(
    '/v1/apps/:id/secrets',
    {
      schema: {
        tags,
        summary: 'Add a client secret',
        operationId: 'addSecret',
        description:
          'Adds a secret beside the current ones (overlap for zero-downtime rotation; at most 5 active). The `value` is in this response only.',
        params: IdParams,
        headers: IdempotencyHeader,
        body: optionalBody(NewSecretBody),
        response: { 201: CreatedSecretSchema, ...problems(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      const r = await idempotent(services, request, actor, async () => ({
        status: 201,
        body: apiCreatedSecret(await addSecret(ctx, actor, request.params.id, options(request.body))),
      }));
      if (r.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).send(r.body as never);
    },
  );

  api.post(
    '/v1/apps/:id/secrets/:secretId/refresh',
    {
      schema: {
        tags,
        summary: 'Refresh a client secret',
        operationId: 'refreshSecret',
        description:
          'In one transaction, deactivates this secret and creates a new one (the hub\'s "Generate new client secret"). The new `value` is in this response only. Tokens already issued stay valid.',
        params: SecretParams,
        headers: IdempotencyHeader,
        body: optionalBody(NewSecretBody),
        response: { 201: CreatedSecretSchema, ...problems(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      const { id, secretId } = request.params;
      const r = await idempotent(services, request, actor, async () => ({
        status: 201,
        body: apiCreatedSecret(await refreshSecret(ctx, actor, id, secretId, options(request.body))),
      }));
      if (r.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).send(r.body as never);
    },
  );

  api.delete(
    '/v1/apps/:id/secrets/:secretId',
    {
      schema: {
        tags,
        summary: 'Revoke a client secret',
        operationId: 'revokeSecret',
        description:
          'It fails at once, exactly like a wrong secret. Returns the revoked secret (without value).',
        params: SecretParams,
        response: { 200: SecretSchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      return apiSecret(await revokeSecret(ctx, actor, request.params.id, request.params.secretId));
    },
  );
}
