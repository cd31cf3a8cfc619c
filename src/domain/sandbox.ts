import { randomBytes } from 'node:crypto';
import { inTransaction } from '../db/transaction.js';
import { recordAudit } from './audit.js';
import type { DomainContext } from './context.js';
import { invalid } from './errors.js';
import { insertTenant, type Tenant } from './tenants.js';
import { insertUser, type User } from './users.js';

export interface Sandbox {
  tenant: Tenant;
  /** The developer, admin of the sandbox tenant. */
  user: User;
  /** A plain user of the sandbox tenant, to try the developer's own apps end to end. */
  testUser: User;
  /** The test user's generated password: returned here once, never stored in clear. */
  testUserPassword: string;
}

/**
 * Creates a developer's sandbox: a tenant of kind `sandbox` where the developer is admin, plus a test user
 * (`is_test_user`) with a generated password, so they can run their app's authorization flow themselves.
 */
export async function createSandbox(
  ctx: DomainContext,
  input: { email: string; password: string; name: string; passwordHash?: string },
): Promise<Sandbox> {
  const name = (input.name ?? '').trim();
  if (!name) throw invalid('name', 'Enter your name.', 'sandbox_name_invalid');
  if (name.length > 80)
    throw invalid('name', 'The name is too long (80 characters at most).', 'sandbox_name_invalid');
  const testUserPassword = randomBytes(15).toString('base64url');
  return inTransaction(ctx.db, async (trx) => {
    const tx = { ...ctx, db: trx };
    const tenant = await insertTenant(tx, trx, { name: `${name}'s sandbox`, kind: 'sandbox' });
    const user = await insertUser(tx, trx, {
      tenantId: tenant.id,
      email: input.email,
      password: input.password,
      passwordHash: input.passwordHash,
      displayName: name,
      role: 'admin',
    });
    const testUser = await insertUser(tx, trx, {
      tenantId: tenant.id,
      email: `test-user-${randomBytes(5).toString('hex')}@sandbox.clavis.invalid`,
      password: testUserPassword,
      displayName: `Test user (${name})`,
      role: 'user',
      isTestUser: true,
    });
    for (const u of [user, testUser])
      await recordAudit(ctx, trx, {
        type: 'user.created',
        actor: u === user ? `user:${user.id}` : 'system',
        tenantId: tenant.id,
        data: { user_id: u.id, role: u.role, sandbox: true },
      });
    return { tenant, user, testUser, testUserPassword };
  });
}
