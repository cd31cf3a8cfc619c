import type { FastifyReply, FastifyRequest } from 'fastify';
import { requireUser, type Session } from '../auth/session.js';
import { actorForUser } from '../domain/actors.js';
import type { Actor } from '../domain/context.js';
import { DomainError } from '../domain/errors.js';
import { getTenant, type Tenant } from '../domain/tenants.js';
import type { User } from '../domain/users.js';
import type { Services } from '../services.js';

/** A signed-in hub request: the session, its user, their tenant and the domain {@link Actor}. */
export interface Hub {
  services: Services;
  session: Session;
  user: User;
  tenant: Tenant;
  /** Exactly what the management API derives for a session user (src/domain/actors.ts). */
  actor: Actor;
  csrf: string;
}

/** The signed-in user's hub context, or null after sending a 303 to the login page. */
export async function hubFor(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<Hub | null> {
  const session = await requireUser(services, request, reply);
  if (!session) return null;
  const tenant = await getTenant(services.ctx, session.user.tenant_id);
  return {
    services,
    session,
    user: session.user,
    tenant,
    actor: actorForUser(session.user, tenant.kind),
    csrf: session.csrf,
  };
}

/**
 * A submitted form. Unlike the OAuth parser, repeated names are allowed (scope checkboxes); values are
 * capped so nothing huge is echoed back.
 */
export class Form {
  constructor(readonly params: URLSearchParams) {}
  static of(request: FastifyRequest): Form {
    const raw = typeof request.body === 'string' ? request.body : '';
    try {
      return new Form(new URLSearchParams(raw));
    } catch {
      return new Form(new URLSearchParams());
    }
  }
  /** A field's value ('' when missing), trimmed of nothing: what was typed is kept as typed. */
  get(name: string): string {
    return (this.params.get(name) ?? '').slice(0, 5000);
  }
  all(name: string): string[] {
    return this.params.getAll(name).map((v) => v.slice(0, 200));
  }
}

/** 303 See Other to a same-site path (never a URL built from user input). */
export function seeOther(reply: FastifyReply, path: string): FastifyReply {
  return reply.code(303).header('location', path).header('cache-control', 'no-store').send();
}

/** The result of an action that may fail with a domain error shown on the form. */
export interface FormErrors {
  /** Field name → message, shown next to the field. */
  fields: Record<string, string>;
  /** A message for the whole form (conflicts, limits, or a field that is not on the form). */
  form?: string;
}

/**
 * Turns a domain error into form errors (validation → fields, conflict/limit/forbidden → form message).
 * Not-found errors are rethrown: the route answers 404.
 */
export function toFormErrors(e: unknown, onForm: readonly string[]): FormErrors {
  if (!(e instanceof DomainError) || e.code === 'not_found') throw e;
  const fields: Record<string, string> = {};
  let form: string | undefined;
  for (const [k, v] of Object.entries(e.fields)) {
    if (onForm.includes(k)) fields[k] = v;
    else form = v;
  }
  if (Object.keys(fields).length === 0 && !form) form = e.message;
  return { fields, form };
}

/** The domain's email check, run before calling the domain so a form reports it with its other fields. */
export { emailProblem } from '../domain/users.js';

export const isAdmin = (hub: Hub) => hub.actor.role === 'admin' || !!hub.actor.platformAdmin;
export const canDevelop = (hub: Hub) => hub.actor.role === 'admin' || hub.actor.role === 'developer';

/** Sends a page that shows a one-time value: never cached or stored by the browser. */
export function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}
