import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { VNode } from 'preact';
import { render } from 'preact-render-to-string';
import {
  type Api,
  canManageApi,
  createApi,
  deleteApi,
  getApi,
  listApis,
  updateApi,
} from '../../domain/apis.js';
import { type App, listApps } from '../../domain/apps.js';
import { DomainError } from '../../domain/errors.js';
import type { Services } from '../../services.js';
import { sendPage } from '../../web/render.js';
import { type FormErrors, type Hub, isAdmin, seeOther, toFormErrors } from '../context.js';
import { hubFlashes } from '../flash.js';
import type { Refusal } from '../refusals.js';
import { hubAction, hubPage, NoParams } from '../route.js';
import { Alert, CopyableId, Csrf, DateText, Dialog, DialogButton, Empty } from '../ui/components.js';
import { HubPage } from '../ui/hub-page.js';
import {
  API_FORM_FIELDS,
  ApiForm,
  type ApiFormValues,
  apiInputOf,
  apiPatchOf,
  apiValues,
  emptyApiValues,
  ResourceServersField,
  readApiForm,
} from './apis-form.js';

/**
 * The "APIs" pages for admins: the resource servers apps get tokens for. The list (the two built-in APIs
 * marked, never deletable), a new API, and each API's page with its settings, scopes and resource-server
 * apps, and Delete (asking again, with `force`, when apps hold permissions on it).
 */

export const apiPath = (api: Pick<Api, 'id'>) => `/apis/${encodeURIComponent(api.id)}`;

const ApiParams = Type.Object({ id: Type.String() });

/** Tenant admins and platform admins manage APIs; developers request their scopes on an app's page. */
export function apiAdminsOnly(hub: Hub): Refusal | undefined {
  return isAdmin(hub)
    ? undefined
    : {
        message:
          'Only admins of your tenant manage APIs. To use an API, request its scopes on your app\'s "OAuth & access scopes" tab.',
        link: { href: '/apps', label: 'Back to your apps' },
      };
}

/**
 * Whether this admin may change the API's settings: their tenant's APIs, and for platform admins every API
 * but the built-ins, which change only their resource servers (src/domain/apis.ts canManageApi is the rule;
 * this only chooses between the form and the plain view).
 */
export function mayEditApi(hub: Hub, api: Api): boolean {
  return api.built_in === null && canManageApi(hub.actor, api);
}

function OwnerBadge({ hub, api }: { hub: Hub; api: Api }) {
  if (api.built_in) return <span class="badge badge-info">Built-in</span>;
  if (api.tenant_id === hub.actor.tenantId) return <span class="badge">{hub.tenant.name}</span>;
  return <span class="badge badge-muted">Another tenant</span>;
}

function VisibilityText({ api }: { api: Api }) {
  return api.visibility === 'public' ? (
    <span class="badge">Public</span>
  ) : (
    <span class="badge badge-muted">Tenant only</span>
  );
}

const LIST_NOTICES: Record<string, string> = {
  deleted: 'The API was deleted. Tokens already issued for it stay valid until they expire.',
};

function ApisListPage(p: { hub: Hub; apis: Api[]; notice?: string }) {
  const { hub, apis } = p;
  const builtIn = apis.filter((a) => a.built_in !== null);
  const own = apis.filter((a) => a.built_in === null);
  return (
    <HubPage hub={hub} title="APIs" active="/apis">
      <div class="page-head">
        <div>
          <h1>APIs</h1>
          <p class="muted">
            The APIs (resource servers) apps get access tokens for. Each has an identifier, the tokens'
            audience, and the scopes apps may ask for.
          </p>
        </div>
        <div class="actions">
          <a class="btn btn-primary" href="/apis/new">
            New API
          </a>
        </div>
      </div>
      {p.notice ? <Alert kind="ok">{p.notice}</Alert> : null}
      <div class="card">
        {[...own, ...builtIn].length === 0 ? (
          <Empty title="No APIs yet" />
        ) : (
          <div class="table-wrap">
            <table class="data stack apis-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Identifier (audience)</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Visibility</th>
                  <th scope="col">Owner</th>
                  <th scope="col" class="hide-md">
                    Token lifetime
                  </th>
                </tr>
              </thead>
              <tbody>
                {[...own, ...builtIn].map((a) => (
                  <tr key={a.id} data-api-id={a.id}>
                    <td data-label="Name">
                      <a href={apiPath(a)}>
                        <strong>{a.name}</strong>
                      </a>
                      {a.description ? (
                        <div class="cell-sub">
                          {a.description.length > 90 ? `${a.description.slice(0, 89)}…` : a.description}
                        </div>
                      ) : null}
                    </td>
                    <td data-label="Identifier">
                      <CopyableId id={`aud-${a.id}`} value={a.identifier} label={`identifier of ${a.name}`} />
                    </td>
                    <td data-label="Scopes">
                      {a.scopes.length === 0 ? (
                        <span class="muted small">None yet</span>
                      ) : (
                        <span class="scope-chips">
                          {a.scopes.slice(0, 4).map((s) => (
                            <code class="scope-chip" key={s.name}>
                              {s.name}
                            </code>
                          ))}
                          {a.scopes.length > 4 ? (
                            <span class="muted small">and {a.scopes.length - 4} more</span>
                          ) : null}
                        </span>
                      )}
                    </td>
                    <td data-label="Visibility">
                      <VisibilityText api={a} />
                    </td>
                    <td data-label="Owner">
                      <OwnerBadge hub={hub} api={a} />
                    </td>
                    <td data-label="Token lifetime" class="hide-md">
                      {a.access_token_ttl} s
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <p class="hint">
          Built-in APIs exist on every server: the Clavis management API and the sample API. They cannot be
          deleted.
        </p>
      </div>
    </HubPage>
  );
}

function ApiHead(p: { hub: Hub; api?: Api; title: string }) {
  return (
    <>
      <div class="crumbs">
        <a href="/apis">APIs</a> / {p.title}
      </div>
      <div class="page-head">
        <div>
          <h1>{p.title}</h1>
          {p.api ? (
            <div class="status-line">
              <VisibilityText api={p.api} />
              <OwnerBadge hub={p.hub} api={p.api} />
              {p.api.allow_client_credentials ? null : (
                <span class="badge badge-muted">No client credentials</span>
              )}
            </div>
          ) : null}
        </div>
      </div>
    </>
  );
}

function NewApiPage(p: { hub: Hub; values: ApiFormValues; errors: FormErrors; candidates: App[] }) {
  return (
    <HubPage hub={p.hub} title="New API" active="/apis">
      <ApiHead hub={p.hub} title="New API" />
      <div class="card">
        <ApiForm
          hub={p.hub}
          values={p.values}
          errors={p.errors}
          candidates={p.candidates}
          action="/apis/new"
          cancelHref="/apis"
        />
      </div>
    </HubPage>
  );
}

/** An API this admin may see but not change: its settings and scopes, read only. */
function ApiView({ hub, api }: { hub: Hub; api: Api }) {
  return (
    <section class="card" aria-labelledby="api-view-title">
      <h2 id="api-view-title">Settings</h2>
      <p class="section-note">
        {api.built_in
          ? 'A built-in API: it exists on every server and cannot be deleted. Only its resource servers change, set by a platform administrator.'
          : `This API belongs to another tenant and is public, so apps of ${hub.tenant.name} may request its scopes.`}
      </p>
      <dl class="kv">
        <dt>Identifier (audience)</dt>
        <dd>
          <CopyableId id="api-identifier" value={api.identifier} label="identifier" />
        </dd>
        {api.description ? (
          <>
            <dt>Description</dt>
            <dd>{api.description}</dd>
          </>
        ) : null}
        <dt>Access token lifetime</dt>
        <dd>{api.access_token_ttl} seconds</dd>
        <dt>Client credentials</dt>
        <dd>{api.allow_client_credentials ? 'Allowed' : 'Not allowed'}</dd>
      </dl>
      <h3>Scopes</h3>
      <ScopesList api={api} />
    </section>
  );
}

/** An API's scopes as a read-only table. */
export function ScopesList({ api }: { api: Api }) {
  if (api.scopes.length === 0) return <p class="muted">This API has no scopes yet.</p>;
  return (
    <div class="table-wrap">
      <table class="data stack">
        <thead>
          <tr>
            <th scope="col">Scope</th>
            <th scope="col">Description</th>
            <th scope="col">Admin consent</th>
          </tr>
        </thead>
        <tbody>
          {api.scopes.map((s) => (
            <tr key={s.name}>
              <td data-label="Scope" class="mono">
                {s.name}
              </td>
              <td data-label="Description">{s.description || <span class="muted">No description</span>}</td>
              <td data-label="Admin consent">{s.admin_consent_required ? 'Required' : 'Not required'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const API_NOTICES: Record<string, string> = {
  created: 'The API was created. Apps can now request its scopes.',
  saved: 'API saved.',
};

interface ApiPageProps {
  hub: Hub;
  api: Api;
  values?: ApiFormValues;
  errors?: FormErrors;
  candidates: App[];
  notice?: string;
  /** The delete confirmation is open; `force` when apps hold permissions on the API (the domain said so). */
  confirmDelete?: { force?: string };
  confirmForce?: string;
  /** A failed action's message (shown above everything). */
  error?: string;
}

function ApiPage(p: ApiPageProps) {
  const { hub, api } = p;
  const path = apiPath(api);
  const editable = mayEditApi(hub, api);
  return (
    <HubPage hub={hub} title={`${api.name} · APIs`} active="/apis">
      <ApiHead hub={hub} api={api} title={api.name} />
      {p.notice ? <Alert kind="ok">{p.notice}</Alert> : null}
      {p.error ? <Alert kind="error">{p.error}</Alert> : null}
      {editable ? (
        <section class="card" aria-labelledby="api-settings-title">
          <h2 id="api-settings-title">Settings</h2>
          <ApiForm
            hub={hub}
            api={api}
            values={p.values ?? apiValues(api)}
            errors={p.errors ?? { fields: {} }}
            candidates={p.candidates}
            action={path}
            cancelHref={path}
            confirmForce={p.confirmForce}
          />
        </section>
      ) : (
        <ApiView hub={hub} api={api} />
      )}
      {api.built_in && canManageApi(hub.actor, api) ? (
        <section class="card" aria-labelledby="api-rs-title">
          <h2 id="api-rs-title">Resource servers</h2>
          <form method="post" action={path} novalidate>
            <Csrf token={hub.csrf} />
            {p.errors?.form ? <Alert kind="error">{p.errors.form}</Alert> : null}
            <ResourceServersField
              selected={p.values?.resource_server_app_ids ?? api.resource_server_app_ids}
              error={p.errors?.fields.resource_server_app_ids}
              candidates={p.candidates}
            />
            <button type="submit" name="op" value="resource-servers" class="btn btn-primary">
              Save resource servers
            </button>
          </form>
        </section>
      ) : null}
      {editable && api.built_in === null ? (
        <section class="card danger-zone" aria-labelledby="api-delete-title">
          <h2 id="api-delete-title">Delete this API</h2>
          <p class="section-note">
            Apps can no longer get tokens for it, and their permissions on it are removed. Tokens already
            issued stay valid until they expire.
          </p>
          <DialogButton
            action={path}
            query={{ confirm: 'delete' }}
            dialog="delete-api"
            class="btn btn-danger"
          >
            Delete API
          </DialogButton>
          <Dialog id="delete-api" title={`Delete ${api.name}?`} open={!!p.confirmDelete} closeHref={path}>
            {p.confirmDelete?.force ? (
              <Alert kind="warn">
                <strong>Apps use this API.</strong> {p.confirmDelete.force} Deleting it removes their
                permissions on it.
              </Alert>
            ) : (
              <p>
                The API <strong>{api.name}</strong> (<span class="mono">{api.identifier}</span>) and its
                scopes are deleted. This cannot be undone.
              </p>
            )}
            <form method="post" action={`${path}/delete`}>
              <Csrf token={hub.csrf} />
              {p.confirmDelete?.force ? <input type="hidden" name="force" value="yes" /> : null}
              <div class="actions">
                <a class="btn" href={path} data-dialog-close>
                  Cancel
                </a>
                <button type="submit" class="btn btn-danger-solid">
                  {p.confirmDelete?.force ? 'Delete the API and remove its permissions' : 'Delete API'}
                </button>
              </div>
            </form>
          </Dialog>
        </section>
      ) : null}
      <p class="hint">
        Created <DateText at={api.created_at} />, last changed <DateText at={api.updated_at} withTime />.
      </p>
    </HubPage>
  );
}

/**
 * The confidential apps that may serve an API (introspection needs client authentication): the API's
 * tenant's apps this admin may list, at most 200.
 */
async function resourceServerCandidates(hub: Hub, api?: Api): Promise<App[]> {
  const tenantId = api?.tenant_id ?? hub.actor.tenantId ?? undefined;
  const { items } = await listApps(hub.services.ctx, hub.actor, { tenantId, limit: 200 });
  return items.filter((a) => a.client_type === 'confidential');
}

/**
 * Answers a POST by showing `page` at `path` once: kept in the session's flash store and redirected to with
 * `?flash=ID` (see route.ts), for a step that re-shows the form as typed without saving ("Add a row").
 */
function showOnce(hub: Hub, reply: FastifyReply, path: string, page: VNode): FastifyReply {
  const id = hubFlashes.put(hub.session.idHash, path, `<!doctype html>${render(page)}`);
  return seeOther(reply, `${path}?flash=${id}`);
}

export async function apisRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const ctx = services.ctx;
  const forAdmins = { params: NoParams, deny: apiAdminsOnly };
  const onApi = { params: ApiParams, what: 'API', deny: apiAdminsOnly };

  hubPage(app, services, '/apis', forAdmins, async ({ hub, query, reply }) => {
    const apis = await listApis(ctx, hub.actor);
    const notice = query.notice ? LIST_NOTICES[query.notice] : undefined;
    return sendPage(reply, 200, ApisListPage({ hub, apis, notice }));
  });

  hubPage(app, services, '/apis/new', forAdmins, async ({ hub, reply }) =>
    sendPage(
      reply,
      200,
      NewApiPage({
        hub,
        values: emptyApiValues(ctx.config.accessTokenTtl),
        errors: { fields: {} },
        candidates: await resourceServerCandidates(hub),
      }),
    ),
  );

  hubAction(app, services, '/apis/new', forAdmins, async ({ hub, form, reply }) => {
    const values = readApiForm(form);
    const candidates = await resourceServerCandidates(hub);
    if (form.get('op') === 'add-row') {
      const more = { ...values, blank_rows: values.blank_rows + 1 };
      return showOnce(
        hub,
        reply,
        '/apis/new',
        NewApiPage({ hub, values: more, errors: { fields: {} }, candidates }),
      );
    }
    try {
      const created = await createApi(ctx, hub.actor, apiInputOf(hub, values));
      return seeOther(reply, `${apiPath(created)}?notice=created`);
    } catch (e) {
      const errors = toFormErrors(e, API_FORM_FIELDS);
      return sendPage(reply, 400, NewApiPage({ hub, values, errors, candidates }));
    }
  });

  hubPage(app, services, '/apis/:id', onApi, async ({ hub, params: { id }, query: q, reply }) => {
    const api = await getApi(ctx, hub.actor, id);
    const editable = mayEditApi(hub, api);
    return sendPage(
      reply,
      200,
      ApiPage({
        hub,
        api,
        candidates: canManageApi(hub.actor, api) ? await resourceServerCandidates(hub, api) : [],
        notice: q.notice ? API_NOTICES[q.notice] : undefined,
        confirmDelete: q.confirm === 'delete' && editable && api.built_in === null ? {} : undefined,
      }),
    );
  });

  hubAction(app, services, '/apis/:id', onApi, async ({ hub, params: { id }, form, reply }) => {
    const api = await getApi(ctx, hub.actor, id);
    const values = readApiForm(form);
    const candidates = await resourceServerCandidates(hub, api);
    if (form.get('op') === 'add-row') {
      const more = { ...values, blank_rows: values.blank_rows + 1 };
      return showOnce(hub, reply, apiPath(api), ApiPage({ hub, api, values: more, candidates }));
    }
    try {
      const patch =
        form.get('op') === 'resource-servers'
          ? { resource_server_app_ids: values.resource_server_app_ids }
          : apiPatchOf(hub, values);
      await updateApi(ctx, hub.actor, api.id, patch, { force: form.get('force') === 'yes' });
      return seeOther(reply, `${apiPath(api)}?notice=saved`);
    } catch (e) {
      const force = needsForce(e);
      if (force) return sendPage(reply, 409, ApiPage({ hub, api, values, candidates, confirmForce: force }));
      const errors = toFormErrors(e, API_FORM_FIELDS);
      return sendPage(reply, 400, ApiPage({ hub, api, values, errors, candidates }));
    }
  });

  hubAction(app, services, '/apis/:id/delete', onApi, async ({ hub, params: { id }, form, reply }) => {
    const api = await getApi(ctx, hub.actor, id);
    try {
      await deleteApi(ctx, hub.actor, api.id, { force: form.get('force') === 'yes' });
      return seeOther(reply, '/apis?notice=deleted');
    } catch (e) {
      const candidates = await resourceServerCandidates(hub, api);
      const force = needsForce(e);
      if (force) return sendPage(reply, 409, ApiPage({ hub, api, candidates, confirmDelete: { force } }));
      return sendPage(reply, 409, ApiPage({ hub, api, candidates, error: toFormErrors(e, []).form }));
    }
  });
}

/**
 * The domain's message when a change needs `force` (apps hold the API, or a scope being removed), for the
 * confirmation that asks again; undefined for any other failure.
 */
function needsForce(e: unknown): string | undefined {
  return e instanceof DomainError && (e.errorCode === 'api_in_use' || e.errorCode === 'api_scope_in_use')
    ? e.message
    : undefined;
}
