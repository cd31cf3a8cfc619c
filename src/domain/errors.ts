/**
 * Domain errors: what went wrong in business terms, independent of HTTP. The API maps them to RFC 9457
 * problems and the hub to field-level form errors.
 */
export type DomainErrorCode = 'validation' | 'not_found' | 'conflict' | 'forbidden' | 'limit';

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** Field-level messages, keyed by field name (for forms and API `errors`). */
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (what: string) => new DomainError('not_found', `${what} not found.`);
export const invalid = (field: string, message: string) =>
  new DomainError('validation', message, { [field]: message });
export const forbidden = (message: string) => new DomainError('forbidden', message);
export const conflict = (message: string) => new DomainError('conflict', message);
