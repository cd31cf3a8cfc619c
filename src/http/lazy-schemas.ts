import AjvCompiler from '@fastify/ajv-compiler';
import SerializerCompiler from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

type SchemaController = NonNullable<FastifyServerOptions['schemaController']>;
type Factory = NonNullable<SchemaController['compilersFactory']>;
type ValidatorBuilder = NonNullable<Factory['buildValidator']>;
type SerializerBuilder = NonNullable<Factory['buildSerializer']>;
type AnyFn = (...args: unknown[]) => unknown;

/**
 * Fastify's own Ajv validator builder, compiling each route schema on the route's first request instead of
 * at start-up.
 *
 * Clavis declares well over a hundred route schemas (the management API, the hub's forms); compiling them
 * all eagerly cost a third of the time from start to ready and about 15 MB of resident memory, although a
 * node serving the token endpoint never uses most of them. Validation itself is unchanged: the same Ajv
 * instance and options compile the same schema, once. The wrapper keeps `schemaEnv` (so Fastify passes the
 * parent object and coercion can replace a root value) and forwards `errors` (which Fastify reads after a
 * failed validation).
 */
function lazyValidatorBuilder(): ValidatorBuilder {
  const eager = AjvCompiler() as unknown as (...a: unknown[]) => (route: unknown) => AnyFn;
  return ((externalSchemas: unknown, ajvOptions: unknown) => {
    const compile = eager(externalSchemas, ajvOptions);
    return (route: unknown) => {
      let real: (AnyFn & { errors?: unknown }) | undefined;
      const validate = function (this: unknown, ...args: unknown[]) {
        real ??= compile(route) as AnyFn & { errors?: unknown };
        return real.apply(this, args);
      } as AnyFn & { errors?: unknown; schemaEnv?: unknown };
      Object.defineProperty(validate, 'errors', { get: () => real?.errors ?? null });
      validate.schemaEnv = true;
      return validate;
    };
  }) as unknown as ValidatorBuilder;
}

/** Fastify's fast-json-stringify serializer builder, compiling each response schema on first use. */
function lazySerializerBuilder(): SerializerBuilder {
  const eager = SerializerCompiler() as unknown as (...a: unknown[]) => (route: unknown) => AnyFn;
  return ((externalSchemas: unknown, serializerOptions: unknown) => {
    const compile = eager(externalSchemas, serializerOptions);
    return (route: unknown) => {
      let real: AnyFn | undefined;
      return (data: unknown) => {
        real ??= compile(route);
        return real(data);
      };
    };
  }) as unknown as SerializerBuilder;
}

/** The `schemaController` option that makes Fastify compile route schemas lazily. */
export function lazySchemaController(): SchemaController {
  return {
    compilersFactory: { buildValidator: lazyValidatorBuilder(), buildSerializer: lazySerializerBuilder() },
  };
}
