import type { FastifyInstance } from 'fastify';
import { requireUser, verifyCsrf } from '../../auth/session.js';
import { listConnectedApps, revokeAppAccess } from '../../domain/grants.js';
import { listScopes } from '../../domain/scopes.js';
import { parseParams } from '../../oauth/form.js';
import type { Services } from '../../services.js';
import { ConnectedAppsPage, MessagePage } from '../../web/pages.js';
import { sendPage } from '../../web/render.js';

export const CONNECTED_APPS_PATH = '/account/connected-apps';

/** A user's view of the apps they authorized, with a revoke button each (POST + CSRF, then 303). */
export async function connectedAppsRoutes(app: FastifyInstance, services: Services): Promise<void> {
  app.get(CONNECTED_APPS_PATH, async (request, reply) => {
    const session = await requireUser(services, request, reply);
    if (!session) return reply;
    const q = request.query as Record<string, unknown>;
    const apps = await listConnectedApps(services.ctx, session.user.id);
    const scopeText = Object.fromEntries(
      (await listScopes(services.ctx)).map((s) => [s.name, s.description]),
    );
    return sendPage(
      reply,
      200,
      ConnectedAppsPage({
        csrf: session.csrf,
        user: session.user,
        apps,
        scopeText,
        notice: q.revoked === '1' ? 'Access revoked. The app can no longer use your account.' : undefined,
      }),
    );
  });

  app.post(`${CONNECTED_APPS_PATH}/revoke`, async (request, reply) => {
    const session = await requireUser(services, request, reply);
    if (!session) return reply;
    let appId: string | undefined;
    let csrf: string | undefined;
    try {
      const form = parseParams(typeof request.body === 'string' ? request.body : '');
      appId = form.get('app_id');
      csrf = form.get('csrf');
    } catch {}
    if (!(await verifyCsrf(services, request, csrf)))
      return sendPage(
        reply,
        403,
        MessagePage({
          title: 'Form expired',
          message: 'This form is out of date. Reload the page and try again.',
        }),
      );
    if (appId) await revokeAppAccess(services.ctx, session.user.id, appId);
    return reply
      .code(303)
      .header('location', `${CONNECTED_APPS_PATH}?revoked=1`)
      .header('cache-control', 'no-store')
      .send();
  });
}
