import type { FastifyInstance } from 'fastify';
import type { ExpiryNoticeRecipients } from '../../db/schema.js';
import { invalid } from '../../domain/errors.js';
import { mailEnabled } from '../../domain/mail.js';
import { updateTenantSettings } from '../../domain/tenants.js';
import type { Services } from '../../services.js';
import { sendPage } from '../../web/render.js';
import { type FormErrors, type Hub, seeOther, toFormErrors } from '../context.js';
import { hubAction, hubPage, NoParams } from '../route.js';
import { Alert, Choices, Csrf, Field } from '../ui/components.js';
import { AdminShell, adminNotice, adminsOnly } from './admin-shell.js';

/** The tenant's settings: who registers apps, the client secret policy, and what a leak report does. */

interface SettingsValues {
  users_can_register_apps: string;
  secret_max_lifetime_days: string;
  secret_allow_never_expire: string;
  leaked_secret_policy: string;
  expiry_notice_recipients: string;
}

function SettingsPage(p: { hub: Hub; values?: SettingsValues; errors?: FormErrors; notice?: string }) {
  const s = p.hub.tenant.settings;
  const v = p.values ?? {
    users_can_register_apps: s.users_can_register_apps ? 'yes' : 'no',
    secret_max_lifetime_days: String(s.secret_max_lifetime_days),
    secret_allow_never_expire: s.secret_allow_never_expire ? 'yes' : 'no',
    leaked_secret_policy: s.leaked_secret_policy,
    expiry_notice_recipients: s.expiry_notice_recipients,
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
          <h2>Leaked secrets</h2>
          <Choices
            name="leaked_secret_policy"
            legend="When someone reports one of your client secrets as leaked"
            selected={[v.leaked_secret_policy]}
            error={e.fields.leaked_secret_policy}
            options={[
              {
                value: 'revoke',
                label: 'Revoke it at once (recommended)',
                description:
                  "The secret stops working immediately; the app's owner and the admins are told and rotate.",
              },
              {
                value: 'notify',
                label: 'Only notify',
                description: "The secret keeps working until the app's owner or an admin revokes it.",
              },
            ]}
          />
          <h2>Expiry notices</h2>
          {mailEnabled(p.hub.services.ctx) ? null : (
            <Alert kind="warn">
              This server sends no mail (CLAVIS_SMTP_URL is not set): expiry notices are recorded and sent as
              events, but nobody is mailed.
            </Alert>
          )}
          <Choices
            name="expiry_notice_recipients"
            legend="Who is mailed when a client secret expires in 30, 7 and 1 days, and when it has expired"
            selected={[v.expiry_notice_recipients]}
            error={e.fields.expiry_notice_recipients}
            options={[
              { value: 'owner_and_admins', label: 'The app owner and the tenant admins' },
              { value: 'owner', label: 'The app owner only' },
              { value: 'admins', label: 'The tenant admins only' },
              { value: 'none', label: 'Nobody (events only)' },
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

export async function adminSettingsRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const ctx = services.ctx;

  hubPage(
    app,
    services,
    '/admin/settings',
    { params: NoParams, deny: adminsOnly },
    async ({ hub, query, reply }) => sendPage(reply, 200, SettingsPage({ hub, notice: adminNotice(query) })),
  );

  hubAction(
    app,
    services,
    '/admin/settings',
    { params: NoParams, deny: adminsOnly },
    async ({ hub, form, reply }) => {
      const values: SettingsValues = {
        users_can_register_apps: form.get('users_can_register_apps'),
        secret_max_lifetime_days: form.get('secret_max_lifetime_days').slice(0, 20),
        secret_allow_never_expire: form.get('secret_allow_never_expire'),
        leaked_secret_policy: form.get('leaked_secret_policy'),
        expiry_notice_recipients: form.get('expiry_notice_recipients').slice(0, 40),
      };
      const days = Number(values.secret_max_lifetime_days.trim());
      try {
        if (!/^\d+$/.test(values.secret_max_lifetime_days.trim()))
          throw invalid('secret_max_lifetime_days', 'Enter a whole number of days, from 1 to 3650.');
        await updateTenantSettings(ctx, hub.actor, hub.tenant.id, {
          users_can_register_apps: values.users_can_register_apps === 'yes',
          secret_max_lifetime_days: days,
          secret_allow_never_expire: values.secret_allow_never_expire === 'yes',
          leaked_secret_policy: values.leaked_secret_policy === 'notify' ? 'notify' : 'revoke',
          ...(values.expiry_notice_recipients
            ? { expiry_notice_recipients: values.expiry_notice_recipients as ExpiryNoticeRecipients }
            : {}),
        });
        return seeOther(reply, '/admin/settings?notice=saved');
      } catch (e) {
        const errors = toFormErrors(e, [
          'users_can_register_apps',
          'secret_max_lifetime_days',
          'secret_allow_never_expire',
          'leaked_secret_policy',
          'expiry_notice_recipients',
        ]);
        return sendPage(reply, 400, SettingsPage({ hub, values, errors }));
      }
    },
  );
}
