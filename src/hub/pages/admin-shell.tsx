import type { FastifyInstance } from 'fastify';
import type { ComponentChildren } from 'preact';
import type { Services } from '../../services.js';
import { type Hub, isAdmin, seeOther } from '../context.js';
import type { Refusal } from '../refusals.js';
import { hubPage, NoParams } from '../route.js';
import { Alert, Tabs } from '../ui/components.js';
import { HubPage } from '../ui/hub-page.js';

/** The admin area's frame (heading, section tabs, notice) and what its sections share. */

export function AdminShell(p: {
  hub: Hub;
  tab: string;
  title: string;
  notice?: string;
  children: ComponentChildren;
}) {
  const tabs = [
    ...(p.hub.actor.platformAdmin ? [{ href: '/admin/review', label: 'Review queue' }] : []),
    { href: '/admin/requests', label: 'App requests' },
    { href: '/admin/users', label: 'Users' },
    { href: '/admin/settings', label: 'Tenant settings' },
    { href: '/admin/webhooks', label: 'Webhooks' },
  ];
  return (
    <HubPage hub={p.hub} title={p.title} active="/admin">
      <div class="page-head">
        <div>
          <h1>Admin</h1>
          <p class="muted">
            {p.hub.tenant.name}
            {p.hub.actor.platformAdmin ? ' · platform administrator' : ''}
          </p>
        </div>
      </div>
      <Tabs tabs={tabs} current={p.tab} label="Admin sections" />
      {p.notice ? <Alert kind="ok">{p.notice}</Alert> : null}
      {p.children}
    </HubPage>
  );
}

const NOTICES: Record<string, string> = {
  approved: 'Approved. Users of every tenant can now authorize the app.',
  rejected: 'Rejected. The owner sees your reason on the app page.',
  fulfilled: 'The app was created. Its owner creates the client secret, so only they ever see it.',
  declined: 'The request was declined. The requester sees your reason.',
  saved: 'Settings saved.',
  'user-updated': 'User updated.',
};

/** The notice named by `?notice=`, if it is one of the admin area's. */
export function adminNotice(query: Readonly<Record<string, string | undefined>>): string | undefined {
  const n = query.notice;
  return n ? NOTICES[n] : undefined;
}

/** The role check of every admin route: tenant admins and platform admins only. */
export function adminsOnly(hub: Hub): Refusal | undefined {
  return isAdmin(hub) ? undefined : { message: 'Only admins of your tenant can open the admin area.' };
}

/** `/admin` opens the first section this admin has. */
export async function adminHomeRoute(app: FastifyInstance, services: Services): Promise<void> {
  hubPage(app, services, '/admin', { params: NoParams, deny: adminsOnly }, async ({ hub, reply }) =>
    seeOther(reply, hub.actor.platformAdmin ? '/admin/review' : '/admin/requests'),
  );
}
