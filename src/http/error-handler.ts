import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors.js';
import { InvalidRequest, OAuthError, ServerError } from '../oauth/errors.js';
import { sendOAuthError } from './oauth-reply.js';
import { domainProblem, problem, sendProblem } from './problem.js';

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

/** Installs the one error handler: no request ever gets a stack trace or an unexplained 500. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const url = request.url;
    if (error instanceof OAuthError) {
      if (error.statusCode >= 500) request.log.error({ err: error }, 'protocol error');
      return sendOAuthError(reply, error);
    }
    if (error instanceof DomainError) return sendProblem(reply, domainProblem(error));
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
