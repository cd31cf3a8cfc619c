import { hashPassword } from '../crypto/password.js';
import { uuid } from '../crypto/random.js';
import type { Db } from '../db/database.js';
import type { UserTable } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { recordAudit } from './audit.js';
import type { Actor, DomainContext } from './context.js';
import { conflict, invalid, notFound } from './errors.js';

export type UserRole = UserTable['role'];

/** A user as shown by the API: never the password hash. */
export interface User {
  id: string;
  tenant_id: string;
  email: string;
  display_name: string;
  role: UserRole;
  is_test_user: boolean;
  disabled_at: number | null;
  created_at: number;
}

export function toUser(row: UserTable): User {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    email: row.email,
    display_name: row.display_name,
    role: row.role,
    is_test_user: row.is_test_user === 1,
    disabled_at: row.disabled_at,
    created_at: row.created_at,
  };
}

/**
 * An address as people have them (RFC 5322 §3.4.1's dot-atom, with letters and digits of any script as
 * RFC 6531 allows): a local part of letters, digits and `!#$%&'*+/=?^_\`{|}~.-` (no leading, trailing or
 * double dot; no quoted local parts), an `@`, and a host name of letter-digit-hyphen labels. So no white
 * space, control character, `<`, `>`, `"`, comma or second `@`.
 */
const LABEL = '[\\p{L}\\p{N}](?:[\\p{L}\\p{N}-]{0,61}[\\p{L}\\p{N}])?';
const EMAIL = new RegExp(
  `^(?!\\.)(?!.*\\.\\.)(?!.*\\.@)[\\p{L}\\p{N}!#$%&'*+/=?^_\`{|}~.-]{1,64}@(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`,
  'u',
);

/** What is wrong with an email address, or null: forms call it to report every field's error at once. */
export function emailProblem(email: string): string | null {
  return EMAIL.test(normalizeEmail(email)) ? null : 'Enter a valid email address.';
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Validates a password: 10 to 200 characters. */
export function passwordProblem(password: string): string | null {
  if (password.length < 10) return 'Use at least 10 characters for the password.';
  if (password.length > 200) return 'The password is too long (200 characters at most).';
  return null;
}

export interface NewUser {
  tenantId: string;
  email: string;
  displayName?: string;
  password: string;
  /** An scrypt hash to store instead of hashing `password` (a sign-up confirmed by mail). */
  passwordHash?: string;
  role: UserRole;
  isTestUser?: boolean;
}

const ROLES: readonly UserRole[] = ['admin', 'developer', 'user'];

/** @throws DomainError `user_role_invalid` unless `role` is a role. */
export function checkRole(role: string): UserRole {
  if (!(ROLES as readonly string[]).includes(role))
    throw invalid('role', 'Choose admin, developer or user.', 'user_role_invalid');
  return role as UserRole;
}

/** Inserts a user with a scrypt password hash (inside the caller's transaction when `db` is one). */
export async function insertUser(ctx: DomainContext, db: Db, input: NewUser): Promise<User> {
  const email = normalizeEmail(input.email);
  const problem = emailProblem(email);
  if (problem) throw invalid('email', problem, 'user_email_invalid');
  const pw = input.passwordHash ? null : passwordProblem(input.password);
  if (pw) throw invalid('password', pw, 'user_password_invalid');
  checkRole(input.role);
  const existing = await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
  if (existing) throw conflict('A user with that email address already exists.', 'user_email_taken');
  const row: UserTable = {
    id: uuid(),
    tenant_id: input.tenantId,
    email,
    display_name: (input.displayName ?? '').trim() || email.split('@')[0]!,
    password_hash: input.passwordHash ?? (await hashPassword(input.password)),
    role: input.role,
    is_test_user: input.isTestUser ? 1 : 0,
    failed_logins: 0,
    locked_until: null,
    disabled_at: null,
    email_verified_at: null,
    created_at: ctx.now(),
    updated_at: ctx.now(),
  };
  await db.insertInto('users').values(row).execute();
  return toUser(row);
}

/** Finds an active or disabled user by id, or undefined. */
export async function findUserById(ctx: DomainContext, id: string): Promise<User | undefined> {
  const row = await ctx.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toUser(row);
}

/** Finds an active or disabled user by email (normalised). */
export async function findUserByEmail(ctx: DomainContext, email: string): Promise<UserTable | undefined> {
  return ctx.db.selectFrom('users').selectAll().where('email', '=', normalizeEmail(email)).executeTakeFirst();
}

function mayManageUser(actor: Actor, user: Pick<User, 'tenant_id'>): boolean {
  return !!actor.platformAdmin || (actor.tenantId === user.tenant_id && actor.role === 'admin');
}

/** Removes a user: their sessions, consents, grants, codes and refresh tokens go with them. */
export async function deleteUser(ctx: DomainContext, actor: Actor, userId: string): Promise<void> {
  const row = await ctx.db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
  if (!row || !mayManageUser(actor, row)) throw notFound('User');
  await inTransaction(ctx.db, async (trx) => {
    await trx.deleteFrom('users').where('id', '=', userId).execute();
    await recordAudit(ctx, trx, {
      type: 'user.updated',
      actor: actor.id,
      tenantId: row.tenant_id,
      data: { user_id: userId, deleted: true },
    });
  });
}
