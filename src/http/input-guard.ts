import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidRequest } from '../oauth/errors.js';
import { MessagePage } from '../web/pages.js';
import { sendPage } from '../web/render.js';
import { sendOAuthError } from './oauth-reply.js';
import { problem, sendProblem } from './problem.js';

/**
 * The input boundary of every surface: control characters are refused once, here, before any route sees
 * the request, so no route can forget it. PostgreSQL rejects a NUL byte in text (an error, so a 500 if it
 * got that far), and no identifier, email, URL or form field of Clavis has a use for C0 controls.
 *
 * - The URL (path parameters and query string, raw or percent-encoded): no C0 control.
 * - Form bodies (and any other string body, which the hub reads as a form) and JSON bodies: no C0 control
 *   in names or values, except tab, line feed and carriage return in the free-text fields
 *   ({@link FREE_TEXT_FIELDS}); NUL nowhere.
 * - HTTP Basic credentials (RFC 6749 §2.3.1 form-encodes them): no C0 control, raw or encoded.
 *
 * Cookies are not checked: the session code reads only its own cookies, by strict pattern.
 */

/** A C0 control, raw or percent-encoded (`%00`–`%1F`). `%2500` is the text "%00", and does not match. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\x00-\x1f]|%[01][0-9a-f]/i;
/** After decoding: any C0 control. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const DECODED_CONTROL = /[\x00-\x1f]/;
/** After decoding, in free text: C0 controls other than tab, line feed and carriage return. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const DECODED_CONTROL_IN_TEXT = /[\x00-\x08\x0b\x0c\x0e-\x1f]/;

/** Fields whose values are prose typed into a textarea (descriptions, reasons), where line breaks belong. */
export const FREE_TEXT_FIELDS: ReadonlySet<string> = new Set(['description', 'justification', 'reason']);

const MESSAGE = 'The request contains a control character (such as a NUL byte) where none is allowed.';

function badValue(name: string, value: string): boolean {
  return (FREE_TEXT_FIELDS.has(name) ? DECODED_CONTROL_IN_TEXT : DECODED_CONTROL).test(value);
}

/** Whether a form-encoded string holds a control character outside the free-text rule. */
function badForm(raw: string): boolean {
  // The one regex test is all a clean body (the token endpoint's every request) costs.
  if (!CONTROL.test(raw)) return false;
  for (const [name, value] of new URLSearchParams(raw))
    if (DECODED_CONTROL.test(name) || badValue(name, value)) return true;
  return false;
}

/** Whether a parsed JSON body holds a control character in a key or string outside the free-text rule. */
function badJson(body: object): boolean {
  // Iterative, so a deeply nested body cannot overflow the stack here.
  const stack: Array<[string, unknown]> = [['', body]];
  while (stack.length > 0) {
    const [name, value] = stack.pop()!;
    if (typeof value === 'string') {
      if (badValue(name, value)) return true;
    } else if (Array.isArray(value)) {
      for (const item of value) stack.push([name, item]);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (DECODED_CONTROL.test(key)) return true;
        stack.push([key, item]);
      }
    }
  }
  return false;
}

/** Whether `Authorization: Basic` credentials decode to (or form-decode to) a control character. */
function badBasic(authorization: string | undefined): boolean {
  if (authorization === undefined || !/^basic /i.test(authorization)) return false;
  // latin1 maps each byte to one character, so a control byte shows whatever the encoding.
  return CONTROL.test(Buffer.from(authorization.slice(6).trim(), 'base64').toString('latin1'));
}

/** Whether any part of the request breaks the rule above. */
export function hasForbiddenControl(request: FastifyRequest): boolean {
  if (CONTROL.test(request.url)) return true;
  const body = request.body;
  if (typeof body === 'string') {
    if (badForm(body)) return true;
  } else if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body)) {
    if (badJson(body)) return true;
  }
  return badBasic(request.headers.authorization);
}

/** The refusal, in the format of the surface the path belongs to. */
function refuse(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url;
  // The authorization endpoint's redirect URI is not trusted yet: an error page, never a redirect.
  if (path.startsWith('/oauth/authorize'))
    return sendPage(reply, 400, MessagePage({ title: 'Invalid request', message: MESSAGE }));
  // RFC 6749 §5.2 `invalid_request` on the token, introspection and revocation endpoints.
  if (path.startsWith('/oauth/')) return sendOAuthError(reply, new InvalidRequest(MESSAGE));
  if (
    path.startsWith('/api/') ||
    path.startsWith('/.well-known/') ||
    path.startsWith('/assets/') ||
    /^\/(metrics|livez|readyz|health)/.test(path)
  )
    return sendProblem(reply, problem(400, MESSAGE));
  // Everything else is a page of the hub or the sign-in flow.
  return sendPage(
    reply,
    400,
    MessagePage({
      title: 'The request could not be read',
      message: `${MESSAGE} Go back, check what you typed (or the link you followed) and try again.`,
      link: { href: '/', label: 'Go to the home page' },
    }),
  );
}

/**
 * Registers the boundary check on every route, after the body is parsed and before validation and the
 * handler. A callback-style hook: on the token endpoint it costs a few regex tests and no promise.
 */
export function registerInputGuard(app: FastifyInstance): void {
  app.addHook('preValidation', (request, reply, done) => {
    if (hasForbiddenControl(request)) {
      refuse(request, reply);
      return;
    }
    done();
  });
}
