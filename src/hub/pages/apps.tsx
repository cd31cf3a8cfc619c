import type { FastifyInstance } from 'fastify';
import { type AppRequest, createAppRequest, listAppRequests } from '../../domain/app-requests.js';
import { type App, type AppStatus, createApp, listApps } from '../../domain/apps.js';
import { secretUsable } from '../../domain/secret-status.js';
import { type ClientSecret, listSecrets } from '../../domain/secrets.js';
import type { Services } from '../../services.js';
import { sendPage } from '../../web/render.js';
import {
  canDevelop,
  type Form,
  type FormErrors,
  type Hub,
  isAdmin,
  seeOther,
  toFormErrors,
} from '../context.js';
import { newNonce, recordNonce, usedNonce } from '../nonce.js';
import type { Refusal } from '../refusals.js';
import { hubAction, hubPage, NoParams } from '../route.js';
import {
  Alert,
  Choices,
  CopyableId,
  Csrf,
  DateText,
  Empty,
  Field,
  Select,
  StatusBadge,
  VisibilityBadge,
} from '../ui/components.js';
import { HubPage } from '../ui/hub-page.js';
import { CALLBACK_HINT, VISIBILITY_OPTIONS } from './app-basic.js';
import { renderOAuthTab } from './app-oauth.js';
import { appPath } from './app-shell.js';

const CLIENT_TYPE_OPTIONS = [
  {
    value: 'confidential',
    label: 'Confidential (server-side)',
    description: 'Runs on a server that can keep a client secret.',
  },
  {
    value: 'public',
    label: 'Public (browser or mobile)',
    description: 'Cannot keep a secret; proves itself with PKCE instead.',
  },
];

interface AppRow {
  app: App;
  warning: { kind: 'expired' | 'soon' | 'none'; text: string } | null;
}

function secretWarning(app: App, secrets: ClientSecret[]): AppRow['warning'] {
  if (app.client_type !== 'confidential') return null;
  const valid = secrets.filter((s) => secretUsable(s.status));
  if (valid.length === 0)
    return secrets.some((s) => s.status === 'expired')
      ? { kind: 'expired', text: 'Client secret expired' }
      : { kind: 'none', text: 'No client secret' };
  // Warn only when no usable secret outlives the "Expiring" window.
  if (valid.every((s) => s.status === 'expiring'))
    return { kind: 'soon', text: 'Secret expires within 30 days' };
  return null;
}

interface ListFilter {
  q: string;
  status: string;
  visibility: string;
  owner: string;
}

function AppsListPage(p: {
  hub: Hub;
  rows: AppRow[];
  filter: ListFilter;
  requests: AppRequest[];
  notice?: string;
}) {
  const { hub, rows, filter } = p;
  const admin = isAdmin(hub);
  const mayCreate = hub.actor.role === 'admin' || hub.tenant.settings.users_can_register_apps;
  const filtered = filter.q || filter.status || filter.visibility;
  return (
    <HubPage hub={hub} title="Apps" active="/apps">
      <div class="page-head">
        <div>
          <h1>Owned applications</h1>
          <p class="muted">
            {admin && filter.owner === 'all'
              ? `Every app in ${hub.tenant.name} (you are an admin), with its client_id and secret status.`
              : 'Apps you own, with their client_id and secret status.'}
          </p>
        </div>
        <div class="actions">
          {mayCreate ? (
            <a class="btn btn-primary" href="/apps/new">
              Create an app
            </a>
          ) : (
            <a class="btn btn-primary" href="/apps/request">
              Request an app
            </a>
          )}
        </div>
      </div>
      {p.notice ? <Alert kind="ok">{p.notice}</Alert> : null}
      {!mayCreate ? (
        <Alert kind="info">
          In {hub.tenant.name} only admins register apps. Send a request and an admin will create the app for
          you.
        </Alert>
      ) : null}
      <div class="card">
        <form method="get" action="/apps" class="filters" aria-label="Filter apps">
          <div class="field grow">
            <label for="f-q">Filter by name or client_id</label>
            <input id="f-q" name="q" type="search" value={filter.q} />
          </div>
          <Select
            name="status"
            label="Status"
            value={filter.status}
            options={[
              { value: '', label: 'Any status' },
              { value: 'draft', label: 'Draft' },
              { value: 'in_review', label: 'In review' },
              { value: 'approved', label: 'Approved' },
              { value: 'rejected', label: 'Rejected' },
              { value: 'disabled', label: 'Disabled' },
            ]}
          />
          <Select
            name="visibility"
            label="Visibility"
            value={filter.visibility}
            options={[
              { value: '', label: 'Any visibility' },
              { value: 'private', label: 'Private' },
              { value: 'public', label: 'Public' },
            ]}
          />
          {admin ? (
            <Select
              name="owner"
              label="Show"
              value={filter.owner}
              options={[
                { value: 'all', label: 'Whole tenant' },
                { value: 'mine', label: 'Only mine' },
              ]}
            />
          ) : null}
          <button type="submit" class="btn">
            Filter
          </button>
        </form>
        {rows.length === 0 ? (
          filtered ? (
            <Empty title="No apps match this filter.">
              <p>
                <a href="/apps">Clear the filter</a>
              </p>
            </Empty>
          ) : (
            <Empty title="No apps yet">
              {mayCreate ? (
                <p>Register an app to get its client_id and client secret.</p>
              ) : (
                <>
                  <p>
                    Request an app: an admin of {hub.tenant.name} creates it for you, and it appears here with
                    its client_id.
                  </p>
                  <p>
                    <a class="btn btn-primary" href="/apps/request">
                      Request an app
                    </a>
                  </p>
                </>
              )}
            </Empty>
          )
        ) : (
          <div class="table-wrap">
            <table class="data stack">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Visibility</th>
                  <th scope="col">Status</th>
                  <th scope="col">Client ID</th>
                  <th scope="col">Secrets</th>
                  <th scope="col" class="hide-md">
                    Created
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map(({ app, warning }) => (
                  <tr key={app.id}>
                    <td data-label="Name">
                      <a href={appPath(app)}>
                        <strong>{app.name}</strong>
                      </a>
                      {app.description ? <div class="cell-sub">{app.description.slice(0, 90)}</div> : null}
                    </td>
                    <td data-label="Visibility">
                      <VisibilityBadge visibility={app.visibility} />
                    </td>
                    <td data-label="Status">
                      <StatusBadge status={app.status} visibility={app.visibility} />
                    </td>
                    <td data-label="Client ID">
                      <CopyableId
                        id={`cid-${app.id}`}
                        value={app.client_id}
                        label={`client_id of ${app.name}`}
                      />
                    </td>
                    <td data-label="Secrets">
                      {warning ? (
                        <a
                          href={appPath(app, 'oauth')}
                          class={`badge ${warning.kind === 'soon' ? 'badge-warn' : 'badge-danger'}`}
                        >
                          {warning.text}
                        </a>
                      ) : app.client_type === 'public' ? (
                        <span class="muted small">PKCE, no secret</span>
                      ) : (
                        <span class="muted small">OK</span>
                      )}
                    </td>
                    <td data-label="Created" class="hide-md">
                      <DateText at={app.created_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
      {p.requests.length > 0 ? (
        <section class="card" aria-labelledby="req-title">
          <h2 id="req-title">Your app requests</h2>
          <div class="table-wrap">
            <table class="data stack">
              <thead>
                <tr>
                  <th scope="col">App</th>
                  <th scope="col">Status</th>
                  <th scope="col">Sent</th>
                </tr>
              </thead>
              <tbody>
                {p.requests.map((r) => (
                  <tr key={r.id}>
                    <td data-label="App">
                      {r.app_id ? <a href={`/apps/${encodeURIComponent(r.app_id)}`}>{r.name}</a> : r.name}
                    </td>
                    <td data-label="Status">
                      {r.status === 'pending' ? (
                        <span class="badge badge-info">Waiting for an admin</span>
                      ) : r.status === 'fulfilled' ? (
                        <span class="badge badge-ok">Created</span>
                      ) : (
                        <>
                          <span class="badge badge-danger">Declined</span>
                          {r.decision_note ? <div class="cell-sub">{r.decision_note}</div> : null}
                        </>
                      )}
                    </td>
                    <td data-label="Sent">
                      <DateText at={r.created_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}
    </HubPage>
  );
}

interface NewAppValues {
  name: string;
  description: string;
  visibility: string;
  client_type: string;
  callback_url: string;
  justification: string;
}

const EMPTY: NewAppValues = {
  name: '',
  description: '',
  visibility: 'private',
  client_type: 'confidential',
  callback_url: '',
  justification: '',
};

function NewAppPage(p: {
  hub: Hub;
  values: NewAppValues;
  errors: FormErrors;
  nonce: string;
  request?: boolean;
}) {
  const { hub, values: v, errors: e } = p;
  const action = p.request ? '/apps/request' : '/apps/new';
  return (
    <HubPage hub={hub} title={p.request ? 'Request an app' : 'Create an app'} active="/apps">
      <div class="crumbs">
        <a href="/apps">Apps</a> / {p.request ? 'Request an app' : 'Create an app'}
      </div>
      <div class="page-head">
        <div>
          <h1>{p.request ? 'Request an app' : 'Create an app'}</h1>
          <p class="muted">
            {p.request
              ? `An admin of ${hub.tenant.name} reviews the request and creates the app for you.`
              : 'After saving you get the client_id and, for server-side apps, a client secret.'}
          </p>
        </div>
      </div>
      <div class="card">
        <form method="post" action={action} novalidate>
          <Csrf token={hub.csrf} />
          <input type="hidden" name="nonce" value={p.nonce} />
          {e.form ? <Alert kind="error">{e.form}</Alert> : null}
          <Field name="name" label="App name" value={v.name} error={e.fields.name} required autofocus />
          <Choices
            name="visibility"
            legend="Who will use it?"
            row
            options={VISIBILITY_OPTIONS}
            selected={[v.visibility]}
            error={e.fields.visibility}
          />
          <Choices
            name="client_type"
            legend="Client type"
            row
            options={CLIENT_TYPE_OPTIONS}
            selected={[v.client_type]}
            error={e.fields.client_type}
          />
          <Field
            name="callback_url"
            label="OAuth callback URL (one per app)"
            type="url"
            value={v.callback_url}
            error={e.fields.callback_url}
            hint={CALLBACK_HINT}
            placeholder="https://app.yourcompany.com/oauth/callback"
            required
          />
          <Field
            name="description"
            label="Description"
            value={v.description}
            error={e.fields.description}
            textarea
          />
          {p.request ? (
            <Field
              name="justification"
              label="Why do you need it?"
              value={v.justification}
              error={e.fields.justification}
              textarea
            />
          ) : null}
          <div class="actions">
            <button type="submit" class="btn btn-primary">
              {p.request ? 'Send request' : 'Save'}
            </button>
            <a class="btn" href="/apps">
              Cancel
            </a>
          </div>
        </form>
      </div>
    </HubPage>
  );
}

const LIST_NOTICES: Record<string, string> = {
  deleted: 'The app was deleted.',
  requested: 'Your request was sent. You will see here when an admin has created the app.',
};

const STATUSES: AppStatus[] = ['draft', 'in_review', 'approved', 'rejected', 'disabled'];

/** The role check of the apps pages: admins and developers register apps. */
function developersOnly(hub: Hub): Refusal | undefined {
  if (canDevelop(hub)) return undefined;
  return {
    title: 'Apps are for developers',
    message:
      'Your account can authorize apps but not register them. Ask an admin of your tenant for developer access.',
    link: { href: '/account/connected-apps', label: 'Go to connected apps' },
  };
}

function newAppValues(form: Form): NewAppValues {
  return {
    name: form.get('name').slice(0, 300),
    description: form.get('description').slice(0, 2000),
    visibility: form.get('visibility'),
    client_type: form.get('client_type'),
    callback_url: form.get('callback_url').slice(0, 2100),
    justification: form.get('justification').slice(0, 3000),
  };
}

const APP_FIELDS = ['name', 'description', 'visibility', 'client_type', 'callback_url', 'justification'];

export async function appsRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const ctx = services.ctx;

  const forDevelopers = { params: NoParams, deny: developersOnly };

  hubPage(app, services, '/apps', forDevelopers, async ({ hub, query: q, reply }) => {
    const filter: ListFilter = {
      q: (q.q ?? '').slice(0, 100),
      status: STATUSES.includes(q.status as AppStatus) ? (q.status as string) : '',
      visibility: q.visibility === 'private' || q.visibility === 'public' ? q.visibility : '',
      owner: q.owner === 'mine' ? 'mine' : 'all',
    };
    const { items } = await listApps(ctx, hub.actor, {
      tenantId: hub.tenant.id,
      q: filter.q.trim() || undefined,
      status: (filter.status || undefined) as AppStatus | undefined,
      visibility: (filter.visibility || undefined) as App['visibility'] | undefined,
      ownedOnly: filter.owner === 'mine',
      limit: 200,
    });
    const rows: AppRow[] = [];
    for (const a of items) {
      const secrets = a.client_type === 'confidential' ? await listSecrets(ctx, hub.actor, a.id) : [];
      rows.push({ app: a, warning: secretWarning(a, secrets) });
    }
    const requests = (await listAppRequests(ctx, hub.actor, { limit: 20 })).items.filter(
      (r) => r.requester === hub.actor.id,
    );
    return sendPage(
      reply,
      200,
      AppsListPage({ hub, rows, filter, requests, notice: q.notice ? LIST_NOTICES[q.notice] : undefined }),
    );
  });

  hubPage(app, services, '/apps/new', forDevelopers, async ({ hub, reply }) => {
    if (hub.actor.role !== 'admin' && !hub.tenant.settings.users_can_register_apps)
      return seeOther(reply, '/apps/request');
    return sendPage(
      reply,
      200,
      NewAppPage({ hub, values: EMPTY, errors: { fields: {} }, nonce: newNonce() }),
    );
  });

  hubAction(app, services, '/apps/new', forDevelopers, async ({ hub, form, reply }) => {
    const nonce = form.get('nonce');
    const done = nonce ? usedNonce(hub.session.idHash, nonce) : undefined;
    // A re-posted form (reload): the app exists already; its secret is never shown again.
    if (done) return seeOther(reply, `/apps/${encodeURIComponent(done)}/oauth`);
    const values = newAppValues(form);
    try {
      const { app: created, secret } = await createApp(ctx, hub.actor, {
        name: values.name,
        description: values.description,
        visibility: values.visibility as App['visibility'],
        client_type: values.client_type as App['client_type'],
        callback_url: values.callback_url,
      });
      recordNonce(hub.session.idHash, nonce, created.id);
      if (!secret) return seeOther(reply, `${appPath(created, 'oauth')}?notice=created`);
      // Straight to "OAuth & access scopes" with the first secret's value, shown this once.
      return renderOAuthTab(hub, reply, created, { status: 201, shown: { secret, kind: 'app-created' } });
    } catch (e) {
      const errors = toFormErrors(e, APP_FIELDS);
      return sendPage(reply, 400, NewAppPage({ hub, values, errors, nonce }));
    }
  });

  hubPage(app, services, '/apps/request', forDevelopers, async ({ hub, reply }) => {
    return sendPage(
      reply,
      200,
      NewAppPage({ hub, values: EMPTY, errors: { fields: {} }, nonce: newNonce(), request: true }),
    );
  });

  hubAction(app, services, '/apps/request', forDevelopers, async ({ hub, form, reply }) => {
    const nonce = form.get('nonce');
    if (nonce && usedNonce(hub.session.idHash, nonce)) return seeOther(reply, '/apps?notice=requested');
    const values = newAppValues(form);
    try {
      const r = await createAppRequest(ctx, hub.actor, {
        name: values.name,
        description: values.description,
        visibility: values.visibility as App['visibility'],
        client_type: values.client_type as App['client_type'],
        callback_url: values.callback_url,
        justification: values.justification,
      });
      recordNonce(hub.session.idHash, nonce, r.id);
      return seeOther(reply, '/apps?notice=requested');
    } catch (e) {
      const errors = toFormErrors(e, APP_FIELDS);
      return sendPage(reply, 400, NewAppPage({ hub, values, errors, nonce, request: true }));
    }
  });
}
