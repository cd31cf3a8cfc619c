import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isConnectionError, isUnstorableText } from '../db/errors.js';
import { DomainError } from '../domain/errors.js';
import { InvalidRequest, OAuthError, ServerError } from '../oauth/errors.js';
import { MessagePage } from '../web/pages.js';
import { sendPage } from '../web/render.js';
import { OUTAGE_RETRY_AFTER_SECONDS, sendOAuthError, temporarilyUnavailable } from './oauth-reply.js';
import { domainProblem, problem, sendProblem } from './problem.js';
import { setSecurityHeaders } from './security-headers.js';

/** Protocol endpoints answer errors with RFC 6749 bodies; everything else with RFC 9457 problems. */
export function isProtocolPath(url: string): boolean {
  return url.startsWith('/oauth/');
}

/** A fixed, body-free description of a framework error (never the parser's message, which can quote input). */
function describe(err: FastifyError): string {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'The Content-Type of the request is not supported here.';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'The request body is too large.';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'The request body is empty.';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'The request body could not be parsed.';
    case 'FST_ERR_VALIDATION':
      return err.message;
    default:
      return err.statusCode && err.statusCode < 500
        ? 'The request is malformed.'
        : 'Unexpected server error.';
  }
}

const UNSTORABLE = 'The request contains a character that cannot be stored (such as a NUL byte).';

/** Connection errors closer together than this belong to one outage, which is logged once. */
const OUTAGE_GAP_MS = 30_000;

/**
 * Logs a database outage once: the first connection error after a quiet spell of {@link OUTAGE_GAP_MS}
 * gets a log line; the ones that follow it closely are counted into the next line instead.
 */
export class OutageLog {
  #lastErrorAt = Number.NEGATIVE_INFINITY;
  #suppressed = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** @returns whether this error starts a new outage (and so should be logged). */
  report(): { log: boolean; suppressedBefore: number } {
    const now = this.now();
    const fresh = now - this.#lastErrorAt > OUTAGE_GAP_MS;
    this.#lastErrorAt = now;
    if (!fresh) {
      this.#suppressed++;
      return { log: false, suppressedBefore: 0 };
    }
    const suppressedBefore = this.#suppressed;
    this.#suppressed = 0;
    return { log: true, suppressedBefore };
  }
}

/** A browser asking for a page (not a protocol or API client): it gets HTML rather than JSON. */
function wantsPage(request: FastifyRequest): boolean {
  if (isProtocolPath(request.url) || request.url.startsWith('/api/')) return false;
  return String(request.headers.accept ?? '').includes('text/html');
}

/**
 * The database cannot be reached: 503 with `Retry-After` in each surface's own error format, never a 500
 * (RFC 6749 §4.1.2.1 `temporarily_unavailable` on protocol endpoints, RFC 9110 §15.6.4).
 */
function sendOutage(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (isProtocolPath(request.url)) return sendOAuthError(reply, temporarilyUnavailable());
  reply.header('retry-after', String(OUTAGE_RETRY_AFTER_SECONDS));
  const message = 'Clavis cannot reach its database at the moment. Try again in a few seconds.';
  if (wantsPage(request))
    return sendPage(reply, 503, MessagePage({ title: 'Temporarily unavailable', message }));
  return sendProblem(reply, problem(503, message));
}

/**
 * Answers the errors Fastify's router raises before any route or hook runs (Fastify's `frameworkErrors`): a
 * URL that does not decode (`%ff`, a cut-off escape) and a path segment longer than the router takes. They
 * get each surface's own error format, like every other error, instead of Fastify's bare JSON that quotes
 * the URL back.
 */
export function answerFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
  https: boolean,
): FastifyReply {
  const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
  const status = tooLong ? 414 : error.code === 'FST_ERR_BAD_URL' ? 400 : 500;
  if (status === 500) request.log.error({ err: error }, 'router error');
  const message =
    status === 500
      ? 'Something went wrong on our side. Try again.'
      : tooLong
        ? 'A part of the URL is too long.'
        : 'The URL is malformed (it has an invalid percent-encoding).';
  // The router answers before any hook runs, so the strict headers are set here.
  const page = wantsPage(request);
  setSecurityHeaders(reply, https, page ? 'text/html' : 'application/json');
  if (isProtocolPath(request.url))
    return sendOAuthError(reply, status === 500 ? new ServerError() : new InvalidRequest(message, status));
  if (page)
    return sendPage(reply, status, MessagePage({ title: status === 500 ? 'Error' : 'Bad request', message }));
  return sendProblem(reply, problem(status, message));
}

/** Installs the one error handler: no request ever gets a stack trace or an unexplained 500. */
export function registerErrorHandler(app: FastifyInstance, options: { now?: () => number } = {}): void {
  const outages = new OutageLog(options.now);
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const url = request.url;
    if (!(error instanceof OAuthError) && !(error instanceof DomainError) && isConnectionError(error)) {
      const { log, suppressedBefore } = outages.report();
      if (log)
        request.log.error(
          { err: error, ...(suppressedBefore ? { previousOutageErrors: suppressedBefore } : {}) },
          'database unavailable: answering 503 until it is back (logged once per outage)',
        );
      return sendOutage(request, reply);
    }
    if (error instanceof OAuthError) {
      if (error.statusCode >= 500) request.log.error({ err: error }, 'protocol error');
      return sendOAuthError(reply, error);
    }
    if (error instanceof DomainError) return sendProblem(reply, domainProblem(error));
    // A value the input boundary leaves to the domain (a JSON field) and no rule refused.
    if (isUnstorableText(error)) {
      if (isProtocolPath(url)) return sendOAuthError(reply, new InvalidRequest(UNSTORABLE));
      return sendProblem(reply, problem(400, UNSTORABLE));
    }
    let status = error.statusCode ?? 500;
    if (
      error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
      (error as { type?: string }).type === 'entity.parse.failed'
    )
      status = 400;
    if (status >= 500) request.log.error({ err: error }, 'unhandled error');
    if (isProtocolPath(url)) {
      if (status >= 500) return sendOAuthError(reply, new ServerError());
      return sendOAuthError(reply, new InvalidRequest(describe(error), status === 415 ? 400 : status));
    }
    if (status >= 500)
      return sendProblem(reply, problem(500, 'Something went wrong on our side. Try again.'));
    const p = problem(status, describe(error));
    if (error.validation) {
      const errors: Record<string, string> = {};
      for (const v of error.validation) {
        const field =
          (v.params as { missingProperty?: string })?.missingProperty ??
          v.instancePath?.replace(/^\//, '').replace(/\//g, '.') ??
          '';
        errors[field || (error.validationContext ?? 'body')] ??= v.message ?? 'is invalid';
      }
      p.errors = errors;
      p.status = 400;
      p.title = 'Bad Request';
      // One sentence a person can act on: each field once, with what is wrong with it.
      p.detail = `Check the request: ${Object.entries(errors)
        .map(([field, msg]) => `${field} ${msg}`)
        .join('; ')}.`;
    }
    return sendProblem(reply, p);
  });

  app.setNotFoundHandler((request, reply) => {
    if (isProtocolPath(request.url))
      return sendOAuthError(reply, new InvalidRequest('There is no such endpoint.', 404));
    return sendProblem(reply, problem(404, `No route for ${request.method} ${request.url.split('?')[0]}.`));
  });
}
