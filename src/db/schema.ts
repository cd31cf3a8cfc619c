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

export interface TenantTable {
  id: string;
  name: string;
  kind: TenantKind;
  allow_app_registration: number;
  secret_max_lifetime_days: number;
  secret_allow_never_expire: number;
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
  created_at: number;
  /** 1 once the address is known to be the user's (OIDC `email_verified`). */
  email_verified: number;
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

export interface ChangeVersionTable {
  id: number;
  version: number;
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
  app_requests: AppRequestTable;
}

export type { Generated };
