import type { FastifyReply, FastifyRequest } from 'fastify';
import { browserKey } from '../auth/session.js';
import type { Services } from '../services.js';
import { FlashStore } from './flash.js';

/**
 * Redirect after POST for the forms outside the signed-in hub (sign-in, sign-up and its confirmation,
 * forgot and reset password, the device page): a failed POST answers 303 to its form page with
 * `?flash=ID`, and that GET shows the failure once, so a reload never posts again.
 *
 * An entry holds the outcome and what the user typed that is safe to show again (an email address, a name,
 * a device's user code), never a password, a reset or confirmation token, or a CSRF token: the GET renders
 * the form afresh around it. It is bound to the browser by the pre-session cookie ({@link browserKey}),
 * so another browser holding the URL sees the clean form.
 */
export interface FormFlash {
  /**
   * The status the failed POST would have answered (401 bad credentials, 429 throttled, 400, 403, 409),
   * or 200 for a success page that must not be re-posted ("check your inbox").
   */
  status: number;
  /** While a throttle refuses: when the user may try again (epoch ms); the GET answers `Retry-After`. */
  retryAt?: number;
  /** The message above the form. */
  error?: string;
  /** Messages for single fields, by field name. */
  fields?: Record<string, string>;
  /** Typed values to fill the form with again, by field name. Never a password or a token. */
  values?: Record<string, string>;
  /** The form was sent: the page shows its confirmation (a mail is on its way) instead of the form. */
  done?: boolean;
}

const flashes = new FlashStore<FormFlash>();

const pathOf = (url: string) => url.split('?')[0] ?? url;

/**
 * Answers a form's POST with 303 to `location` (its form page, query included, e.g. the sign-in page with
 * its `return_to`) plus `flash=ID`, where `flash` is shown once to this browser.
 */
export function redirectWithFlash(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  location: string,
  flash: FormFlash,
): FastifyReply {
  const binding = browserKey(services, request, reply) as string;
  const id = flashes.put(binding, pathOf(location), flash);
  return reply
    .code(303)
    .header('location', `${location}${location.includes('?') ? '&' : '?'}flash=${id}`)
    .header('cache-control', 'no-store')
    .send();
}

/** The flash named by this GET's `?flash=`, for this browser and page; removed as it is read. */
export function takeFlash(services: Services, request: FastifyRequest): FormFlash | undefined {
  const id = (request.query as Record<string, unknown> | undefined)?.flash;
  if (typeof id !== 'string') return undefined;
  const binding = browserKey(services, request);
  return binding === undefined ? undefined : flashes.take(binding, pathOf(request.url), id);
}

/**
 * The status for the page that shows `flash`: the one the POST would have answered, with `Retry-After`
 * while throttled; `otherwise` without a flash.
 *
 * Why the GET repeats the POST's status: the status is part of what the answer means. A throttled sign-in is
 * a 429 with `Retry-After` on a usable form (RFC 6585 §4, RFC 9110 §10.2.3), a wrong password a 401; browsers
 * render a 4xx page's form like any other, and a client that follows the redirect (a test, a script) still
 * learns what happened from the status, as it did when the POST answered directly.
 */
export function flashStatus(
  services: Services,
  reply: FastifyReply,
  flash: FormFlash | undefined,
  otherwise = 200,
): number {
  if (!flash) return otherwise;
  if (flash.retryAt !== undefined)
    reply.header('retry-after', String(Math.max(1, Math.ceil((flash.retryAt - services.ctx.now()) / 1000))));
  return flash.status;
}
