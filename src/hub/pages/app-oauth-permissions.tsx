import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { type Api, apiVisibleToTenant } from '../../domain/apis.js';
import {
  type AppPermission,
  grantAppPermission,
  removeAppPermission,
  requestAppPermission,
} from '../../domain/app-permissions.js';
import { type App, getAppForActor } from '../../domain/apps.js';
import type { Services } from '../../services.js';
import { type FormErrors, type Hub, isAdmin, seeOther, toFormErrors } from '../context.js';
import { hubAction } from '../route.js';
import { Alert, Choices, Csrf, DateText, Dialog, DialogButton, Empty, Select } from '../ui/components.js';
import { appPath } from './app-shell.js';

/**
 * The "API permissions" card of the app's "OAuth & access scopes" tab: per API, the scopes the app may use
 * and whether they are granted or wait for an admin's consent; a form to request scopes of an API the
 * developer may see; and, for tenant admins, "Grant admin consent" on a pending permission. Remove asks
 * first. Every form posts (CSRF) and redirects.
 */

/** Path parameters of a permission's routes (`/apps/:id/oauth/permissions/:api/...`). */
export const PermissionParams = Type.Object({ id: Type.String(), api: Type.String() });

/** A request form being shown: the API, and after a failed post what was ticked and its errors. */
export interface PermissionRequest {
  apiId: string;
  values?: string[];
  errors?: FormErrors;
}

export interface PermissionsProps {
  hub: Hub;
  app: App;
  permissions: AppPermission[];
  /** The APIs the actor may see (and so request scopes of), by id. */
  apis: Api[];
  /** The API whose scope checkboxes are open (`?request_api=`), with what was ticked and its errors. */
  request?: PermissionRequest;
  /** The API whose Remove confirmation is open (`?remove_api=`). */
  confirmRemove?: string;
}

export const permissionsPath = (app: Pick<App, 'id'>, apiId: string) =>
  `${appPath(app, 'oauth')}/permissions/${encodeURIComponent(apiId)}`;

function StateBadge({ granted }: { granted: boolean }) {
  return granted ? (
    <span class="badge badge-ok">Granted</span>
  ) : (
    <span class="badge badge-warn">Pending admin consent</span>
  );
}

function PermissionBlock(props: PermissionsProps & { perm: AppPermission }) {
  const { hub, app, perm } = props;
  const api = props.apis.find((a) => a.id === perm.api_id);
  const builtIn = !!api?.built_in;
  const describe = new Map(api?.scopes.map((s) => [s.name, s]) ?? []);
  const tab = appPath(app, 'oauth');
  const path = permissionsPath(app, perm.api_id);
  const pending = perm.scopes.filter((s) => !perm.granted_scopes.includes(s));
  return (
    <article class="permission" aria-labelledby={`perm-${perm.api_id}`} data-api-id={perm.api_id}>
      <div class="card-head">
        <div>
          <h3 id={`perm-${perm.api_id}`}>{perm.api_name}</h3>
          <span class="mono small">{perm.identifier}</span>
        </div>
        <div class="status-line">
          <StateBadge granted={perm.status === 'granted'} />
          {perm.granted_at !== null ? (
            <span class="hint">
              {perm.status === 'granted' ? 'granted' : 'last granted'} <DateText at={perm.granted_at} />
            </span>
          ) : null}
        </div>
      </div>
      {pending.length > 0 ? (
        <p class="hint">
          {isAdmin(hub) ? 'Waiting for your consent' : `Waiting for an admin of ${hub.tenant.name}`}:{' '}
          <span class="mono">{pending.join(', ')}</span>. Until then the app gets no client-credentials tokens
          with these scopes, and users cannot consent to those that need an admin.
        </p>
      ) : null}
      <div class="table-wrap">
        <table class="data stack">
          <thead>
            <tr>
              <th scope="col">Scope</th>
              <th scope="col">Description</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {perm.scopes.map((name) => {
              const s = describe.get(name);
              return (
                <tr key={name} data-scope={name}>
                  <td data-label="Scope" class="mono">
                    {name}
                  </td>
                  <td data-label="Description">
                    {s?.description || <span class="muted">No description</span>}
                    {s?.admin_consent_required ? (
                      <span class="cell-sub block">Admin consent required</span>
                    ) : null}
                  </td>
                  <td data-label="State">
                    <StateBadge granted={perm.granted_scopes.includes(name)} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {builtIn ? (
        <p class="hint">A built-in API: its scopes are chosen under "Access scopes" above.</p>
      ) : (
        <div class="actions">
          {pending.length > 0 && isAdmin(hub) ? (
            <form method="post" action={`${path}/grant`} class="inline-form">
              <Csrf token={hub.csrf} />
              <button type="submit" class="btn btn-primary">
                Grant admin consent<span class="visually-hidden"> for {perm.api_name}</span>
              </button>
            </form>
          ) : null}
          {api ? (
            <a class="btn" href={`${tab}?request_api=${encodeURIComponent(perm.api_id)}#request-title`}>
              Change scopes<span class="visually-hidden"> of {perm.api_name}</span>
            </a>
          ) : null}
          <DialogButton
            action={tab}
            query={{ remove_api: perm.api_id }}
            dialog={`remove-perm-${perm.api_id}`}
            class="btn btn-danger"
          >
            Remove<span class="visually-hidden"> permission for {perm.api_name}</span>
          </DialogButton>
        </div>
      )}
      {builtIn ? null : (
        <Dialog
          id={`remove-perm-${perm.api_id}`}
          title={`Remove access to ${perm.api_name}?`}
          open={props.confirmRemove === perm.api_id}
          closeHref={tab}
        >
          <p>
            The app can no longer get tokens for {perm.api_name} (<span class="mono">{perm.identifier}</span>
            ). Tokens already issued stay valid until they expire.
          </p>
          <form method="post" action={`${path}/remove`}>
            <Csrf token={hub.csrf} />
            <div class="actions">
              <a class="btn" href={tab} data-dialog-close>
                Cancel
              </a>
              <button type="submit" class="btn btn-danger-solid">
                Remove access
              </button>
            </div>
          </form>
        </Dialog>
      )}
    </article>
  );
}

/** Step 2 of a request: the chosen API's scopes as checkboxes (those the app holds ticked). */
function RequestScopes(props: PermissionsProps & { api: Api }) {
  const { hub, app, api, request } = props;
  const held = props.permissions.find((x) => x.api_id === api.id);
  const selected = request?.values ?? held?.scopes ?? [];
  const errors = request?.errors ?? { fields: {} };
  const admin = isAdmin(hub);
  return (
    <form method="post" action={permissionsPath(app, api.id)} novalidate class="request-scopes">
      <Csrf token={hub.csrf} />
      {errors.form ? <Alert kind="error">{errors.form}</Alert> : null}
      {api.scopes.length === 0 ? (
        <p class="muted">{api.name} has no scopes yet.</p>
      ) : (
        <Choices
          type="checkbox"
          name="scopes"
          legend={`Scopes of ${api.name}`}
          hint={
            admin
              ? 'As an admin your choice is granted at once.'
              : `Scopes marked "admin consent", and every scope used with client credentials, wait for an admin of ${hub.tenant.name}.`
          }
          row
          selected={selected}
          error={errors.fields.scopes}
          options={api.scopes.map((s) => ({
            value: s.name,
            label: s.description || s.name,
            description: s.admin_consent_required ? `${s.name} · admin consent required` : s.name,
          }))}
        />
      )}
      <div class="actions">
        <button type="submit" class="btn btn-primary">
          {admin ? 'Grant these scopes' : 'Request these scopes'}
        </button>
        <a class="btn" href={appPath(app, 'oauth')}>
          Cancel
        </a>
      </div>
    </form>
  );
}

/** The card itself. */
export function PermissionsCard(props: PermissionsProps) {
  const { hub, app, permissions, apis } = props;
  const tab = appPath(app, 'oauth');
  // The built-in APIs' scopes keep their own form ("Access scopes", with the review of public apps).
  // A platform admin sees every API; the app may use only its tenant's and public ones.
  const requestable = apis.filter((a) => a.built_in === null && apiVisibleToTenant(a, app.tenant_id));
  const chosen = props.request ? requestable.find((a) => a.id === props.request?.apiId) : undefined;
  return (
    <section class="card" aria-labelledby="permissions-title" id="permissions">
      <h2 id="permissions-title">API permissions</h2>
      <p class="section-note">
        The APIs this app may get tokens for, and the scopes it may use with each. A token is for one API: the
        app names it with <code>resource</code>. Granted scopes work at once; pending ones wait for an admin's
        consent.
      </p>
      {permissions.length === 0 ? (
        <Empty title="No API permissions yet">
          <p>Request scopes of an API below.</p>
        </Empty>
      ) : (
        permissions.map((perm) => <PermissionBlock key={perm.api_id} {...props} perm={perm} />)
      )}
      <h3 id="request-title">Request API permissions</h3>
      {requestable.length === 0 ? (
        <p class="hint">
          No API of {hub.tenant.name} (or public API) exists yet
          {isAdmin(hub) ? '' : ': ask an admin to register one'}.
          {isAdmin(hub) ? (
            <>
              {' '}
              <a href="/apis/new">Register an API</a>.
            </>
          ) : null}
        </p>
      ) : null}
      <form method="get" action={tab} class="inline-fields" aria-labelledby="request-title">
        <Select
          name="request_api"
          label="API"
          value={props.request?.apiId ?? ''}
          options={[
            { value: '', label: 'Choose an API' },
            ...requestable.map((a) => ({ value: a.id, label: `${a.name} (${a.identifier})` })),
          ]}
        />
        <button type="submit" class="btn">
          Choose scopes
        </button>
      </form>
      {props.request && !chosen ? (
        <Alert kind="error">
          {props.request.errors?.form ?? 'This API does not exist, or your app may not use it.'}
        </Alert>
      ) : null}
      {chosen ? <RequestScopes {...props} api={chosen} /> : null}
    </section>
  );
}

export const PERMISSION_NOTICES: Record<string, string> = {
  'permission-granted': 'Granted. The app may use these scopes now.',
  'permission-requested': 'Requested. An admin of your tenant grants the scopes that need consent.',
  'permission-removed': 'Access removed. Tokens already issued stay valid until they expire.',
};

/** How the tab shows a failed form of the card: the request form with its errors, or a message. */
export interface PermissionFailures {
  renderFailed(hub: Hub, reply: FastifyReply, app: App, request: PermissionRequest): Promise<FastifyReply>;
  renderError(hub: Hub, reply: FastifyReply, app: App, message: string | undefined): Promise<FastifyReply>;
}

/**
 * The routes of the card's forms. A refused grant or removal (a conflict, say) shows the tab with the
 * domain's message; forbidden and not-found errors get the hub's 403 and 404 pages.
 */
export function permissionRoutes(
  app: FastifyInstance,
  services: Services,
  { renderFailed, renderError }: PermissionFailures,
): void {
  const ctx = services.ctx;
  const onPermission = { params: PermissionParams, what: 'app' };

  hubAction(app, services, '/apps/:id/oauth/permissions/:api', onPermission, async (r) => {
    const { hub, form, reply } = r;
    const a = await getAppForActor(ctx, hub.actor, r.params.id);
    const values = form.all('scopes');
    try {
      const perm = await requestAppPermission(ctx, hub.actor, a.id, r.params.api, values);
      const notice = perm.status === 'granted' ? 'permission-granted' : 'permission-requested';
      return seeOther(reply, `${appPath(a, 'oauth')}?notice=${notice}#permissions`);
    } catch (e) {
      const errors = toFormErrors(e, ['scopes']);
      return renderFailed(hub, reply, a, { apiId: r.params.api, values, errors });
    }
  });

  hubAction(app, services, '/apps/:id/oauth/permissions/:api/grant', onPermission, async (r) => {
    const { hub, reply } = r;
    const a = await getAppForActor(ctx, hub.actor, r.params.id);
    try {
      await grantAppPermission(ctx, hub.actor, a.id, r.params.api);
    } catch (e) {
      return renderError(hub, reply, a, toFormErrors(e, []).form);
    }
    return seeOther(reply, `${appPath(a, 'oauth')}?notice=permission-granted#permissions`);
  });

  hubAction(app, services, '/apps/:id/oauth/permissions/:api/remove', onPermission, async (r) => {
    const { hub, reply } = r;
    const a = await getAppForActor(ctx, hub.actor, r.params.id);
    try {
      await removeAppPermission(ctx, hub.actor, a.id, r.params.api);
    } catch (e) {
      return renderError(hub, reply, a, toFormErrors(e, []).form);
    }
    return seeOther(reply, `${appPath(a, 'oauth')}?notice=permission-removed#permissions`);
  });
}
