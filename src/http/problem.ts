import type { FastifyReply } from 'fastify';
import { type DomainErrorKind, ERROR_CODES, type ErrorCode } from '../domain/error-codes.js';
import type { DomainError } from '../domain/errors.js';

/** An RFC 9457 problem details body. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The stable code of a domain failure (see {@link ERROR_CODES}); also the last segment of `type`. */
  code?: ErrorCode;
  /** Field-level messages, keyed by field name. */
  errors?: Record<string, string>;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const DOMAIN_STATUS: Record<DomainErrorKind, number> = {
  malformed: 400,
  validation: 422,
  not_found: 404,
  conflict: 409,
  forbidden: 403,
  limit: 409,
};

/** Builds a problem body. */
export function problem(status: number, detail: string, extra: Partial<Problem> = {}): Problem {
  return { type: extra.type ?? 'about:blank', title: TITLES[status] ?? 'Error', status, detail, ...extra };
}

/** Where the problem types of domain errors live: `<base><code>`. */
export const PROBLEM_TYPE_BASE = 'https://clavis.dev/problems/';

/** The HTTP status a domain error code is answered with. */
export function domainStatus(code: ErrorCode): number {
  return DOMAIN_STATUS[ERROR_CODES[code].kind];
}

/** The problem for a domain error: its code names the `type` and is repeated as `code`. */
export function domainProblem(err: DomainError): Problem {
  const p = problem(domainStatus(err.errorCode), err.message, {
    type: `${PROBLEM_TYPE_BASE}${err.errorCode}`,
    code: err.errorCode,
  });
  if (Object.keys(err.fields).length > 0) p.errors = err.fields;
  return p;
}

/**
 * The catalogue of error codes as a Markdown table (code, HTTP status, meaning), for the OpenAPI document
 * and the README's "Error codes" section.
 */
export function errorCodeTable(): string {
  const rows = (Object.keys(ERROR_CODES) as ErrorCode[]).map(
    (code) => `| \`${code}\` | ${domainStatus(code)} | ${ERROR_CODES[code].description} |`,
  );
  return ['| Code | Status | When |', '| --- | --- | --- |', ...rows].join('\n');
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).header('content-type', 'application/problem+json; charset=utf-8').send(p);
}
