import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ComponentChildren } from 'preact';
import {
  type AppRequest,
  declineAppRequest,
  fulfilAppRequest,
  listAppRequests,
} from '../../domain/app-requests.js';
import { approveApp, rejectApp } from '../../domain/apps.js';
import { invalid } from '../../domain/errors.js';
import { type ReviewItem, reviewQueue } from '../../domain/review-queue.js';
import { updateTenantSettings } from '../../domain/tenants.js';
import { createUser, listUsers, updateUser } from '../../domain/user-management.js';
import type { User, UserRole } from '../../domain/users.js';
import type { Services } from '../../services.js';
import { sendPage } from '../../web/render.js';
import {
  checkCsrf,
  emailProblem,
  Form,
  type FormErrors,
  forbiddenPage,
  guard,
  type Hub,
  hubFor,
  isAdmin,
  noStore,
  notFoundPage,
  seeOther,
  toFormErrors,
} from '../context.js';
import { Alert, Choices, CopyButton, Csrf, DateText, Empty, Field, Select, Tabs } from '../ui/components.js';
import { HubPage } from '../ui/hub-page.js';

function AdminShell(p: {
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

// ---- Review queue -------------------------------------------------------------------------------------

function ReviewPage(p: {
  hub: Hub;
  items: ReviewItem[];
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
          Approve an app when its callback URL, name and scopes look right. Rejecting needs a reason: the
          owner sees it.
        </p>
        {p.items.length === 0 ? (
          <Empty title="Nothing to review." />
        ) : (
          p.items.map(({ app, tenantName, ownerEmail }) => {
            const rej = p.reject?.appId === app.id ? p.reject : undefined;
            return (
              <article class="review-item" key={app.id} aria-label={app.name}>
                <div>
                  <h3>{app.name}</h3>
                  <dl class="kv small">
                    <dt>Tenant</dt>
                    <dd>{tenantName}</dd>
                    <dt>Owner</dt>
                    <dd>{ownerEmail ?? '—'}</dd>
                    <dt>Callback URL</dt>
                    <dd class="mono">{app.callback_url}</dd>
                    <dt>Scopes</dt>
                    <dd>{app.scopes.length ? app.scopes.join(', ') : 'none'}</dd>
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
                      Approve<span class="visually-hidden"> {app.name}</span>
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
                      Reject<span class="visually-hidden"> {app.name}</span>
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

// ---- App requests -------------------------------------------------------------------------------------

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

// ---- Tenant settings ----------------------------------------------------------------------------------

interface SettingsValues {
  users_can_register_apps: string;
  secret_max_lifetime_days: string;
  secret_allow_never_expire: string;
}

function SettingsPage(p: { hub: Hub; values?: SettingsValues; errors?: FormErrors; notice?: string }) {
  const s = p.hub.tenant.settings;
  const v = p.values ?? {
    users_can_register_apps: s.users_can_register_apps ? 'yes' : 'no',
    secret_max_lifetime_days: String(s.secret_max_lifetime_days),
    secret_allow_never_expire: s.secret_allow_never_expire ? 'yes' : 'no',
  };
  const e = p.errors ?? { fields: {} };
  return (
    <AdminShell hub={p.hub} tab="/admin/settings" title="Tenant settings" notice={p.notice}>
      <section class="card">
        <form method="post" action="/admin/settings" novalidate>
          <Csrf token={p.hub.csrf} />
          {e.form ? <Alert kind="error">{e.form}</Alert> : null}
          <h2>App registration</h2>
          <Choices
            name="users_can_register_apps"
            legend="Users can register applications"
            row
            selected={[v.users_can_register_apps]}
            error={e.fields.users_can_register_apps}
            options={[
              { value: 'yes', label: 'Yes', description: 'Developers create apps themselves.' },
              {
                value: 'no',
                label: 'No',
                description: 'Developers see "Request an app"; admins create apps from the requests.',
              },
            ]}
          />
          <h2>Client secret policy</h2>
          <div class="grid-2">
            <Field
              name="secret_max_lifetime_days"
              label="Maximum secret lifetime (days)"
              type="number"
              min="1"
              max="3650"
              value={v.secret_max_lifetime_days}
              error={e.fields.secret_max_lifetime_days}
              hint="New secrets cannot expire later than this. 730 days is two years."
              required
            />
          </div>
          <Choices
            name="secret_allow_never_expire"
            legend="Secrets may never expire"
            row
            selected={[v.secret_allow_never_expire]}
            options={[
              { value: 'no', label: 'No', description: 'Every secret has an expiry date (recommended).' },
              { value: 'yes', label: 'Yes', description: 'Developers may create secrets without an expiry.' },
            ]}
          />
          <button type="submit" class="btn btn-primary">
            Save settings
          </button>
        </form>
      </section>
    </AdminShell>
  );
}

// ---- Users --------------------------------------------------------------------------------------------

interface NewUserValues {
  email: string;
  display_name: string;
  role: string;
}

const ROLE_MESSAGE = 'Choose admin, developer or user.';

const ROLE_OPTIONS = [
  { value: 'user', label: 'User (authorizes apps)' },
  { value: 'developer', label: 'Developer (registers apps)' },
  { value: 'admin', label: 'Admin (manages the tenant)' },
];

function RoleForm({ hub, user: u, error }: { hub: Hub; user: User; error?: { message: string } }) {
  const id = `role-${u.id}`;
  return (
    <form method="post" action={`/admin/users/${encodeURIComponent(u.id)}/role`} class="inline-fields">
      <Csrf token={hub.csrf} />
      <label class="visually-hidden" for={id}>
        Role of {u.email}
      </label>
      <select
        id={id}
        name="role"
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
      >
        {ROLE_OPTIONS.map((o) => (
          <option value={o.value} selected={o.value === u.role} key={o.value}>
            {o.value[0]!.toUpperCase() + o.value.slice(1)}
          </option>
        ))}
      </select>
      <button type="submit" class="btn btn-sm">
        Change<span class="visually-hidden"> role of {u.email}</span>
      </button>
      {error ? (
        <span id={`${id}-error`} class="field-error">
          {error.message}
        </span>
      ) : null}
    </form>
  );
}

function UsersPage(p: {
  hub: Hub;
  users: User[];
  values?: NewUserValues;
  errors?: FormErrors;
  notice?: string;
  error?: string;
  invited?: { user: User; password: string };
  /** A rejected role change: the message is shown next to that user's role field. */
  roleError?: { userId: string; message: string };
}) {
  const v = p.values ?? { email: '', display_name: '', role: 'developer' };
  const e = p.errors ?? { fields: {} };
  return (
    <AdminShell hub={p.hub} tab="/admin/users" title="Users" notice={p.notice}>
      {p.error ? <Alert kind="error">{p.error}</Alert> : null}
      {p.invited ? (
        <section class="card" aria-labelledby="inv-title">
          <h2 id="inv-title">{p.invited.user.email} was added</h2>
          <p>Give them this initial password over a safe channel. It is shown only now.</p>
          <div class="secret-box">
            <input
              id="initial-password"
              type="text"
              readonly
              value={p.invited.password}
              aria-label="Initial password"
              data-secret
            />
            <CopyButton target="initial-password" label="initial password" />
          </div>
        </section>
      ) : null}
      <section class="card" aria-labelledby="users-title">
        <h2 id="users-title">Users of {p.hub.tenant.name}</h2>
        <div class="table-wrap">
          <table class="data stack">
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {p.users.map((u) => (
                <tr key={u.id}>
                  <td data-label="User">
                    <strong>{u.display_name}</strong>
                    <div class="cell-sub">{u.email}</div>
                  </td>
                  <td data-label="Role">
                    <RoleForm
                      hub={p.hub}
                      user={u}
                      error={p.roleError?.userId === u.id ? p.roleError : undefined}
                    />
                  </td>
                  <td data-label="Status">
                    {u.disabled_at !== null ? (
                      <span class="badge badge-danger">Disabled</span>
                    ) : (
                      <span class="badge badge-ok">Active</span>
                    )}
                    {u.is_test_user ? <span class="badge badge-muted">Test user</span> : null}
                  </td>
                  <td class="actions-cell">
                    <form
                      method="post"
                      action={`/admin/users/${encodeURIComponent(u.id)}/${u.disabled_at === null ? 'disable' : 'enable'}`}
                      class="inline-form"
                      data-confirm={
                        u.disabled_at === null ? `Disable ${u.email}? They can no longer sign in.` : undefined
                      }
                    >
                      <Csrf token={p.hub.csrf} />
                      <button
                        type="submit"
                        class={u.disabled_at === null ? 'btn btn-sm btn-danger' : 'btn btn-sm'}
                      >
                        {u.disabled_at === null ? 'Disable' : 'Enable'}
                        <span class="visually-hidden"> {u.email}</span>
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section class="card" aria-labelledby="add-title">
        <h2 id="add-title">Add a user</h2>
        <p class="section-note">They get a generated initial password, shown to you once, to pass on.</p>
        <form method="post" action="/admin/users" novalidate>
          <Csrf token={p.hub.csrf} />
          {e.form ? <Alert kind="error">{e.form}</Alert> : null}
          <div class="grid-2">
            <Field
              name="email"
              label="Email address"
              type="email"
              value={v.email}
              error={e.fields.email}
              required
            />
            <Field name="display_name" label="Name" value={v.display_name} error={e.fields.display_name} />
          </div>
          <Select name="role" label="Role" value={v.role} options={ROLE_OPTIONS} error={e.fields.role} />
          <button type="submit" class="btn btn-primary">
            Add user
          </button>
        </form>
      </section>
    </AdminShell>
  );
}

// ---- Routes -------------------------------------------------------------------------------------------

export async function adminRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const ctx = services.ctx;

  /** A signed-in tenant admin (or platform admin), or null after answering. */
  const adminHub = async (request: Parameters<typeof hubFor>[1], reply: FastifyReply) => {
    const hub = await hubFor(services, request, reply);
    if (!hub) return null;
    if (!isAdmin(hub)) {
      forbiddenPage(hub, reply, 'Only admins of your tenant can open the admin area.');
      return null;
    }
    return hub;
  };
  const posted = async (request: Parameters<typeof hubFor>[1], reply: FastifyReply) => {
    const hub = await adminHub(request, reply);
    if (!hub) return null;
    const form = Form.of(request);
    if (!(await checkCsrf(hub, request, reply, form))) return null;
    return { hub, form };
  };

  const reviewItems = (hub: Hub) => reviewQueue(ctx, hub.actor);
  const pendingRequests = async (hub: Hub) =>
    (await listAppRequests(ctx, hub.actor, { status: 'pending', tenantId: hub.tenant.id, limit: 200 })).items;
  const tenantUsers = async (hub: Hub) =>
    (await listUsers(ctx, hub.actor, { tenantId: hub.tenant.id, limit: 200 })).items;
  const notice = (q: unknown) => {
    const n = (q as Record<string, string | undefined>).notice;
    return n ? NOTICES[n] : undefined;
  };

  app.get('/admin', async (request, reply) => {
    const hub = await adminHub(request, reply);
    if (!hub) return reply;
    return seeOther(reply, hub.actor.platformAdmin ? '/admin/review' : '/admin/requests');
  });

  app.get('/admin/review', async (request, reply) => {
    const hub = await adminHub(request, reply);
    if (!hub) return reply;
    if (!hub.actor.platformAdmin)
      return forbiddenPage(hub, reply, 'Only platform administrators review public apps.');
    return sendPage(
      reply,
      200,
      ReviewPage({ hub, items: await reviewItems(hub), notice: notice(request.query) }),
    );
  });

  app.post('/admin/review/:id/:decision', async (request, reply) => {
    const p = await posted(request, reply);
    if (!p) return reply;
    const { hub, form } = p;
    const { id, decision } = request.params as { id: string; decision: string };
    return guard(hub, reply, 'app', async () => {
      try {
        if (decision === 'approve') {
          await approveApp(ctx, hub.actor, id);
          return seeOther(reply, '/admin/review?notice=approved');
        }
        if (decision !== 'reject') return notFoundPage(hub, reply);
        await rejectApp(ctx, hub.actor, id, form.get('reason'));
        return seeOther(reply, '/admin/review?notice=rejected');
      } catch (e) {
        const errors = toFormErrors(e, ['reason']);
        const items = await reviewItems(hub);
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
    });
  });

  app.get('/admin/requests', async (request, reply) => {
    const hub = await adminHub(request, reply);
    if (!hub) return reply;
    return sendPage(
      reply,
      200,
      RequestsPage({ hub, items: await pendingRequests(hub), notice: notice(request.query) }),
    );
  });

  app.post('/admin/requests/:id/:decision', async (request, reply) => {
    const p = await posted(request, reply);
    if (!p) return reply;
    const { hub, form } = p;
    const { id, decision } = request.params as { id: string; decision: string };
    return guard(hub, reply, 'app request', async () => {
      try {
        if (decision === 'fulfil') {
          await fulfilAppRequest(ctx, hub.actor, id);
          return seeOther(reply, '/admin/requests?notice=fulfilled');
        }
        if (decision !== 'decline') return notFoundPage(hub, reply);
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
    });
  });

  app.get('/admin/settings', async (request, reply) => {
    const hub = await adminHub(request, reply);
    if (!hub) return reply;
    return sendPage(reply, 200, SettingsPage({ hub, notice: notice(request.query) }));
  });

  app.post('/admin/settings', async (request, reply) => {
    const p = await posted(request, reply);
    if (!p) return reply;
    const { hub, form } = p;
    const values: SettingsValues = {
      users_can_register_apps: form.get('users_can_register_apps'),
      secret_max_lifetime_days: form.get('secret_max_lifetime_days').slice(0, 20),
      secret_allow_never_expire: form.get('secret_allow_never_expire'),
    };
    const days = Number(values.secret_max_lifetime_days.trim());
    try {
      if (!/^\d+$/.test(values.secret_max_lifetime_days.trim()))
        throw invalid('secret_max_lifetime_days', 'Enter a whole number of days, from 1 to 3650.');
      await updateTenantSettings(ctx, hub.actor, hub.tenant.id, {
        users_can_register_apps: values.users_can_register_apps === 'yes',
        secret_max_lifetime_days: days,
        secret_allow_never_expire: values.secret_allow_never_expire === 'yes',
      });
      return seeOther(reply, '/admin/settings?notice=saved');
    } catch (e) {
      const errors = toFormErrors(e, [
        'users_can_register_apps',
        'secret_max_lifetime_days',
        'secret_allow_never_expire',
      ]);
      return sendPage(reply, 400, SettingsPage({ hub, values, errors }));
    }
  });

  app.get('/admin/users', async (request, reply) => {
    const hub = await adminHub(request, reply);
    if (!hub) return reply;
    return sendPage(
      reply,
      200,
      UsersPage({ hub, users: await tenantUsers(hub), notice: notice(request.query) }),
    );
  });

  app.post('/admin/users', async (request, reply) => {
    const p = await posted(request, reply);
    if (!p) return reply;
    const { hub, form } = p;
    const values: NewUserValues = {
      email: form.get('email').slice(0, 320),
      display_name: form.get('display_name').slice(0, 200),
      role: form.get('role').slice(0, 50),
    };
    // Checked up front as well as by the domain, so every field's problem is shown at once.
    const early: Record<string, string> = {};
    const emailError = values.email.trim() ? emailProblem(values.email) : 'Enter an email address.';
    if (emailError) early.email = emailError;
    if (!ROLE_OPTIONS.some((o) => o.value === values.role)) early.role = ROLE_MESSAGE;
    if (Object.keys(early).length)
      return sendPage(
        reply,
        400,
        UsersPage({ hub, users: await tenantUsers(hub), values, errors: { fields: early } }),
      );
    try {
      const { user, initialPassword } = await createUser(ctx, hub.actor, {
        tenantId: hub.tenant.id,
        email: values.email,
        displayName: values.display_name,
        role: values.role as UserRole,
      });
      return sendPage(
        noStore(reply),
        201,
        UsersPage({ hub, users: await tenantUsers(hub), invited: { user, password: initialPassword ?? '' } }),
      );
    } catch (e) {
      const errors = toFormErrors(e, ['email', 'display_name', 'role']);
      errors.fields = { ...early, ...errors.fields };
      if (errors.form?.includes('already exists')) {
        errors.fields.email = errors.form;
        errors.form = undefined;
      }
      return sendPage(reply, 400, UsersPage({ hub, users: await tenantUsers(hub), values, errors }));
    }
  });

  app.post('/admin/users/:id/:action', async (request, reply) => {
    const p = await posted(request, reply);
    if (!p) return reply;
    const { hub, form } = p;
    const { id, action } = request.params as { id: string; action: string };
    return guard(hub, reply, 'user', async () => {
      try {
        if (action === 'role')
          await updateUser(ctx, hub.actor, id, { role: form.get('role').slice(0, 50) as UserRole });
        else if (action === 'disable') await updateUser(ctx, hub.actor, id, { disabled: true });
        else if (action === 'enable') await updateUser(ctx, hub.actor, id, { disabled: false });
        else return notFoundPage(hub, reply);
        return seeOther(reply, '/admin/users?notice=user-updated');
      } catch (e) {
        const errors = toFormErrors(e, ['role']);
        const users = await tenantUsers(hub);
        // A role that does not exist is a field error on that user's row; conflicts (the last admin) are 409.
        if (errors.fields.role)
          return sendPage(
            reply,
            400,
            UsersPage({ hub, users, roleError: { userId: id, message: errors.fields.role } }),
          );
        return sendPage(reply, 409, UsersPage({ hub, users, error: errors.form }));
      }
    });
  });
}
