import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSecret, refreshSecret } from '../src/domain/secrets.js';
import {
  adminActor,
  basicAuth,
  createTestApp,
  postForm,
  startTestServer,
  type TestServer,
} from './helpers/server.js';

/**
 * Drives every path that handles a credential (success and failure) with request logging at its most
 * verbose, then checks that no secret, password or token appears in any log line.
 */
let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer({ logLevel: 'trace' });
});
afterAll(async () => ts?.close());

describe('logs', () => {
  it('are JSON lines and never contain a secret, password or token, even on errors', async () => {
    const sensitive: string[] = [ts.bootstrapClient.secret, ts.admin.password];
    const { app, secret } = await createTestApp(ts);
    sensitive.push(secret!);
    const extra = await addSecret(ts.server.services.ctx, await adminActor(ts), app.id, {});
    sensitive.push(extra.value);
    const token = `${ts.url}/oauth/token`;
    const ok = await postForm(
      token,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(app.client_id, secret!) },
    );
    sensitive.push(ok.json.access_token);
    await postForm(token, {
      grant_type: 'client_credentials',
      client_id: app.client_id,
      client_secret: extra.value,
    });
    // Failures that carry credentials in every possible place.
    await postForm(
      token,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(app.client_id, `${secret}x`) },
    );
    await postForm(`${token}?client_secret=${secret}&code=${secret}`, { grant_type: 'client_credentials' });
    await postForm(token, `grant_type=client_credentials&client_secret=${secret}&client_secret=${secret}`);
    await fetch(token, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"client_secret":"${secret}"`,
    });
    await fetch(token, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"client_secret":"${secret}"}`,
    });
    await fetch(`${token}?refresh_token=${secret}`);
    await postForm(
      `${ts.url}/oauth/introspect`,
      { token: ok.json.access_token },
      { authorization: basicAuth(app.client_id, secret!) },
    );
    await postForm(
      `${ts.url}/oauth/revoke`,
      { token: ok.json.access_token },
      { authorization: basicAuth(app.client_id, secret!) },
    );
    await fetch(`${ts.url}/api/v1/me`, { headers: { authorization: `Bearer ${ok.json.access_token}` } });
    await fetch(`${ts.url}/api/v1/me?access_token=${ok.json.access_token}`);
    await fetch(`${ts.url}/api/v1/nope/${'x'}?password=${ts.admin.password}`);
    const fresh = await refreshSecret(ts.server.services.ctx, await adminActor(ts), app.id);
    sensitive.push(fresh.value);
    await postForm(
      token,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(app.client_id, fresh.value) },
    );
    await new Promise((r) => setTimeout(r, 100));

    const lines = ts.logs.lines;
    expect(lines.length).toBeGreaterThan(10); // request logging was on: the test saw real traffic
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    const text = ts.logs.text();
    expect(text).toContain('/oauth/token');
    for (const value of sensitive) {
      expect(text.includes(value), 'a credential reached the logs').toBe(false);
      // Nor a recognisable part of it (e.g. a truncated parser message).
      expect(text.includes(value.slice(0, 16)), 'part of a credential reached the logs').toBe(false);
    }
  });
});
