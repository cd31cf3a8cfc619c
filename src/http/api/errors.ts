import type { FastifyReply } from 'fastify';
import { type Problem, problem, sendProblem } from '../problem.js';

/** An HTTP-level problem raised by the API layer itself (auth, malformed cursors, idempotency). */
export class ApiProblem extends Error {
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.detail);
    this.name = 'ApiProblem';
  }

  static of(
    status: number,
    detail: string,
    extra: Partial<Problem> = {},
    headers: Record<string, string> = {},
  ) {
    return new ApiProblem(problem(status, detail, extra), headers);
  }

  /** A 400 with field-level `errors`, like schema validation failures. */
  static badField(field: string, message: string): ApiProblem {
    return ApiProblem.of(400, message, { errors: { [field]: message } });
  }

  send(reply: FastifyReply): FastifyReply {
    for (const [k, v] of Object.entries(this.headers)) reply.header(k, v);
    return sendProblem(reply, this.problem);
  }
}
