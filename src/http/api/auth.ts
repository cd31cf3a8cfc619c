import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { actorForActiveUser, actorForSessionUser } from '../../domain/actors.js';
import type { Actor } from '../../domain/context.js';
import { joinScope, MANAGEMENT_SCOPES, splitScope } from '../../domain/scopes.js';
import { InsufficientScope, InvalidToken } from '../../oauth/errors.js';
import type { Services } from '../../services.js';
import { bearerChallenge, bearerToken, missingToken } from '../bearer.js';
import { ApiProblem } from './errors.js';

/**
 * Authentication for the management API. Two ways in:
 *
 * 1. A Clavis access token (`Authorization: Bearer`) carrying management scopes: `clavis:apps` for apps,
 *    secrets, app requests and audit events; `clavis:admin` for approvals, users and tenant settings.
 * 2. The hub's session cookie (by default read with src/auth/session.ts; another resolver can be plugged
 *    in with {@link registerApiSessionResolver}). Unsafe
 *    methods then need the session's CSRF token in `x-csrf-token` (a cookie is ambient authority, a bearer
 *    token is not, so bearer requests need no CSRF token).
 *
 * Authorization itself (owners and admins only, other tenants' objects are "not found") stays in the
 * domain functions, which take the resolved {@link Actor}, exactly as the hub calls them.
 */

export type ManagementScope = (typeof MANAGEMENT_SCOPES)[number];

/** What a session resolver returns for a signed-in hub user. */
export interface SessionAuth {
  actor: Actor;
  /** The session's CSRF token; unsafe requests must echo it in `x-csrf-token`. */
  csrfToken: string;
}

/** Resolves the hub session of a request (reads and checks the cookie); null when there is none. */
export type SessionResolver = (request: FastifyRequest) => Promise<SessionAuth | null>;

const sessionResolvers = new WeakMap<Services, SessionResolver>();

/** The default session path: the hub's session cookie (src/auth/session.ts), its CSRF token per session. */
async function hubSession(services: Services, request: FastifyRequest): Promise<SessionAuth | null> {
  if (!request.cookies) return null;
  const { getSession } = await import('../../auth/session.js');
  const session = await getSession(services, request);
  if (!session) return null;
  return { actor: await actorForSessionUser(services.ctx, session.user), csrfToken: session.csrf };
}

/**
 * Lets the hub's session module authenticate management API calls made with the session cookie.
 *
 * @example
 * ```ts
 * registerApiSessionResolver(services, async (req) => {
 *   const s = await sessions.fromRequest(req);
 *   return s ? { actor: s.actor, csrfToken: s.csrfToken } : null;
 * });
 * ```
 */
export function registerApiSessionResolver(services: Services, resolver: SessionResolver): void {
  sessionResolvers.set(services, resolver);
}

export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A 401 problem whose challenge is the same RFC 6750 one Clavis's own API sends. */
function unauthorized(err: InvalidToken): ApiProblem {
  return ApiProblem.of(401, err.description, {}, { 'www-authenticate': bearerChallenge(err) });
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface ApiAuth {
  actor: Actor;
  via: 'token' | 'session';
  /** Scopes of the token; a session holds every management scope its user's role allows. */
  scopes: Set<string>;
}

/**
 * Who is calling, from a bearer token or (when a resolver is registered) the session cookie.
 *
 * A client credentials token acts as the client (`client:<client_id>`): a platform admin when it holds
 * `clavis:admin`, else an admin of its own tenant (the `tid` claim). A token issued to a user (its `sub` is
 * not the client) acts as that user, with the user's role, and never as a platform admin unless it holds
 * `clavis:admin` and the user is an admin of the default tenant.
 *
 * @throws ApiProblem 401 (with `WWW-Authenticate: Bearer`) or 403 (missing CSRF token).
 */
export async function resolveApiActor(services: Services, request: FastifyRequest): Promise<ApiAuth> {
  const header = request.headers.authorization;
  const token = bearerToken(header);
  if (token !== undefined) {
    const claims = token === null ? null : await services.tokens.verify(token);
    if (!claims)
      throw unauthorized(
        new InvalidToken('The access token is malformed, expired, or not signed by this server.'),
      );
    if (!(await services.liveness.isLive(claims)))
      throw unauthorized(new InvalidToken('The access token has been revoked.'));
    const scopes = new Set(splitScope(claims.scope));
    if (claims.sub === claims.client_id) {
      const admin = scopes.has('clavis:admin');
      return {
        via: 'token',
        scopes,
        actor: {
          id: `client:${claims.client_id}`,
          tenantId: claims.tid,
          role: 'admin',
          platformAdmin: admin,
        },
      };
    }
    const actor = await actorForActiveUser(services.ctx, claims.sub);
    if (!actor) throw unauthorized(new InvalidToken('The user of this access token is no longer active.'));
    return {
      via: 'token',
      scopes,
      actor: { ...actor, platformAdmin: !!actor.platformAdmin && scopes.has('clavis:admin') },
    };
  }
  const resolver = sessionResolvers.get(services);
  const session = resolver ? await resolver(request) : await hubSession(services, request);
  if (session) {
    if (!SAFE_METHODS.has(request.method)) {
      const sent = request.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !sameToken(sent, session.csrfToken))
        throw ApiProblem.of(
          403,
          `A request made with the session cookie needs the CSRF token in the ${CSRF_HEADER} header.`,
        );
    }
    return { via: 'session', scopes: new Set(MANAGEMENT_SCOPES), actor: session.actor };
  }
  throw unauthorized(missingToken());
}

/**
 * Requires one of `scopes` on a token. Sessions pass: what a user may do is decided by their role in the
 * domain layer, as in the hub.
 *
 * @throws ApiProblem 403 with `WWW-Authenticate: Bearer error="insufficient_scope"`.
 */
export function requireScope(auth: ApiAuth, ...scopes: ManagementScope[]): void {
  if (auth.via === 'session') return;
  if (scopes.some((s) => auth.scopes.has(s))) return;
  const err = new InsufficientScope(
    joinScope(scopes),
    `The access token lacks the scope this needs: ${scopes.join(' or ')}.`,
  );
  throw ApiProblem.of(403, err.description, {}, { 'www-authenticate': bearerChallenge(err) });
}
