import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { lazySchemaController } from '../src/http/lazy-schemas.js';

function app() {
  const f = Fastify({ schemaController: lazySchemaController() });
  f.post(
    '/things',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1 } },
          additionalProperties: false,
        },
        body: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', minLength: 1 } },
        },
        response: {
          200: { type: 'object', properties: { name: { type: 'string' }, limit: { type: 'integer' } } },
        },
      },
    },
    async (req) => ({
      name: (req.body as { name: string }).name,
      limit: (req.query as { limit?: number }).limit,
      secret: 'must not be serialized',
    }),
  );
  f.get(
    '/coerce/:n',
    { schema: { params: { type: 'object', properties: { n: { type: 'integer' } } } } },
    async (req) => ({
      type: typeof (req.params as { n: unknown }).n,
    }),
  );
  return f;
}

describe('lazy route schemas', () => {
  it('validate, coerce and serialize exactly like eager compilation', async () => {
    const f = app();
    const ok = await f.inject({ method: 'POST', url: '/things?limit=5', payload: { name: 'a', extra: 1 } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ name: 'a', limit: 5 });

    const bad = await f.inject({ method: 'POST', url: '/things', payload: { name: '' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/name/);

    const missing = await f.inject({ method: 'POST', url: '/things', payload: {} });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().message).toMatch(/required property 'name'/);

    const badQuery = await f.inject({ method: 'POST', url: '/things?limit=0', payload: { name: 'a' } });
    expect(badQuery.statusCode).toBe(400);

    const coerced = await f.inject({ method: 'GET', url: '/coerce/42' });
    expect(coerced.json()).toEqual({ type: 'number' });
    await f.close();
  });
});
