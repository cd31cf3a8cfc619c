import { Type } from '@sinclair/typebox';
import type { ComponentChildren } from 'preact';
import type { App } from '../../domain/apps.js';
import type { Hub } from '../context.js';
import { StatusBadge, Tabs, VisibilityBadge } from '../ui/components.js';
import { HubPage } from '../ui/hub-page.js';

/** Path parameters of the app page's routes (`/apps/:id/...`). */
export const AppParams = Type.Object({ id: Type.String() });
/** Path parameters of a client secret's routes (`/apps/:id/oauth/secrets/:sid/...`). */
export const AppSecretParams = Type.Object({ id: Type.String(), sid: Type.String() });

export const appPath = (app: Pick<App, 'id'>, tab: '' | 'oauth' | 'audit' = '') =>
  `/apps/${encodeURIComponent(app.id)}${tab ? `/${tab}` : ''}`;

/** The app page's frame: breadcrumb, name, badges and the three tabs. */
export function AppShell(p: {
  hub: Hub;
  app: App;
  tab: '' | 'oauth' | 'audit';
  title: string;
  children: ComponentChildren;
  /** A page that showed a one-time value replaces its URL (script) so reloading re-requests the plain tab. */
  replaceUrl?: string;
}) {
  const { app } = p;
  return (
    <HubPage hub={p.hub} title={`${p.title} · ${app.name}`} active="/apps">
      <div class="crumbs">
        <a href="/apps">Apps</a> / {app.name}
      </div>
      <div class="page-head" data-replace-url={p.replaceUrl}>
        <div>
          <h1>{app.name}</h1>
          <div class="status-line">
            <VisibilityBadge visibility={app.visibility} />
            <span class="badge badge-muted">
              {app.client_type === 'confidential' ? 'Confidential client' : 'Public client (PKCE)'}
            </span>
            <StatusBadge status={app.status} visibility={app.visibility} />
          </div>
        </div>
      </div>
      <Tabs
        label="App sections"
        current={appPath(app, p.tab)}
        tabs={[
          { href: appPath(app), label: 'Basic info' },
          { href: appPath(app, 'oauth'), label: 'OAuth & access scopes' },
          { href: appPath(app, 'audit'), label: 'Audit log' },
        ]}
      />
      {p.children}
    </HubPage>
  );
}
