import type { FastifyInstance, FastifyReply } from 'fastify';
import { requireUser, verifyCsrf } from '../../auth/session.js';
import { findApiById } from '../../domain/apis.js';
import { listConnectedApps, revokeAppAccess } from '../../domain/grants.js';
import { listScopes } from '../../domain/scopes.js';
import { parseParams } from '../../oauth/form.js';
import type { Services } from '../../services.js';
import { ConnectedAppsPage, MessagePage } from '../../web/pages.js';
import { sendPage } from '../../web/render.js';

export const CONNECTED_APPS_PATH = '/account/connected-apps';

/**
 * A user's view of the apps they authorized, with a revoke button each: it asks for confirmation first
 * (`?confirm=<app_id>`), then revokes (POST + CSRF, then 303).
 */
export async function connectedAppsRoutes(app: FastifyInstance, services: Services): Promise<void> {
  app.get(CONNECTED_APPS_PATH, async (request, reply) => {
    const session = await requireUser(services, request, reply);
    if (!session) return reply;
    const q = request.query as Record<string, unknown>;
    const apps = await listConnectedApps(services.ctx, session.user.id);
    const scopeText: Record<string, string> = Object.fromEntries(
      (await listScopes(services.ctx)).map((s) => [s.name, s.description]),
    );
    // A custom API's scopes are remembered as `<api id>#<scope>`: describe them with the API's own words.
    const apiIds = new Set(
      apps.flatMap((a) => a.scopes).flatMap((s) => (s.includes('#') ? [s.slice(0, s.indexOf('#'))] : [])),
    );
    for (const id of apiIds) {
      const api = await findApiById(services.ctx, id);
      if (api)
        for (const sc of api.scopes)
          scopeText[`${id}#${sc.name}`] = `${sc.description || sc.name} (${api.name})`;
    }
    return sendPage(
      reply,
      200,
      ConnectedAppsPage({
        csrf: session.csrf,
        user: session.user,
        apps,
        scopeText,
        notice: q.revoked === '1' ? 'Access revoked. The app can no longer use your account.' : undefined,
        confirm: typeof q.confirm === 'string' ? q.confirm : undefined,
      }),
    );
  });

  app.post(`${CONNECTED_APPS_PATH}/revoke`, async (request, reply) => {
    const session = await requireUser(services, request, reply);
    if (!session) return reply;
    let appId: string | undefined;
    let csrf: string | undefined;
    let confirmed = false;
    try {
      const form = parseParams(typeof request.body === 'string' ? request.body : '');
      appId = form.get('app_id');
      csrf = form.get('csrf');
      confirmed = form.get('confirm') === 'yes';
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
    // Only the confirmation's form says yes; any other post is sent to the confirmation first.
    if (appId && !confirmed)
      return seeOther(reply, `${CONNECTED_APPS_PATH}?confirm=${encodeURIComponent(appId)}`);
    // The app's sessions for this user end too: back-channel logouts are queued with the revocation.
    if (appId) await revokeAppAccess(services.ctx, session.user.id, appId);
    return seeOther(reply, `${CONNECTED_APPS_PATH}?revoked=1`);
  });
}

function seeOther(reply: FastifyReply, location: string): FastifyReply {
  return reply.code(303).header('location', location).header('cache-control', 'no-store').send();
}
