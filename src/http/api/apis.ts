import { Type } from '@sinclair/typebox';
import { createApi, deleteApi, getApi, listApis, updateApi } from '../../domain/apis.js';
import {
  grantAppPermission,
  listAppPermissions,
  removeAppPermission,
  requestAppPermission,
} from '../../domain/app-permissions.js';
import type { Services } from '../../services.js';
import {
  ApiSchema,
  AppPermissionSchema,
  apiApi,
  apiInput,
  apiPatch,
  apiPermission,
  CreateApiBody,
  ForceQuery,
  PermissionBody,
  PermissionParams,
  UpdateApiBody,
} from './apis-schemas.js';
import { type ApiInstance, authenticate } from './context.js';
import { idempotent } from './idempotency.js';
import { IdParams, problems } from './schemas.js';

const IdempotencyHeader = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      description:
        'Makes the create safe to retry: the same key (per caller and route) returns the first response and creates nothing new. Kept 24 hours.',
    }),
  ),
});

/**
 * The management API's APIs (resource servers) and app permissions: `/v1/apis` and
 * `/v1/apps/{id}/permissions`. Who may do what (tenant admins manage APIs and grant permissions, only
 * platform admins make an API public, the built-ins cannot be deleted) is decided by the domain functions,
 * as in the hub; these routes map shapes and statuses.
 */
export async function apiRoutes(api: ApiInstance, services: Services): Promise<void> {
  const ctx = services.ctx;
  const tags = ['apis'];

  api.get(
    '/v1/apis',
    {
      schema: {
        tags,
        summary: 'List APIs',
        operationId: 'listApis',
        description:
          "The APIs the caller can see: its tenant's, the public ones of other tenants, and the two built-in APIs (the management API and the sample API).",
        response: {
          200: Type.Object({ items: Type.Array(ApiSchema), next_cursor: Type.Null() }),
          ...problems(401, 403),
        },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:apps', 'clavis:admin');
      return { items: (await listApis(ctx, actor)).map(apiApi), next_cursor: null };
    },
  );

  api.post(
    '/v1/apis',
    {
      schema: {
        tags,
        summary: 'Register an API',
        operationId: 'createApi',
        description:
          'Tenant admins register an API of their tenant: its `identifier` becomes the `aud` of the tokens issued for it (clients ask with `resource=`, RFC 8707) and never changes. Records `api.created`.',
        headers: IdempotencyHeader,
        body: CreateApiBody,
        response: { 201: ApiSchema, ...problems(400, 401, 403, 409, 422) },
      },
    },
    async (request, reply) => {
      const { actor } = await authenticate(services, request, 'clavis:apps', 'clavis:admin');
      const r = await idempotent(services, request, actor, async () => ({
        status: 201,
        body: apiApi(await createApi(ctx, actor, apiInput(request.body))),
      }));
      reply.header('location', `/api/v1/apis/${(r.body as { id: string }).id}`);
      if (r.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).send(r.body as never);
    },
  );

  api.get(
    '/v1/apis/:id',
    {
      schema: {
        tags,
        summary: 'Get an API',
        operationId: 'getApi',
        params: IdParams,
        response: { 200: ApiSchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:apps', 'clavis:admin');
      return apiApi(await getApi(ctx, actor, request.params.id));
    },
  );

  api.patch(
    '/v1/apis/:id',
    {
      schema: {
        tags,
        summary: 'Update an API',
        operationId: 'updateApi',
        description:
          'Only the fields given change; `scopes` replaces the whole list. Removing a scope that apps hold needs `?force=true`, which removes it from their permissions too (tokens already issued stay valid until they expire). The identifier never changes.',
        params: IdParams,
        querystring: ForceQuery,
        body: UpdateApiBody,
        response: { 200: ApiSchema, ...problems(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:apps', 'clavis:admin');
      const force = request.query.force === true;
      return apiApi(await updateApi(ctx, actor, request.params.id, apiPatch(request.body), { force }));
    },
  );

  api.delete(
    '/v1/apis/:id',
    {
      schema: {
        tags,
        summary: 'Delete an API',
        operationId: 'deleteApi',
        description:
          'The built-in APIs cannot be deleted. An API that apps hold permissions for needs `?force=true`, which removes those permissions; tokens already issued stay valid until they expire.',
        params: IdParams,
        querystring: ForceQuery,
        response: { 204: Type.Null({ description: 'Deleted.' }), ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { actor } = await authenticate(services, request, 'clavis:apps', 'clavis:admin');
      await deleteApi(ctx, actor, request.params.id, { force: request.query.force === true });
      return reply.code(204).send(null);
    },
  );

  // ---- App permissions ----
  const ptags = ['permissions'];

  api.get(
    '/v1/apps/:id/permissions',
    {
      schema: {
        tags: ptags,
        summary: "List an app's API permissions",
        operationId: 'listAppPermissions',
        description: 'One permission per API: the scopes the app holds or asks for, and whether granted.',
        params: IdParams,
        response: {
          200: Type.Object({ items: Type.Array(AppPermissionSchema), next_cursor: Type.Null() }),
          ...problems(401, 403, 404),
        },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      const items = await listAppPermissions(ctx, actor, request.params.id);
      return { items: items.map(apiPermission), next_cursor: null };
    },
  );

  api.put(
    '/v1/apps/:id/permissions/:api_id',
    {
      schema: {
        tags: ptags,
        summary: 'Request scopes of an API for an app',
        operationId: 'setAppPermission',
        description:
          'Sets the scopes the app holds for the API (the whole set). From a tenant admin it is granted at once; from a developer it is `pending` until an admin grants it. Records `app_permission.requested` (and `app_permission.granted`).',
        params: PermissionParams,
        body: PermissionBody,
        response: { 200: AppPermissionSchema, ...problems(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      const { id, api_id } = request.params;
      return apiPermission(await requestAppPermission(ctx, actor, id, api_id, request.body.scopes));
    },
  );

  api.post(
    '/v1/apps/:id/permissions/:api_id/grant',
    {
      schema: {
        tags: ptags,
        summary: "Grant an app's pending permission (admin consent)",
        operationId: 'grantAppPermission',
        description:
          'Tenant admins grant every scope the app asked for on that API, in one action. Records `app_permission.granted`.',
        params: PermissionParams,
        response: { 200: AppPermissionSchema, ...problems(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:apps', 'clavis:admin');
      const { id, api_id } = request.params;
      return apiPermission(await grantAppPermission(ctx, actor, id, api_id));
    },
  );

  api.delete(
    '/v1/apps/:id/permissions/:api_id',
    {
      schema: {
        tags: ptags,
        summary: "Remove an app's permission for an API",
        operationId: 'removeAppPermission',
        description:
          'The app gets no more tokens for that API, on every node from the next request; tokens already issued stay valid until they expire. Records `app_permission.removed`.',
        params: PermissionParams,
        response: { 204: Type.Null({ description: 'Removed.' }), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      const { id, api_id } = request.params;
      await removeAppPermission(ctx, actor, id, api_id);
      return reply.code(204).send(null);
    },
  );
}
