import { Type } from '@sinclair/typebox';
import { DEVICE_CODE_GRANT, GRANT_TYPES } from '../../domain/app-fields.js';
import {
  approveApp,
  createApp,
  deleteApp,
  disableApp,
  enableApp,
  getAppForActor,
  listApps,
  rejectApp,
  submitApp,
  updateApp,
  withdrawPendingChange,
} from '../../domain/apps.js';
import type { Services } from '../../services.js';
import { type ApiInstance, authenticate, checkCursor } from './context.js';
import { idempotent } from './idempotency.js';
import {
  AppSchema,
  AppStatusSchema,
  apiApp,
  apiCreatedSecret,
  ClientTypeSchema,
  CreatedAppSchema,
  IdParams,
  Page,
  PageQuery,
  problems,
  VisibilitySchema,
} from './schemas.js';

const IdempotencyHeader = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      description:
        'Makes the create safe to retry: the same key (per caller and route) returns the first response and creates nothing new. Kept 24 hours.',
    }),
  ),
});

const ScopeList = (description: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 100, description });

const GrantTypeList = (description: string) =>
  Type.Array(
    Type.String({
      maxLength: 100,
      examples: ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_CODE_GRANT],
    }),
    { maxItems: 10, description },
  );

const CreateAppBody = Type.Object(
  {
    name: Type.String({ maxLength: 1000 }),
    description: Type.Optional(Type.String({ maxLength: 5000 })),
    visibility: VisibilitySchema,
    client_type: ClientTypeSchema,
    callback_url: Type.String({
      maxLength: 2000,
      description: 'Exactly one callback URL: absolute, no fragment, https (http only for loopback).',
    }),
    scopes: Type.Optional(ScopeList('Scopes the app may request, from the scope catalogue.')),
    default_scopes: Type.Optional(
      ScopeList('Scopes granted when a request names none (default: all of `scopes`).'),
    ),
    grant_types: Type.Optional(
      GrantTypeList(
        `Grant types the app may use: ${GRANT_TYPES.join(', ')}. Default: confidential apps authorization_code, refresh_token and client_credentials; public apps authorization_code and refresh_token. The device grant is opt-in.`,
      ),
    ),
  },
  { additionalProperties: false },
);

const UpdateAppBody = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 1000 })),
    description: Type.Optional(Type.String({ maxLength: 5000 })),
    visibility: Type.Optional(VisibilitySchema),
    callback_url: Type.Optional(Type.String({ maxLength: 2000 })),
    scopes: Type.Optional(ScopeList('Scopes the app may request.')),
    default_scopes: Type.Optional(ScopeList('Default scopes.')),
    grant_types: Type.Optional(GrantTypeList('Grant types the app may use (the whole list).')),
    id_token_signed_response_alg: Type.Optional(
      Type.String({ maxLength: 20, description: 'OpenID Connect: RS256, ES256 or EdDSA.' }),
    ),
    post_logout_redirect_uri: Type.Optional(
      Type.Union([Type.String({ maxLength: 2000 }), Type.Null()], {
        description: 'OpenID Connect: the one post-logout redirect URI; null or "" removes it.',
      }),
    ),
    backchannel_logout_uri: Type.Optional(
      Type.Union([Type.String({ maxLength: 2000 }), Type.Null()], {
        description: 'OpenID Connect: the back-channel logout URI; null or "" removes it.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Only the fields given change. client_id and client_type never change.',
  },
);

const ListAppsQuery = Type.Object(
  {
    status: Type.Optional(AppStatusSchema),
    visibility: Type.Optional(VisibilitySchema),
    q: Type.Optional(
      Type.String({ maxLength: 200, description: 'Matches the name, or the exact client_id.' }),
    ),
    tenant_id: Type.Optional(
      Type.String({ maxLength: 200, description: 'Platform admins: one tenant only.' }),
    ),
    ...PageQuery,
  },
  { additionalProperties: false },
);

const RejectBody = Type.Object(
  { reason: Type.String({ maxLength: 5000, description: "Shown to the app's owner." }) },
  { additionalProperties: false },
);

const tags = ['apps'];

export async function appRoutes(api: ApiInstance, services: Services): Promise<void> {
  const ctx = services.ctx;

  api.post(
    '/v1/apps',
    {
      schema: {
        tags,
        summary: 'Register an app',
        operationId: 'createApp',
        description:
          "Creates an app in the caller's tenant. A confidential app gets its first client secret at once: its `value` is in this response and never again.",
        headers: IdempotencyHeader,
        body: CreateAppBody,
        response: { 201: CreatedAppSchema, ...problems(400, 401, 403, 409, 422) },
      },
    },
    async (request, reply) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      const r = await idempotent(services, request, actor, async () => {
        const { app, secret } = await createApp(ctx, actor, request.body);
        return { status: 201, body: { ...apiApp(app), secret: secret ? apiCreatedSecret(secret) : null } };
      });
      const body = r.body as { id: string };
      reply.header('location', `/api/v1/apps/${body.id}`);
      if (r.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(r.status as 201).send(r.body as never);
    },
  );

  api.get(
    '/v1/apps',
    {
      schema: {
        tags,
        summary: 'List apps',
        operationId: 'listApps',
        description: 'Apps the caller may manage (its own; admins: every app in the tenant), newest first.',
        querystring: ListAppsQuery,
        response: { 200: Page(AppSchema), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      const q = request.query;
      const page = await listApps(ctx, actor, {
        status: q.status,
        visibility: q.visibility,
        q: q.q,
        tenantId: q.tenant_id,
        limit: q.limit,
        cursor: checkCursor(q.cursor),
      });
      return { items: page.items.map(apiApp), next_cursor: page.next_cursor };
    },
  );

  api.get(
    '/v1/apps/:id',
    {
      schema: {
        tags,
        summary: 'Get an app',
        operationId: 'getApp',
        params: IdParams,
        response: { 200: AppSchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      return apiApp(await getAppForActor(ctx, actor, request.params.id));
    },
  );

  api.patch(
    '/v1/apps/:id',
    {
      schema: {
        tags,
        summary: 'Update an app',
        operationId: 'updateApp',
        description:
          'Changing the name, callback URL or visibility of a public app, setting a new `post_logout_redirect_uri` or `backchannel_logout_uri`, or adding scopes or grant types to it, needs review again (removing a URI, scopes or grant types, and `id_token_signed_response_alg`, apply at once). On an approved app the change is held as `pending_change` and the answer shows the approved version, which stays live until a platform admin approves the change (`POST /v1/apps/{id}/approve`) or rejects it; a second such change replaces it. On an app in review it sends the app back to draft with a `review_note` naming the change. Either way the audit log records `app.review_required`. Other fields apply at once; only changed fields are recorded.',
        params: IdParams,
        body: UpdateAppBody,
        response: { 200: AppSchema, ...problems(400, 401, 403, 404, 422) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      return apiApp(await updateApp(ctx, actor, request.params.id, request.body));
    },
  );

  api.delete(
    '/v1/apps/:id',
    {
      schema: {
        tags,
        summary: 'Delete an app',
        operationId: 'deleteApp',
        description: 'Revokes every secret; the client_id is never reused.',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Deleted.' }), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      await deleteApp(ctx, actor, request.params.id);
      return reply.code(204).send(null);
    },
  );

  api.delete(
    '/v1/apps/:id/pending-change',
    {
      schema: {
        tags,
        summary: "Withdraw an app's change awaiting review",
        operationId: 'withdrawAppChange',
        description: 'The approved version stays as it is. Records `app.change_withdrawn`.',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Withdrawn.' }), ...problems(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { actor } = await authenticate(services, request, 'clavis:apps');
      await withdrawPendingChange(ctx, actor, request.params.id);
      return reply.code(204).send(null);
    },
  );

  const action = (
    path: string,
    summary: string,
    description: string,
    scope: 'clavis:apps' | 'clavis:admin',
    run: (actor: Parameters<typeof submitApp>[1], id: string) => Promise<Parameters<typeof apiApp>[0]>,
  ) =>
    api.post(
      `/v1/apps/:id/${path}`,
      {
        schema: {
          tags,
          summary,
          operationId: `${path}App`,
          description,
          params: IdParams,
          response: { 200: AppSchema, ...problems(401, 403, 404, 409, 422) },
        },
      },
      async (request) => {
        const { actor } = await authenticate(services, request, scope);
        return apiApp(await run(actor, request.params.id));
      },
    );

  action(
    'submit',
    'Submit for approval',
    'Public apps only. Needs an https callback URL that is not a placeholder, localhost or an example domain.',
    'clavis:apps',
    (actor, id) => submitApp(ctx, actor, id),
  );
  action(
    'approve',
    'Approve an app in review',
    'Platform admins (`clavis:admin`). On an approved app with a `pending_change`, applies the change.',
    'clavis:admin',
    (actor, id) => approveApp(ctx, actor, id),
  );
  action(
    'disable',
    'Disable an app',
    'A disabled app gets no tokens from any grant.',
    'clavis:apps',
    (actor, id) => disableApp(ctx, actor, id),
  );
  action('enable', 'Enable a disabled app', 'It becomes a draft again.', 'clavis:apps', (actor, id) =>
    enableApp(ctx, actor, id),
  );

  api.post(
    '/v1/apps/:id/reject',
    {
      schema: {
        tags,
        summary: 'Reject an app in review',
        operationId: 'rejectApp',
        description:
          'Platform admins (`clavis:admin`). On an approved app with a `pending_change`, discards the change (the app stays approved). The reason is shown to the owner as `review_note`.',
        params: IdParams,
        body: RejectBody,
        response: { 200: AppSchema, ...problems(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:admin');
      return apiApp(await rejectApp(ctx, actor, request.params.id, request.body.reason));
    },
  );
}
