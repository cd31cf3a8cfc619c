import { Type } from '@sinclair/typebox';
import {
  createAppRequest,
  declineAppRequest,
  fulfilAppRequest,
  getAppRequest,
  listAppRequests,
} from '../../domain/app-requests.js';
import { getAppForActor } from '../../domain/apps.js';
import { listAuditEvents } from '../../domain/audit.js';
import { forbidden } from '../../domain/errors.js';
import type { Services } from '../../services.js';
import { type ApiInstance, authenticate, checkCursor } from './context.js';
import {
  AppRequestSchema,
  AppSchema,
  AuditEventSchema,
  apiApp,
  apiAppRequest,
  apiAuditEvent,
  ClientTypeSchema,
  IdParams,
  optionalBody,
  Page,
  PageQuery,
  problems,
  VisibilitySchema,
} from './schemas.js';

const ScopeList = Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 100 });

export async function requestAndAuditRoutes(api: ApiInstance, services: Services): Promise<void> {
  const ctx = services.ctx;
  const tags = ['app requests'];

  api.post(
    '/v1/app-requests',
    {
      schema: {
        tags,
        summary: 'Ask an admin for an app',
        operationId: 'createAppRequest',
        description:
          "For tenants where users can't register apps: an admin fulfils the request (creating the app, owned by you) or declines it with a reason.",
        body: Type.Object(
          {
            name: Type.String({ maxLength: 1000 }),
            description: Type.Optional(Type.String({ maxLength: 5000 })),
            visibility: VisibilitySchema,
            client_type: ClientTypeSchema,
            callback_url: Type.String({ maxLength: 2000 }),
            scopes: Type.Optional(ScopeList),
            justification: Type.Optional(
              Type.String({ maxLength: 5000, description: 'What the app is for.' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: AppRequestSchema, ...problems(400, 401, 403, 422) },
      },
    },
    async (request, reply) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      const r = await createAppRequest(ctx, actor, request.body);
      reply.header('location', `/api/v1/app-requests/${r.id}`);
      return reply.code(201).send(apiAppRequest(r));
    },
  );

  api.get(
    '/v1/app-requests',
    {
      schema: {
        tags,
        summary: 'List app requests',
        operationId: 'listAppRequests',
        description: "Admins see the tenant's requests; everyone else their own. Newest first.",
        querystring: Type.Object(
          {
            status: Type.Optional(
              Type.Union([Type.Literal('pending'), Type.Literal('fulfilled'), Type.Literal('declined')]),
            ),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(AppRequestSchema), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      const q = request.query;
      const page = await listAppRequests(ctx, actor, {
        status: q.status,
        limit: q.limit,
        cursor: checkCursor(q.cursor),
      });
      return { items: page.items.map(apiAppRequest), next_cursor: page.next_cursor };
    },
  );

  api.get(
    '/v1/app-requests/:id',
    {
      schema: {
        tags,
        summary: 'Get an app request',
        operationId: 'getAppRequest',
        params: IdParams,
        response: { 200: AppRequestSchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      return apiAppRequest(await getAppRequest(ctx, actor, request.params.id));
    },
  );

  api.post(
    '/v1/app-requests/:id/fulfil',
    {
      schema: {
        tags,
        summary: 'Fulfil an app request',
        operationId: 'fulfilAppRequest',
        description:
          'Tenant admins. Creates the app (fields may be adjusted) owned by the requester. No secret is created: the owner creates one, so its value is only ever shown to them.',
        params: IdParams,
        body: optionalBody(
          Type.Object(
            {
              name: Type.Optional(Type.String({ maxLength: 1000 })),
              description: Type.Optional(Type.String({ maxLength: 5000 })),
              visibility: Type.Optional(VisibilitySchema),
              client_type: Type.Optional(ClientTypeSchema),
              callback_url: Type.Optional(Type.String({ maxLength: 2000 })),
              scopes: Type.Optional(ScopeList),
            },
            { additionalProperties: false },
          ),
        ),
        response: {
          200: Type.Object({ request: AppRequestSchema, app: AppSchema }),
          ...problems(400, 401, 403, 404, 409, 422),
        },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      const r = await fulfilAppRequest(ctx, actor, request.params.id, request.body ?? {});
      return { request: apiAppRequest(r.request), app: apiApp(r.app) };
    },
  );

  api.post(
    '/v1/app-requests/:id/decline',
    {
      schema: {
        tags,
        summary: 'Decline an app request',
        operationId: 'declineAppRequest',
        description: 'Tenant admins. The reason is shown to the requester.',
        params: IdParams,
        body: Type.Object({ reason: Type.String({ maxLength: 5000 }) }, { additionalProperties: false }),
        response: { 200: AppRequestSchema, ...problems(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      return apiAppRequest(await declineAppRequest(ctx, actor, request.params.id, request.body.reason));
    },
  );

  // ---- Audit events ----
  api.get(
    '/v1/audit-events',
    {
      schema: {
        tags: ['audit'],
        summary: 'List audit events',
        operationId: 'listAuditEvents',
        description:
          "Credential and configuration events, newest first. With `app_id`: that app's events (owners and admins). Without: the tenant's events (admins only). Never contains a secret value.",
        querystring: Type.Object(
          {
            app_id: Type.Optional(Type.String({ maxLength: 200 })),
            type: Type.Optional(Type.String({ maxLength: 100, description: 'e.g. secret.refreshed' })),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(AuditEventSchema), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      const q = request.query;
      const cursor = checkCursor(q.cursor);
      let tenantId: string | null | undefined;
      if (q.app_id) {
        await getAppForActor(ctx, actor, q.app_id);
      } else if (actor.platformAdmin) {
        tenantId = undefined;
      } else if (actor.role === 'admin' && actor.tenantId) {
        tenantId = actor.tenantId;
      } else {
        throw forbidden("Only admins list the tenant's audit log; pass app_id for an app you own.");
      }
      const page = await listAuditEvents(ctx, {
        tenantId,
        appId: q.app_id,
        type: q.type,
        limit: q.limit,
        cursor,
      });
      return { items: page.items.map(apiAuditEvent), next_cursor: page.next_cursor };
    },
  );
}
