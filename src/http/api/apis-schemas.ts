import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { Api, ApiInput, ApiPatch, ApiScope } from '../../domain/apis.js';
import type { AppPermission } from '../../domain/app-permissions.js';
import { iso, isoOrNull } from './schemas.js';

/**
 * TypeBox schemas of the APIs (resource servers) and app permissions endpoints, and the mapping between
 * their wire format and the domain's `Api` / `AppPermission`. The schemas check shapes and types only; the
 * rules (identifier form, scope names, TTL range, visibility) live in the domain, which names the failing
 * field in its problem.
 */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const DateTime = (description: string) => Type.String({ format: 'date-time', description });

export const ApiVisibilitySchema = Type.Union([Type.Literal('tenant'), Type.Literal('public')], {
  description:
    "`tenant`: only apps of the API's tenant may ask for its scopes; `public`: apps of every tenant may (set only by platform admins).",
});

export const ApiScopeSchema = Type.Object({
  name: Type.String({ description: 'An RFC 6749 §3.3 scope-token, unique within the API.' }),
  description: Type.String({ description: 'What the scope allows, in plain words (shown on consent).' }),
  admin_consent_required: Type.Boolean({
    description: 'Only a tenant admin may grant it to an app; users cannot consent to it alone.',
  }),
});

export const ApiSchema = Type.Object({
  id: Type.String({ description: 'Object ID: names the API in this management API only.' }),
  tenant_id: Nullable(Type.String({ description: 'The owning tenant; null for the two built-in APIs.' })),
  identifier: Type.String({
    description:
      'The audience (`aud`) of its tokens and the `resource` clients ask for (RFC 8707). Unique, immutable.',
  }),
  name: Type.String(),
  description: Type.String(),
  scopes: Type.Array(ApiScopeSchema),
  access_token_ttl: Type.Integer({ description: "Lifetime of this API's access tokens, in seconds." }),
  allow_client_credentials: Type.Boolean({
    description: 'Whether apps may get tokens for it with the client_credentials grant.',
  }),
  visibility: ApiVisibilitySchema,
  resource_server_app_ids: Type.Array(Type.String(), {
    description:
      'Object IDs of the apps that serve this API: they may introspect its tokens (RFC 7662 §2.1 callers).',
  }),
  built_in: Nullable(
    Type.Union([Type.Literal('management'), Type.Literal('sample')], {
      description: 'Which built-in API this is (they cannot be deleted); null for the APIs tenants create.',
    }),
  ),
  created_at: DateTime('When the API was registered.'),
  updated_at: DateTime('When the API last changed.'),
});

/** A scope as a request gives it: only the name is required. */
const ApiScopeInput = Type.Object(
  {
    name: Type.String({ maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 1000, description: 'Default: empty.' })),
    admin_consent_required: Type.Optional(Type.Boolean({ description: 'Default: false.' })),
  },
  { additionalProperties: false },
);

const ApiScopesInput = Type.Array(ApiScopeInput, {
  maxItems: 500,
  description: "The API's scopes. On update, the whole list: scopes left out are removed.",
});

const ApiFields = {
  name: Type.String({ maxLength: 1000 }),
  description: Type.String({ maxLength: 5000 }),
  scopes: ApiScopesInput,
  access_token_ttl: Type.Integer({ description: 'Seconds, 60-86400. Default: CLAVIS_ACCESS_TOKEN_TTL.' }),
  allow_client_credentials: Type.Boolean({ description: 'Default: true.' }),
  visibility: ApiVisibilitySchema,
  resource_server_app_ids: Type.Array(Type.String({ maxLength: 200 }), { maxItems: 100 }),
};

export const CreateApiBody = Type.Object(
  {
    identifier: Type.String({
      maxLength: 2000,
      description: 'An absolute https URI (http only on loopback), no fragment. Immutable once created.',
    }),
    name: ApiFields.name,
    description: Type.Optional(ApiFields.description),
    scopes: Type.Optional(ApiFields.scopes),
    access_token_ttl: Type.Optional(ApiFields.access_token_ttl),
    allow_client_credentials: Type.Optional(ApiFields.allow_client_credentials),
    visibility: Type.Optional(ApiFields.visibility),
    resource_server_app_ids: Type.Optional(ApiFields.resource_server_app_ids),
  },
  { additionalProperties: false },
);

export const UpdateApiBody = Type.Object(
  {
    identifier: Type.Optional(
      Type.String({
        maxLength: 2000,
        description: 'Accepted only unchanged (so a fetched object can be sent back): it never changes.',
      }),
    ),
    name: Type.Optional(ApiFields.name),
    description: Type.Optional(ApiFields.description),
    scopes: Type.Optional(ApiFields.scopes),
    access_token_ttl: Type.Optional(ApiFields.access_token_ttl),
    allow_client_credentials: Type.Optional(ApiFields.allow_client_credentials),
    visibility: Type.Optional(ApiFields.visibility),
    resource_server_app_ids: Type.Optional(ApiFields.resource_server_app_ids),
  },
  { additionalProperties: false, description: 'Only the fields given change.' },
);

export const ForceQuery = Type.Object(
  {
    force: Type.Optional(
      Type.Boolean({
        description:
          'Also remove what apps hold: without it, removing an API or a scope that an app has a permission for is refused (409).',
      }),
    ),
  },
  { additionalProperties: false },
);

export const AppPermissionSchema = Type.Object({
  api_id: Type.String({ description: "The API's object ID." }),
  identifier: Type.String({ description: "The API's identifier: the `resource` to ask tokens for." }),
  api_name: Type.String(),
  scopes: Type.Array(Type.String(), { description: 'The scopes of that API the app holds or asks for.' }),
  granted_scopes: Type.Array(Type.String(), {
    description: 'Those of `scopes` a tenant admin has granted (all of them when `granted`).',
  }),
  status: Type.Union([Type.Literal('granted'), Type.Literal('pending')], {
    description:
      "`granted`: usable, client_credentials included; `pending`: waiting for a tenant admin's grant (users may still consent to its scopes that need no admin consent).",
  }),
  granted_at: Nullable(Type.String({ format: 'date-time', description: 'When an admin granted it.' })),
});

export const PermissionBody = Type.Object(
  {
    scopes: Type.Array(Type.String({ maxLength: 200 }), {
      maxItems: 500,
      description: "The API's scopes the app should hold (the whole set: it replaces the previous one).",
    }),
  },
  { additionalProperties: false },
);

export const PermissionParams = Type.Object({
  id: Type.String({ maxLength: 200, description: "The app's object ID." }),
  api_id: Type.String({ maxLength: 200, description: "The API's object ID." }),
});

// ---- Mapping between the wire format and the domain ----

type ScopeInput = Static<typeof ApiScopeInput>;

const domainScopes = (scopes: ScopeInput[]): ApiScope[] =>
  scopes.map((s) => ({
    name: s.name,
    description: s.description ?? '',
    admin_consent_required: s.admin_consent_required ?? false,
  }));

/** A create body as the domain's input. */
export function apiInput(body: Static<typeof CreateApiBody>): ApiInput {
  const { scopes, ...rest } = body;
  return scopes === undefined ? rest : { ...rest, scopes: domainScopes(scopes) };
}

/**
 * An update body as the domain's patch. `identifier` is passed on when given: the domain accepts it unchanged
 * (a fetched object sent back) and refuses a new one (`api_identifier_immutable`).
 */
export function apiPatch(body: Static<typeof UpdateApiBody>): ApiPatch {
  const { scopes, ...rest } = body;
  return (scopes === undefined ? rest : { ...rest, scopes: domainScopes(scopes) }) as ApiPatch;
}

export const apiApi = (a: Api): Static<typeof ApiSchema> => ({
  id: a.id,
  tenant_id: a.tenant_id,
  identifier: a.identifier,
  name: a.name,
  description: a.description,
  scopes: a.scopes.map((s) => ({
    name: s.name,
    description: s.description,
    admin_consent_required: s.admin_consent_required,
  })),
  access_token_ttl: a.access_token_ttl,
  allow_client_credentials: a.allow_client_credentials,
  visibility: a.visibility,
  resource_server_app_ids: a.resource_server_app_ids,
  built_in: a.built_in,
  created_at: iso(a.created_at),
  updated_at: iso(a.updated_at),
});

export const apiPermission = (p: AppPermission): Static<typeof AppPermissionSchema> => ({
  api_id: p.api_id,
  identifier: p.identifier,
  api_name: p.api_name,
  scopes: p.scopes,
  granted_scopes: p.granted_scopes,
  status: p.status,
  granted_at: isoOrNull(p.granted_at),
});
