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
  },
  created_at: 0,
};

export function app(overrides: Partial<App> = {}): App {
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
