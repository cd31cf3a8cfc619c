import type { FastifyReply, FastifyRequest } from 'fastify';
import { verifyCsrf } from '../auth/session.js';
import { DomainError } from '../domain/errors.js';
import { sendPage } from '../web/render.js';
import type { Form, Hub } from './context.js';
import { HubMessage } from './ui/hub-page.js';

/** The hub's refusals: an expired form (CSRF), a missing or foreign object, an action the user may not do. */

/**
 * Verifies the form's CSRF token against the session. On failure sends a 403 page and returns false.
 */
export async function checkCsrf(
  hub: Hub,
  request: FastifyRequest,
  reply: FastifyReply,
  form: Form,
): Promise<boolean> {
  if (await verifyCsrf(hub.services, request, form.get('csrf') || undefined)) return true;
  sendPage(
    reply,
    403,
    HubMessage({
      hub,
      title: 'This form has expired',
      message:
        'The form was out of date or was not sent from this site. Go back, reload the page and try again.',
    }),
  );
  return false;
}

/** Sends the hub's 404 page (also for other tenants' objects: they do not exist for this user). */
export function notFoundPage(hub: Hub, reply: FastifyReply, what = 'page'): FastifyReply {
  return sendPage(
    reply,
    404,
    HubMessage({
      hub,
      title: 'Not found',
      message: `This ${what} does not exist, or you do not have access to it.`,
      link: { href: '/apps', label: 'Back to your apps' },
    }),
  );
}

/** A 403 page: its title (default "Not allowed"), message and an optional way on. */
export interface Refusal {
  title?: string;
  message: string;
  link?: { href: string; label: string };
}

/** Sends the hub's 403 page, with a message or a whole {@link Refusal}. */
export function forbiddenPage(hub: Hub, reply: FastifyReply, refusal: string | Refusal): FastifyReply {
  const r = typeof refusal === 'string' ? { message: refusal } : refusal;
  return sendPage(reply, 403, HubMessage({ hub, ...r, title: r.title ?? 'Not allowed' }));
}

/** Runs a route body, mapping domain not-found / forbidden errors to the hub's pages. */
export async function guard(hub: Hub, reply: FastifyReply, what: string, fn: () => Promise<FastifyReply>) {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof DomainError && e.code === 'not_found') return notFoundPage(hub, reply, what);
    if (e instanceof DomainError && e.code === 'forbidden') return forbiddenPage(hub, reply, e.message);
    throw e;
  }
}
