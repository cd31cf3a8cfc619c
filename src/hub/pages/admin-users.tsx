import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { createUser, listUsers, updateUser } from '../../domain/user-management.js';
import type { User, UserRole } from '../../domain/users.js';
import type { Services } from '../../services.js';
import { sendPage } from '../../web/render.js';
import { emailProblem, type FormErrors, type Hub, noStore, seeOther, toFormErrors } from '../context.js';
import { hubAction, hubPage, NoParams } from '../route.js';
import { Alert, CopyButton, Csrf, Field, Select } from '../ui/components.js';
import { AdminShell, adminNotice, adminsOnly } from './admin-shell.js';

/** The tenant's users: add one (with a generated initial password), change a role, disable, enable. */

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
                    {u.is_test_user ? (
                      <>
                        {' '}
                        <span class="badge badge-muted">Test user</span>
                      </>
                    ) : null}
                  </td>
                  <td class="actions-cell">
                    <form
                      method="post"
                      action={`/admin/users/${encodeURIComponent(u.id)}/${u.disabled_at === null ? 'disable' : 'enable'}`}
                      class="inline-form"
                      data-confirm={
                        u.disabled_at === null
                          ? `Disable ${u.email}? They are signed out everywhere and can no longer sign in.`
                          : undefined
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

const UserParams = Type.Object({
  id: Type.String(),
  action: Type.Union([Type.Literal('role'), Type.Literal('disable'), Type.Literal('enable')]),
});

export async function adminUsersRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const ctx = services.ctx;
  const tenantUsers = async (hub: Hub) =>
    (await listUsers(ctx, hub.actor, { tenantId: hub.tenant.id, limit: 200 })).items;

  hubPage(
    app,
    services,
    '/admin/users',
    { params: NoParams, deny: adminsOnly },
    async ({ hub, query, reply }) =>
      sendPage(reply, 200, UsersPage({ hub, users: await tenantUsers(hub), notice: adminNotice(query) })),
  );

  hubAction(
    app,
    services,
    '/admin/users',
    { params: NoParams, deny: adminsOnly },
    async ({ hub, form, reply }) => {
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
          UsersPage({
            hub,
            users: await tenantUsers(hub),
            invited: { user, password: initialPassword ?? '' },
          }),
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
    },
  );

  hubAction(
    app,
    services,
    '/admin/users/:id/:action',
    { params: UserParams, what: 'user', deny: adminsOnly },
    async ({ hub, params: { id, action }, form, reply }) => {
      try {
        if (action === 'role')
          await updateUser(ctx, hub.actor, id, { role: form.get('role').slice(0, 50) as UserRole });
        else await updateUser(ctx, hub.actor, id, { disabled: action === 'disable' });
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
    },
  );
}
