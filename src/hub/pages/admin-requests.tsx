import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  type AppRequest,
  declineAppRequest,
  fulfilAppRequest,
  listAppRequests,
} from '../../domain/app-requests.js';
import type { Services } from '../../services.js';
import { sendPage } from '../../web/render.js';
import { type Hub, seeOther, toFormErrors } from '../context.js';
import { hubAction, hubPage, NoParams } from '../route.js';
import { Alert, Csrf, DateText, Empty, Field } from '../ui/components.js';
import { AdminShell, adminNotice, adminsOnly } from './admin-shell.js';

/** App requests: what developers ask for when they may not register apps themselves. */

function RequestsPage(p: {
  hub: Hub;
  items: AppRequest[];
  notice?: string;
  decline?: { id: string; reason: string; error: string };
  error?: string;
}) {
  return (
    <AdminShell hub={p.hub} tab="/admin/requests" title="App requests" notice={p.notice}>
      {p.error ? <Alert kind="error">{p.error}</Alert> : null}
      <section class="card" aria-labelledby="ar-title">
        <h2 id="ar-title">Pending app requests</h2>
        <p class="section-note">
          When "Users can register applications" is off, developers request apps here. Creating the app makes
          the requester its owner; they create its client secret themselves.
        </p>
        {p.items.length === 0 ? (
          <Empty title="No pending requests." />
        ) : (
          p.items.map((r) => {
            const dec = p.decline?.id === r.id ? p.decline : undefined;
            return (
              <article class="review-item" key={r.id} aria-label={r.name}>
                <div>
                  <h3>{r.name}</h3>
                  <dl class="kv small">
                    <dt>Visibility</dt>
                    <dd>{r.visibility}</dd>
                    <dt>Client type</dt>
                    <dd>{r.client_type}</dd>
                    <dt>Callback URL</dt>
                    <dd class="mono">{r.callback_url}</dd>
                    <dt>Sent</dt>
                    <dd>
                      <DateText at={r.created_at} />
                    </dd>
                    {r.justification ? (
                      <>
                        <dt>Why</dt>
                        <dd>{r.justification}</dd>
                      </>
                    ) : null}
                  </dl>
                </div>
                <div class="review-actions">
                  <form method="post" action={`/admin/requests/${encodeURIComponent(r.id)}/fulfil`}>
                    <Csrf token={p.hub.csrf} />
                    <button type="submit" class="btn btn-primary">
                      Create the app<span class="visually-hidden"> {r.name}</span>
                    </button>
                  </form>
                  <form
                    method="post"
                    action={`/admin/requests/${encodeURIComponent(r.id)}/decline`}
                    novalidate
                  >
                    <Csrf token={p.hub.csrf} />
                    <Field
                      name="reason"
                      id={`decline-${r.id}`}
                      label="Reason for declining"
                      value={dec?.reason}
                      error={dec?.error}
                      required
                      textarea
                    />
                    <button type="submit" class="btn btn-danger">
                      Decline<span class="visually-hidden"> {r.name}</span>
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

const RequestParams = Type.Object({
  id: Type.String(),
  decision: Type.Union([Type.Literal('fulfil'), Type.Literal('decline')]),
});

export async function adminRequestsRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const ctx = services.ctx;
  const pendingRequests = async (hub: Hub) =>
    (await listAppRequests(ctx, hub.actor, { status: 'pending', tenantId: hub.tenant.id, limit: 200 })).items;

  hubPage(
    app,
    services,
    '/admin/requests',
    { params: NoParams, deny: adminsOnly },
    async ({ hub, query, reply }) =>
      sendPage(
        reply,
        200,
        RequestsPage({ hub, items: await pendingRequests(hub), notice: adminNotice(query) }),
      ),
  );

  hubAction(
    app,
    services,
    '/admin/requests/:id/:decision',
    { params: RequestParams, what: 'app request', deny: adminsOnly },
    async ({ hub, params: { id, decision }, form, reply }) => {
      try {
        if (decision === 'fulfil') {
          await fulfilAppRequest(ctx, hub.actor, id);
          return seeOther(reply, '/admin/requests?notice=fulfilled');
        }
        await declineAppRequest(ctx, hub.actor, id, form.get('reason'));
        return seeOther(reply, '/admin/requests?notice=declined');
      } catch (e) {
        const errors = toFormErrors(e, ['reason']);
        return sendPage(
          reply,
          400,
          RequestsPage({
            hub,
            items: await pendingRequests(hub),
            decline: errors.fields.reason
              ? { id, reason: form.get('reason'), error: errors.fields.reason }
              : undefined,
            error: errors.form,
          }),
        );
      }
    },
  );
}
