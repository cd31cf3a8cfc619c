import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { type AuditEvent, listAuditEvents } from '../../domain/audit.js';
import { userEmails } from '../../domain/display-names.js';
import { WEBHOOK_EVENT_TYPES } from '../../domain/webhook-events.js';
import {
  type CreatedWebhookEndpoint,
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  redeliverWebhook,
  rotateWebhookSecret,
  updateWebhookEndpoint,
  type WebhookDelivery,
  type WebhookEndpoint,
} from '../../domain/webhooks.js';
import type { Services } from '../../services.js';
import { sendPage } from '../../web/render.js';
import { type FormErrors, type Hub, noStore, seeOther, toFormErrors } from '../context.js';
import { newNonce, recordNonce, usedNonce } from '../nonce.js';
import { hubAction, hubPage, NoParams } from '../route.js';
import { Alert, Choices, CopyButton, Csrf, DateText, Empty, Field } from '../ui/components.js';
import { AdminShell, adminsOnly } from './admin-shell.js';

/**
 * The tenant's webhooks (admins): endpoints with the events they receive, a signing secret shown once when
 * created or rotated, and each endpoint's delivery log with "Redeliver". Same domain functions as the API.
 */

const BASE = '/admin/webhooks';
const FIELDS = ['url', 'events', 'description'] as const;

const NOTICES: Record<string, string> = {
  saved: 'Endpoint saved.',
  deleted: 'Endpoint deleted. Its delivery log went with it.',
  redelivered: 'The delivery was queued again; it goes out within seconds.',
};

interface EndpointValues {
  url: string;
  events: string[];
  description: string;
}

const sessionKey = (hub: Hub) => hub.session.idHash;

/** The audit events of webhook endpoints, and what the hub calls them. */
const AUDIT_WORDS: Record<string, string> = {
  'webhook.created': 'Endpoint added',
  'webhook.updated': 'Endpoint changed',
  'webhook.deleted': 'Endpoint deleted',
  'webhook.secret_rotated': 'Signing secret rotated',
  'webhook.disabled': 'Endpoint disabled after 3 days of failures',
};

function auditDetail(e: AuditEvent): string {
  const d = e.data;
  const url = typeof d.url === 'string' ? d.url : '';
  if (e.type === 'webhook.updated' && Array.isArray(d.fields)) {
    const enabled = d.enabled === true ? '; enabled' : d.enabled === false ? '; paused' : '';
    const moved = typeof d.previous_url === 'string' ? ` (was ${d.previous_url})` : '';
    return `${url}${moved}: changed ${d.fields.join(', ')}${enabled}`;
  }
  if (e.type === 'webhook.secret_rotated')
    return typeof d.previous_secret_until === 'string'
      ? `${url}: the previous secret signs too until ${d.previous_secret_until}`
      : `${url}: the previous secret stopped at once`;
  return url;
}

/** Recent changes to the tenant's endpoints, from the audit log (never a signing secret). */
function WebhookAudit(p: { events: AuditEvent[]; names: Map<string, string> }) {
  return (
    <section class="card" aria-labelledby="wh-audit-title">
      <h2 id="wh-audit-title">Recent changes</h2>
      <p class="section-note">Endpoints added, changed, deleted and rotated, newest first. Times are UTC.</p>
      {p.events.length === 0 ? (
        <Empty title="Nothing recorded yet." />
      ) : (
        <ul class="audit-list">
          {p.events.map((e) => (
            <li key={e.id}>
              <span
                class={
                  e.type === 'webhook.deleted' || e.type === 'webhook.disabled'
                    ? 'audit-dot dot-danger'
                    : 'audit-dot'
                }
                aria-hidden="true"
              />
              <div>
                <strong>{AUDIT_WORDS[e.type] ?? e.type}</strong>
                <div class="cell-sub">by {p.names.get(e.actor) ?? e.actor}</div>
                <div class="cell-sub mono">{auditDetail(e)}</div>
              </div>
              <DateText at={e.created_at} withTime />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function EventChoices(p: { selected: string[]; error?: string }) {
  return (
    <Choices
      name="events"
      type="checkbox"
      legend="Events"
      hint='Choose "All events" or the ones this endpoint needs.'
      selected={p.selected}
      error={p.error}
      options={[
        { value: '*', label: 'All events', description: 'Including events added later.' },
        ...Object.entries(WEBHOOK_EVENT_TYPES).map(([value, description]) => ({
          value,
          label: value,
          description: description.replaceAll('`', ''),
        })),
      ]}
    />
  );
}

function EndpointFields(p: { values: EndpointValues; errors: FormErrors }) {
  return (
    <>
      <Field
        name="url"
        label="Endpoint URL"
        type="url"
        required
        value={p.values.url}
        error={p.errors.fields.url}
        placeholder="https://example.com/webhooks/clavis"
        hint="https only. Addresses on your own network (loopback, private, link-local) are refused."
      />
      <Field
        name="description"
        label="Description"
        value={p.values.description}
        error={p.errors.fields.description}
        hint="At most 500 characters."
      />
      <EventChoices selected={p.values.events} error={p.errors.fields.events} />
    </>
  );
}

/** The secret of a created or rotated endpoint, shown once. */
function ShownSecret(p: { endpoint: CreatedWebhookEndpoint; rotated: boolean }) {
  return (
    <section class="card" aria-labelledby="whsec-title">
      <h2 id="whsec-title">{p.rotated ? 'New signing secret' : 'Endpoint added'}: copy the signing secret</h2>
      <div class="secret-box">
        <textarea
          id="webhook-secret-text"
          class="secret-value"
          readonly
          rows={2}
          spellcheck={false}
          autocomplete="off"
          data-secret
        >
          {p.endpoint.secret}
        </textarea>
        <CopyButton target="webhook-secret-text" label="signing secret" />
      </div>
      <Alert kind="warn">
        <strong>Copy this secret now. It will not be shown again.</strong> Your receiver verifies each
        delivery with it (Standard Webhooks: the <code>standardwebhooks</code> library of your language).
        {p.rotated && p.endpoint.previous_secret_expires_at !== null ? (
          <>
            {' '}
            Until <DateText at={p.endpoint.previous_secret_expires_at} withTime /> deliveries are signed with
            both the old and the new secret, so switch your receiver before then.
          </>
        ) : null}
      </Alert>
      <p>
        <a class="btn btn-primary" href={`${BASE}/${p.endpoint.id}`}>
          I have copied the secret
        </a>
      </p>
    </section>
  );
}

function EndpointStatus({ e }: { e: WebhookEndpoint }) {
  if (!e.enabled) return <span class="badge badge-danger">Disabled</span>;
  if (e.failing_since !== null) return <span class="badge badge-warn">Failing</span>;
  return <span class="badge badge-ok">Enabled</span>;
}

function ListPage(p: {
  hub: Hub;
  endpoints: WebhookEndpoint[];
  audit: { events: AuditEvent[]; names: Map<string, string> };
  values?: EndpointValues;
  errors?: FormErrors;
  notice?: string;
  nonce: string;
  created?: CreatedWebhookEndpoint;
}) {
  const values = p.values ?? { url: '', events: ['*'], description: '' };
  const errors = p.errors ?? { fields: {} };
  return (
    <AdminShell hub={p.hub} tab={BASE} title="Webhooks" notice={p.notice}>
      {p.created ? <ShownSecret endpoint={p.created} rotated={false} /> : null}
      <section class="card" aria-labelledby="wh-title">
        <h2 id="wh-title">Webhook endpoints of {p.hub.tenant.name}</h2>
        <p class="muted">
          Clavis POSTs events about your tenant's apps and secrets to these URLs, signed per Standard
          Webhooks. Failed deliveries are retried for 24 hours; an endpoint failing for 3 days is disabled.
        </p>
        {p.endpoints.length === 0 ? (
          <Empty title="No endpoints yet">
            <p>Add one below.</p>
          </Empty>
        ) : (
          <div class="table-wrap">
            <table class="data stack">
              <thead>
                <tr>
                  <th scope="col">Endpoint</th>
                  <th scope="col">Events</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {p.endpoints.map((e) => (
                  <tr key={e.id}>
                    <td data-label="Endpoint">
                      <a href={`${BASE}/${e.id}`} class="mono">
                        {e.url}
                      </a>
                      {e.description ? <div class="cell-sub">{e.description}</div> : null}
                    </td>
                    <td data-label="Events">{e.events.includes('*') ? 'All events' : e.events.join(', ')}</td>
                    <td data-label="Status">
                      <EndpointStatus e={e} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section class="card" aria-labelledby="wh-new-title">
        <h2 id="wh-new-title">Add an endpoint</h2>
        <form method="post" action={BASE} novalidate>
          <Csrf token={p.hub.csrf} />
          <input type="hidden" name="nonce" value={p.nonce} />
          {errors.form ? <Alert kind="error">{errors.form}</Alert> : null}
          <EndpointFields values={values} errors={errors} />
          <button type="submit" class="btn btn-primary">
            Add endpoint
          </button>
        </form>
      </section>
      <WebhookAudit {...p.audit} />
    </AdminShell>
  );
}

const STATUS_BADGE: Record<WebhookDelivery['status'], { label: string; cls: string }> = {
  pending: { label: 'Retrying', cls: 'badge-warn' },
  succeeded: { label: 'Delivered', cls: 'badge-ok' },
  failed: { label: 'Failed', cls: 'badge-danger' },
};

function DeliveryLog(p: { hub: Hub; endpoint: WebhookEndpoint; deliveries: WebhookDelivery[] }) {
  if (p.deliveries.length === 0)
    return (
      <Empty title="No deliveries yet">
        <p>Events of the chosen types appear here as they are sent.</p>
      </Empty>
    );
  return (
    <div class="table-wrap">
      <table class="data stack" aria-label="Delivery log">
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">Status</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last answer</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {p.deliveries.map((d) => {
            const s = STATUS_BADGE[d.status];
            return (
              <tr key={d.id}>
                <td data-label="Event">
                  <strong>{d.event_type}</strong>
                  <div class="cell-sub mono">{d.id}</div>
                  <div class="cell-sub">
                    <DateText at={d.created_at} withTime />
                  </div>
                </td>
                <td data-label="Status">
                  <span class={`badge ${s.cls}`}>{s.label}</span>
                </td>
                <td data-label="Attempts">
                  <ol class="attempts">
                    {d.attempts.slice(-5).map((a) => (
                      <li key={a.attempted_at}>
                        <DateText at={a.attempted_at} withTime />: {a.status_code ?? 'no answer'},{' '}
                        {a.duration_ms} ms
                      </li>
                    ))}
                  </ol>
                  {d.attempt_count > 5 ? <span class="hint">{d.attempt_count} attempts in all</span> : null}
                </td>
                <td data-label="Last answer">
                  {d.last_status_code ?? '—'}
                  {d.last_error ? <div class="cell-sub">{d.last_error}</div> : null}
                </td>
                <td class="actions-cell">
                  {p.endpoint.enabled ? (
                    <form method="post" action={`${BASE}/${p.endpoint.id}/deliveries/${d.id}/redeliver`}>
                      <Csrf token={p.hub.csrf} />
                      <button type="submit" class="btn btn-sm">
                        Redeliver<span class="visually-hidden"> {d.id}</span>
                      </button>
                    </form>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function EndpointPage(p: {
  hub: Hub;
  endpoint: WebhookEndpoint;
  deliveries: WebhookDelivery[];
  values?: EndpointValues & { enabled: string };
  errors?: FormErrors;
  notice?: string;
  error?: string;
  nonce: string;
  rotated?: CreatedWebhookEndpoint;
}) {
  const e = p.endpoint;
  const values = p.values ?? {
    url: e.url,
    events: e.events,
    description: e.description,
    enabled: e.enabled ? 'yes' : 'no',
  };
  const errors = p.errors ?? { fields: {} };
  return (
    <AdminShell hub={p.hub} tab={BASE} title="Webhook endpoint" notice={p.notice}>
      <p>
        <a href={BASE}>← All webhook endpoints</a>
      </p>
      {p.error ? <Alert kind="error">{p.error}</Alert> : null}
      {p.rotated ? <ShownSecret endpoint={p.rotated} rotated /> : null}
      {!e.enabled ? (
        <Alert kind="error">
          This endpoint is disabled{e.disabled_reason ? `: ${e.disabled_reason}` : '.'} Enable it below to
          receive events again.
        </Alert>
      ) : e.failing_since !== null ? (
        <Alert kind="warn">
          Every delivery has failed since <DateText at={e.failing_since} withTime />. After 3 days the
          endpoint is disabled.
        </Alert>
      ) : null}
      <section class="card" aria-labelledby="wh-log-title">
        <h2 id="wh-log-title">Delivery log</h2>
        <DeliveryLog hub={p.hub} endpoint={e} deliveries={p.deliveries} />
      </section>
      <section class="card" aria-labelledby="wh-edit-title">
        <h2 id="wh-edit-title" class="mono">
          {e.url}
        </h2>
        <form method="post" action={`${BASE}/${e.id}`} novalidate>
          <Csrf token={p.hub.csrf} />
          {errors.form ? <Alert kind="error">{errors.form}</Alert> : null}
          <EndpointFields values={values} errors={errors} />
          <Choices
            name="enabled"
            legend="Deliveries"
            row
            selected={[values.enabled]}
            options={[
              { value: 'yes', label: 'Enabled', description: 'Events are sent.' },
              { value: 'no', label: 'Paused', description: 'Nothing is sent; pending deliveries fail.' },
            ]}
          />
          <button type="submit" class="btn btn-primary">
            Save endpoint
          </button>
        </form>
      </section>
      <section class="card" aria-labelledby="wh-secret-title">
        <h2 id="wh-secret-title">Signing secret</h2>
        {e.previous_secret_expires_at !== null ? (
          <p>
            Rotation in progress: the previous secret signs beside the new one until{' '}
            <DateText at={e.previous_secret_expires_at} withTime />.
          </p>
        ) : (
          <p class="muted">Shown only when created or rotated.</p>
        )}
        <form method="post" action={`${BASE}/${e.id}/rotate`}>
          <Csrf token={p.hub.csrf} />
          <input type="hidden" name="nonce" value={p.nonce} />
          <Field
            name="overlap_hours"
            label="Keep the old secret signing for (hours)"
            type="number"
            min="0"
            max="168"
            value="24"
            error={errors.fields.overlap_hours}
            hint="Deliveries carry both signatures meanwhile; 0 stops the old secret at once."
          />
          <button type="submit" class="btn">
            Rotate secret
          </button>
        </form>
      </section>
      <section class="card" aria-labelledby="wh-delete-title">
        <h2 id="wh-delete-title">Delete endpoint</h2>
        <form method="post" action={`${BASE}/${e.id}/delete`}>
          <Csrf token={p.hub.csrf} />
          <p class="muted">Stops all deliveries and deletes the delivery log.</p>
          <button type="submit" class="btn btn-danger">
            Delete endpoint
          </button>
        </form>
      </section>
    </AdminShell>
  );
}

function formValues(form: { get(n: string): string; all(n: string): string[] }): EndpointValues {
  return {
    url: form.get('url').slice(0, 2100),
    events: form.all('events').slice(0, 50),
    description: form.get('description').slice(0, 600),
  };
}

const EndpointParams = Type.Object({ id: Type.String({ maxLength: 100 }) });
const DeliveryParams = Type.Object({
  id: Type.String({ maxLength: 100 }),
  did: Type.String({ maxLength: 100 }),
});

export async function adminWebhooksRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const ctx = services.ctx;
  /** `user:<id>` as the user's email, `system` as Clavis. */
  const actorNames = async (events: AuditEvent[]) => {
    const ids = [...new Set(events.filter((e) => e.actor.startsWith('user:')).map((e) => e.actor.slice(5)))];
    const names = new Map<string, string>([['system', 'Clavis']]);
    for (const [id, email] of await userEmails(ctx, ids)) names.set(`user:${id}`, email);
    return names;
  };
  const admins = { deny: adminsOnly };
  const onEndpoint = { params: EndpointParams, what: 'webhook endpoint', ...admins };

  const renderList = async (
    hub: Hub,
    reply: FastifyReply,
    status: number,
    extra: Partial<Parameters<typeof ListPage>[0]> = {},
  ) => {
    const page = await listWebhookEndpoints(ctx, hub.actor, hub.tenant.id, { limit: 200 });
    const audit = await listAuditEvents(ctx, {
      tenantId: hub.tenant.id,
      types: Object.keys(AUDIT_WORDS),
      limit: 20,
    });
    return sendPage(
      noStore(reply),
      status,
      ListPage({
        hub,
        endpoints: page.items,
        audit: { events: audit.items, names: await actorNames(audit.items) },
        nonce: newNonce(),
        ...extra,
      }),
    );
  };
  const renderEndpoint = async (
    hub: Hub,
    reply: FastifyReply,
    id: string,
    status: number,
    extra: Partial<Parameters<typeof EndpointPage>[0]> = {},
  ) => {
    const endpoint = await getWebhookEndpoint(ctx, hub.actor, id);
    const deliveries = await listWebhookDeliveries(ctx, hub.actor, id, { limit: 50 });
    return sendPage(
      noStore(reply),
      status,
      EndpointPage({ hub, endpoint, deliveries: deliveries.items, nonce: newNonce(), ...extra }),
    );
  };

  hubPage(app, services, BASE, { params: NoParams, ...admins }, async ({ hub, query, reply }) =>
    renderList(hub, reply, 200, { notice: query.notice ? NOTICES[query.notice] : undefined }),
  );

  hubAction(app, services, BASE, { params: NoParams, ...admins }, async ({ hub, form, reply }) => {
    const nonce = form.get('nonce');
    if (nonce && usedNonce(sessionKey(hub), nonce)) return seeOther(reply, BASE);
    const values = formValues(form);
    try {
      const created = await createWebhookEndpoint(ctx, hub.actor, hub.tenant.id, values);
      recordNonce(sessionKey(hub), nonce, created.id);
      return renderList(hub, reply, 201, { created });
    } catch (e) {
      return renderList(hub, reply, 400, { values, errors: toFormErrors(e, FIELDS) });
    }
  });

  hubPage(app, services, `${BASE}/:id`, onEndpoint, async ({ hub, params, query, reply }) =>
    renderEndpoint(hub, reply, params.id, 200, { notice: query.notice ? NOTICES[query.notice] : undefined }),
  );

  hubAction(app, services, `${BASE}/:id`, onEndpoint, async ({ hub, params, form, reply }) => {
    const values = { ...formValues(form), enabled: form.get('enabled') === 'no' ? 'no' : 'yes' };
    try {
      await updateWebhookEndpoint(ctx, hub.actor, params.id, {
        ...values,
        enabled: values.enabled === 'yes',
      });
      return seeOther(reply, `${BASE}/${params.id}?notice=saved`);
    } catch (e) {
      return renderEndpoint(hub, reply, params.id, 400, { values, errors: toFormErrors(e, FIELDS) });
    }
  });

  hubAction(app, services, `${BASE}/:id/rotate`, onEndpoint, async ({ hub, params, form, reply }) => {
    const nonce = form.get('nonce');
    if (nonce && usedNonce(sessionKey(hub), nonce)) return seeOther(reply, `${BASE}/${params.id}`);
    const raw = form.get('overlap_hours').trim();
    try {
      const hours = raw === '' ? undefined : /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
      const rotated = await rotateWebhookSecret(ctx, hub.actor, params.id, hours);
      recordNonce(sessionKey(hub), nonce, rotated.id);
      return renderEndpoint(hub, reply, params.id, 200, { rotated });
    } catch (e) {
      return renderEndpoint(hub, reply, params.id, 400, { errors: toFormErrors(e, ['overlap_hours']) });
    }
  });

  hubAction(app, services, `${BASE}/:id/delete`, onEndpoint, async ({ hub, params, reply }) => {
    await deleteWebhookEndpoint(ctx, hub.actor, params.id);
    return seeOther(reply, `${BASE}?notice=deleted`);
  });

  hubAction(
    app,
    services,
    `${BASE}/:id/deliveries/:did/redeliver`,
    { params: DeliveryParams, what: 'webhook delivery', ...admins },
    async ({ hub, params, reply }) => {
      try {
        await redeliverWebhook(ctx, hub.actor, params.id, params.did);
        return seeOther(reply, `${BASE}/${params.id}?notice=redelivered`);
      } catch (e) {
        return renderEndpoint(hub, reply, params.id, 409, { error: toFormErrors(e, []).form });
      }
    },
  );
}
