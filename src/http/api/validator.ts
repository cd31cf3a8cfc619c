import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';

/** One field's problem, as Fastify expects validation errors (`instancePath`, `message`). */
export interface FieldError {
  keyword: string;
  schemaPath: string;
  params: Record<string, unknown>;
  instancePath: string;
  message: string;
}

function literals(schema: TSchema | undefined): string[] | null {
  const any = (schema as { anyOf?: Array<{ const?: unknown }> } | undefined)?.anyOf;
  if (!any?.length || any.some((s) => typeof s.const !== 'string')) return null;
  return any.map((s) => s.const as string);
}

/** A short phrase for one TypeBox error, to follow the field name ("name is required"). */
export function describeValueError(e: ValueError): string {
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.ObjectAdditionalProperties:
      return 'is not a field of this request';
    case ValueErrorType.Union: {
      const values = literals(e.schema);
      return values ? `must be one of: ${values.join(', ')}` : 'has a value of the wrong type';
    }
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify((e.schema as { const?: unknown }).const)}`;
    case ValueErrorType.String:
      return 'must be a string';
    case ValueErrorType.Number:
      return 'must be a number';
    case ValueErrorType.Integer:
      return 'must be a whole number';
    case ValueErrorType.Boolean:
      return 'must be true or false';
    case ValueErrorType.Array:
      return 'must be a list';
    case ValueErrorType.Object:
      return 'must be an object';
    case ValueErrorType.StringFormat:
      return `must be a valid ${(e.schema as { format?: string }).format ?? 'value'}`;
    case ValueErrorType.StringMinLength:
      return (e.schema as { minLength?: number }).minLength === 1
        ? 'must not be empty'
        : `must be at least ${(e.schema as { minLength?: number }).minLength} characters`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${(e.schema as { maxLength?: number }).maxLength} characters`;
    default:
      // TypeBox's own sentence ("Expected integer to be greater or equal to 1"), lower-cased to follow the name.
      return e.message.charAt(0).toLowerCase() + e.message.slice(1);
  }
}

/**
 * Fastify's TypeBox validator, with two changes: each schema compiles on the route's first request (the
 * API declares dozens; compiling them all cost start-up time for nodes that never serve them), and the
 * errors name each field once, in words ("visibility must be one of: private, public"), not TypeBox's
 * "Expected union value" for every schema branch.
 *
 * Bodies are checked as sent (strict: a wrong type is an error, never coerced); params and query strings
 * are converted first, as they arrive as strings.
 */
export function typeBoxValidator(route: { schema: unknown; httpPart?: string }) {
  const schema = route.schema as TSchema;
  let check: TypeCheck<TSchema> | undefined;
  return (value: unknown): { value: unknown } | { error: FieldError[] } => {
    check ??= TypeCompiler.Compile(schema);
    const converted = route.httpPart === 'body' ? value : Value.Convert(schema, value);
    if (check.Check(converted)) return { value: converted };
    const errors: FieldError[] = [];
    const seen = new Set<string>();
    for (const e of check.Errors(converted)) {
      // A missing property is reported first; the type error for the same path after it adds nothing.
      if (seen.has(e.path)) continue;
      seen.add(e.path);
      errors.push({
        keyword: ValueErrorType[e.type] ?? 'typebox',
        schemaPath: '#',
        params: {},
        instancePath: e.path,
        message: describeValueError(e),
      });
      if (errors.length >= 20) break;
    }
    return { error: errors };
  };
}
