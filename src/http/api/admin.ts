import { Type } from '@sinclair/typebox';
import type { Actor } from '../../domain/context.js';
import { notFound } from '../../domain/errors.js';
import { listScopes } from '../../domain/scopes.js';
import { getTenant, updateTenantSettings } from '../../domain/tenants.js';
import { createUser, getUserForAdmin, listUsers, updateUser } from '../../domain/user-management.js';
import type { Services } from '../../services.js';
import { type ApiInstance, authenticate, checkCursor } from './context.js';
import {
  apiTenantSettings,
  apiUser,
  ExpiryNoticeRecipientsSchema,
  IdParams,
  LeakedSecretPolicySchema,
  Page,
  PageQuery,
  problems,
  RoleSchema,
  ScopeSchema,
  TenantSettingsSchema,
  UserSchema,
} from './schemas.js';

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
  if (!id) throw notFound('Tenant');
  if (!actor.platformAdmin && id !== actor.tenantId) throw notFound('Tenant');
  return id;
}

export async function adminRoutes(api: ApiInstance, services: Services): Promise<void> {
  const ctx = services.ctx;

  // ---- Scope catalogue ----
  api.get(
    '/v1/scopes',
    {
      schema: {
        tags: ['scopes'],
        summary: 'The scope catalogue',
        operationId: 'listScopes',
        description: 'Every scope an app may be allowed, with a plain-words description. Small, so one page.',
        response: {
          200: Type.Object({ items: Type.Array(ScopeSchema), next_cursor: Type.Null() }),
          ...problems(401, 403),
        },
      },
    },
    async (request) => {
      await authenticate(services, request, 'clavis:apps', 'clavis:admin');
      return { items: await listScopes(ctx), next_cursor: null };
    },
  );

  // ---- Tenant settings ----
  api.get(
    '/v1/tenant/settings',
    {
      schema: {
        tags: ['tenant'],
        summary: "The tenant's settings",
        operationId: 'getTenantSettings',
        description:
          'App registration, the client secret policy, what a leak report does and who gets expiry notices. Readable by every member; changed by admins.',
        querystring: TenantQuery,
        response: { 200: TenantSettingsSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:apps', 'clavis:admin');
      return apiTenantSettings(await getTenant(ctx, tenantOf(actor, request.query.tenant_id)));
    },
  );

  api.patch(
    '/v1/tenant/settings',
    {
      schema: {
        tags: ['tenant'],
        summary: "Change the tenant's settings",
        operationId: 'updateTenantSettings',
        querystring: TenantQuery,
        body: Type.Object(
          {
            users_can_register_apps: Type.Optional(Type.Boolean()),
            secret_max_lifetime_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
            secret_allow_never_expire: Type.Optional(Type.Boolean()),
            leaked_secret_policy: Type.Optional(LeakedSecretPolicySchema),
            expiry_notice_recipients: Type.Optional(ExpiryNoticeRecipientsSchema),
          },
          { additionalProperties: false },
        ),
        response: { 200: TenantSettingsSchema, ...problems(400, 401, 403, 404, 422) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:admin');
      const t = await updateTenantSettings(
        ctx,
        actor,
        tenantOf(actor, request.query.tenant_id),
        request.body,
      );
      return apiTenantSettings(t);
    },
  );

  // ---- Users ----
  const tags = ['users'];
  api.get(
    '/v1/users',
    {
      schema: {
        tags,
        summary: "List the tenant's users",
        operationId: 'listUsers',
        querystring: Type.Object(
          {
            role: Type.Optional(RoleSchema),
            q: Type.Optional(Type.String({ maxLength: 200, description: 'Matches email or display name.' })),
            tenant_id: Type.Optional(Type.String({ maxLength: 200 })),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(UserSchema), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:admin');
      const q = request.query;
      const page = await listUsers(ctx, actor, {
        tenantId: tenantOf(actor, q.tenant_id),
        role: q.role,
        q: q.q,
        limit: q.limit,
        cursor: checkCursor(q.cursor),
      });
      return { items: page.items.map(apiUser), next_cursor: page.next_cursor };
    },
  );

  api.post(
    '/v1/users',
    {
      schema: {
        tags,
        summary: 'Create or invite a user',
        operationId: 'createUser',
        description:
          'Without `password` this is an invitation: an initial password is generated and returned once as `initial_password`, for you to hand over.',
        body: Type.Object(
          {
            email: Type.String({ maxLength: 320 }),
            display_name: Type.Optional(Type.String({ maxLength: 200 })),
            role: RoleSchema,
            password: Type.Optional(Type.String({ maxLength: 1000 })),
            tenant_id: Type.Optional(Type.String({ maxLength: 200, description: 'Platform admins only.' })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            ...UserSchema.properties,
            initial_password: Type.Union([Type.String(), Type.Null()], {
              description: 'The generated password (invitations only). Shown once.',
            }),
          }),
          ...problems(400, 401, 403, 404, 409, 422),
        },
      },
    },
    async (request, reply) => {
      const { actor } = await authenticate(services, request, 'clavis:admin');
      const b = request.body;
      const { user, initialPassword } = await createUser(ctx, actor, {
        tenantId: tenantOf(actor, b.tenant_id),
        email: b.email,
        displayName: b.display_name,
        role: b.role,
        password: b.password,
      });
      reply.header('location', `/api/v1/users/${user.id}`);
      return reply.code(201).send({ ...apiUser(user), initial_password: initialPassword });
    },
  );

  api.get(
    '/v1/users/:id',
    {
      schema: {
        tags,
        summary: 'Get a user',
        operationId: 'getUser',
        params: IdParams,
        response: { 200: UserSchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:admin');
      return apiUser(await getUserForAdmin(ctx, actor, request.params.id));
    },
  );

  api.patch(
    '/v1/users/:id',
    {
      schema: {
        tags,
        summary: 'Change a user: role, name, disabled',
        operationId: 'updateUser',
        description:
          '`disabled: true` stops the user signing in; `false` lets them in again. A tenant always keeps one active admin.',
        params: IdParams,
        body: Type.Object(
          {
            role: Type.Optional(RoleSchema),
            display_name: Type.Optional(Type.String({ maxLength: 200 })),
            disabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 200: UserSchema, ...problems(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => {
      const { actor } = await authenticate(services, request, 'clavis:admin');
      const b = request.body;
      return apiUser(
        await updateUser(ctx, actor, request.params.id, {
          role: b.role,
          displayName: b.display_name,
          disabled: b.disabled,
        }),
      );
    },
  );
}
