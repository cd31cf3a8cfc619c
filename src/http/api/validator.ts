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

/** Phrases for the errors whose wording doesn't depend on the schema. */
const FIXED: Partial<Record<ValueErrorType, string>> = {
  [ValueErrorType.ObjectRequiredProperty]: 'is required',
  [ValueErrorType.ObjectAdditionalProperties]: 'is not a field of this request',
  [ValueErrorType.String]: 'must be a string',
  [ValueErrorType.Number]: 'must be a number',
  [ValueErrorType.Integer]: 'must be a whole number',
  [ValueErrorType.Boolean]: 'must be true or false',
  [ValueErrorType.Array]: 'must be a list',
  [ValueErrorType.Object]: 'must be an object',
};

/** A short phrase for one TypeBox error, to follow the field name ("name is required"). */
export function describeValueError(e: ValueError): string {
  const fixed = FIXED[e.type];
  if (fixed) return fixed;
  const s = e.schema as { const?: unknown; format?: string; minLength?: number; maxLength?: number };
  switch (e.type) {
    case ValueErrorType.Union: {
      const values = literals(e.schema);
      return values ? `must be one of: ${values.join(', ')}` : 'has a value of the wrong type';
    }
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify(s.const)}`;
    case ValueErrorType.StringFormat:
      return `must be a valid ${s.format ?? 'value'}`;
    case ValueErrorType.StringMinLength:
      return s.minLength === 1 ? 'must not be empty' : `must be at least ${s.minLength} characters`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${s.maxLength} characters`;
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
