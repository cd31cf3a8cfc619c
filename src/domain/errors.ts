import { type DomainErrorKind, type ErrorCode, errorKind } from './error-codes.js';

export type { DomainErrorKind, ErrorCode } from './error-codes.js';

/**
 * Domain errors: what went wrong in business terms, independent of HTTP. The API maps them to RFC 9457
 * problems and the hub to field-level form errors.
 */
export type DomainErrorCode = DomainErrorKind;

export class DomainError extends Error {
  /** The kind of failure, which decides the HTTP status. */
  readonly code: DomainErrorKind;

  constructor(
    /** The stable code of this failure, from the catalogue in `error-codes.ts`. */
    readonly errorCode: ErrorCode,
    message: string,
    /** Field-level messages, keyed by field name (for forms and API `errors`). */
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'DomainError';
    this.code = errorKind(errorCode);
  }
}

/** What `notFound` may name, and the code each answers with. */
const NOT_FOUND_CODES = {
  API: 'api_not_found',
  App: 'app_not_found',
  'App permission': 'app_permission_not_found',
  'App request': 'app_request_not_found',
  'Client secret': 'secret_not_found',
  Tenant: 'tenant_not_found',
  User: 'user_not_found',
  'Webhook endpoint': 'webhook_not_found',
  'Webhook delivery': 'webhook_delivery_not_found',
} as const satisfies Record<string, ErrorCode>;

export const notFound = (what: keyof typeof NOT_FOUND_CODES) =>
  new DomainError(NOT_FOUND_CODES[what], `${what} not found.`);
export const invalid = (field: string, message: string, code: ErrorCode = 'validation') =>
  new DomainError(code, message, { [field]: message });
export const forbidden = (message: string, code: ErrorCode = 'forbidden') => new DomainError(code, message);
export const conflict = (message: string, code: ErrorCode = 'conflict') => new DomainError(code, message);

/**
 * Collects field errors so a form or request body is refused once with every field's message, rather than
 * one field at a time. The error thrown carries the first failure's code and message.
 */
export class FieldErrors {
  readonly fields: Record<string, string> = {};
  #first: DomainError | undefined;

  /** Runs one check; a field error it throws is kept, and `undefined` returned in its place. */
  check<T>(f: () => T): T | undefined {
    try {
      return f();
    } catch (e) {
      // A field's error, whether the kind answers 422 (validation) or 400 (a malformed field, as API fields are).
      const fieldError =
        e instanceof DomainError &&
        (e.code === 'validation' || (e.code === 'malformed' && Object.keys(e.fields).length > 0));
      if (!fieldError) throw e;
      this.#first ??= e;
      Object.assign(this.fields, e.fields);
      return undefined;
    }
  }

  /** Throws one validation error naming every failed field, if any check failed. */
  throwIfAny(): void {
    if (this.#first) throw new DomainError(this.#first.errorCode, this.#first.message, this.fields);
  }
}
