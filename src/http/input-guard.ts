import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidRequest, InvalidScope } from '../oauth/errors.js';
import { CONTROL_CHARACTER, CONTROL_CHARACTER_MESSAGE } from '../oauth/form.js';
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
 * - Form bodies (and any other string body, which the hub reads as a form): no C0 control in names or
 *   values, except tab, line feed and carriage return in the free-text fields ({@link FREE_TEXT_FIELDS});
 *   NUL nowhere.
 * - JSON bodies (the management API): no C0 control in keys. Values are left to the API's schemas and the
 *   domain's field rules, which answer with field-level problems; a NUL in a value that no rule looks at
 *   is refused by the database and answered 400 by the error handler (`isUnstorableText`).
 * - HTTP Basic client credentials (RFC 6749 §2.3.1 form-encodes them): no C0 control, raw or encoded. They
 *   are checked where they are decoded, once, by the client authentication (`presentedCredentials`), with
 *   the same rule ({@link CONTROL_CHARACTER}) and message.
 *
 * Cookies are not checked: the session code reads only its own cookies, by strict pattern.
 */

const CONTROL = CONTROL_CHARACTER;
/** After decoding: any C0 control. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const DECODED_CONTROL = /[\x00-\x1f]/;
/** After decoding, in free text: C0 controls other than tab, line feed and carriage return. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const DECODED_CONTROL_IN_TEXT = /[\x00-\x08\x0b\x0c\x0e-\x1f]/;

/** Fields whose values are prose typed into a textarea (descriptions, reasons), where line breaks belong. */
export const FREE_TEXT_FIELDS: ReadonlySet<string> = new Set(['description', 'justification', 'reason']);

const MESSAGE = CONTROL_CHARACTER_MESSAGE;

function badValue(name: string, value: string): boolean {
  return (FREE_TEXT_FIELDS.has(name) ? DECODED_CONTROL_IN_TEXT : DECODED_CONTROL).test(value);
}

/**
 * The first field of a form-encoded string that holds a control character outside the free-text rule
 * ('' for a name, or for bytes that do not decode), or undefined when there is none.
 */
function badFormField(raw: string): string | undefined {
  // The one regex test is all a clean body (the token endpoint's every request) costs.
  if (!CONTROL.test(raw)) return undefined;
  for (const [name, value] of new URLSearchParams(raw)) {
    if (DECODED_CONTROL.test(name)) return '';
    if (badValue(name, value)) return name;
  }
  return undefined;
}

/**
 * Whether a parsed JSON body holds a control character in a key. Values are the API's to judge: its
 * schemas and the domain's field rules refuse them with a field-level problem (and a NUL that gets past
 * them is a 400 too, see `isUnstorableText`).
 */
function badJson(body: object): boolean {
  // Iterative, so a deeply nested body cannot overflow the stack here.
  const stack: unknown[] = [body];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (DECODED_CONTROL.test(key)) return true;
        stack.push(item);
      }
    }
  }
  return false;
}

/**
 * Where the request breaks the rule above: `'scope'` for the form's scope, `''` for anything else, or
 * undefined when it does not.
 */
export function forbiddenControl(request: FastifyRequest): string | undefined {
  if (CONTROL.test(request.url)) return '';
  const body = request.body;
  if (typeof body === 'string') {
    const field = badFormField(body);
    if (field !== undefined) return field === 'scope' ? 'scope' : '';
  } else if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body)) {
    if (badJson(body)) return '';
  }
  // HTTP Basic client credentials are checked where they are parsed, once (`presentedCredentials`).
  return undefined;
}

/** The refusal, in the format of the surface the path belongs to. */
function refuse(request: FastifyRequest, reply: FastifyReply, field: string): FastifyReply {
  const path = request.url;
  // The authorization endpoint's redirect URI is not trusted yet: an error page, never a redirect.
  if (path.startsWith('/oauth/authorize'))
    return sendPage(reply, 400, MessagePage({ title: 'Invalid request', message: MESSAGE }));
  // RFC 6749 §5.2 `invalid_request` on the token, introspection and revocation endpoints.
  // A control character is outside scope-token's grammar (RFC 6749 §3.3): a malformed scope, §5.2.
  if (path.startsWith('/oauth/token') && field === 'scope')
    return sendOAuthError(
      reply,
      new InvalidScope('The scope contains a control character; scope tokens are printable ASCII.'),
    );
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
    const field = forbiddenControl(request);
    if (field !== undefined) {
      refuse(request, reply, field);
      return;
    }
    done();
  });
}
