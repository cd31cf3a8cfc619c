import { describe, expect, it } from 'vitest';
import type { NewCode } from '../../src/domain/grant-store.js';
import type { AuthorizationRequest } from '../../src/oauth/authorize.js';
import {
  type AuthorizeDeps,
  type AuthorizeStore,
  decideAuthorization,
  decideConsent,
  type SignedIn,
} from '../../src/oauth/authorize-decision.js';
import type { Prompt } from '../../src/oauth/oidc/request.js';
import { app, sampleApi, sampleTarget, TENANT, user } from './fixtures.js';

const ISSUER = 'https://clavis.example';

/** An in-memory store that records what the decision asked of it. */
function fakeStore(consented: string[] | null = null) {
  const issued: NewCode[] = [];
  const remembered: Array<{ userId: string; appId: string; scopes: string[] }> = [];
  const store: AuthorizeStore = {
    consentedScopes: async () => consented,
    rememberConsent: async (userId, appId, scopes) => {
      remembered.push({ userId, appId, scopes });
    },
    issueCode: async (input) => {
      issued.push(input);
      return `code-${issued.length}`;
    },
    scopeDescriptions: async (names) =>
      new Map(names.filter((n) => n === 'contacts:read').map((n) => [n, 'See your contacts'])),
    tenantName: async (id) => (id === TENANT.id ? TENANT.name : 'Other'),
  };
  const deps: AuthorizeDeps = { store, issuer: ISSUER };
  return { deps, issued, remembered };
}

function request(overrides: Partial<AuthorizationRequest> & { prompt?: Prompt } = {}): AuthorizationRequest {
  const { prompt, ...rest } = overrides;
  return {
    oidc: {
      openid: false,
      prompts: new Set(prompt ? [prompt] : []),
      maxAge: null,
      nonce: null,
      loginHint: null,
      idTokenHint: null,
      acr: null,
    },
    app: app(),
    tenant: TENANT,
    redirectUri: 'https://app.example/cb',
    state: 'st',
    scope: ['contacts:read', 'profile:read'],
    target: sampleTarget(),
    codeChallenge: null,
    raw: 'client_id=client-1&prompt=login&state=st',
    ...rest,
  };
}

const signedIn = (overrides = {}): SignedIn => ({ user: user(overrides), authTime: 1_000 });

function location(outcome: { kind: string; location?: string }): URL {
  if (outcome.kind !== 'redirect' || !outcome.location)
    throw new Error(`expected a redirect, got ${outcome.kind}`);
  const url = new URL(outcome.location);
  expect(`${url.origin}${url.pathname}`).toBe('https://app.example/cb');
  expect(url.searchParams.get('iss')).toBe(ISSUER);
  return url;
}

describe('decideAuthorization', () => {
  it('asks a signed-out user to sign in, returning to the same request', async () => {
    const { deps } = fakeStore();
    const outcome = await decideAuthorization(deps, request({ raw: 'client_id=client-1&x=1' }), null);
    expect(outcome).toEqual({ kind: 'login', returnTo: '/oauth/authorize?client_id=client-1&x=1' });
  });

  it('honours prompt=login once: sign-in even with a session, returning without the prompt', async () => {
    const { deps, issued } = fakeStore(['contacts:read', 'profile:read']);
    const outcome = await decideAuthorization(deps, request({ prompt: 'login' }), signedIn());
    expect(outcome).toEqual({ kind: 'login', returnTo: '/oauth/authorize?client_id=client-1&state=st' });
    expect(issued).toHaveLength(0);
  });

  it('answers prompt=none without a session with login_required, never a page', async () => {
    const { deps } = fakeStore();
    const url = location(await decideAuthorization(deps, request({ prompt: 'none' }), null));
    expect(url.searchParams.get('error')).toBe('login_required');
    expect(url.searchParams.get('state')).toBe('st');
  });

  it('tells a user who may not authorize the app why, linking back with access_denied', async () => {
    const { deps, issued } = fakeStore(['contacts:read', 'profile:read']);
    const outcome = await decideAuthorization(deps, request(), signedIn({ tenant_id: 'elsewhere' }));
    expect(outcome).toMatchObject({ kind: 'page', status: 403, title: 'You can’t use this app' });
    if (outcome.kind !== 'page') throw new Error('unreachable');
    expect(outcome.message).toContain('private to another organisation');
    expect(outcome.link.label).toBe('Return to Contacts Sync');
    expect(new URL(outcome.link.href).searchParams.get('error')).toBe('access_denied');
    expect(issued).toHaveLength(0);
  });

  it('sends the refusal straight back for prompt=none', async () => {
    const { deps } = fakeStore();
    const outcome = await decideAuthorization(
      deps,
      request({ prompt: 'none' }),
      signedIn({ disabled_at: 5 }),
    );
    expect(location(outcome).searchParams.get('error')).toBe('access_denied');
  });

  it('skips consent a confidential client already has, issuing a code for the signed-in user', async () => {
    const { deps, issued } = fakeStore(['contacts:read', 'profile:read', 'contacts:write']);
    const req = request({ prompt: undefined, codeChallenge: 'ch' });
    const url = location(await decideAuthorization(deps, req, signedIn()));
    expect(url.searchParams.get('code')).toBe('code-1');
    expect(url.searchParams.get('state')).toBe('st');
    expect(issued).toEqual([
      {
        app: req.app,
        user: user(),
        scope: req.scope,
        apiId: null,
        redirectUri: req.redirectUri,
        codeChallenge: 'ch',
        authTime: 1_000,
      },
    ]);
  });

  it('asks again when the remembered consent does not cover the request', async () => {
    const { deps, issued } = fakeStore(['contacts:read']);
    const outcome = await decideAuthorization(deps, request({ prompt: undefined }), signedIn());
    expect(outcome.kind).toBe('consent');
    expect(issued).toHaveLength(0);
  });

  it('never remembers consent for a public client, and prompt=consent always asks', async () => {
    const covered = ['contacts:read', 'profile:read'];
    const pub = fakeStore(covered);
    const req = request({ app: app({ client_type: 'public' }), prompt: undefined });
    expect((await decideAuthorization(pub.deps, req, signedIn())).kind).toBe('consent');
    const conf = fakeStore(covered);
    expect((await decideAuthorization(conf.deps, request({ prompt: 'consent' }), signedIn())).kind).toBe(
      'consent',
    );
    expect([...pub.issued, ...conf.issued]).toHaveLength(0);
  });

  it('answers prompt=none with consent_required when consent would be asked', async () => {
    const { deps } = fakeStore(null);
    const url = location(await decideAuthorization(deps, request({ prompt: 'none' }), signedIn()));
    expect(url.searchParams.get('error')).toBe('consent_required');
  });

  it("describes each scope with its API's description, grouped by API (its name when it has none)", async () => {
    const { deps } = fakeStore(null);
    const api = sampleApi();
    api.scopes = api.scopes.map((s) => (s.name === 'profile:read' ? { ...s, description: '' } : s));
    const outcome = await decideAuthorization(
      deps,
      request({ prompt: undefined, target: sampleTarget(api) }),
      signedIn(),
    );
    const scopes = [
      { name: 'contacts:read', description: 'See your contacts' },
      { name: 'profile:read', description: 'profile:read' },
    ];
    expect(outcome).toEqual({
      kind: 'consent',
      user: user(),
      scopes,
      groups: [{ api: { id: api.id, name: api.name, identifier: api.identifier }, scopes }],
      tenantName: 'Acme',
    });
  });

  it('remembers and issues only the scopes the user ticked', async () => {
    const { deps, issued, remembered } = fakeStore();
    await decideConsent(deps, request(), signedIn(), 'allow', new Set(['profile:read']));
    expect(issued[0]?.scope).toEqual(['profile:read']);
    expect(remembered[0]?.scopes).toEqual(['profile:read']);
  });
});

describe('decideConsent', () => {
  it('maps anything but allow to access_denied', async () => {
    for (const decision of ['deny', undefined, 'ALLOW']) {
      const { deps, issued, remembered } = fakeStore();
      const url = location(await decideConsent(deps, request(), signedIn(), decision));
      expect(url.searchParams.get('error')).toBe('access_denied');
      expect(url.searchParams.get('error_description')).toBe('The user denied the request.');
      expect([...issued, ...remembered]).toHaveLength(0);
    }
  });

  it('refuses a user who may not authorize the app even when they allow', async () => {
    const { deps, issued } = fakeStore();
    const url = location(await decideConsent(deps, request(), signedIn({ disabled_at: 1 }), 'allow'));
    expect(url.searchParams.get('error_description')).toBe('The user may not authorize this app.');
    expect(issued).toHaveLength(0);
  });

  it('issues a code and remembers a confidential client’s consent', async () => {
    const { deps, issued, remembered } = fakeStore();
    const url = location(await decideConsent(deps, request(), signedIn(), 'allow'));
    expect(url.searchParams.get('code')).toBe('code-1');
    expect(issued).toHaveLength(1);
    expect(remembered).toEqual([
      { userId: 'user-1', appId: 'app-1', scopes: ['contacts:read', 'profile:read'] },
    ]);
  });

  it('issues a code to a public client without remembering consent', async () => {
    const { deps, issued, remembered } = fakeStore();
    const req = request({ app: app({ client_type: 'public' }) });
    expect(location(await decideConsent(deps, req, signedIn(), 'allow')).searchParams.get('code')).toBe(
      'code-1',
    );
    expect(issued).toHaveLength(1);
    expect(remembered).toHaveLength(0);
  });
});
