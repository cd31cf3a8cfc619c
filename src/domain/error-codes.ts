/**
 * The catalogue of domain error codes: one stable code for each distinct failure, with the kind that decides
 * its HTTP status and a sentence for the documentation. The management API carries the code in the problem
 * `type` (`https://clavis.dev/problems/<code>`) and in a `code` member; the OpenAPI document and the README's
 * "Error codes" table are written from this table. Codes are never renamed or reused: clients match on them.
 */

/**
 * The kinds of domain failure. The kind decides the HTTP status; the code says which failure it was.
 * `malformed` is input no person typed (a mangled cursor), or a request the server refuses outright as
 * a bad request (a webhook URL it will not call: 400, naming the field), `validation` a field a person can
 * correct.
 */
export type DomainErrorKind = 'malformed' | 'validation' | 'not_found' | 'conflict' | 'forbidden' | 'limit';

interface ErrorCodeEntry {
  kind: DomainErrorKind;
  /** When the code is answered, for the catalogue's readers. */
  description: string;
}

export const ERROR_CODES = {
  // Generic codes, for failures that have no more specific code yet (and the types answered before codes).
  validation: { kind: 'validation', description: 'A field is invalid (see `errors`).' },
  not_found: { kind: 'not_found', description: 'The object does not exist.' },
  forbidden: { kind: 'forbidden', description: 'The actor may not do this.' },
  conflict: { kind: 'conflict', description: 'The request conflicts with the current state.' },

  cursor_invalid: {
    kind: 'malformed',
    description: 'The pagination cursor is not a `next_cursor` as given.',
  },

  tenant_not_found: {
    kind: 'not_found',
    description: 'No such tenant, or one the actor does not belong to.',
  },
  tenant_required: { kind: 'validation', description: 'The request must name a tenant.' },
  tenant_last_admin: {
    kind: 'conflict',
    description: 'The change would leave the tenant without an active admin.',
  },

  app_not_found: {
    kind: 'not_found',
    description: "No such app, or one the actor may not manage (another tenant's apps included).",
  },
  app_name_invalid: {
    kind: 'validation',
    description:
      'The app name is missing, longer than 100 characters, or holds control, invisible or text-direction characters.',
  },
  app_description_invalid: {
    kind: 'validation',
    description:
      'The app description is longer than 1000 characters or holds control, invisible or text-direction characters.',
  },
  app_visibility_invalid: { kind: 'validation', description: 'The visibility is not `private` or `public`.' },
  app_client_type_invalid: {
    kind: 'validation',
    description: 'The client type is not `confidential` or `public`.',
  },
  app_callback_invalid: {
    kind: 'validation',
    description: 'The callback URL is missing or not one the server accepts as a redirect URI.',
  },
  app_oidc_field_invalid: {
    kind: 'validation',
    description:
      'An OpenID Connect setting is invalid: id_token_signed_response_alg is not RS256, ES256 or EdDSA, or a post-logout redirect or back-channel logout URI is not one the server accepts.',
  },
  app_callback_not_reviewable: {
    kind: 'validation',
    description: 'A public app goes to review only with a real https callback URL.',
  },
  app_scopes_missing: {
    kind: 'validation',
    description:
      'A public app goes to review (and is approved) only with at least one scope to ask users for.',
  },
  app_scope_invalid: {
    kind: 'validation',
    description: 'A scope in `scopes` or `default_scopes` is not a scope name.',
  },
  app_grant_types_invalid: {
    kind: 'validation',
    description:
      '`grant_types` names an unknown grant type, is empty, or gives client_credentials to a public client.',
  },
  app_default_scope_invalid: {
    kind: 'validation',
    description: "A default scope is not among the app's scopes.",
  },
  app_register_forbidden: {
    kind: 'forbidden',
    description: 'Only developers and admins register apps (and, where the tenant says so, only admins).',
  },
  client_id_taken: { kind: 'conflict', description: 'The chosen client_id belongs to another app.' },
  app_not_public: { kind: 'validation', description: 'Only public apps go through review.' },
  app_not_submittable: { kind: 'conflict', description: 'Only draft or rejected apps can be submitted.' },
  app_not_in_review: { kind: 'conflict', description: 'Only apps in review can be approved or rejected.' },
  app_no_pending_change: {
    kind: 'conflict',
    description: 'The app has no change awaiting review to withdraw.',
  },
  app_not_disabled: { kind: 'conflict', description: 'The app is not disabled, so it cannot be enabled.' },
  app_disabled_by_admin: {
    kind: 'forbidden',
    description: 'An administrator disabled the app; only an administrator enables it again.',
  },
  review_forbidden: { kind: 'forbidden', description: 'Only platform administrators review public apps.' },
  review_reason_invalid: {
    kind: 'validation',
    description: 'A rejection or decline needs a reason of at most 1000 characters.',
  },

  app_request_not_found: {
    kind: 'not_found',
    description: 'No such app request, or one the actor may not see.',
  },
  app_request_justification_invalid: {
    kind: 'validation',
    description: 'The justification is longer than 2000 characters.',
  },
  app_request_decision_forbidden: {
    kind: 'forbidden',
    description: 'Only tenant admins fulfil or decline app requests.',
  },
  app_request_already_decided: {
    kind: 'conflict',
    description: 'The app request was already fulfilled or declined.',
  },

  api_not_found: {
    kind: 'not_found',
    description: "No such API, or one the actor may not see (another tenant's non-public APIs included).",
  },
  api_identifier_invalid: {
    kind: 'malformed',
    description:
      'The API identifier is not an absolute https URI (http only on loopback) without fragment, query or user info.',
  },
  api_identifier_taken: {
    kind: 'conflict',
    description: 'Another API (or a built-in one) already has that identifier; identifiers are unique.',
  },
  api_identifier_immutable: { kind: 'malformed', description: 'An API identifier never changes.' },
  api_name_invalid: {
    kind: 'malformed',
    description:
      'The API name is missing, longer than 100 characters, or holds control, invisible or text-direction characters.',
  },
  api_description_invalid: {
    kind: 'malformed',
    description:
      'The API description is longer than 1000 characters or holds control, invisible or text-direction characters.',
  },
  api_scope_invalid: {
    kind: 'malformed',
    description:
      'A scope name is malformed (RFC 6749 §3.3), too long or listed twice, a description is invalid, or over 200.',
  },
  api_ttl_invalid: {
    kind: 'malformed',
    description: 'The access token lifetime is not a whole number of seconds from 60 to 86400.',
  },
  api_visibility_invalid: { kind: 'malformed', description: 'The visibility is not `tenant` or `public`.' },
  api_resource_server_invalid: {
    kind: 'malformed',
    description: "An entry of `resource_server_app_ids` is not an app of the API's tenant.",
  },
  api_public_forbidden: {
    kind: 'forbidden',
    description: 'Only platform administrators make an API public (or private again).',
  },
  api_manage_forbidden: {
    kind: 'forbidden',
    description: "Only admins of the API's tenant (and platform admins) register and change APIs.",
  },
  api_built_in: {
    kind: 'conflict',
    description: 'The built-in APIs are never deleted and change only their resource servers.',
  },
  api_in_use: {
    kind: 'conflict',
    description: 'Apps hold permissions for the API; deleting it needs `force`, which removes them.',
  },
  api_scope_in_use: {
    kind: 'conflict',
    description: 'Apps hold a scope the change removes; it needs `force`, which takes the scope from them.',
  },
  app_permission_not_found: { kind: 'not_found', description: 'The app holds no permission for that API.' },
  app_permission_api_invalid: {
    kind: 'malformed',
    description: "The API does not exist, or the app may not use it (another tenant's, not public).",
  },
  app_permission_scope_invalid: {
    kind: 'malformed',
    description: 'A requested scope is not one of the API’s scopes, or no scope was named.',
  },
  app_permission_grant_forbidden: {
    kind: 'forbidden',
    description:
      "Only admins of the app's tenant grant permissions; only platform administrators grant the management API.",
  },

  secret_not_found: { kind: 'not_found', description: 'No such client secret for this app.' },
  secret_limit_reached: {
    kind: 'limit',
    description: 'The app already has the most active client secrets it may hold (5).',
  },
  secret_public_client: {
    kind: 'validation',
    description: 'Public clients have no client secrets; they use PKCE.',
  },
  secret_already_revoked: { kind: 'conflict', description: 'The client secret is already revoked.' },
  secret_description_invalid: {
    kind: 'validation',
    description: 'The secret description is longer than 200 characters.',
  },
  secret_expiry_invalid: { kind: 'validation', description: 'The expiry date is not a date in the future.' },
  secret_expiry_ambiguous: {
    kind: 'validation',
    description: 'More than one of a lifetime in months, an expiry date and no expiry was given.',
  },
  secret_lifetime_invalid: {
    kind: 'validation',
    description: 'The lifetime is not a whole number of months from 1 to 120.',
  },
  secret_expiry_required: {
    kind: 'validation',
    description: "The tenant's policy requires client secrets to expire.",
  },
  secret_lifetime_exceeds_policy: {
    kind: 'validation',
    description: "The expiry is later than the tenant's policy allows.",
  },

  user_not_found: {
    kind: 'not_found',
    description: "No such user, or one the actor may not manage (another tenant's users included).",
  },
  user_email_invalid: { kind: 'validation', description: 'The email address is not one the server accepts.' },
  user_email_taken: { kind: 'conflict', description: 'A user with that email address already exists.' },
  user_password_invalid: {
    kind: 'validation',
    description: 'The password is shorter than 10 or longer than 200 characters.',
  },
  sandbox_name_invalid: {
    kind: 'validation',
    description: 'The name for a new sandbox is empty or longer than 80 characters.',
  },
  user_admin_forbidden: { kind: 'forbidden', description: 'Only tenant admins manage users.' },
  user_role_invalid: { kind: 'validation', description: 'The role is not `admin`, `developer` or `user`.' },
  user_display_name_invalid: {
    kind: 'validation',
    description: 'The display name is empty or longer than 100 characters.',
  },
  user_self_demotion: {
    kind: 'conflict',
    description: 'Admins cannot demote or disable themselves; another admin must.',
  },

  webhook_not_found: {
    kind: 'not_found',
    description: "No such webhook endpoint, or one of another tenant's.",
  },
  webhook_delivery_not_found: {
    kind: 'not_found',
    description: 'No such delivery for this webhook endpoint.',
  },
  webhook_admin_forbidden: { kind: 'forbidden', description: 'Only tenant admins manage webhooks.' },
  webhook_url_invalid: {
    kind: 'malformed',
    description:
      'The webhook URL is not an absolute https URL, carries credentials, is longer than 2000 characters, or points to a loopback, private, link-local or metadata address.',
  },
  webhook_events_invalid: {
    kind: 'malformed',
    description: 'The events list is empty, names an event that does not exist, or mixes `*` with names.',
  },
  webhook_description_invalid: {
    kind: 'malformed',
    description: 'The webhook description is longer than 500 characters or holds control characters.',
  },
  webhook_overlap_invalid: {
    kind: 'malformed',
    description: "A secret rotation's overlap is not a whole number of hours from 0 to 168.",
  },
  webhook_disabled: {
    kind: 'conflict',
    description: 'The webhook endpoint is disabled; enable it before redelivering.',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

/** A stable code naming one failure (a key of {@link ERROR_CODES}). */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The kind of failure a code belongs to. */
export function errorKind(code: ErrorCode): DomainErrorKind {
  return ERROR_CODES[code].kind;
}
