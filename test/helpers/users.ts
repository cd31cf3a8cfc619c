import { randomBytes } from 'node:crypto';
import type { TenantKind } from '../../src/db/schema.js';
import { insertTenant } from '../../src/domain/tenants.js';
import { insertUser, type User, type UserRole } from '../../src/domain/users.js';
import { defaultTenantId, type TestServer } from './server.js';

export interface TestUser {
  user: User;
  email: string;
  password: string;
}

/** Creates a tenant (kind 'organization' unless given). */
export async function createTenant(
  ts: TestServer,
  name = `Org ${randomBytes(3).toString('hex')}`,
  kind: TenantKind = 'organization',
) {
  const ctx = ts.server.services.ctx;
  return insertTenant(ctx, ctx.db, { name, kind });
}

/** Creates a user (default tenant unless given) with a known password. */
export async function createUser(
  ts: TestServer,
  options: { tenantId?: string; role?: UserRole; password?: string } = {},
): Promise<TestUser> {
  const ctx = ts.server.services.ctx;
  const email = `u-${randomBytes(6).toString('hex')}@users.test`;
  const password = options.password ?? `pw-${randomBytes(8).toString('hex')}`;
  const user = await insertUser(ctx, ctx.db, {
    tenantId: options.tenantId ?? (await defaultTenantId(ts)),
    email,
    password,
    role: options.role ?? 'user',
  });
  return { user, email, password };
}
