import { type Static, type TObject, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../services.js';
import { Form, type Hub, hubFor } from './context.js';
import { hubFlashes } from './flash.js';
import { checkCsrf, forbiddenPage, guard, notFoundPage, type Refusal } from './refusals.js';

/**
 * One way to declare a hub page or action: the preamble every hub route shares (signed-in user, role
 * check, form and CSRF token for actions, typed path parameters, domain errors as the hub's 404/403
 * pages) is written here once, so a route body starts with what it is for.
 */

/** No path parameters. */
export const NoParams = Type.Object({});

export interface HubRouteOptions<P extends TObject> {
  /**
   * The path parameters (TypeBox, strings or string literals). Parameters that do not match it get the
   * hub's 404 page, as an unknown path would; the handler receives them typed.
   */
  params: P;
  /**
   * Names the object a route works on ("app", "user"): domain not-found and forbidden errors thrown by
   * the handler become the hub's 404 ("This app does not exist…") and 403 pages. Without it they propagate.
   */
  what?: string;
  /** Who may use the route: the 403 page to show when this user may not, else undefined. */
  deny?: (hub: Hub) => Refusal | undefined;
}

/** What a page handler gets: the signed-in hub context, its typed parameters and the query string. */
export interface HubPageRequest<P> {
  hub: Hub;
  params: P;
  /** Query string values; a parameter given more than once (or not a string) is absent. */
  query: Readonly<Record<string, string | undefined>>;
  request: FastifyRequest;
  reply: FastifyReply;
}

/** What an action handler gets: a page request whose form passed the CSRF check. */
export interface HubActionRequest<P> extends HubPageRequest<P> {
  form: Form;
}

function queryOf(request: FastifyRequest): Record<string, string | undefined> {
  const q: Record<string, string | undefined> = {};
  if (request.query && typeof request.query === 'object')
    for (const [k, v] of Object.entries(request.query)) if (typeof v === 'string') q[k] = v;
  return q;
}

/**
 * Runs the shared preamble and then `body`. Order: sign-in (303 to the login page), the role check
 * (403), for actions the form's CSRF token (403), the parameters (404), then the handler.
 */
async function run<P extends TObject>(
  services: Services,
  options: HubRouteOptions<P>,
  request: FastifyRequest,
  reply: FastifyReply,
  withForm: boolean,
  body: (hub: Hub, params: Static<P>, form: Form) => Promise<FastifyReply>,
): Promise<FastifyReply> {
  const hub = await hubFor(services, request, reply);
  if (!hub) return reply;
  const denied = options.deny?.(hub);
  if (denied) return forbiddenPage(hub, reply, denied);
  const form = Form.of(request);
  if (withForm && !(await checkCsrf(hub, request, reply, form))) return reply;
  const params = request.params;
  if (!Value.Check(options.params, params)) return notFoundPage(hub, reply);
  const what = options.what;
  return what ? guard(hub, reply, what, () => body(hub, params, form)) : body(hub, params, form);
}

const pathOf = (request: FastifyRequest) => request.url.split('?')[0] ?? request.url;

/**
 * Declares a hub page (GET) for signed-in users. `?flash=ID` shows, once, the form a failed action of this
 * session rendered for this page (see {@link hubAction}); read or not, the next GET shows the clean page.
 */
export function hubPage<P extends TObject>(
  app: FastifyInstance,
  services: Services,
  path: string,
  options: HubRouteOptions<P>,
  handler: (r: HubPageRequest<Static<P>>) => Promise<FastifyReply>,
): void {
  app.get(path, (request, reply) =>
    run(services, options, request, reply, false, async (hub, params): Promise<FastifyReply> => {
      const query = queryOf(request);
      const flashed = query.flash
        ? hubFlashes.take(hub.session.idHash, pathOf(request), query.flash)
        : undefined;
      if (flashed === undefined) return handler({ hub, params, query, request, reply });
      return reply
        .code(200)
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(flashed);
    }),
  );
}

/** Statuses an action answers when its form failed (validation, conflict): sent as a redirect instead. */
const FORM_FAILURES = new Set([400, 409, 422]);
/** Requests whose action handler ran (past sign-in, CSRF and parameter checks), with their session key. */
const ranAction = new WeakMap<FastifyRequest, string>();

/**
 * The form page an action belongs to: the longest leading part of its path that is a hub page
 * (`/apps/:id/oauth/secrets/:sid/refresh` → `/apps/:id/oauth`, `/apps/new` → `/apps/new`).
 */
function formPageOf(app: FastifyInstance, request: FastifyRequest): string {
  const pattern = (request.routeOptions.url ?? '').split('/');
  const actual = pathOf(request).split('/');
  for (let n = Math.min(pattern.length, actual.length); n > 1; n--)
    if (app.hasRoute({ method: 'GET', url: pattern.slice(0, n).join('/') }))
      return actual.slice(0, n).join('/');
  return '/';
}

/**
 * Declares a hub action (a POST form) for signed-in users. The handler runs only for a form that carries
 * the session's CSRF token; any other post gets the "form has expired" page (403).
 *
 * Redirect after POST, failures included, so a reload never posts again: when the handler answers a form
 * failure (400, 409, 422) with the re-rendered form, that page goes to the session's flash store and the
 * answer becomes 303 to the form page with `?flash=ID`, where it is shown once. Successful actions redirect
 * themselves; the only 200 answers are pages that show a value exactly once (a new secret, an initial
 * password), which are never stored and are guarded against re-posts by one-time form tokens (nonce.ts).
 */
export function hubAction<P extends TObject>(
  app: FastifyInstance,
  services: Services,
  path: string,
  options: HubRouteOptions<P>,
  handler: (r: HubActionRequest<Static<P>>) => Promise<FastifyReply>,
): void {
  app.post(
    path,
    {
      onSend: async (request, reply, payload) => {
        const sessionKey = ranAction.get(request);
        if (sessionKey === undefined || !FORM_FAILURES.has(reply.statusCode) || typeof payload !== 'string')
          return payload;
        const page = formPageOf(app, request);
        const id = hubFlashes.put(sessionKey, page, payload);
        reply.code(303).header('location', `${page}?flash=${id}`).header('cache-control', 'no-store');
        reply.removeHeader('content-type');
        return '';
      },
    },
    (request, reply) =>
      run(services, options, request, reply, true, (hub, params, form) => {
        ranAction.set(request, hub.session.idHash);
        return handler({ hub, params, form, query: queryOf(request), request, reply });
      }),
  );
}
