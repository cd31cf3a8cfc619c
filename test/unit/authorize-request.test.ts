import { describe, expect, it } from 'vitest';
import type { App } from '../../src/domain/apps.js';
import {
  type AuthorizeClients,
  type AuthorizeValidation,
  checkAuthorizationRequest,
} from '../../src/oauth/authorize.js';
import { apiLookup, app, grantedPermissions, sampleApi, TENANT } from './fixtures.js';

const AUDIENCE = 'https://api.example';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

function clients(...apps: App[]): AuthorizeClients {
  return {
    find: async (clientId) => {
      const found = apps.find((a) => a.client_id === clientId);
      return found ? { app: found, tenant: TENANT, permissions: grantedPermissions(found) } : null;
    },
    apis: apiLookup(sampleApi(AUDIENCE)),
    config: { apiAudience: AUDIENCE, issuer: 'https://clavis.example', defaultApi: undefined },
  };
}

const query = (params: Record<string, string>) => new URLSearchParams(params).toString();
const base = { client_id: 'client-1', redirect_uri: 'https://app.example/cb', response_type: 'code' };

async function check(params: Record<string, string>, a: App = app()): Promise<AuthorizeValidation> {
  return checkAuthorizationRequest(clients(a), query(params));
}

function redirectError(v: AuthorizeValidation): string {
  if (v.kind !== 'redirect') throw new Error(`expected a redirect, got ${v.kind}`);
  expect(v.redirectUri).toBe('https://app.example/cb');
  return v.error.error;
}

describe('checkAuthorizationRequest: client and redirect_uri first, as pages (RFC 6749 §4.1.2.1)', () => {
  it('shows a page for a missing, repeated or unknown client_id', async () => {
    expect(await check({ redirect_uri: base.redirect_uri })).toMatchObject({ kind: 'page', status: 400 });
    const twice = await checkAuthorizationRequest(clients(app()), 'client_id=client-1&client_id=client-1');
    expect(twice).toMatchObject({ kind: 'page', status: 400 });
    expect(await check({ ...base, client_id: 'nobody' })).toMatchObject({
      kind: 'page',
      title: 'Unknown app',
    });
  });

  it('never redirects to a redirect_uri that is missing or not registered', async () => {
    expect(await check({ client_id: 'client-1', response_type: 'code' })).toMatchObject({ kind: 'page' });
    const v = await check({ ...base, redirect_uri: 'https://evil.example/cb', response_type: 'token' });
    expect(v).toMatchObject({ kind: 'page', title: 'Invalid redirect address' });
  });

  it('shows a page for a disabled app', async () => {
    expect(await check(base, app({ status: 'disabled' }))).toMatchObject({ kind: 'page', status: 403 });
  });

  it('refuses an over-long request', async () => {
    const v = await checkAuthorizationRequest(clients(app()), `${query(base)}&state=${'x'.repeat(9000)}`);
    expect(v).toMatchObject({ kind: 'page', message: 'The authorization request is too long.' });
  });
});

describe('checkAuthorizationRequest: the rest, redirected back with the error', () => {
  it('requires response_type=code and response_mode=query', async () => {
    expect(redirectError(await check({ ...base, response_type: '' }))).toBe('invalid_request');
    const { response_type: _, ...noType } = base;
    expect(redirectError(await check(noType))).toBe('invalid_request');
    expect(redirectError(await check({ ...base, response_type: 'token' }))).toBe('unsupported_response_type');
    expect(redirectError(await check({ ...base, response_mode: 'fragment' }))).toBe('invalid_request');
  });

  it('carries state back with the error', async () => {
    const v = await check({ ...base, response_type: 'token', state: 'xyz' });
    expect(v).toMatchObject({ kind: 'redirect', state: 'xyz' });
  });

  it('refuses request objects with their registered codes', async () => {
    expect(redirectError(await check({ ...base, request: 'eyJ' }))).toBe('request_not_supported');
    expect(redirectError(await check({ ...base, request_uri: 'urn:x' }))).toBe('request_uri_not_supported');
  });

  it('requires PKCE S256 of public clients and accepts no plain method', async () => {
    const pub = app({ client_type: 'public' });
    expect(redirectError(await check(base, pub))).toBe('invalid_request');
    expect(redirectError(await check({ ...base, code_challenge: CHALLENGE }, pub))).toBe('invalid_request');
    expect(
      redirectError(await check({ ...base, code_challenge: 'short', code_challenge_method: 'S256' }, pub)),
    ).toBe('invalid_request');
    expect(redirectError(await check({ ...base, code_challenge_method: 'S256' }))).toBe('invalid_request');
    const ok = await check({ ...base, code_challenge: CHALLENGE, code_challenge_method: 'S256' }, pub);
    expect(ok.kind === 'ok' && ok.request.codeChallenge).toBe(CHALLENGE);
  });

  it('resolves the scope against the app: defaults when omitted, invalid_scope beyond its scopes', async () => {
    const v = await check(base);
    expect(v.kind === 'ok' && v.request.scope).toEqual(['contacts:read']);
    const narrowed = await check({ ...base, scope: 'profile:read contacts:write' });
    expect(narrowed.kind === 'ok' && narrowed.request.scope).toEqual(['profile:read', 'contacts:write']);
    expect(redirectError(await check({ ...base, scope: 'clavis:admin' }))).toBe('invalid_scope');
    expect(redirectError(await check({ ...base, scope: 'bad"scope' }))).toBe('invalid_scope');
  });

  it('accepts only the API audience as resource', async () => {
    expect(redirectError(await check({ ...base, resource: 'https://other.example' }))).toBe('invalid_target');
    expect((await check({ ...base, resource: AUDIENCE })).kind).toBe('ok');
  });

  it('accepts prompt none, login, consent and select_account only, and none alone (OIDC Core §3.1.2.1)', async () => {
    expect(redirectError(await check({ ...base, prompt: 'sometimes' }))).toBe('invalid_request');
    expect(redirectError(await check({ ...base, prompt: 'none consent' }))).toBe('invalid_request');
    expect((await check({ ...base, prompt: 'login select_account' })).kind).toBe('ok');
    const v = await check({ ...base, prompt: 'none', state: 's1' });
    expect(v).toMatchObject({ kind: 'ok', request: { state: 's1', codeChallenge: null } });
    if (v.kind === 'ok') expect([...v.request.oidc.prompts]).toEqual(['none']);
  });

  it('returns the validated request with the raw query for the login and consent forms', async () => {
    const raw = query({ ...base, state: 'abc' });
    const v = await checkAuthorizationRequest(clients(app()), raw);
    expect(v).toMatchObject({ kind: 'ok', request: { raw, redirectUri: base.redirect_uri, tenant: TENANT } });
  });
});
