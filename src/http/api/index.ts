import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.js';
import { adminRoutes } from './admin.js';
import { apiRoutes } from './apis.js';
import { appRoutes } from './apps.js';
import { CSRF_HEADER } from './auth.js';
import { type ApiInstance, authOnce } from './context.js';
import { credentialLeakRoutes } from './credential-leaks.js';
import { docsRoutes } from './docs.js';
import { ApiProblem } from './errors.js';
import { withOAuthPaths } from './oauth-openapi.js';
import { lazyOpenApiDocument } from './openapi-document.js';
import { requestAndAuditRoutes } from './requests.js';
import { OPTIONAL_BODY, Problem } from './schemas.js';
import { secretRoutes } from './secrets.js';
import { typeBoxValidator } from './validator.js';
import { webhookRoutes } from './webhooks.js';

export { registerApiSessionResolver, resolveApiActor } from './auth.js';

/**
 * The management REST API under `/api/v1`, its OpenAPI 3.1 document at `/api/openapi.json` and a docs
 * page at `/api/docs`. Everything lives in one encapsulated context, so its validator (strict TypeBox:
 * unknown fields and wrong types are 400s, never coerced or dropped) and the OpenAPI collection apply to
 * these routes only.
 */
export async function managementApiRoutes(app: FastifyInstance, services: Services): Promise<void> {
  await app.register(
    async (scoped) => {
      const api = scoped.withTypeProvider() as unknown as ApiInstance;
      api.setValidatorCompiler((route) => {
        const check = typeBoxValidator(route);
        // Action endpoints whose body is optional (secret create/refresh, fulfil) accept no body at all.
        if (route.httpPart === 'body' && (route.schema as Record<string, unknown>)[OPTIONAL_BODY] === true)
          return (value: unknown) =>
            value === undefined || value === null ? { value: undefined } : check(value);
        return check;
      });
      // JSON as usual, except that an empty body with a JSON content type counts as no body, as many
      // clients send `Content-Type: application/json` on body-less POSTs (submit, approve, ...).
      const jsonParser = api.getDefaultJsonParser('error', 'error');
      api.removeContentTypeParser('application/json');
      api.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
        if (String(body).trim() === '') return done(null, undefined);
        jsonParser(request, String(body), done);
      });
      api.addSchema(Problem);
      // Who is calling is settled before the body is validated: a request without valid credentials (or
      // CSRF token) gets its 401/403, not a 400 that describes the API's fields to an anonymous caller.
      // Public routes (leak reports) say so in their config and skip it.
      api.addHook('preValidation', async (request) => {
        if (request.url.startsWith('/api/v1/') && !request.routeOptions.config.publicRoute)
          await authOnce(services, request);
      });
      api.setErrorHandler((error, _request, reply) => {
        if (error instanceof ApiProblem) return error.send(reply);
        throw error; // the server's handler maps domain, validation and framework errors to problems
      });
      api.addHook('onSend', async (_request, reply, payload) => {
        // Responses may carry a secret value once: never let a cache keep them.
        reply.header('cache-control', 'no-store');
        return payload;
      });
      // The management API's routes, plus the OAuth endpoints and the protected API described statically.
      const openapi = lazyOpenApiDocument(
        api,
        {
          openapi: {
            openapi: '3.1.0',
            info: {
              title: 'Clavis API',
              version: '1',
              description:
                "The OAuth 2.0 endpoints (tag `OAuth 2.0`) and the management API: manage apps, client secrets, APIs and app permissions, users, tenant settings, app requests, webhooks and the audit log. Authenticate with a Clavis access token that holds `clavis:apps` (apps, secrets, app requests, audit) or `clavis:admin` (approvals, users, tenant settings, webhooks): a machine client gets one with the client_credentials grant. The hub's session cookie works too, with the CSRF token in the `x-csrf-token` header on unsafe methods. Errors are RFC 9457 problem+json. Secret values appear only in the response that creates them.",
            },
            servers: [{ url: services.config.issuer }],
            components: {
              securitySchemes: {
                bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
                clientCredentials: {
                  type: 'oauth2',
                  flows: {
                    clientCredentials: {
                      tokenUrl: `${services.config.issuer}/oauth/token`,
                      scopes: {
                        'clavis:apps': 'Manage apps and their client secrets',
                        'clavis:admin': 'Approvals, users and tenant settings',
                      },
                    },
                  },
                },
                session: {
                  type: 'apiKey',
                  in: 'header',
                  name: CSRF_HEADER,
                  description:
                    'The hub session cookie, with its CSRF token in this header on unsafe methods.',
                },
              },
            },
            security: [{ bearer: [] }, { clientCredentials: [] }, { session: [] }],
            tags: [
              {
                name: 'apps',
                description:
                  'Apps: three IDs — `id` (object ID, this API only), `client_id` (OAuth), `tenant_id`.',
              },
              { name: 'secrets', description: 'Client secrets. A value is returned once, when created.' },
              {
                name: 'apis',
                description:
                  'APIs (resource servers): the audiences tokens are issued for, with their scopes. Clients name one with `resource=` (RFC 8707).',
              },
              {
                name: 'permissions',
                description:
                  "Which scopes of which API an app holds: `granted`, or `pending` until a tenant admin's grant.",
              },
              { name: 'scopes' },
              { name: 'users' },
              { name: 'tenant' },
              { name: 'app requests' },
              { name: 'audit' },
              {
                name: 'webhooks',
                description:
                  'Signed webhooks (Standard Webhooks): endpoints per tenant, their signing secrets and delivery log. Tenant admins.',
              },
              {
                name: 'credential leaks',
                description: 'Public: report a leaked client secret (also from GitHub secret scanning).',
              },
            ],
          },
          refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
        },
        (document) => withOAuthPaths(document as Parameters<typeof withOAuthPaths>[0]),
      );
      docsRoutes(api, '/api/docs', openapi);
      api.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) =>
        reply.header('content-type', 'application/json; charset=utf-8').send(await openapi()),
      );
      await appRoutes(api, services);
      await secretRoutes(api, services);
      await apiRoutes(api, services);
      await adminRoutes(api, services);
      await requestAndAuditRoutes(api, services);
      await webhookRoutes(api, services);
      await credentialLeakRoutes(api, services);
    },
    { prefix: '/api' },
  );
}
