/**
 * The OpenAPI description of the OAuth 2.0 endpoints and the protected sample API (`/api/v1/me`,
 * `/api/v1/contacts`). Documentation only: those routes are registered outside the management API with
 * no schema, so that adding a description here changes neither their validation nor their serialization
 * (the token endpoint's hot path stays as it is). {@link withOAuthPaths} merges it into the document.
 */

export const OAUTH_TAG = 'OAuth 2.0';
export const RESOURCE_TAG = 'protected API';

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const oauthError = (description: string) => json(ref('OAuthError'), description);

/**
 * Client authentication (RFC 6749 §2.3.1): HTTP Basic, or (the empty requirement) `client_id` and
 * `client_secret` in the form body, which OpenAPI cannot name as a security scheme.
 */
const CLIENT_AUTH = [{ clientSecretBasic: [] }, {}];

const form = (properties: Json, required: string[]) => ({
  required: true,
  content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', properties, required } } },
});

const CLIENT_POST_FIELDS = {
  client_id: {
    type: 'string',
    description: 'With client_secret_post, or beside HTTP Basic naming the same client.',
  },
  client_secret: { type: 'string', description: 'client_secret_post only; never together with HTTP Basic.' },
};

const schemas: Json = {
  OAuthError: {
    type: 'object',
    description: 'An RFC 6749 §5.2 error body, sent with `Cache-Control: no-store`.',
    required: ['error'],
    properties: {
      error: {
        type: 'string',
        examples: [
          'invalid_request',
          'invalid_client',
          'invalid_grant',
          'unauthorized_client',
          'invalid_scope',
        ],
      },
      error_description: { type: 'string' },
    },
  },
  TokenResponse: {
    type: 'object',
    description: 'RFC 6749 §5.1. The access token is a JWT per RFC 9068 (`typ: at+jwt`).',
    required: ['access_token', 'token_type', 'expires_in'],
    properties: {
      access_token: { type: 'string' },
      token_type: { type: 'string', const: 'Bearer' },
      expires_in: { type: 'integer', description: 'Seconds until the access token expires.' },
      scope: { type: 'string', description: 'The granted scopes, space-separated.' },
      refresh_token: { type: 'string', description: 'Authorization code and refresh token grants only.' },
    },
  },
  IntrospectionResponse: {
    type: 'object',
    description: 'RFC 7662 §2.2. An inactive, unknown or revoked token is just `{"active": false}`.',
    required: ['active'],
    properties: {
      active: { type: 'boolean' },
      scope: { type: 'string' },
      client_id: { type: 'string' },
      sub: { type: 'string' },
      aud: { type: 'string' },
      iss: { type: 'string' },
      exp: { type: 'integer' },
      iat: { type: 'integer' },
      jti: { type: 'string' },
      token_type: { type: 'string' },
    },
  },
  AuthorizationServerMetadata: {
    type: 'object',
    description: 'RFC 8414 §2: the endpoints, grants, scopes and client authentication methods.',
    required: ['issuer', 'token_endpoint', 'jwks_uri'],
    properties: {
      issuer: { type: 'string' },
      authorization_endpoint: { type: 'string' },
      token_endpoint: { type: 'string' },
      jwks_uri: { type: 'string' },
      revocation_endpoint: { type: 'string' },
      introspection_endpoint: { type: 'string' },
      scopes_supported: { type: 'array', items: { type: 'string' } },
      grant_types_supported: { type: 'array', items: { type: 'string' } },
      token_endpoint_auth_methods_supported: { type: 'array', items: { type: 'string' } },
    },
    additionalProperties: true,
  },
  JwkSet: {
    type: 'object',
    description: 'RFC 7517 §5: the public keys that verify access tokens, selected by the JWT header `kid`.',
    required: ['keys'],
    properties: { keys: { type: 'array', items: { type: 'object', additionalProperties: true } } },
  },
  Me: {
    type: 'object',
    description: 'Who the access token speaks for.',
    required: ['sub', 'client_id', 'tenant_id', 'scopes', 'token_expires_at'],
    properties: {
      sub: { type: 'string', description: 'The user, or the client_id for the client credentials grant.' },
      client_id: { type: 'string' },
      tenant_id: { type: 'string' },
      scopes: { type: 'array', items: { type: 'string' } },
      token_expires_at: { type: 'integer', description: 'The token `exp` (seconds since the epoch).' },
    },
  },
};

const securitySchemes: Json = {
  clientSecretBasic: {
    type: 'http',
    scheme: 'basic',
    description: 'client_secret_basic: the client_id and secret as HTTP Basic credentials (RFC 6749 §2.3.1).',
  },
};

const discovery = (operationId: string, summary: string) => ({
  get: {
    tags: [OAUTH_TAG],
    operationId,
    summary,
    security: [],
    responses: { 200: json(ref('AuthorizationServerMetadata'), 'The metadata document.') },
  },
});

const BEARER_ERRORS = {
  401: { description: 'No valid access token; `WWW-Authenticate: Bearer` says why (RFC 6750 §3).' },
  403: { description: 'The token lacks the needed scope (`insufficient_scope`, RFC 6750 §3.1).' },
};

const paths: Json = {
  '/oauth/token': {
    post: {
      tags: [OAUTH_TAG],
      operationId: 'oauthToken',
      summary: 'Get an access token',
      description:
        'RFC 6749 §3.2. `client_credentials`, and `authorization_code` (with PKCE) and `refresh_token` when the authorization endpoint is enabled. Confidential clients authenticate with one method per request.',
      security: CLIENT_AUTH,
      requestBody: form(
        {
          grant_type: {
            type: 'string',
            enum: [
              'client_credentials',
              'authorization_code',
              'refresh_token',
              'urn:ietf:params:oauth:grant-type:device_code',
            ],
            description: "Refused with unauthorized_client unless it is among the app's grant_types.",
          },
          scope: { type: 'string', description: 'Space-separated; omitted means the app default scopes.' },
          resource: { type: 'string', description: 'RFC 8707: only the Clavis API audience is accepted.' },
          code: { type: 'string', description: 'authorization_code only.' },
          redirect_uri: { type: 'string', description: 'authorization_code only: the one from the request.' },
          code_verifier: {
            type: 'string',
            description: 'authorization_code only: the PKCE verifier (RFC 7636).',
          },
          refresh_token: { type: 'string', description: 'refresh_token only. Each use rotates it.' },
          device_code: {
            type: 'string',
            description:
              'The device grant only (RFC 8628 §3.4): poll at the interval; authorization_pending, slow_down, access_denied or expired_token until the user allows it.',
          },
          ...CLIENT_POST_FIELDS,
        },
        ['grant_type'],
      ),
      responses: {
        200: json(ref('TokenResponse'), 'The token (never cached: `Cache-Control: no-store`).'),
        400: oauthError(
          'invalid_request, invalid_grant, invalid_scope, invalid_target, unauthorized_client, unsupported_grant_type; for the device grant also authorization_pending, slow_down (with the new `interval`), access_denied and expired_token.',
        ),
        401: oauthError('invalid_client: unknown client, wrong, revoked or expired secret.'),
      },
    },
  },
  '/oauth/authorize': {
    get: {
      tags: [OAUTH_TAG],
      operationId: 'oauthAuthorize',
      summary: 'Ask a user to authorize an app',
      description:
        'RFC 6749 §4.1, an HTML page for the browser: sign-in, then consent, then a redirect to the registered callback with `code` and `state`. PKCE with S256 is required (RFC 7636). Errors after the client and callback are known go back to the callback (§4.1.2.1).',
      security: [],
      parameters: [
        ['response_type', 'Always `code`.', true],
        ['client_id', "The app's client_id.", true],
        ['redirect_uri', 'Must equal the registered callback URL.', false],
        ['scope', 'Space-separated scopes.', false],
        ['state', 'Returned unchanged with the code.', false],
        ['code_challenge', 'BASE64URL(SHA-256(code_verifier)).', true],
        ['code_challenge_method', 'Always `S256`.', true],
        ['resource', 'RFC 8707: only the Clavis API audience.', false],
      ].map(([name, description, required]) => ({
        name,
        in: 'query',
        required,
        description,
        schema: { type: 'string' },
      })),
      responses: {
        200: { description: 'The sign-in or consent page (text/html).' },
        302: { description: 'Back to the callback URL with `code` and `state`, or with `error`.' },
        400: { description: 'An HTML error page: unknown client or callback, so no redirect is safe.' },
      },
    },
  },
  '/oauth/device_authorization': {
    post: {
      tags: [OAUTH_TAG],
      operationId: 'oauthDeviceAuthorization',
      summary: 'Start a device authorization',
      description:
        'RFC 8628 §3.1. For apps whose grant_types include the device grant. Client authentication as at the token endpoint (a public client sends client_id). The user enters the user_code at verification_uri (`/device`); meanwhile the device polls the token endpoint with the device_code.',
      security: CLIENT_AUTH,
      requestBody: form(
        {
          scope: { type: 'string', description: 'Space-separated; omitted means the app default scopes.' },
          resource: { type: 'string', description: 'RFC 8707: only the Clavis API audience is accepted.' },
          ...CLIENT_POST_FIELDS,
        },
        [],
      ),
      responses: {
        200: json(
          {
            type: 'object',
            required: ['device_code', 'user_code', 'verification_uri', 'expires_in'],
            properties: {
              device_code: { type: 'string' },
              user_code: { type: 'string', examples: ['BCDF-GHJK'] },
              verification_uri: { type: 'string' },
              verification_uri_complete: { type: 'string' },
              expires_in: { type: 'integer', examples: [600] },
              interval: { type: 'integer', examples: [5] },
            },
          },
          'RFC 8628 §3.2, with `Cache-Control: no-store`.',
        ),
        400: oauthError('invalid_request, invalid_scope, invalid_target, unauthorized_client.'),
        401: oauthError('invalid_client.'),
      },
    },
  },
  '/oauth/revoke': {
    post: {
      tags: [OAUTH_TAG],
      operationId: 'oauthRevoke',
      summary: 'Revoke a token',
      description:
        'RFC 7009. An access token is denied until it expires; a refresh token ends its whole grant. A token of another client, or an unknown one, is left alone and the answer is still 200 (§2.2).',
      security: CLIENT_AUTH,
      requestBody: form(
        {
          token: { type: 'string' },
          token_type_hint: { type: 'string', enum: ['access_token', 'refresh_token'] },
          ...CLIENT_POST_FIELDS,
        },
        ['token'],
      ),
      responses: {
        200: { description: 'Revoked, or nothing to revoke (empty body).' },
        400: oauthError('invalid_request: no token.'),
        401: oauthError('invalid_client.'),
      },
    },
  },
  '/oauth/introspect': {
    post: {
      tags: [OAUTH_TAG],
      operationId: 'oauthIntrospect',
      summary: 'Introspect a token',
      description: 'RFC 7662. Client authentication is required.',
      security: CLIENT_AUTH,
      requestBody: form(
        {
          token: { type: 'string' },
          token_type_hint: { type: 'string', enum: ['access_token', 'refresh_token'] },
          ...CLIENT_POST_FIELDS,
        },
        ['token'],
      ),
      responses: {
        200: json(ref('IntrospectionResponse'), 'Whether the token is active, and its claims if so.'),
        400: oauthError('invalid_request: no token.'),
        401: oauthError('invalid_client.'),
      },
    },
  },
  '/.well-known/oauth-authorization-server': discovery(
    'oauthAuthorizationServerMetadata',
    'Authorization server metadata (RFC 8414)',
  ),
  '/.well-known/openid-configuration': discovery(
    'openidConfiguration',
    'The same metadata at the OpenID Connect discovery path',
  ),
  '/.well-known/jwks.json': {
    get: {
      tags: [OAUTH_TAG],
      operationId: 'jwks',
      summary: 'The signing keys (JWKS)',
      security: [],
      responses: {
        200: json(ref('JwkSet'), 'The published public keys, the current one and those still in use.'),
      },
    },
  },
  '/api/v1/me': {
    get: {
      tags: [RESOURCE_TAG],
      operationId: 'getMe',
      summary: 'Who the access token speaks for',
      description:
        'A sample protected resource: any valid access token for the Clavis API audience, as `Authorization: Bearer` (RFC 6750 §2.1).',
      security: [{ bearer: [] }],
      responses: { 200: json(ref('Me'), 'The token subject, client, tenant and scopes.'), ...BEARER_ERRORS },
    },
  },
  '/api/v1/contacts': {
    get: {
      tags: [RESOURCE_TAG],
      operationId: 'listContacts',
      summary: 'Sample contacts',
      description: 'A sample protected resource that needs the `contacts:read` scope.',
      security: [{ bearer: [] }],
      responses: {
        200: json(
          {
            type: 'object',
            properties: {
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { id: { type: 'string' }, name: { type: 'string' }, email: { type: 'string' } },
                },
              },
            },
          },
          'The sample contacts.',
        ),
        ...BEARER_ERRORS,
      },
    },
  },
};

const tags = [
  {
    name: OAUTH_TAG,
    description:
      'The protocol endpoints (RFC 6749, 7009, 7662, 8414, 8628). Form-encoded requests, RFC 6749 §5.2 error bodies; not the management API.',
  },
  { name: RESOURCE_TAG, description: "Clavis's own sample resources, protected by its access tokens." },
];

interface OpenApiDoc {
  paths?: Json;
  tags?: unknown[];
  components?: { schemas?: Json; securitySchemes?: Json };
}

/**
 * The management API's document with the OAuth endpoints and the protected API added, as a new object
 * (the input, which @fastify/swagger caches, is left as it is).
 */
export function withOAuthPaths<T extends OpenApiDoc>(doc: T): T {
  return {
    ...doc,
    paths: { ...doc.paths, ...paths },
    tags: [...tags, ...(doc.tags ?? [])],
    components: {
      ...doc.components,
      schemas: { ...doc.components?.schemas, ...schemas },
      securitySchemes: { ...doc.components?.securitySchemes, ...securitySchemes },
    },
  };
}
