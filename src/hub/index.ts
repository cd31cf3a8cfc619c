import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { hubAssetRoutes } from '../web/assets/index.js';
import { registerBrowserErrorPages } from './error-pages.js';
import { adminRequestsRoutes } from './pages/admin-requests.js';
import { adminReviewRoutes } from './pages/admin-review.js';
import { adminSettingsRoutes } from './pages/admin-settings.js';
import { adminHomeRoute } from './pages/admin-shell.js';
import { adminUsersRoutes } from './pages/admin-users.js';
import { adminWebhooksRoutes } from './pages/admin-webhooks.js';
import { apisRoutes } from './pages/apis.js';
import { auditTabRoutes } from './pages/app-audit.js';
import { basicTabRoutes } from './pages/app-basic.js';
import { oauthTabRoutes } from './pages/app-oauth.js';
import { appsRoutes } from './pages/apps.js';
import { passwordResetRoutes } from './pages/password-reset.js';
import { signupRoutes } from './pages/signup.js';

/**
 * The developer hub at `/`: sign-up, apps, the app page's tabs and the admin area. Server-rendered pages
 * (preact, auto-escaped), one POST form per action with the session's CSRF token, and 303 after success.
 * Every action calls the same domain functions as the management API, with the same Actor.
 */
export async function hubRoutes(app: FastifyInstance, services: Services): Promise<void> {
  registerBrowserErrorPages(app);
  await hubAssetRoutes(app);
  await signupRoutes(app, services);
  await passwordResetRoutes(app, services);
  await appsRoutes(app, services);
  await basicTabRoutes(app, services);
  await oauthTabRoutes(app, services);
  await auditTabRoutes(app, services);
  await apisRoutes(app, services);
  await adminHomeRoute(app, services);
  await adminReviewRoutes(app, services);
  await adminRequestsRoutes(app, services);
  await adminSettingsRoutes(app, services);
  await adminUsersRoutes(app, services);
  await adminWebhooksRoutes(app, services);
}
