import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';

type SchemaController = NonNullable<FastifyServerOptions['schemaController']>;
type Factory = NonNullable<SchemaController['compilersFactory']>;
type ValidatorBuilder = NonNullable<Factory['buildValidator']>;
type SerializerBuilder = NonNullable<Factory['buildSerializer']>;
type AnyFn = (...args: unknown[]) => unknown;
type Builder = (externalSchemas: unknown, options: unknown) => (route: unknown) => AnyFn;

const require = createRequire(import.meta.url);

/**
 * Fastify's own compilers (Ajv for validation, fast-json-stringify for serialization), loaded and run only
 * when a route first needs them: each route schema compiles on the route's first request instead of at
 * start-up, and Ajv itself is not even loaded until then.
 *
 * Clavis declares well over a hundred route schemas (the management API, the hub's forms); compiling them
 * all eagerly cost a third of the time from start to ready, and loading Ajv about 8 MB of resident memory,
 * although a node serving the token endpoint never uses most of them. Validation itself is unchanged: the
 * same compiler, with the same options, compiles the same schema, once.
 */
function lazyBuilder(
  load: () => Builder,
): (externalSchemas: unknown, options: unknown) => (route: unknown) => AnyFn {
  let builder: Builder | undefined;
  return (externalSchemas, options) => {
    let compile: ((route: unknown) => AnyFn) | undefined;
    return (route) => () => {
      builder ??= load();
      compile ??= builder(externalSchemas, options);
      return compile(route);
    };
  };
}

/**
 * The validator builder. The wrapper keeps `schemaEnv` (so Fastify passes the parent object and coercion can
 * replace a root value) and forwards `errors` (which Fastify reads after a failed validation).
 */
function lazyValidatorBuilder(): ValidatorBuilder {
  const build = lazyBuilder(() => (require('@fastify/ajv-compiler') as () => Builder)());
  return ((externalSchemas: unknown, ajvOptions: unknown) => {
    const forRoute = build(externalSchemas, ajvOptions);
    return (route: unknown) => {
      const compileNow = forRoute(route);
      let real: (AnyFn & { errors?: unknown }) | undefined;
      const validate = function (this: unknown, ...args: unknown[]) {
        real ??= compileNow() as AnyFn & { errors?: unknown };
        return real.apply(this, args);
      } as AnyFn & { errors?: unknown; schemaEnv?: unknown };
      Object.defineProperty(validate, 'errors', { get: () => real?.errors ?? null });
      validate.schemaEnv = true;
      return validate;
    };
  }) as unknown as ValidatorBuilder;
}

/** The serializer builder. */
function lazySerializerBuilder(): SerializerBuilder {
  const build = lazyBuilder(() => (require('@fastify/fast-json-stringify-compiler') as () => Builder)());
  return ((externalSchemas: unknown, serializerOptions: unknown) => {
    const forRoute = build(externalSchemas, serializerOptions);
    return (route: unknown) => {
      const compileNow = forRoute(route);
      let real: AnyFn | undefined;
      return (data: unknown) => {
        real ??= compileNow() as AnyFn;
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
