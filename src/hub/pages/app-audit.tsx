import type { FastifyInstance } from 'fastify';
import { type App, getAppForActor } from '../../domain/apps.js';
import { type AuditEvent, listAuditEvents } from '../../domain/audit.js';
import type { DomainContext } from '../../domain/context.js';
import { LEAK_ACTORS } from '../../domain/credential-leaks.js';
import { userEmails } from '../../domain/display-names.js';
import type { Services } from '../../services.js';
import { sendPage } from '../../web/render.js';
import type { Hub } from '../context.js';
import { hubPage } from '../route.js';
import { DateText, Empty } from '../ui/components.js';
import { AppParams, AppShell, appPath } from './app-shell.js';

const WORDS: Record<string, string> = {
  'app.created': 'App registered',
  'app.updated': 'Settings changed',
  'app.deleted': 'App deleted',
  'app.submitted': 'Submitted for approval',
  'app.approved': 'Approved',
  'app.rejected': 'Rejected',
  'app.disabled': 'Disabled',
  'app.enabled': 'Enabled again',
  'app.review_required': 'A change needs review',
  'app.change_approved': 'Change approved',
  'app.change_rejected': 'Change rejected',
  'app.change_withdrawn': 'Change withdrawn',
  'secret.created': 'Client secret created',
  'secret.refreshed': 'Client secret refreshed',
  'secret.revoked': 'Client secret revoked',
  'secret.first_used': 'Client secret used for the first time',
  'secret.expired_use_attempt': 'Someone tried an expired client secret',
  'secret.leaked': 'Client secret reported leaked',
  'grant.revoked': 'A user revoked access',
  'device.approved': 'A user approved a device sign-in',
  'device.denied': 'A user denied a device sign-in',
  'backchannel_logout.delivered': 'Back-channel logout delivered',
  'backchannel_logout.failed': 'Back-channel logout could not be delivered',
  'app_request.fulfilled': 'Created from an app request',
  'app_permission.requested': 'API permission requested',
  'app_permission.granted': 'API permission granted (admin consent)',
  'app_permission.removed': 'API permission removed',
};

/** Why a permission was removed, when the API changed rather than the app. */
const REMOVED_BECAUSE: Record<string, string> = {
  api_deleted: '; the API was deleted',
  api_scope_removed: '; the scopes were removed from the API',
};

function detail(e: AuditEvent): string | null {
  const d = e.data;
  if (e.type.startsWith('app_permission.') && typeof d.identifier === 'string') {
    const scopes = Array.isArray(d.scopes) && d.scopes.length ? `: ${d.scopes.join(', ')}` : '';
    const why = typeof d.reason === 'string' ? (REMOVED_BECAUSE[d.reason] ?? '') : '';
    return `${d.identifier}${scopes}${why}`;
  }
  if (e.type === 'app.rejected' && typeof d.reason === 'string') return `Reason: ${d.reason}`;
  const added =
    Array.isArray(d.added_scopes) && d.added_scopes.length ? ` (added ${d.added_scopes.join(', ')})` : '';
  if (e.type === 'app.updated' && Array.isArray(d.fields)) return `Changed: ${d.fields.join(', ')}${added}`;
  if (e.type === 'app.review_required' && Array.isArray(d.fields))
    return d.pending === true
      ? `Changing ${d.fields.join(', ')}${added} waits for review; the approved version stays live`
      : `Needs review again after changing ${d.fields.join(', ')}${added}; back to Draft until approved`;
  if (e.type === 'app.change_rejected' && typeof d.reason === 'string') return `Reason: ${d.reason}`;
  if (e.type === 'secret.leaked') {
    const where = typeof d.url === 'string' && d.url ? ` at ${d.url}` : '';
    const done = d.action === 'revoked' ? 'revoked at once' : 'left working (tenant policy: notify only)';
    return `Secret ID ${e.secret_id} found${where}; ${done}`;
  }
  if (
    (e.type === 'app.change_approved' || e.type === 'app.change_withdrawn') &&
    Array.isArray(d.fields) &&
    d.fields.length
  )
    return `Fields: ${d.fields.join(', ')}`;
  if (e.secret_id) {
    const desc = typeof d.description === 'string' && d.description ? ` (${d.description})` : '';
    const replaced =
      Array.isArray(d.replaces) && d.replaces.length ? `; replaces ${d.replaces.join(', ')}` : '';
    return `Secret ID ${e.secret_id}${desc}${replaced}`;
  }
  return null;
}

/** Readable actors: `user:<id>` becomes the user's email (one query for the page), `client:<client_id>` this app or another API client. */
async function actorNames(
  ctx: DomainContext,
  app: Pick<App, 'client_id'>,
  events: AuditEvent[],
): Promise<Map<string, string>> {
  const ids = [
    ...new Set(
      events
        .map((e) => e.actor)
        .filter((a) => a.startsWith('user:'))
        .map((a) => a.slice(5)),
    ),
  ];
  const names = new Map<string, string>();
  for (const [id, email] of await userEmails(ctx, ids)) names.set(`user:${id}`, email);
  for (const e of events) {
    if (names.has(e.actor)) continue;
    if (e.actor.startsWith('client:')) {
      // A client acting with its own credentials (e.g. the first use of a secret) is this app itself.
      const clientId = e.actor.slice(7);
      names.set(
        e.actor,
        clientId === app.client_id
          ? `the app itself (client_id ${clientId})`
          : `an API client (client_id ${clientId})`,
      );
    } else if (e.actor === 'system') names.set(e.actor, 'Clavis');
    else if (e.actor === LEAK_ACTORS.report) names.set(e.actor, 'A leak report');
    else if (e.actor === LEAK_ACTORS.github) names.set(e.actor, 'GitHub secret scanning');
    else names.set(e.actor, e.actor.startsWith('user:') ? 'A deleted user' : e.actor);
  }
  return names;
}

function dotClass(type: string): string {
  if (type.startsWith('secret.')) return 'audit-dot dot-secret';
  if (
    type === 'app.rejected' ||
    type === 'app.deleted' ||
    type === 'app.disabled' ||
    type === 'app.review_required' ||
    type === 'app.change_rejected'
  )
    return 'audit-dot dot-danger';
  return 'audit-dot';
}

function AuditTab(p: {
  hub: Hub;
  app: App;
  events: AuditEvent[];
  names: Map<string, string>;
  next: string | null;
}) {
  const { app } = p;
  return (
    <AppShell hub={p.hub} app={app} tab="audit" title="Audit log">
      <section class="card" aria-labelledby="audit-title">
        <h2 id="audit-title">Audit log</h2>
        <p class="section-note">
          Credential and configuration changes to this app, newest first. Times are UTC.
        </p>
        {p.events.length === 0 ? (
          <Empty title="Nothing recorded yet." />
        ) : (
          <ul class="audit-list">
            {p.events.map((e) => {
              const d = detail(e);
              return (
                <li key={e.id}>
                  <span class={dotClass(e.type)} aria-hidden="true" />
                  <div>
                    <strong>{WORDS[e.type] ?? e.type}</strong>
                    <div class="cell-sub">by {p.names.get(e.actor) ?? e.actor}</div>
                    {d ? <div class="cell-sub mono">{d}</div> : null}
                  </div>
                  <DateText at={e.created_at} withTime />
                </li>
              );
            })}
          </ul>
        )}
        {p.next ? (
          <p>
            <a class="btn" href={`${appPath(app, 'audit')}?cursor=${encodeURIComponent(p.next)}`}>
              Older events
            </a>
          </p>
        ) : null}
      </section>
    </AppShell>
  );
}

export async function auditTabRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const ctx = services.ctx;
  hubPage(
    app,
    services,
    '/apps/:id/audit',
    { params: AppParams, what: 'app' },
    async ({ hub, params: { id }, query: q, reply }) => {
      const a = await getAppForActor(ctx, hub.actor, id);
      let page: Awaited<ReturnType<typeof listAuditEvents>>;
      try {
        page = await listAuditEvents(ctx, { appId: a.id, limit: 50, cursor: q.cursor || undefined });
      } catch {
        page = await listAuditEvents(ctx, { appId: a.id, limit: 50 });
      }
      const names = await actorNames(ctx, a, page.items);
      return sendPage(
        reply,
        200,
        AuditTab({ hub, app: a, events: page.items, names, next: page.next_cursor }),
      );
    },
  );
}
