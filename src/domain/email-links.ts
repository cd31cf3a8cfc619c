import { hashPassword } from '../crypto/password.js';
import { randomToken } from '../crypto/random.js';
import type { Db } from '../db/database.js';
import type { EmailTokenPurpose } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { recordAudit } from './audit.js';
import type { DomainContext } from './context.js';
import { conflict, DomainError, invalid } from './errors.js';
import { queueMail } from './mail.js';
import { accountExistsMail, passwordResetMail, verifyEmailMail } from './mail-templates.js';
import { endUserSessions } from './oidc.js';
import { createSandbox, type Sandbox } from './sandbox.js';
import { emailProblem, normalizeEmail, passwordProblem } from './users.js';

/**
 * Single-use links sent by mail: the address check of a sign-up and the password reset. Only the keyed
 * hash of a link's token is stored; a link works once, until it expires.
 */

/** A sign-up link lives a day; a password reset link 30 minutes. */
export const SIGNUP_LINK_MINUTES = 24 * 60;
export const RESET_LINK_MINUTES = 30;
/** At most one reset mail per account in this time, so the form cannot flood a mailbox. */
const RESET_COOLDOWN_MS = 60_000;

/** Where links point; the surface that serves them knows its paths. */
export interface LinkBuilder {
  verify(token: string): string;
  reset(token: string): string;
  login: string;
  forgot: string;
}

async function insertToken(
  ctx: DomainContext,
  db: Db,
  purpose: EmailTokenPurpose,
  values: { user_id: string | null; email: string; data: string | null; minutes: number },
): Promise<string> {
  const token = randomToken(32);
  const now = ctx.now();
  await db
    .insertInto('email_tokens')
    .values({
      token_hash: ctx.hasher.hash(token),
      purpose,
      user_id: values.user_id,
      email: values.email,
      data: values.data,
      created_at: now,
      expires_at: now + values.minutes * 60_000,
      used_at: null,
    })
    .execute();
  return token;
}

/** Uses a token once: marks it used and returns its row, or undefined when unknown, used or expired. */
async function consumeToken(ctx: DomainContext, db: Db, purpose: EmailTokenPurpose, token: string) {
  const now = ctx.now();
  return db
    .updateTable('email_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', ctx.hasher.hash(token))
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returningAll()
    .executeTakeFirst();
}

const badLink = (what: string) =>
  new DomainError(
    'validation',
    `This ${what} link is not valid: it was used already, has expired, or is incomplete.`,
    {
      token: 'invalid',
    },
  );

/**
 * Starts a sign-up confirmed by mail. A new address gets a link that creates the account; an address that
 * already has an account gets a mail saying so (with sign-in and reset links). The caller answers the same
 * either way, so the form does not tell which addresses have accounts. The password is hashed in both cases
 * (the same work, the same time).
 *
 * @throws DomainError naming the field for a bad name, address or password.
 */
export async function startSignup(
  ctx: DomainContext,
  input: { name: string; email: string; password: string },
  links: LinkBuilder,
): Promise<void> {
  const name = input.name.trim();
  if (!name || name.length > 80) throw invalid('name', 'Enter your name (80 characters at most).');
  const email = normalizeEmail(input.email);
  const problem = emailProblem(email);
  if (problem) throw invalid('email', problem, 'user_email_invalid');
  const pw = passwordProblem(input.password);
  if (pw) throw invalid('password', pw, 'user_password_invalid');
  const passwordHash = await hashPassword(input.password);
  await inTransaction(ctx.db, async (trx) => {
    const existing = await trx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
    if (existing) {
      await queueMail(ctx, trx, {
        to: email,
        content: accountExistsMail({ loginLink: links.login, resetLink: links.forgot }),
      });
      return;
    }
    const token = await insertToken(ctx, trx, 'verify_email', {
      user_id: null,
      email,
      data: JSON.stringify({ name, password_hash: passwordHash }),
      minutes: SIGNUP_LINK_MINUTES,
    });
    await queueMail(ctx, trx, {
      to: email,
      content: verifyEmailMail({ name, link: links.verify(token), minutes: SIGNUP_LINK_MINUTES }),
    });
  });
}

/**
 * Follows a sign-up link: creates the developer's sandbox with the address marked verified. The link works
 * once. @throws DomainError for a bad link, or `conflict` when the address got an account meanwhile.
 */
export async function completeSignup(ctx: DomainContext, token: string): Promise<Sandbox> {
  return inTransaction(ctx.db, async (trx) => {
    const row = await consumeToken(ctx, trx, 'verify_email', token);
    if (!row?.data) throw badLink('confirmation');
    const data = JSON.parse(row.data) as { name: string; password_hash: string };
    const taken = await trx
      .selectFrom('users')
      .select('id')
      .where('email', '=', row.email)
      .executeTakeFirst();
    if (taken)
      throw conflict(
        'An account with this email address exists already. Sign in instead.',
        'user_email_taken',
      );
    const sandbox = await createSandbox(
      { ...ctx, db: trx },
      { name: data.name, email: row.email, password: '', passwordHash: data.password_hash },
    );
    const now = ctx.now();
    await trx
      .updateTable('users')
      .set({ email_verified_at: now, updated_at: now })
      .where('id', '=', sandbox.user.id)
      .execute();
    await recordAudit(ctx, trx, {
      type: 'user.email_verified',
      actor: `user:${sandbox.user.id}`,
      tenantId: sandbox.tenant.id,
      data: { user_id: sandbox.user.id },
    });
    return sandbox;
  });
}

/**
 * Sends a password reset link to an address if it has an active account; does nothing otherwise (the
 * caller answers the same either way). At most one mail per account a minute.
 */
export async function requestPasswordReset(
  ctx: DomainContext,
  email: string,
  links: LinkBuilder,
): Promise<void> {
  const address = normalizeEmail(email);
  // Not emailProblem: an account made under an older, looser address rule must still be able to reset.
  if (address.length > 320 || !address.includes('@')) return;
  await inTransaction(ctx.db, async (trx) => {
    const user = await trx
      .selectFrom('users')
      .select(['id', 'display_name', 'disabled_at', 'is_test_user'])
      .where('email', '=', address)
      .executeTakeFirst();
    if (!user || user.disabled_at !== null || user.is_test_user === 1) return;
    const recent = await trx
      .selectFrom('email_tokens')
      .select('token_hash')
      .where('user_id', '=', user.id)
      .where('purpose', '=', 'reset_password')
      .where('created_at', '>', ctx.now() - RESET_COOLDOWN_MS)
      .executeTakeFirst();
    if (recent) return;
    const token = await insertToken(ctx, trx, 'reset_password', {
      user_id: user.id,
      email: address,
      data: null,
      minutes: RESET_LINK_MINUTES,
    });
    await queueMail(ctx, trx, {
      to: address,
      content: passwordResetMail({
        name: user.display_name,
        link: links.reset(token),
        minutes: RESET_LINK_MINUTES,
      }),
    });
  });
}

/**
 * Whether a mailed link (a password reset or a sign-up confirmation) is still usable, to show its form or
 * say it is not. Uses nothing up.
 */
export async function emailLinkUsable(
  ctx: DomainContext,
  purpose: 'reset_password' | 'verify_email',
  token: string,
): Promise<boolean> {
  if (token === '') return false;
  const row = await ctx.db
    .selectFrom('email_tokens')
    .select('token_hash')
    .where('token_hash', '=', ctx.hasher.hash(token))
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', ctx.now())
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Sets a new password through a reset link: the link is used up, the account's other reset links too, and
 * every session of the user is revoked (signed out everywhere). Returns the user's id.
 *
 * @throws DomainError naming `password` for a weak password, `token` for a bad link.
 */
export async function resetPassword(ctx: DomainContext, token: string, password: string): Promise<string> {
  const pw = passwordProblem(password);
  if (pw) throw invalid('password', pw, 'user_password_invalid');
  const passwordHash = await hashPassword(password);
  return inTransaction(ctx.db, async (trx) => {
    const row = await consumeToken(ctx, trx, 'reset_password', token);
    if (!row?.user_id) throw badLink('password reset');
    const now = ctx.now();
    const user = await trx
      .updateTable('users')
      .set({ password_hash: passwordHash, failed_logins: 0, locked_until: null })
      .where('id', '=', row.user_id)
      .where('disabled_at', 'is', null)
      .returning(['id', 'tenant_id'])
      .executeTakeFirst();
    if (!user) throw badLink('password reset');
    await trx
      .updateTable('email_tokens')
      .set({ used_at: now })
      .where('user_id', '=', user.id)
      .where('purpose', '=', 'reset_password')
      .where('used_at', 'is', null)
      .execute();
    // Signed out everywhere: whoever knew the old password loses their session with it, and every app
    // those sessions signed in to is told (Back-Channel Logout 1.0 §2.5).
    const logouts = await endUserSessions({ ...ctx, db: trx }, user.id);
    await recordAudit(ctx, trx, {
      type: 'user.password_reset',
      actor: `user:${user.id}`,
      tenantId: user.tenant_id,
      data: { user_id: user.id, sessions_revoked: true, backchannel_logouts: logouts },
    });
    return user.id;
  });
}
