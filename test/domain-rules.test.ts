import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppRequest } from '../src/domain/app-requests.js';
import { listApps } from '../src/domain/apps.js';
import type { Actor } from '../src/domain/context.js';
import { ERROR_CODES, type ErrorCode } from '../src/domain/error-codes.js';
import { DomainError } from '../src/domain/errors.js';
import { listUsers } from '../src/domain/user-management.js';
import { insertUser } from '../src/domain/users.js';
import { domainStatus } from '../src/http/problem.js';
import { ApiClient } from './helpers/api.js';
import {
  adminActor,
  createTestApp,
  managementToken,
  startTestServer,
  type TestServer,
} from './helpers/server.js';
import { createTenant, createUser } from './helpers/users.js';

/** Domain rules with one home each: app fields, search, error codes. */
let ts: TestServer;
let api: ApiClient;

beforeAll(async () => {
  ts = await startTestServer();
  api = new ApiClient(ts, await managementToken(ts));
});
afterAll(async () => ts?.close());

async function refusal(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error('expected a DomainError');
}

describe('app requests follow the app field rules', () => {
  let developer: Actor;
  const request = {
    visibility: 'private' as const,
    client_type: 'confidential' as const,
    callback_url: 'https://reports.example/cb',
  };

  beforeAll(async () => {
    const tenant = await createTenant(ts);
    const u = await createUser(ts, { tenantId: tenant.id, role: 'developer' });
    developer = { id: `user:${u.user.id}`, tenantId: tenant.id, userId: u.user.id, role: 'developer' };
  });

  it.each([
    ['a right-to-left override', 'Pay\u202Epal'],
    ['a zero-width space', 'Pay\u200Bpal'],
    ['a control character', 'Pay\u0007pal'],
  ])('refuses a name with %s, as registering the app would', async (_what, name) => {
    const e = await refusal(createAppRequest(ts.server.services.ctx, developer, { ...request, name }));
    expect(e.errorCode).toBe('app_name_invalid');
    expect(e.fields.name).toMatch(/invisible or text-direction/);
  });

  it('refuses a deceptive description too, and names every failed field at once', async () => {
    const e = await refusal(
      createAppRequest(ts.server.services.ctx, developer, {
        ...request,
        name: '',
        description: 'fine\u2066text',
        justification: 'x'.repeat(2001),
        callback_url: 'ftp://nope',
      }),
    );
    expect(Object.keys(e.fields).sort()).toEqual(['callback_url', 'description', 'justification', 'name']);
    expect(e.errorCode).toBe('app_request_justification_invalid');
  });

  it('files a request with visible characters, trimmed', async () => {
    const r = await createAppRequest(ts.server.services.ctx, developer, {
      ...request,
      name: '  Monthly reports ',
      description: 'Line one\nLine two',
    });
    expect(r.name).toBe('Monthly reports');
    expect(r.description).toBe('Line one\nLine two');
  });
});

describe('search treats % and _ as text, on both databases', () => {
  it('finds apps by a name containing _ or %, and nothing that only matches them as wildcards', async () => {
    const tag = `t${Date.now().toString(36)}`;
    const names = [`${tag} snake_case`, `${tag} snakeXcase`, `${tag} 100% sync`, `${tag} 1000 sync`];
    for (const name of names) await createTestApp(ts, { name });
    const actor = await adminActor(ts);
    const find = async (q: string) =>
      (await listApps(ts.server.services.ctx, actor, { q })).items.map((a) => a.name).sort();
    expect(await find(`${tag} snake_case`)).toEqual([`${tag} snake_case`]);
    expect(await find('E_CASE')).toContain(`${tag} snake_case`);
    expect(await find('e_c')).not.toContain(`${tag} snakeXcase`);
    expect(await find(`${tag} 100%`)).toEqual([`${tag} 100% sync`]);
    expect(await find(`${tag} 100`)).toEqual([`${tag} 100% sync`, `${tag} 1000 sync`]);
    expect(await find(`${tag} \\`)).toEqual([]);
  });

  it('finds users by a display name or email containing _ or %', async () => {
    const tenant = await createTenant(ts);
    const ctx = ts.server.services.ctx;
    for (const [email, displayName] of [
      ['first_last@users.test', 'Ann 50% Lee'],
      ['firstXlast@users.test', 'Ann 500 Lee'],
    ] as const)
      await insertUser(ctx, ctx.db, {
        tenantId: tenant.id,
        email,
        displayName,
        password: 'pw-long-enough-1',
        role: 'user',
      });
    const actor = { ...(await adminActor(ts)), tenantId: tenant.id };
    const find = async (q: string) =>
      (await listUsers(ctx, actor, { tenantId: tenant.id, q })).items.map((u) => u.email).sort();
    expect(await find('first_last')).toEqual(['first_last@users.test']);
    expect(await find('50%')).toEqual(['first_last@users.test']);
    expect(await find('ann 50')).toEqual(['first_last@users.test', 'firstxlast@users.test']);
  });
});

describe('error codes', () => {
  const problemOf = (code: ErrorCode) => ({
    type: `https://clavis.dev/problems/${code}`,
    code,
    status: domainStatus(code),
  });

  it('name each failure in the problem type and a code member; status, title and detail as before', async () => {
    const missing = await api.get('/v1/apps/00000000-0000-0000-0000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({
      ...problemOf('app_not_found'),
      title: 'Not Found',
      detail: 'App not found.',
    });

    const bad = await api.post('/v1/apps', {
      name: 'Cb test',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'ftp://example.com/cb',
    });
    expect(bad.status).toBe(422);
    expect(bad.json).toMatchObject({ ...problemOf('app_callback_invalid'), title: 'Unprocessable Content' });
    expect(bad.json.errors).toHaveProperty('callback_url');

    const cursor = await api.get('/v1/apps?cursor=garbage');
    expect(cursor.status).toBe(400);
    expect(cursor.json).toMatchObject(problemOf('cursor_invalid'));
    expect(cursor.json.errors).toHaveProperty('cursor');
  });

  it('secret_limit_reached is still a 409', async () => {
    const { app } = await createTestApp(ts);
    for (let i = 0; i < 4; i++) expect((await api.post(`/v1/apps/${app.id}/secrets`, {})).status).toBe(201);
    const sixth = await api.post(`/v1/apps/${app.id}/secrets`, {});
    expect(sixth.status).toBe(409);
    expect(sixth.json).toMatchObject({ ...problemOf('secret_limit_reached'), title: 'Conflict' });
  });

  it('are listed in the OpenAPI document under the Problem schema', async () => {
    const doc = (await api.get('/openapi.json', { token: null })).json;
    const code = doc.components.schemas.Problem.properties.code;
    expect(code.enum).toEqual(Object.keys(ERROR_CODES));
    expect(code.description).toContain('| `secret_limit_reached` | 409 |');
  });

  it("are the README's table, code by code", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Error codes'));
    const rows = section
      .slice(0, section.indexOf('\n## ', 3))
      .split('\n')
      .filter((l) => /^\|\s*`/.test(l))
      .map((l) =>
        l
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim()),
      );
    expect(rows).toEqual(
      (Object.keys(ERROR_CODES) as ErrorCode[]).map((c) => [
        `\`${c}\``,
        String(domainStatus(c)),
        ERROR_CODES[c].description,
      ]),
    );
  });
});
