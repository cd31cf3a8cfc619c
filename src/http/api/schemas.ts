import { FormatRegistry, type TSchema, Type } from '@sinclair/typebox';
import type { AppRequest } from '../../domain/app-requests.js';
import type { App } from '../../domain/apps.js';
import type { AuditEvent } from '../../domain/audit.js';
import { parseRealDate } from '../../domain/dates.js';
import { ERROR_CODES, type ErrorCode } from '../../domain/error-codes.js';
import { SECRET_STATUSES } from '../../domain/secret-status.js';
import type { ClientSecret, CreatedSecret } from '../../domain/secrets.js';
import type { Tenant } from '../../domain/tenants.js';
import type { User } from '../../domain/users.js';
import { errorCodeTable, PROBLEM_TYPE_BASE } from '../problem.js';

/**
 * TypeBox schemas of the management API. They validate requests (strictly: unknown fields are errors),
 * serialize responses (fields not in a schema are never sent, a second guard for secret values) and
 * generate the OpenAPI 3.1 document. Field names are snake_case, timestamps ISO 8601 strings.
 */

const ISO_DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/;
if (!FormatRegistry.Has('date-time'))
  FormatRegistry.Set('date-time', (v) => ISO_DATE_TIME.test(v) && !Number.isNaN(parseRealDate(v)));

export const iso = (ms: number): string => new Date(ms).toISOString();
export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const DateTime = (description: string) => Type.String({ format: 'date-time', description });
const NullableDateTime = (description: string) =>
  Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description });

export const Problem = Type.Object(
  {
    type: Type.String({
      description: `\`${PROBLEM_TYPE_BASE}<code>\` for the failures listed under \`code\`; \`about:blank\` for the others (authentication, malformed requests).`,
    }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.Optional(
      Type.Unsafe<ErrorCode>({
        type: 'string',
        enum: Object.keys(ERROR_CODES),
        description: `A stable code naming the failure, for programs to match on (the text of \`detail\` may change). Codes are never renamed or reused.\n\n${errorCodeTable()}`,
      }),
    ),
    errors: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description: 'Field-level messages, keyed by field name.',
      }),
    ),
  },
  { $id: 'Problem', description: 'An RFC 9457 problem details object (application/problem+json).' },
);

/** Marks a body schema as optional: a request may come with no body at all. */
export const OPTIONAL_BODY = 'x-optional-body';
export const optionalBody = <T extends TSchema>(schema: T): T => ({ ...schema, [OPTIONAL_BODY]: true });

/** Response schemas for the errors a route can answer. */
export function problems(...codes: number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  const text: Record<number, string> = {
    400: 'The request is malformed: bad JSON, wrong types, unknown fields (see `errors`).',
    401: 'No valid credentials (see WWW-Authenticate).',
    403: 'The token lacks the needed scope, or the actor may not do this.',
    404: 'Not found (including objects of another tenant).',
    409: 'Conflicts with the current state (or a limit is reached).',
    422: 'Semantically invalid input (see `errors`), or an Idempotency-Key reused with another body.',
    429: 'Too many requests from this address; see Retry-After.',
    503: 'A service this needs is unavailable now; see Retry-After.',
  };
  for (const c of codes)
    out[c] = {
      description: text[c] ?? 'Error',
      content: { 'application/problem+json': { schema: Type.Ref('Problem') } },
    };
  return out;
}

export const VisibilitySchema = Type.Union([Type.Literal('private'), Type.Literal('public')]);
export const ClientTypeSchema = Type.Union([Type.Literal('confidential'), Type.Literal('public')]);
export const AppStatusSchema = Type.Union([
  Type.Literal('draft'),
  Type.Literal('in_review'),
  Type.Literal('approved'),
  Type.Literal('rejected'),
  Type.Literal('disabled'),
]);
export const RoleSchema = Type.Union([
  Type.Literal('admin'),
  Type.Literal('developer'),
  Type.Literal('user'),
]);

export const SecretSchema = Type.Object({
  id: Type.String({
    description: 'Secret ID: names the secret in the hub, API and audit log. Authenticates nothing.',
  }),
  hint: Type.String({ description: 'The first 3 characters of the value.' }),
  description: Type.String(),
  created_at: DateTime('When the secret was created.'),
  expires_at: NullableDateTime('When it stops working; null if it never expires.'),
  last_used_at: NullableDateTime('Last successful use, precise to the minute.'),
  revoked_at: NullableDateTime('When it was revoked or replaced by a refresh.'),
  replaced_by: Nullable(
    Type.String({ description: 'The secret ID of the secret a refresh put in its place; null otherwise.' }),
  ),
  status: Type.Union(
    SECRET_STATUSES.map((s) => Type.Literal(s)),
    {
      description:
        '`active`; `expiring` (usable, expires within 30 days); `replaced` (deactivated by a refresh, see `replaced_by`); `revoked`; `expired`. Only `active` and `expiring` secrets authenticate.',
    },
  ),
});

export const CreatedSecretSchema = Type.Object({
  ...SecretSchema.properties,
  value: Type.String({
    description:
      'The secret value. Returned only in this response: store it now, it cannot be retrieved again.',
  }),
});

export const PendingChangeSchema = Type.Object(
  {
    fields: Type.Array(Type.String(), { description: 'The reviewed fields the change sets.' }),
    values: Type.Object(
      {
        name: Type.Optional(Type.String()),
        visibility: Type.Optional(Type.String()),
        callback_url: Type.Optional(Type.String()),
        scopes: Type.Optional(Type.Array(Type.String())),
        default_scopes: Type.Optional(Type.Array(Type.String())),
        grant_types: Type.Optional(Type.Array(Type.String())),
        post_logout_redirect_uri: Type.Optional(Type.String()),
        backchannel_logout_uri: Type.Optional(Type.String()),
      },
      { description: 'The new values of those fields.' },
    ),
    added_scopes: Type.Array(Type.String(), { description: 'Scopes the change adds.' }),
    added_grant_types: Type.Array(Type.String(), { description: 'Grant types the change adds.' }),
    requested_at: DateTime('When the change was saved.'),
    requested_by: Type.String({ description: 'Who saved it.' }),
  },
  {
    description:
      "A change to an approved public app awaiting review. The app's other members are the approved, live version until a platform admin approves the change.",
  },
);

export const AppSchema = Type.Object({
  id: Type.String({ description: 'Object ID: identifies the app in this API only. Never used in OAuth.' }),
  client_id: Type.String({ description: 'The OAuth client_id. Immutable, never reused.' }),
  tenant_id: Type.String({ description: "The owning tenant's ID." }),
  owner_user_id: Nullable(Type.String()),
  name: Type.String(),
  description: Type.String(),
  visibility: VisibilitySchema,
  client_type: ClientTypeSchema,
  callback_url: Type.String({ description: 'The one OAuth callback (redirect) URL.' }),
  scopes: Type.Array(Type.String(), { description: 'Scopes the app may request.' }),
  default_scopes: Type.Array(Type.String(), { description: 'Scopes granted when a request names none.' }),
  grant_types: Type.Array(Type.String(), {
    description:
      'Grant types the app may use at the token endpoint (RFC 7591 §2). Others are refused with unauthorized_client.',
  }),
  status: AppStatusSchema,
  review_note: Nullable(
    Type.String({
      description: 'Why the app was rejected, or which change sent it back to review, for its owner.',
    }),
  ),
  pending_change: Nullable(PendingChangeSchema),
  created_at: DateTime('When the app was registered.'),
  updated_at: DateTime('When the app last changed.'),
  id_token_signed_response_alg: Type.Union(
    [Type.Literal('RS256'), Type.Literal('ES256'), Type.Literal('EdDSA')],
    {
      description: 'OpenID Connect: the algorithm ID tokens for this app are signed with (RS256 by default).',
    },
  ),
  post_logout_redirect_uri: Nullable(
    Type.String({ description: 'OpenID Connect RP-initiated logout: the one address logout may return to.' }),
  ),
  backchannel_logout_uri: Nullable(
    Type.String({ description: 'OpenID Connect back-channel logout: where logout tokens are POSTed.' }),
  ),
});

export const CreatedAppSchema = Type.Object({
  ...AppSchema.properties,
  secret: Nullable(CreatedSecretSchema),
});

export const UserSchema = Type.Object({
  id: Type.String(),
  tenant_id: Type.String(),
  email: Type.String(),
  display_name: Type.String(),
  role: RoleSchema,
  is_test_user: Type.Boolean(),
  disabled_at: NullableDateTime('When the user was disabled; null while active.'),
  created_at: DateTime('When the user was created.'),
});

export const LeakedSecretPolicySchema = Type.Union([Type.Literal('revoke'), Type.Literal('notify')], {
  description:
    'What a report of a leaked live client secret does (`POST /api/v1/credential-leaks`, GitHub secret scanning): `revoke` it at once (default), or `notify` the owner and admins only.',
});

export const ExpiryNoticeRecipientsSchema = Type.Union(
  [Type.Literal('owner_and_admins'), Type.Literal('owner'), Type.Literal('admins'), Type.Literal('none')],
  {
    description:
      "Who is mailed a client secret's expiry notices (30, 7 and 1 days before, and when it expires): the app's owner and the tenant's admins (`owner_and_admins`, default), only the `owner`, only the `admins`, or nobody (`none`; the `secret.expiring` and `secret.expired` webhooks are sent all the same).",
  },
);

export const TenantSettingsSchema = Type.Object({
  tenant_id: Type.String(),
  users_can_register_apps: Type.Boolean({
    description: 'When false only admins register apps; developers file app requests.',
  }),
  secret_max_lifetime_days: Type.Integer({ description: 'The longest lifetime a client secret may have.' }),
  secret_allow_never_expire: Type.Boolean({
    description: 'Whether client secrets may be created without expiry.',
  }),
  leaked_secret_policy: LeakedSecretPolicySchema,
  expiry_notice_recipients: ExpiryNoticeRecipientsSchema,
});

export const AppRequestSchema = Type.Object({
  id: Type.String(),
  tenant_id: Type.String(),
  requester: Type.String({ description: 'Who asked: user:<id> or client:<client_id>.' }),
  name: Type.String(),
  description: Type.String(),
  visibility: VisibilitySchema,
  client_type: ClientTypeSchema,
  callback_url: Type.String(),
  scopes: Type.Array(Type.String()),
  justification: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('fulfilled'), Type.Literal('declined')]),
  app_id: Nullable(Type.String({ description: 'The app created when the request was fulfilled.' })),
  decision_note: Nullable(Type.String({ description: 'Why the request was declined.' })),
  decided_by: Nullable(Type.String()),
  decided_at: NullableDateTime('When an admin decided.'),
  created_at: DateTime('When the request was filed.'),
});

export const AuditEventSchema = Type.Object({
  id: Type.String(),
  type: Type.String({ description: 'e.g. app.created, secret.created, secret.refreshed, secret.revoked.' }),
  actor: Type.String({ description: 'user:<id>, client:<client_id> or system.' }),
  tenant_id: Nullable(Type.String()),
  app_id: Nullable(Type.String()),
  secret_id: Nullable(Type.String()),
  data: Type.Record(Type.String(), Type.Unknown(), { description: 'Event details. Never a secret value.' }),
  created_at: DateTime('When it happened.'),
});

export const ScopeSchema = Type.Object({
  name: Type.String(),
  description: Type.String(),
  restricted: Type.Boolean({ description: 'Only platform administrators may grant it to an app.' }),
});

/** A page of a cursor-paginated list. */
export const Page = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    next_cursor: Nullable(
      Type.String({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
    ),
  });

export const PageQuery = {
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'Page size (1-200).' }),
  ),
  cursor: Type.Optional(
    Type.String({ maxLength: 500, description: 'The `next_cursor` of the previous page.' }),
  ),
};

export const IdParams = Type.Object({ id: Type.String({ maxLength: 200, description: 'The object ID.' }) });

// ---- Mapping domain objects to the wire format ----

export const apiSecret = (s: ClientSecret) => ({
  id: s.id,
  hint: s.hint,
  description: s.description,
  created_at: iso(s.created_at),
  expires_at: isoOrNull(s.expires_at),
  last_used_at: isoOrNull(s.last_used_at),
  revoked_at: isoOrNull(s.revoked_at),
  replaced_by: s.replaced_by,
  status: s.status,
});

export const apiCreatedSecret = (s: CreatedSecret) => ({ ...apiSecret(s), value: s.value });

export const apiApp = (a: App) => ({
  id: a.id,
  client_id: a.client_id,
  tenant_id: a.tenant_id,
  owner_user_id: a.owner_user_id,
  name: a.name,
  description: a.description,
  visibility: a.visibility,
  client_type: a.client_type,
  callback_url: a.callback_url,
  scopes: a.scopes,
  default_scopes: a.default_scopes,
  grant_types: a.grant_types,
  status: a.status,
  review_note: a.review_note,
  pending_change: a.pending_change
    ? {
        fields: a.pending_change.fields,
        values: a.pending_change.values,
        added_scopes: a.pending_change.added_scopes,
        added_grant_types: a.pending_change.added_grant_types,
        requested_at: iso(a.pending_change.requested_at),
        requested_by: a.pending_change.requested_by,
      }
    : null,
  created_at: iso(a.created_at),
  id_token_signed_response_alg: a.id_token_signed_response_alg,
  post_logout_redirect_uri: a.post_logout_redirect_uri,
  backchannel_logout_uri: a.backchannel_logout_uri,
  updated_at: iso(a.updated_at),
});

export const apiUser = (u: User) => ({
  id: u.id,
  tenant_id: u.tenant_id,
  email: u.email,
  display_name: u.display_name,
  role: u.role,
  is_test_user: u.is_test_user,
  disabled_at: isoOrNull(u.disabled_at),
  created_at: iso(u.created_at),
});

export const apiTenantSettings = (t: Tenant) => ({ tenant_id: t.id, ...t.settings });

export const apiAppRequest = (r: AppRequest) => ({
  id: r.id,
  tenant_id: r.tenant_id,
  requester: r.requester,
  name: r.name,
  description: r.description,
  visibility: r.visibility,
  client_type: r.client_type,
  callback_url: r.callback_url,
  scopes: r.scopes,
  justification: r.justification,
  status: r.status,
  app_id: r.app_id,
  decision_note: r.decision_note,
  decided_by: r.decided_by,
  decided_at: isoOrNull(r.decided_at),
  created_at: iso(r.created_at),
});

export const apiAuditEvent = (e: AuditEvent) => ({
  id: e.id,
  type: e.type,
  actor: e.actor,
  tenant_id: e.tenant_id,
  app_id: e.app_id,
  secret_id: e.secret_id,
  data: e.data,
  created_at: iso(e.created_at),
});
