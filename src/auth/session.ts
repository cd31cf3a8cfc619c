import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomToken } from '../crypto/random.js';
import { inTransaction } from '../db/transaction.js';
import { queueSessionLogout, sessionSid } from '../domain/oidc.js';
import { toUser, type User } from '../domain/users.js';
import type { Services } from '../services.js';
import type { AuthState } from './auth-state.js';

/** A signed-in browser session. */
export interface Session {
  /** The keyed hash of the cookie value (the row's key). */
  idHash: string;
  user: User;
  createdAt: number;
  expiresAt: number;
  /** The CSRF token for forms rendered in this session. */
  csrf: string;
  /**
   * The OpenID Connect session id (`sid`, Front-/Back-Channel Logout): `sessionSid` in the domain's oidc.ts,
   * which derives it from the row's key.
   */
  sid: string;
}

/** Sessions last at most this long; then the user signs in again. */
export const SESSION_TTL_MS = 12 * 3600_000;
/** Short-lived cookie that binds CSRF tokens of pages shown before sign-in (the login form). */
const PRE_TTL_S = 2 * 3600;

const cache = new WeakMap<FastifyRequest, Session | null>();

/** The server's sign-in state (cookie names, CSRF key, login throttle), built with its services. */
export function authFor(services: Services): AuthState {
  return services.auth;
}

function cookieOptions(state: AuthState, maxAgeS: number) {
  return { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: state.secure, maxAge: maxAgeS };
}

function readCookie(request: FastifyRequest, name: string): string | undefined {
  const v = request.cookies?.[name];
  return typeof v === 'string' && /^[A-Za-z0-9_-]{20,100}$/.test(v) ? v : undefined;
}

function csrfFor(state: AuthState, binding: string): string {
  return state.csrfHasher.hash(`csrf:${binding}`);
}

/**
 * The signed-in session of a request, or null. Expired sessions and disabled users count as signed out.
 * Memoised per request.
 */
export async function getSession(services: Services, request: FastifyRequest): Promise<Session | null> {
  if (cache.has(request)) return cache.get(request) ?? null;
  const state = authFor(services);
  const raw = readCookie(request, state.sessionCookie);
  let session: Session | null = null;
  if (raw) {
    const ctx = services.ctx;
    const idHash = ctx.hasher.hash(`session:${raw}`);
    const row = await ctx.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .selectAll('users')
      .select(['sessions.id_hash', 'sessions.created_at as s_created', 'sessions.expires_at as s_expires'])
      .where('sessions.id_hash', '=', idHash)
      .executeTakeFirst();
    if (row && row.s_expires > ctx.now() && row.disabled_at === null) {
      const { id_hash, s_created, s_expires, ...user } = row;
      session = {
        idHash: id_hash,
        user: toUser(user),
        createdAt: s_created,
        expiresAt: s_expires,
        csrf: csrfFor(state, raw),
        sid: sessionSid(services.ctx, id_hash),
      };
    }
  }
  cache.set(request, session);
  return session;
}

/**
 * For pages only signed-in users may see: returns the session, or sends a 303 to the login page (which comes
 * back here afterwards) and returns null.
 */
export async function requireUser(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<Session | null> {
  const session = await getSession(services, request);
  if (session) return session;
  const back = request.method === 'GET' ? request.url : '/';
  reply
    .code(303)
    .header('location', `/login?return_to=${encodeURIComponent(back)}`)
    .header('cache-control', 'no-store')
    .send();
  return null;
}

/** Starts a session for a user who just proved who they are: a new random id (no fixation), cookie set. */
/**
 * Starts a session for `userId` (row stored hashed, cookie set on `reply`).
 *
 * @returns the new session's CSRF token, for forms on the page this same response renders.
 */
export async function createSession(
  services: Services,
  reply: FastifyReply,
  userId: string,
): Promise<string> {
  const state = authFor(services);
  const raw = randomToken(32);
  const now = services.ctx.now();
  await services.ctx.db
    .insertInto('sessions')
    .values({
      id_hash: services.ctx.hasher.hash(`session:${raw}`),
      user_id: userId,
      created_at: now,
      expires_at: now + SESSION_TTL_MS,
    })
    .execute();
  reply.setCookie(state.sessionCookie, raw, cookieOptions(state, SESSION_TTL_MS / 1000));
  return csrfFor(state, raw);
}

/**
 * Ends the request's session (row deleted, cookie cleared) and, in the same transaction, queues a
 * back-channel logout for every app that signed the user in during it (delivered by the outbox worker).
 *
 * @returns the ended session's `sid` and user; `null` when there was none.
 */
export async function destroySession(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<{ sid: string; userId: string } | null> {
  const state = authFor(services);
  const raw = readCookie(request, state.sessionCookie);
  let ended: { sid: string; userId: string } | null = null;
  if (raw) {
    const idHash = services.ctx.hasher.hash(`session:${raw}`);
    const sid = sessionSid(services.ctx, idHash);
    // The session ends and its back-channel logouts are queued in one transaction: neither without the other.
    ended = await inTransaction(services.ctx.db, async (trx) => {
      const row = await trx
        .deleteFrom('sessions')
        .where('id_hash', '=', idHash)
        .returning('user_id')
        .executeTakeFirst();
      if (!row) return null;
      await queueSessionLogout({ ...services.ctx, db: trx }, sid);
      return { sid, userId: row.user_id };
    });
  }
  reply.clearCookie(state.sessionCookie, { path: '/' });
  cache.set(request, null);
  return ended;
}

/**
 * The CSRF token to embed in a form. Signed in: bound to the session. Signed out (the login form), or with
 * `{ preSession: true }` (the login form shown to a signed-in user who must sign in again): bound to a
 * pre-session cookie, which is set here when missing.
 */
export async function csrfToken(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  options: { preSession?: boolean } = {},
): Promise<string> {
  const session = options.preSession ? null : await getSession(services, request);
  if (session) return session.csrf;
  return csrfFor(authFor(services), `pre:${preCookie(services, request, reply)}`);
}

/** The pre-session cookie's value, set on `reply` when the request has none. */
function preCookie(services: Services, request: FastifyRequest, reply: FastifyReply): string {
  const state = authFor(services);
  let pre = readCookie(request, state.preCookie);
  if (!pre) {
    pre = randomToken(24);
    reply.setCookie(state.preCookie, pre, cookieOptions(state, PRE_TTL_S));
    // Later reads in this request see the new cookie.
    (request.cookies as Record<string, string>)[state.preCookie] = pre;
  }
  return pre;
}

/**
 * A key naming this browser, signed in or not: a keyed hash of the pre-session cookie (which is set on
 * `reply` when missing). Without `reply` (a GET that only reads), undefined when the browser has no cookie.
 * Binds what one browser may read back, such as a failed form's flash (src/web/form-flash.ts).
 */
export function browserKey(
  services: Services,
  request: FastifyRequest,
  reply?: FastifyReply,
): string | undefined {
  const pre = reply ? preCookie(services, request, reply) : readCookie(request, authFor(services).preCookie);
  return pre === undefined ? undefined : services.ctx.hasher.hash(`browser:${pre}`);
}

/**
 * Checks a submitted CSRF token against the session (or, with `{ preSession: true }`, against the
 * pre-session cookie, for the login form). Constant time.
 */
export async function verifyCsrf(
  services: Services,
  request: FastifyRequest,
  token: string | undefined,
  options: { preSession?: boolean } = {},
): Promise<boolean> {
  if (!token) return false;
  const state = authFor(services);
  if (options.preSession) {
    const pre = readCookie(request, state.preCookie);
    return !!pre && state.csrfHasher.verify(`csrf:pre:${pre}`, token);
  }
  const raw = readCookie(request, state.sessionCookie);
  const session = await getSession(services, request);
  return !!raw && !!session && state.csrfHasher.verify(`csrf:${raw}`, token);
}

/** Deletes expired sessions. */
export async function purgeSessions(services: Services): Promise<number> {
  const res = await services.ctx.db
    .deleteFrom('sessions')
    .where('expires_at', '<', services.ctx.now())
    .executeTakeFirst();
  return Number(res.numDeletedRows) + (await authFor(services).throttle.purge());
}
