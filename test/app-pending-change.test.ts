import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type App,
  approveApp,
  getAppForActor,
  rejectApp,
  updateApp,
  withdrawPendingChange,
} from '../src/domain/apps.js';
import { listAuditEvents } from '../src/domain/audit.js';
import type { Actor } from '../src/domain/context.js';
import { exchange, getCode } from './helpers/flow.js';
import { adminActor, createTestApp, startTestServer, type TestServer } from './helpers/server.js';
import { createTenant, createUser, type TestUser } from './helpers/users.js';

/**
 * A change needing review on an approved public app waits as its pending change: the approved version stays
 * live for every tenant's users until a reviewer approves it; rejecting or withdrawing discards it.
 */
let ts: TestServer;
let admin: Actor;
let otherUser: TestUser;

beforeAll(async () => {
  ts = await startTestServer();
  admin = await adminActor(ts);
  otherUser = await createUser(ts, { tenantId: (await createTenant(ts, 'Elsewhere Inc')).id });
});
afterAll(async () => ts?.close());

const ctx = () => ts.server.services.ctx;
const types = async (appId: string) =>
  (await listAuditEvents(ctx(), { appId, limit: 100 })).items.map((e) => e.type);

async function approvedApp() {
  return createTestApp(
    ts,
    {
      name: 'Live app',
      visibility: 'public',
      callback_url: 'https://live.acme-corp.io/cb',
      scopes: ['profile:read'],
      default_scopes: ['profile:read'],
    },
    { status: 'approved' },
  );
}

/** Another tenant's user authorizes `scope` and the app redeems the code: the granted scope. */
async function grantedScope(app: App, secret: string | null, scope: string): Promise<string> {
  const { code, verifier } = await getCode(ts, app, otherUser, { scope });
  const res = await exchange(ts, app, secret, code, verifier);
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return (res.json as { scope: string }).scope;
}

describe('a change awaiting review on an approved public app', () => {
  it("keeps the approved version live for other tenants' users until it is approved", async () => {
    const { app, secret } = await approvedApp();
    const saved = await updateApp(ctx(), admin, app.id, {
      scopes: ['profile:read', 'contacts:read'],
      description: 'Now with contacts',
    });
    expect(saved.status).toBe('approved');
    expect(saved.scopes).toEqual(['profile:read']);
    expect(saved.description).toBe('Now with contacts'); // not reviewed: applies at once
    expect(saved.pending_change).toMatchObject({
      fields: ['scopes'],
      values: { scopes: ['profile:read', 'contacts:read'] },
      added_scopes: ['contacts:read'],
      requested_by: admin.id,
    });
    expect(await grantedScope(app, secret, 'profile:read')).toBe('profile:read');
    await expect(getCode(ts, app, otherUser, { scope: 'contacts:read' })).rejects.toThrow(/invalid_scope/);

    const approved = await approveApp(ctx(), admin, app.id);
    expect(approved.status).toBe('approved');
    expect(approved.scopes).toEqual(['profile:read', 'contacts:read']);
    expect(approved.default_scopes).toEqual(['profile:read']);
    expect(approved.pending_change).toBeNull();
    expect(await grantedScope(app, secret, 'contacts:read')).toBe('contacts:read');
    const t = await types(app.id);
    expect(t).toContain('app.review_required');
    expect(t).toContain('app.change_approved');
  });

  it('a second edit replaces the pending change; sending the live value back drops it', async () => {
    const { app } = await approvedApp();
    await updateApp(ctx(), admin, app.id, { name: 'First', callback_url: 'https://new.acme-corp.io/cb' });
    const second = await updateApp(ctx(), admin, app.id, { name: 'Second' });
    expect(second.pending_change?.fields).toEqual(['name', 'callback_url']);
    expect(second.pending_change?.values).toEqual({
      name: 'Second',
      callback_url: 'https://new.acme-corp.io/cb',
    });
    const back = await updateApp(ctx(), admin, app.id, {
      name: 'Live app',
      callback_url: 'https://live.acme-corp.io/cb',
    });
    expect(back.pending_change).toBeNull();
    expect(back.name).toBe('Live app');
    expect(await types(app.id)).toContain('app.change_withdrawn');
  });

  it('rejecting discards the change with the reason the owner sees; the app stays approved', async () => {
    const { app, secret } = await approvedApp();
    await updateApp(ctx(), admin, app.id, { scopes: ['profile:read', 'contacts:read'] });
    const rejected = await rejectApp(ctx(), admin, app.id, 'Contacts are not needed.');
    expect(rejected.status).toBe('approved');
    expect(rejected.scopes).toEqual(['profile:read']);
    expect(rejected.pending_change).toBeNull();
    expect(rejected.review_note).toBe('Contacts are not needed.');
    expect(await grantedScope(app, secret, 'profile:read')).toBe('profile:read');
    expect(await types(app.id)).toContain('app.change_rejected');
    // Nothing is pending any more: neither approval nor rejection applies.
    await expect(approveApp(ctx(), admin, app.id)).rejects.toMatchObject({ errorCode: 'app_not_in_review' });
  });

  it('withdrawing discards the change and records it; withdrawing nothing is a conflict', async () => {
    const { app } = await approvedApp();
    await updateApp(ctx(), admin, app.id, { name: 'Renamed' });
    const withdrawn = await withdrawPendingChange(ctx(), admin, app.id);
    expect(withdrawn.pending_change).toBeNull();
    expect(withdrawn.name).toBe('Live app');
    expect((await getAppForActor(ctx(), admin, app.id)).status).toBe('approved');
    expect(await types(app.id)).toContain('app.change_withdrawn');
    await expect(withdrawPendingChange(ctx(), admin, app.id)).rejects.toMatchObject({
      errorCode: 'app_no_pending_change',
    });
  });

  it('an app in review still goes back to draft (it is not live for other tenants yet)', async () => {
    const { app } = await createTestApp(
      ts,
      {
        visibility: 'public',
        callback_url: 'https://rev.acme-corp.io/cb',
        scopes: ['profile:read'],
        default_scopes: ['profile:read'],
      },
      { status: 'in_review' },
    );
    const saved = await updateApp(ctx(), admin, app.id, { name: 'Renamed in review' });
    expect(saved.status).toBe('draft');
    expect(saved.name).toBe('Renamed in review');
    expect(saved.pending_change).toBeNull();
  });
});

describe('OpenID Connect fields and grant types', () => {
  const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';

  it('new logout URIs and added grant types wait for review; the ID token algorithm and removals apply', async () => {
    const { app } = await approvedApp();
    const saved = await updateApp(ctx(), admin, app.id, {
      id_token_signed_response_alg: 'EdDSA',
      post_logout_redirect_uri: 'https://live.acme-corp.io/bye',
      backchannel_logout_uri: 'https://live.acme-corp.io/bc',
      grant_types: [...app.grant_types, DEVICE],
    });
    expect(saved).toMatchObject({
      status: 'approved',
      id_token_signed_response_alg: 'EdDSA',
      post_logout_redirect_uri: null,
      backchannel_logout_uri: null,
      grant_types: app.grant_types,
    });
    expect(saved.pending_change).toMatchObject({
      fields: ['grant_types', 'post_logout_redirect_uri', 'backchannel_logout_uri'],
      added_grant_types: [DEVICE],
    });
    const [review] = (await listAuditEvents(ctx(), { appId: app.id, limit: 100 })).items.filter(
      (e) => e.type === 'app.review_required',
    );
    expect(review!.data).toMatchObject({
      fields: ['grant_types', 'post_logout_redirect_uri', 'backchannel_logout_uri'],
      added_grant_types: [DEVICE],
      pending: true,
    });

    // Rejecting discards the change: the live values never moved.
    const rejected = await rejectApp(ctx(), admin, app.id, 'Not that endpoint');
    expect(rejected).toMatchObject({
      status: 'approved',
      pending_change: null,
      backchannel_logout_uri: null,
    });

    // Removing a grant type narrows: applies at once, nothing pending.
    const narrowed = await updateApp(ctx(), admin, app.id, { grant_types: ['authorization_code'] });
    expect(narrowed).toMatchObject({ grant_types: ['authorization_code'], pending_change: null });
  });

  it('on an app in review a new back-channel URI sends it back to draft, naming it', async () => {
    const { app } = await createTestApp(
      ts,
      {
        visibility: 'public',
        callback_url: 'https://rev-oidc.acme-corp.io/cb',
        scopes: ['profile:read'],
        default_scopes: ['profile:read'],
      },
      { status: 'in_review' },
    );
    const saved = await updateApp(ctx(), admin, app.id, {
      backchannel_logout_uri: 'https://rev-oidc.acme-corp.io/bc',
    });
    expect(saved.status).toBe('draft');
    expect(saved.backchannel_logout_uri).toBe('https://rev-oidc.acme-corp.io/bc');
    expect(saved.review_note).toContain('back-channel logout URI');
    // The signing algorithm alone does not.
    const { app: other } = await createTestApp(
      ts,
      {
        visibility: 'public',
        callback_url: 'https://rev-oidc.acme-corp.io/cb',
        scopes: ['profile:read'],
        default_scopes: ['profile:read'],
      },
      { status: 'in_review' },
    );
    expect((await updateApp(ctx(), admin, other.id, { id_token_signed_response_alg: 'ES256' })).status).toBe(
      'in_review',
    );
  });
});
