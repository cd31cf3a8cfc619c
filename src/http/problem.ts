import type { FastifyReply } from 'fastify';
import type { DomainError } from '../domain/errors.js';

/** An RFC 9457 problem details body. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
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

const DOMAIN_STATUS: Record<DomainError['code'], number> = {
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

/** The problem for a domain error. */
export function domainProblem(err: DomainError): Problem {
  const status = DOMAIN_STATUS[err.code];
  const p = problem(status, err.message, { type: `https://clavis.dev/problems/${err.code}` });
  if (Object.keys(err.fields).length > 0) p.errors = err.fields;
  return p;
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).header('content-type', 'application/problem+json; charset=utf-8').send(p);
}
