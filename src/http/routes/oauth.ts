import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ClientAuthThrottle, ClientAuthThrottled } from '../../oauth/client-auth-throttle.js';
import { handleDeviceAuthorization } from '../../oauth/device-authorization.js';
import { InvalidRequest } from '../../oauth/errors.js';
import { type Params, parseParams } from '../../oauth/form.js';
import { introspect } from '../../oauth/introspection.js';
import { revoke } from '../../oauth/revocation.js';
import { handleTokenRequest } from '../../oauth/token-endpoint.js';
import type { Services } from '../../services.js';
import { allowClientOrigin, answerPreflight } from '../cors.js';
import type { Metrics } from '../metrics.js';
import { sendMethodNotAllowed, sendNoStore } from '../oauth-reply.js';

/** Form bodies on the protocol endpoints are small; anything larger is refused with a 413. */
const BODY_LIMIT = 16 * 1024;

/**
 * Reads the form parameters of a protocol POST. RFC 6749 §3.2 requires
 * `application/x-www-form-urlencoded`; parameters in the query string are refused so credentials never
 * travel in URLs.
 */
export function formParams(request: FastifyRequest): Params {
  const type = String(request.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (request.body !== undefined && request.body !== null && type !== 'application/x-www-form-urlencoded')
    throw new InvalidRequest('The request body must be application/x-www-form-urlencoded.');
  // Percent-encoded bytes are read as UTF-8 (RFC 6749 Appendix B); a body declared in another charset would
  // be misread, so it is refused rather than guessed at.
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(String(request.headers['content-type'] ?? ''))?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset))
    throw new InvalidRequest('Form parameters must be UTF-8 encoded (charset=utf-8, or no charset).');
  if (request.url.includes('?'))
    throw new InvalidRequest('Send parameters in the form-encoded request body, not in the URL.');
  const body = typeof request.body === 'string' ? request.body : '';
  if (body === '' && type !== 'application/x-www-form-urlencoded')
    throw new InvalidRequest('The request body must be application/x-www-form-urlencoded.');
  return parseParams(body);
}

function methodNotAllowed(_req: FastifyRequest, reply: FastifyReply) {
  return sendMethodNotAllowed(reply, 'POST');
}

export async function oauthRoutes(app: FastifyInstance, services: Services, metrics: Metrics): Promise<void> {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: BODY_LIMIT },
    (_req, body, done) => done(null, body),
  );

  // Failed client authentication is counted per node, in memory, across the three endpoints.
  const throttle = new ClientAuthThrottle(undefined, services.ctx.now);
  const guard = (request: FastifyRequest) => ({ throttle, source: request.ip });
  const counted = (err: unknown): never => {
    if (err instanceof ClientAuthThrottled) metrics.clientAuthThrottled.inc({ reason: err.reason });
    throw err;
  };

  const device = services.features.deviceAuthorization;
  const endpoints = ['/oauth/token', '/oauth/introspect', '/oauth/revoke'];
  if (device) endpoints.push('/oauth/device_authorization');
  for (const url of endpoints)
    app.route({ method: ['GET', 'PUT', 'DELETE', 'PATCH'], url, handler: methodNotAllowed });
  // Pages (single-page apps, public clients) call all but introspection: see cors.ts.
  for (const url of endpoints)
    app.options(url, async (request, reply) =>
      url !== '/oauth/introspect' && (await answerPreflight(services, request, reply, 'POST'))
        ? reply
        : methodNotAllowed(request, reply),
    );
  /** The client a page's request names: a public client sends its client_id in the body, never a secret. */
  const pageClient = (request: FastifyRequest, params: Params) =>
    request.headers.authorization === undefined ? params.get('client_id') : undefined;

  app.post('/oauth/token', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    const params = formParams(request);
    if (request.headers.origin !== undefined)
      await allowClientOrigin(services, request, reply, pageClient(request, params));
    try {
      const response = await handleTokenRequest(
        services,
        request.headers.authorization,
        params,
        guard(request),
      );
      metrics.tokensIssued.inc({ grant_type: params.get('grant_type') ?? '' });
      return sendNoStore(reply, response);
    } catch (err) {
      metrics.tokenErrors.inc({ error: (err as { error?: string }).error ?? 'server_error' });
      return counted(err);
    }
  });

  // RFC 8628 §3.1: the device authorization endpoint, with the token endpoint's client authentication.
  if (device)
    app.post('/oauth/device_authorization', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
      const params = formParams(request);
      if (request.headers.origin !== undefined)
        await allowClientOrigin(services, request, reply, pageClient(request, params));
      const answer = await handleDeviceAuthorization(
        services,
        request.headers.authorization,
        params,
        guard(request),
      ).catch(counted);
      return sendNoStore(reply, answer);
    });

  app.post('/oauth/introspect', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    const params = formParams(request);
    const answer = await introspect(services, request.headers.authorization, params, guard(request)).catch(
      counted,
    );
    return sendNoStore(reply, answer);
  });

  app.post('/oauth/revoke', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    const params = formParams(request);
    if (request.headers.origin !== undefined)
      await allowClientOrigin(services, request, reply, pageClient(request, params));
    await revoke(services, request.headers.authorization, params, guard(request)).catch(counted);
    return reply.code(200).header('cache-control', 'no-store').send();
  });
}
