/**
 * Table types for Kysely. Timestamps are epoch milliseconds (`bigint` columns, parsed to numbers on
 * PostgreSQL), lists of scopes are space-separated strings, and flags are 0/1 integers, so one set of
 * queries serves SQLite and PostgreSQL alike.
 */
import type { Generated } from 'kysely';

/*
 * Columns that hold one of a few values are typed as those values: the domain takes its types from here
 * (for example `AppTable['status']`), so a row needs no cast and a new value is added in one place.
 */
export type TenantKind = 'default' | 'sandbox' | 'organization';
export type UserRole = 'admin' | 'developer' | 'user';
export type AppVisibility = 'private' | 'public';
export type ClientType = 'confidential' | 'public';
export type AppStatus = 'draft' | 'in_review' | 'approved' | 'rejected' | 'disabled';
export type IdTokenAlg = 'RS256' | 'ES256' | 'EdDSA';
export type AppRequestStatus = 'pending' | 'fulfilled' | 'declined';
export type LeakedSecretPolicy = 'revoke' | 'notify';
export type CredentialLeakSource = 'report' | 'github';

export interface TenantTable {
  id: string;
  name: string;
  kind: TenantKind;
  allow_app_registration: number;
  secret_max_lifetime_days: number;
  secret_allow_never_expire: number;
  /** What a report of a leaked live secret does: revoke it at once, or only notify. */
  leaked_secret_policy: LeakedSecretPolicy;
  /** Who gets secret expiry notices: `owner_and_admins`, `owner`, `admins` or `none`. */
  expiry_notice_recipients: ExpiryNoticeRecipients;
  created_at: number;
}

export interface UserTable {
  id: string;
  tenant_id: string;
  email: string;
  display_name: string;
  password_hash: string;
  role: UserRole;
  is_test_user: number;
  failed_logins: number;
  locked_until: number | null;
  disabled_at: number | null;
  /** When the user followed an address verification link; null when never verified. */
  email_verified_at: number | null;
  created_at: number;
  /** When the profile (name, email) last changed (OIDC `updated_at`); null on rows made before 0009. */
  updated_at: number | null;
}

export interface AppTable {
  id: string;
  client_id: string;
  tenant_id: string;
  owner_user_id: string | null;
  name: string;
  description: string;
  visibility: AppVisibility;
  client_type: ClientType;
  callback_url: string;
  scopes: string;
  default_scopes: string;
  status: AppStatus;
  review_note: string | null;
  /** JSON text of a change awaiting review on an approved public app (see domain/app-pending-change). */
  pending_change: string | null;
  /** The grant types the app may use, space-separated (see domain/app-fields `GRANT_TYPES`). */
  grant_types: string;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
  /** The ID token's JWS algorithm (OIDC Registration §2): RS256, ES256 or EdDSA. */
  id_token_signed_response_alg: IdTokenAlg;
  /** The one URL RP-initiated logout may return to (exact match), or null. */
  post_logout_redirect_uri: string | null;
  /** Where back-channel logout tokens are POSTed, or null. */
  backchannel_logout_uri: string | null;
}

export interface ClientSecretTable {
  id: string;
  app_id: string;
  hash: string;
  hint: string;
  description: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  /** The secret a refresh put in place of this one; null unless a refresh deactivated it. */
  replaced_by: string | null;
}

export interface ScopeTable {
  name: string;
  description: string;
  /** 1 for management scopes that only admins may grant to apps. */
  restricted: number;
  created_at: number;
}

export interface AuditEventTable {
  id: string;
  tenant_id: string | null;
  app_id: string | null;
  secret_id: string | null;
  type: string;
  actor: string;
  data: string;
  created_at: number;
}

export interface SigningKeyTable {
  kid: string;
  alg: string;
  public_jwk: string;
  private_key_enc: string;
  created_at: number;
  /** When a newer key took over signing; the key stays published until every token it signed has expired. */
  retired_at: number | null;
}

export interface RevokedTokenTable {
  jti: string;
  expires_at: number;
}

export interface IdempotencyKeyTable {
  key: string;
  scope: string;
  status_code: number;
  body: string;
  created_at: number;
}

export interface AppRequestTable {
  id: string;
  tenant_id: string;
  /** The actor id of whoever asked (`user:<id>` or `client:<client_id>`). */
  requester: string;
  requester_user_id: string | null;
  name: string;
  description: string;
  visibility: AppVisibility;
  client_type: ClientType;
  callback_url: string;
  scopes: string;
  justification: string;
  status: AppRequestStatus;
  app_id: string | null;
  decision_note: string | null;
  decided_by: string | null;
  decided_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface SessionTable {
  /** Keyed hash of the session cookie's value; the value itself is never stored. */
  id_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
}

export interface LoginThrottleTable {
  /** `pair:<address>|<email>`, `acct:<email>` or `ip:<address>` (see `auth/throttle.ts`). */
  key: string;
  failures: number;
  window_start: number;
  locked_until: number | null;
}

export interface ConsentTable {
  user_id: string;
  app_id: string;
  /** The scopes the user agreed to for this app (space-separated), remembered for the next request. */
  scope: string;
  created_at: number;
  updated_at: number;
}

export interface GrantTable {
  id: string;
  user_id: string;
  app_id: string;
  client_id: string;
  /** The user's tenant (the `tid` of tokens). */
  tenant_id: string;
  scope: string;
  /** The API the grant is for (null: the built-in sample API). */
  api_id: string | null;
  auth_time: number;
  /** The OIDC session id (`sid`) of the browser session the grant came from; null before 0009. */
  sid: string | null;
  /** The `acr` ID tokens of this grant carry, when the request asked for one. */
  acr: string | null;
  created_at: number;
  /** When its authorization code was exchanged (null: code not redeemed yet). */
  redeemed_at: number | null;
  revoked_at: number | null;
}

export interface AuthorizationCodeTable {
  code_hash: string;
  grant_id: string;
  client_id: string;
  redirect_uri: string;
  /** The S256 PKCE challenge, or null when none was sent. */
  code_challenge: string | null;
  /** The OIDC `nonce` of the request, echoed in this code's ID token. */
  nonce: string | null;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

export interface RefreshTokenTable {
  token_hash: string;
  grant_id: string;
  client_id: string;
  scope: string;
  created_at: number;
  expires_at: number;
  /** Set when the token was rotated; presenting it again is reuse. */
  used_at: number | null;
  /** The hash of the token this one replaced by rotation (null for a grant's first token). */
  replaces: string | null;
}

export type ApiVisibility = 'tenant' | 'public';
export type BuiltInApi = 'management' | 'sample';

/** An API (resource server): the audience of the tokens issued for it, and its scopes. */
export interface ApiTable {
  id: string;
  /** Null for the built-in APIs. */
  tenant_id: string | null;
  /** The audience (`aud`); for built-in APIs a placeholder URN the domain resolves from configuration. */
  identifier: string;
  name: string;
  description: string;
  /** JSON array of `{name, description, admin_consent_required}`. */
  scopes: string;
  /** Seconds; null means the server's default (`CLAVIS_ACCESS_TOKEN_TTL`). */
  access_token_ttl: number | null;
  allow_client_credentials: number;
  visibility: ApiVisibility;
  /** Space-separated app object IDs that may introspect this API's tokens. */
  resource_server_app_ids: string;
  built_in: BuiltInApi | null;
  created_at: number;
  updated_at: number;
}

/** Which scopes an app holds for one API (see domain/app-permissions). */
export interface AppPermissionTable {
  app_id: string;
  api_id: string;
  /** Every scope the app holds or asked for (space-separated). */
  scopes: string;
  /** The subset a tenant admin granted (space-separated). */
  granted_scopes: string;
  requested_by: string;
  granted_by: string | null;
  granted_at: number | null;
  created_at: number;
  updated_at: number;
}

export type OutboxStatus = 'pending' | 'done' | 'failed';

/** A message to deliver later (mail, events), written in the transaction of the change that causes it. */
export interface OutboxTable {
  id: string;
  kind: string;
  /** JSON text. */
  payload: string;
  /** At most one message per key (null: no deduplication). */
  dedupe_key: string | null;
  status: OutboxStatus;
  attempts: number;
  /** Not delivered before this time (the next retry). */
  available_at: number;
  /** The claim of the worker delivering it now, and until when that claim holds (a lease). */
  claimed_by: string | null;
  claimed_until: number | null;
  last_error: string | null;
  last_attempt_at: number | null;
  created_at: number;
  done_at: number | null;
}

export type EmailTokenPurpose = 'verify_email' | 'reset_password';

/** A single-use link sent by mail; only the keyed hash of its token is stored. */
export interface EmailTokenTable {
  token_hash: string;
  purpose: EmailTokenPurpose;
  /** The user (password reset); null for a sign-up, whose account is created when the link is followed. */
  user_id: string | null;
  /** The address the link was sent to (verification confirms this address). */
  email: string;
  /** A pending sign-up's `{ name, password_hash }` as JSON; null otherwise. */
  data: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export type ExpiryNoticeRecipients = 'owner_and_admins' | 'owner' | 'admins' | 'none';

/** One row per secret and threshold (30, 7, 1 days before; 0 when expired): each notice is sent once. */
export interface SecretExpiryNoticeTable {
  secret_id: string;
  threshold: number;
  sent_at: number;
  /** How many people were mailed. */
  recipients: number;
}

/** A device authorization request (RFC 8628); see domain/device-codes. */
export interface DeviceCodeTable {
  /** Keyed hash of the device_code; the code itself is never stored. */
  device_code_hash: string;
  /** Keyed hash of the normalized user_code (8 letters, no dash). */
  user_code_hash: string;
  app_id: string;
  client_id: string;
  scope: string;
  /** The API the authorization is for, as `grants.api_id` (null: the built-in sample API). */
  api_id: string | null;
  status: DeviceCodeStatus;
  /** The polling interval in seconds; grows by 5 with each `slow_down` (RFC 8628 §3.5). */
  interval_s: number;
  last_polled_at: number | null;
  /** Who approved or denied it. */
  user_id: string | null;
  /** When the approving user signed in (epoch ms). */
  auth_time: number | null;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
}

export type DeviceCodeStatus = 'pending' | 'approved' | 'denied' | 'redeemed';

export interface ChangeVersionTable {
  id: number;
  version: number;
}

export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface WebhookEndpointTable {
  id: string;
  tenant_id: string;
  url: string;
  /** Space-separated event types, or `*` for every event. */
  events: string;
  description: string;
  /** The signing secret (`whsec_…`), sealed with the server key (crypto/sealed-box). */
  secret_sealed: string;
  /** The secret a rotation replaced, still signing beside the new one until `previous_secret_expires_at`. */
  previous_secret_sealed: string | null;
  previous_secret_expires_at: number | null;
  /** The actor id that created the endpoint. */
  created_by: string;
  /** The user told when the endpoint is disabled for failing (its creator, when a user). */
  owner_user_id: string | null;
  /** Since when every delivery has failed (null after a success). */
  failing_since: number | null;
  disabled_at: number | null;
  disabled_reason: string | null;
  created_at: number;
  updated_at: number;
}

export interface WebhookDeliveryTable {
  /** Also the `webhook-id` header: the same on every attempt, so receivers can drop duplicates. */
  id: string;
  endpoint_id: string;
  tenant_id: string;
  event_id: string;
  event_type: string;
  /** The exact JSON body that is signed and sent. */
  body: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  last_attempt_at: number | null;
  last_status_code: number | null;
  last_duration_ms: number | null;
  last_error: string | null;
  /** Failed attempts are retried until then (24 hours after the delivery or its redelivery). */
  retry_until: number;
  created_at: number;
  completed_at: number | null;
}

export interface WebhookAttemptTable {
  id: string;
  delivery_id: string;
  attempted_at: number;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  ok: number;
}

/** A reported leak of a client secret (the first report of each secret); never the value. */
export interface CredentialLeakTable {
  id: string;
  tenant_id: string;
  app_id: string;
  secret_id: string;
  source: CredentialLeakSource;
  /** Where the secret was found, as the reporter gave it. */
  url: string;
  /** What the report did: `revoked` the secret, or `notified` only (the tenant's policy). */
  action: 'revoked' | 'notified';
  created_at: number;
}

export interface Database {
  tenants: TenantTable;
  users: UserTable;
  apps: AppTable;
  client_secrets: ClientSecretTable;
  scopes: ScopeTable;
  audit_events: AuditEventTable;
  signing_keys: SigningKeyTable;
  revoked_tokens: RevokedTokenTable;
  idempotency_keys: IdempotencyKeyTable;
  change_version: ChangeVersionTable;
  sessions: SessionTable;
  login_throttle: LoginThrottleTable;
  consents: ConsentTable;
  grants: GrantTable;
  authorization_codes: AuthorizationCodeTable;
  refresh_tokens: RefreshTokenTable;
  device_codes: DeviceCodeTable;
  app_requests: AppRequestTable;
  apis: ApiTable;
  app_permissions: AppPermissionTable;
  credential_leaks: CredentialLeakTable;
  outbox: OutboxTable;
  email_tokens: EmailTokenTable;
  secret_expiry_notices: SecretExpiryNoticeTable;
  webhook_endpoints: WebhookEndpointTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_attempts: WebhookAttemptTable;
}

export type { Generated };
