import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import { parseRealDate } from '../../domain/dates.js';
import { decodeCursor } from '../../domain/pagination.js';
import type { Services } from '../../services.js';
import { type ApiAuth, type ManagementScope, requireScope, resolveApiActor } from './auth.js';
import { ApiProblem } from './errors.js';

/** The Fastify instance the API modules register on, typed by the TypeBox provider. */
export type ApiInstance = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

const resolved = new WeakMap<FastifyRequest, Promise<ApiAuth>>();

/** Resolves the caller once per request (the pre-validation hook and the handler share the answer). */
export function authOnce(services: Services, request: FastifyRequest): Promise<ApiAuth> {
  let auth = resolved.get(request);
  if (!auth) {
    auth = resolveApiActor(services, request);
    resolved.set(request, auth);
  }
  return auth;
}

/** Authenticates a request and requires one of `scopes` (on tokens). */
export async function authenticate(
  services: Services,
  request: FastifyRequest,
  ...scopes: ManagementScope[]
): Promise<ApiAuth> {
  const auth = await authOnce(services, request);
  requireScope(auth, ...scopes);
  return auth;
}

/**
 * Checks a cursor's shape before any work, so a mangled cursor is a 400 (`cursor_invalid`) like any other
 * bad query value.
 */
export function checkCursor(cursor: string | undefined): string | undefined {
  if (cursor !== undefined) decodeCursor(cursor);
  return cursor;
}

/** Parses an ISO 8601 timestamp given in a body (already format-checked by the schema) to epoch ms. */
export function parseTime(field: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = parseRealDate(value);
  if (Number.isNaN(t)) throw ApiProblem.badField(field, 'Give an ISO 8601 date-time (a real date).');
  return t;
}
