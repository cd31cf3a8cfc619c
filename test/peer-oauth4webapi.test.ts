import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, startTestServer, type TestServer } from './helpers/server.js';

/**
 * oauth4webapi is an independent, strict client (panva): if Clavis bends an RFC, it refuses the response.
 */
let ts: TestServer;
let as: oauth.AuthorizationServer;
let client: oauth.Client;
let clientAuth: oauth.ClientAuth;
const opts = { [oauth.allowInsecureRequests]: true } as const;

beforeAll(async () => {
  ts = await startTestServer();
  const issuer = new URL(ts.url);
  as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { ...opts, algorithm: 'oauth2' }),
  );
  const { app, secret } = await createTestApp(ts);
  client = { client_id: app.client_id };
  clientAuth = oauth.ClientSecretBasic(secret!);
});
afterAll(async () => ts?.close());

async function getToken(auth = clientAuth, scope?: string) {
  const res = await oauth.clientCredentialsGrantRequest(as, client, auth, scope ? { scope } : {}, opts);
  return oauth.processClientCredentialsResponse(as, client, res);
}

describe('oauth4webapi against Clavis', () => {
  it('discovers RFC 8414 metadata (and the OIDC document repeats every OAuth field)', async () => {
    expect(as.issuer).toBe(ts.url);
    expect(as.token_endpoint).toBe(`${ts.url}/oauth/token`);
    expect(as.grant_types_supported).toContain('client_credentials');
    expect(as.grant_types_supported).not.toContain('password');
    expect(as.grant_types_supported).not.toContain('implicit');
    const oidc = await oauth.processDiscoveryResponse(
      new URL(ts.url),
      await oauth.discoveryRequest(new URL(ts.url), { ...opts, algorithm: 'oidc' }),
    );
    // OpenID Connect Discovery: the RFC 8414 fields, the same, plus the OpenID Provider ones.
    expect(oidc).toMatchObject(as as Record<string, unknown>);
    expect(oidc.userinfo_endpoint).toBe(`${ts.url}/oauth/userinfo`);
  });

  it('gets a token with client_secret_basic and client_secret_post', async () => {
    const basic = await getToken();
    expect(basic.token_type).toBe('bearer');
    expect(basic.expires_in).toBe(3600);
    const { app, secret } = await createTestApp(ts);
    const res = await oauth.clientCredentialsGrantRequest(
      as,
      { client_id: app.client_id },
      oauth.ClientSecretPost(secret!),
      {},
      opts,
    );
    const post = await oauth.processClientCredentialsResponse(as, { client_id: app.client_id }, res);
    expect(post.access_token).toBeTruthy();
  });

  it('surfaces invalid_client with a Basic challenge (RFC 6749 §5.2)', async () => {
    const err = await getToken(oauth.ClientSecretBasic('wrong')).catch((e) => e);
    expect(err).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    expect(err.status).toBe(401);
    expect(err.cause[0].scheme).toBe('basic');
    expect(await err.response.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('validates the access token as an RFC 9068 resource server would', async () => {
    const { access_token } = await getToken(clientAuth, 'contacts:read contacts:write');
    const request = new Request(`${ts.url}/api/v1/me`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    const claims = await oauth.validateJwtAccessToken(as, request, `${ts.url}/api`, opts);
    expect(claims).toMatchObject({
      iss: ts.url,
      client_id: client.client_id,
      scope: 'contacts:read contacts:write',
    });
  });

  it('introspects and revokes', async () => {
    const { access_token } = await getToken();
    const active = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, clientAuth, access_token, opts),
    );
    expect(active.active).toBe(true);
    expect(active.client_id).toBe(client.client_id);
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, clientAuth, access_token, opts),
    );
    const after = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, clientAuth, access_token, opts),
    );
    expect(after.active).toBe(false);
  });
});
