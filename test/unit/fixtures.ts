import type { App } from '../../src/domain/apps.js';
import type { Tenant } from '../../src/domain/tenants.js';
import type { User } from '../../src/domain/users.js';

/** Plain domain objects for unit tests of pure protocol rules (no database, no HTTP). */

export const TENANT: Tenant = {
  id: 'tenant-1',
  name: 'Acme',
  kind: 'organization',
  settings: {
    users_can_register_apps: true,
    secret_max_lifetime_days: 365,
    secret_allow_never_expire: false,
    leaked_secret_policy: 'revoke',
    expiry_notice_recipients: 'owner_and_admins',
  },
  created_at: 0,
};

export function app(overrides: Partial<App> = {}): App {
  const publicClient = overrides.client_type === 'public';
  return {
    id: 'app-1',
    client_id: 'client-1',
    tenant_id: TENANT.id,
    owner_user_id: null,
    name: 'Contacts Sync',
    description: '',
    visibility: 'private',
    client_type: 'confidential',
    callback_url: 'https://app.example/cb',
    scopes: ['contacts:read', 'contacts:write', 'profile:read'],
    default_scopes: ['contacts:read'],
    grant_types: publicClient
      ? ['authorization_code', 'refresh_token']
      : ['authorization_code', 'refresh_token', 'client_credentials'],
    status: 'approved',
    review_note: null,
    pending_change: null,
    created_at: 0,
    updated_at: 0,
    id_token_signed_response_alg: 'RS256',
    post_logout_redirect_uri: null,
    backchannel_logout_uri: null,
    ...overrides,
  };
}

export function user(overrides: Partial<User> = {}): User {
  return {
    id: 'user-1',
    tenant_id: TENANT.id,
    email: 'ada@acme.test',
    display_name: 'Ada',
    role: 'user',
    is_test_user: false,
    disabled_at: null,
    created_at: 0,
    ...overrides,
  };
}

import type { Api } from '../../src/domain/apis.js';
import { BUILT_IN_API_IDS } from '../../src/domain/app-permission-store.js';
import type { ApiLookup, TokenTarget } from '../../src/oauth/resource.js';

/** The built-in sample API at `identifier`, with its three scopes. */
export function sampleApi(identifier = 'https://api.example'): Api {
  return {
    id: BUILT_IN_API_IDS.sample,
    tenant_id: null,
    identifier,
    name: 'Clavis sample API',
    description: '',
    scopes: [
      { name: 'contacts:read', description: 'See your contacts', admin_consent_required: false },
      { name: 'contacts:write', description: 'Change your contacts', admin_consent_required: false },
      { name: 'profile:read', description: 'See your profile', admin_consent_required: false },
    ],
    access_token_ttl: 3600,
    allow_client_credentials: true,
    visibility: 'public',
    resource_server_app_ids: [],
    built_in: 'sample',
    created_at: 0,
    updated_at: 0,
  };
}

/** An in-memory {@link ApiLookup} over `apis`. */
export function apiLookup(...apis: Api[]): ApiLookup {
  return {
    find: async (identifier) => apis.find((a) => a.identifier === identifier) ?? null,
    findById: async (id) => apis.find((a) => a.id === id) ?? null,
  };
}

/** The target of a request for the sample API. */
export function sampleTarget(api: Api = sampleApi()): TokenTarget {
  return { api, apiIds: [api.id], catalogue: new Map(api.scopes.map((s) => [s.name, s])) };
}

/** An app's permissions as the token endpoint reads them: its scopes, granted, on the sample API. */
export function grantedPermissions(a: Pick<App, 'scopes'>) {
  return new Map([[BUILT_IN_API_IDS.sample, { scopes: a.scopes, granted: a.scopes }]]);
}
