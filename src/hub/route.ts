import { type Static, type TObject, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../services.js';
import { Form, type Hub, hubFor } from './context.js';
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

/** Declares a hub page (GET) for signed-in users. */
export function hubPage<P extends TObject>(
  app: FastifyInstance,
  services: Services,
  path: string,
  options: HubRouteOptions<P>,
  handler: (r: HubPageRequest<Static<P>>) => Promise<FastifyReply>,
): void {
  app.get(path, (request, reply) =>
    run(services, options, request, reply, false, (hub, params) =>
      handler({ hub, params, query: queryOf(request), request, reply }),
    ),
  );
}

/**
 * Declares a hub action (a POST form) for signed-in users. The handler runs only for a form that carries
 * the session's CSRF token; any other post gets the "form has expired" page (403).
 */
export function hubAction<P extends TObject>(
  app: FastifyInstance,
  services: Services,
  path: string,
  options: HubRouteOptions<P>,
  handler: (r: HubActionRequest<Static<P>>) => Promise<FastifyReply>,
): void {
  app.post(path, (request, reply) =>
    run(services, options, request, reply, true, (hub, params, form) =>
      handler({ hub, params, form, query: queryOf(request), request, reply }),
    ),
  );
}
