import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { type AppPermission, listAppPermissions } from '../../domain/app-permissions.js';
import { type App, approveApp, rejectApp } from '../../domain/apps.js';
import type { Actor, DomainContext } from '../../domain/context.js';
import { type ReviewItem, reviewQueue } from '../../domain/review-queue.js';
import type { Services } from '../../services.js';
import { sendPage } from '../../web/render.js';
import { type Hub, seeOther, toFormErrors } from '../context.js';
import { forbiddenPage } from '../refusals.js';
import { hubAction, hubPage, NoParams } from '../route.js';
import { Alert, Csrf, Empty, Field } from '../ui/components.js';
import { AdminShell, adminNotice, adminsOnly } from './admin-shell.js';

/** The platform admins' review queue: public apps waiting for approval, and changes to approved ones. */

const FIELD_LABELS: Record<string, string> = {
  name: 'Name',
  visibility: 'Visibility',
  callback_url: 'Callback URL',
  scopes: 'Scopes',
  default_scopes: 'Default scopes',
  grant_types: 'Grant types',
  post_logout_redirect_uri: 'Post-logout redirect URI',
  backchannel_logout_uri: 'Back-channel logout URI',
};

/** An approved app's change awaiting review: each field, live value then proposed value. */
function ChangeDiff({ app }: { app: App }) {
  const change = app.pending_change;
  if (!change) return null;
  const show = (v: string | readonly string[] | null | undefined) =>
    Array.isArray(v) ? v.join(', ') || 'none' : ((v as string | null | undefined) ?? 'none');
  return (
    <div class="pending-change">
      <p>
        <strong>Change awaiting review.</strong> The approved version stays live until you approve the change;
        rejecting discards it.
      </p>
      <dl class="kv small">
        {change.fields.map((f) => (
          <>
            <dt>{FIELD_LABELS[f] ?? f}</dt>
            <dd>
              <del>{show(app[f])}</del> → <ins>{show(change.values[f])}</ins>
            </dd>
          </>
        ))}
      </dl>
    </div>
  );
}

/** The API permissions an app asks for: each API, its scopes and whether they are granted yet. */
function RequestedPermissions({ permissions }: { permissions: AppPermission[] }) {
  if (permissions.length === 0) return <dd>none</dd>;
  return (
    <dd>
      <ul class="plain-list">
        {permissions.map((perm) => (
          <li key={perm.api_id}>
            <strong>{perm.api_name}</strong> <span class="mono small">{perm.identifier}</span>:{' '}
            <span class="mono">{perm.scopes.join(', ') || 'no scopes'}</span>{' '}
            <span class={`badge ${perm.status === 'granted' ? 'badge-ok' : 'badge-warn'}`}>
              {perm.status === 'granted' ? 'Granted' : 'Pending admin consent'}
            </span>
          </li>
        ))}
      </ul>
    </dd>
  );
}

/** A review item with the app's API permissions. */
type ReviewRow = ReviewItem & { permissions: AppPermission[] };

/** The queue with each app's requested API permissions (one query per app; the queue holds at most 400). */
async function reviewRows(ctx: DomainContext, actor: Actor): Promise<ReviewRow[]> {
  const rows: ReviewRow[] = [];
  for (const item of await reviewQueue(ctx, actor))
    rows.push({ ...item, permissions: await listAppPermissions(ctx, actor, item.app.id) });
  return rows;
}

function ReviewPage(p: {
  hub: Hub;
  items: ReviewRow[];
  notice?: string;
  reject?: { appId: string; reason: string; error: string };
  error?: string;
}) {
  return (
    <AdminShell hub={p.hub} tab="/admin/review" title="Review queue" notice={p.notice}>
      {p.error ? <Alert kind="error">{p.error}</Alert> : null}
      <section class="card" aria-labelledby="rq-title">
        <h2 id="rq-title">Public apps waiting for review</h2>
        <p class="section-note">
          Approve an app when its callback URL, name, scopes, grant types and OpenID Connect URIs look right.
          Rejecting needs a reason: the owner sees it.
        </p>
        {p.items.length === 0 ? (
          <Empty title="Nothing to review." />
        ) : (
          p.items.map(({ app, tenantName, ownerEmail, permissions }) => {
            const what = app.pending_change ? ' change' : '';
            const rej = p.reject?.appId === app.id ? p.reject : undefined;
            return (
              <article class="review-item" key={app.id} aria-label={app.name}>
                <div>
                  <h3>{app.name}</h3>
                  <ChangeDiff app={app} />
                  <dl class="kv small">
                    <dt>Tenant</dt>
                    <dd>{tenantName}</dd>
                    <dt>Owner</dt>
                    <dd>{ownerEmail ?? '—'}</dd>
                    <dt>Callback URL</dt>
                    <dd class="mono">{app.callback_url}</dd>
                    <dt>Scopes</dt>
                    <dd>{app.scopes.length ? app.scopes.join(', ') : 'none'}</dd>
                    <dt>API permissions</dt>
                    <RequestedPermissions permissions={permissions} />
                    <dt>Client ID</dt>
                    <dd class="mono">{app.client_id}</dd>
                    {app.description ? (
                      <>
                        <dt>Description</dt>
                        <dd>{app.description}</dd>
                      </>
                    ) : null}
                  </dl>
                </div>
                <div class="review-actions">
                  <form method="post" action={`/admin/review/${encodeURIComponent(app.id)}/approve`}>
                    <Csrf token={p.hub.csrf} />
                    <button type="submit" class="btn btn-primary">
                      Approve{what}
                      <span class="visually-hidden"> {app.name}</span>
                    </button>
                  </form>
                  <form
                    method="post"
                    action={`/admin/review/${encodeURIComponent(app.id)}/reject`}
                    novalidate
                  >
                    <Csrf token={p.hub.csrf} />
                    <Field
                      name="reason"
                      id={`reason-${app.id}`}
                      label="Reason for rejecting"
                      value={rej?.reason}
                      error={rej?.error}
                      required
                      textarea
                    />
                    <button type="submit" class="btn btn-danger">
                      Reject{what}
                      <span class="visually-hidden"> {app.name}</span>
                    </button>
                  </form>
                </div>
              </article>
            );
          })
        )}
      </section>
    </AdminShell>
  );
}

const ReviewParams = Type.Object({
  id: Type.String(),
  decision: Type.Union([Type.Literal('approve'), Type.Literal('reject')]),
});

export async function adminReviewRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const ctx = services.ctx;

  hubPage(
    app,
    services,
    '/admin/review',
    { params: NoParams, deny: adminsOnly },
    async ({ hub, query, reply }) => {
      if (!hub.actor.platformAdmin)
        return forbiddenPage(hub, reply, 'Only platform administrators review public apps.');
      return sendPage(
        reply,
        200,
        ReviewPage({ hub, items: await reviewRows(ctx, hub.actor), notice: adminNotice(query) }),
      );
    },
  );

  hubAction(
    app,
    services,
    '/admin/review/:id/:decision',
    { params: ReviewParams, what: 'app', deny: adminsOnly },
    async ({ hub, params: { id, decision }, form, reply }) => {
      try {
        if (decision === 'approve') {
          await approveApp(ctx, hub.actor, id);
          return seeOther(reply, '/admin/review?notice=approved');
        }
        await rejectApp(ctx, hub.actor, id, form.get('reason'));
        return seeOther(reply, '/admin/review?notice=rejected');
      } catch (e) {
        const errors = toFormErrors(e, ['reason']);
        const items = await reviewRows(ctx, hub.actor);
        return sendPage(
          reply,
          400,
          ReviewPage({
            hub,
            items,
            reject: errors.fields.reason
              ? { appId: id, reason: form.get('reason'), error: errors.fields.reason }
              : undefined,
            error: errors.form,
          }),
        );
      }
    },
  );
}
