import type { Api, ApiInput, ApiPatch, ApiScope } from '../../domain/apis.js';
import type { App } from '../../domain/apps.js';
import { FieldErrors, invalid } from '../../domain/errors.js';
import type { Form, FormErrors, Hub } from '../context.js';
import { Alert, Choices, Csrf, Field } from '../ui/components.js';

/**
 * The API form (create and edit): name, description, token lifetime, client credentials, visibility, the
 * scopes table and the resource-server apps. Works without JavaScript: the scopes table always ends in a
 * blank row, "Add a row" re-shows the form as typed with one more (nothing saved), and a row is removed by
 * ticking its "Remove" box and saving.
 */

/** One row of the scopes table as typed. */
export interface ScopeRow {
  name: string;
  description: string;
  admin: boolean;
  remove: boolean;
}

/** The form's values as typed (strings, so a wrong value is shown back as it was). */
export interface ApiFormValues {
  identifier: string;
  name: string;
  description: string;
  access_token_ttl: string;
  allow_client_credentials: 'yes' | 'no';
  visibility: 'tenant' | 'public';
  scopes: ScopeRow[];
  /** Blank rows shown after the scopes (one, more after "Add a row"). */
  blank_rows: number;
  resource_server_app_ids: string[];
}

/** At most this many scope rows are read from a form (the domain has its own limit). */
export const MAX_SCOPE_ROWS = 200;
const MAX_BLANK_ROWS = 20;

/** The fields the form shows errors next to (any other field's message goes on top of the form). */
export const API_FORM_FIELDS = [
  'identifier',
  'name',
  'description',
  'access_token_ttl',
  'allow_client_credentials',
  'visibility',
  'scopes',
  'resource_server_app_ids',
];

/** The values of a new API's form: the server's default lifetime, client credentials allowed. */
export function emptyApiValues(defaultTtl: number): ApiFormValues {
  return {
    identifier: '',
    name: '',
    description: '',
    access_token_ttl: String(defaultTtl),
    allow_client_credentials: 'yes',
    visibility: 'tenant',
    scopes: [],
    blank_rows: 1,
    resource_server_app_ids: [],
  };
}

/** The form's values for an existing API. */
export function apiValues(api: Api): ApiFormValues {
  return {
    identifier: api.identifier,
    name: api.name,
    description: api.description,
    access_token_ttl: String(api.access_token_ttl),
    allow_client_credentials: api.allow_client_credentials ? 'yes' : 'no',
    visibility: api.visibility,
    scopes: api.scopes.map((s) => ({
      name: s.name,
      description: s.description,
      admin: s.admin_consent_required,
      remove: false,
    })),
    blank_rows: 1,
    resource_server_app_ids: [...api.resource_server_app_ids],
  };
}

/** Reads the submitted form. Rows left blank are dropped; nothing is validated here but the row count. */
export function readApiForm(form: Form): ApiFormValues {
  const scopes: ScopeRow[] = [];
  for (let i = 0; i < MAX_SCOPE_ROWS + MAX_BLANK_ROWS; i++) {
    const prefix = `scope.${i}.`;
    if (!form.params.has(`${prefix}name`)) continue;
    const row = {
      name: form.get(`${prefix}name`).slice(0, 200),
      description: form.get(`${prefix}description`).slice(0, 1200),
      admin: form.get(`${prefix}admin`) === 'yes',
      remove: form.get(`${prefix}remove`) === 'yes',
    };
    if (row.name.trim() === '' && row.description.trim() === '') continue;
    scopes.push(row);
  }
  return {
    identifier: form.get('identifier').slice(0, 2100),
    name: form.get('name').slice(0, 300),
    description: form.get('description').slice(0, 2000),
    access_token_ttl: form.get('access_token_ttl').slice(0, 20),
    allow_client_credentials: form.get('allow_client_credentials') === 'no' ? 'no' : 'yes',
    visibility: form.get('visibility') === 'public' ? 'public' : 'tenant',
    scopes,
    blank_rows: Math.min(Math.max(Number(form.get('blank_rows')) || 1, 1), MAX_BLANK_ROWS),
    resource_server_app_ids: form.all('resource_server_app_ids'),
  };
}

/**
 * The domain input for the typed values: the rows not marked "Remove" (trimmed names), the lifetime as a
 * whole number of seconds, and the visibility only for platform admins (only they may set it; a tenant
 * admin's save leaves it as it is).
 * @throws DomainError (validation) naming `access_token_ttl` or `scopes` for what the hub checks itself.
 */
export function apiPatchOf(hub: Hub, v: ApiFormValues): ApiPatch {
  const errors = new FieldErrors();
  const ttl = errors.check(() => {
    const t = v.access_token_ttl.trim();
    if (!/^\d{1,6}$/.test(t))
      throw invalid('access_token_ttl', 'Enter the lifetime in whole seconds, from 60 to 86400.');
    return Number(t);
  });
  const kept = v.scopes.filter((r) => !r.remove);
  errors.check(() => {
    if (kept.length > MAX_SCOPE_ROWS) throw invalid('scopes', `An API has at most ${MAX_SCOPE_ROWS} scopes.`);
    const unnamed = kept.findIndex((r) => r.name.trim() === '');
    if (unnamed >= 0)
      throw invalid('scopes', `Row ${unnamed + 1}: enter the scope's name, or clear the row.`);
  });
  errors.throwIfAny();
  const scopes: ApiScope[] = kept.map((r) => ({
    name: r.name.trim(),
    description: r.description,
    admin_consent_required: r.admin,
  }));
  const patch: ApiPatch = {
    name: v.name,
    description: v.description,
    access_token_ttl: ttl,
    allow_client_credentials: v.allow_client_credentials === 'yes',
    scopes,
    resource_server_app_ids: v.resource_server_app_ids,
  };
  if (hub.actor.platformAdmin) patch.visibility = v.visibility;
  return patch;
}

/** The create input: the patch plus the identifier. */
export function apiInputOf(hub: Hub, v: ApiFormValues): ApiInput {
  const patch = apiPatchOf(hub, v);
  return { ...patch, identifier: v.identifier.trim(), name: v.name };
}

function ScopesTable({ v, error }: { v: ApiFormValues; error?: string }) {
  const rows = [
    ...v.scopes,
    ...Array.from({ length: v.blank_rows }, () => ({
      name: '',
      description: '',
      admin: false,
      remove: false,
    })),
  ];
  const existing = v.scopes.length;
  return (
    <fieldset class="field" aria-describedby={error ? 'f-scopes-error' : 'f-scopes-hint'}>
      <legend>Scopes</legend>
      <p class="hint" id="f-scopes-hint">
        What apps may ask for, e.g. <code>invoices:read</code>. Users see the description on the consent
        screen. Scopes marked "Admin consent" are granted to an app only by an admin of your tenant. To remove
        a scope, tick "Remove" and save; scopes that apps hold ask you to confirm first.
      </p>
      <div class="table-wrap">
        <table class="data stack scopes-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Admin consent</th>
              <th scope="col">Remove</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => {
              const n = i + 1;
              return (
                <tr key={`row-${i}`} data-scope-row={r.name || undefined}>
                  <td data-label="Name">
                    <input
                      type="text"
                      name={`scope.${i}.name`}
                      value={r.name}
                      aria-label={`Name of scope ${n}`}
                      aria-invalid={error && r.name ? 'true' : undefined}
                      class="mono"
                      spellcheck={false}
                      autocomplete="off"
                    />
                  </td>
                  <td data-label="Description">
                    <input
                      type="text"
                      name={`scope.${i}.description`}
                      value={r.description}
                      aria-label={`Description of scope ${n}`}
                    />
                  </td>
                  <td data-label="Admin consent">
                    <label class="choice">
                      <input type="checkbox" name={`scope.${i}.admin`} value="yes" checked={r.admin} />
                      <span>
                        Required<span class="visually-hidden"> for scope {n}</span>
                      </span>
                    </label>
                  </td>
                  <td data-label="Remove">
                    {i < existing ? (
                      <label class="choice">
                        <input type="checkbox" name={`scope.${i}.remove`} value="yes" checked={r.remove} />
                        <span>
                          Remove<span class="visually-hidden"> scope {r.name || n}</span>
                        </span>
                      </label>
                    ) : (
                      <span class="muted small">New</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <input type="hidden" name="blank_rows" value={String(v.blank_rows)} />
      <button type="submit" name="op" value="add-row" class="btn btn-sm">
        Add a row
      </button>
      {error ? (
        <span id="f-scopes-error" class="field-error">
          {error}
        </span>
      ) : null}
    </fieldset>
  );
}

export interface ApiFormProps {
  hub: Hub;
  /** The API being edited; absent on the create form. */
  api?: Api;
  values: ApiFormValues;
  errors: FormErrors;
  /** The confidential apps that may be named as resource servers. */
  candidates: App[];
  action: string;
  cancelHref: string;
  /** Scopes that apps hold and this save would remove: ask before saving with `force`. */
  confirmForce?: string;
}

/** The create / edit form of an API. */
export function ApiForm(p: ApiFormProps) {
  const { hub, values: v, errors: e } = p;
  const platform = !!hub.actor.platformAdmin;
  return (
    <form method="post" action={p.action} novalidate>
      <Csrf token={hub.csrf} />
      {e.form ? <Alert kind="error">{e.form}</Alert> : null}
      {p.confirmForce ? (
        <div class="alert alert-warn" role="alert">
          <p>
            <strong>Apps hold scopes you are removing.</strong> {p.confirmForce}
          </p>
          <p>
            Saving anyway removes these scopes from those apps' permissions. Tokens already issued keep them
            until they expire.
          </p>
          <div class="actions">
            <button type="submit" name="force" value="yes" class="btn btn-danger-solid">
              Remove the scopes from those apps and save
            </button>
            <a class="btn" href={p.cancelHref}>
              Cancel
            </a>
          </div>
        </div>
      ) : null}
      <div class="grid-2">
        <Field name="name" label="Name" value={v.name} error={e.fields.name} required autofocus={!p.api} />
        {p.api ? (
          <div class="field">
            <span class="label-text">Identifier (audience)</span>
            <code class="id-value" id="api-identifier">
              {p.api.identifier}
            </code>
            <span class="hint">
              What apps send as <code>resource</code>, and the <code>aud</code> of this API's tokens. It never
              changes.
            </span>
          </div>
        ) : (
          <Field
            name="identifier"
            label="Identifier (audience)"
            type="url"
            value={v.identifier}
            error={e.fields.identifier}
            placeholder="https://api.yourcompany.com/invoices"
            hint={
              <>
                An absolute https URI (http only on localhost). Apps send it as <code>resource</code>; it
                becomes the tokens' <code>aud</code>. It cannot be changed later.
              </>
            }
            required
          />
        )}
      </div>
      <Field
        name="description"
        label="Description"
        value={v.description}
        error={e.fields.description}
        textarea
      />
      <div class="grid-2">
        <Field
          name="access_token_ttl"
          label="Access token lifetime (seconds)"
          type="number"
          min="60"
          max="86400"
          value={v.access_token_ttl}
          error={e.fields.access_token_ttl}
          hint={
            <>
              From 60 to 86400 (one day). The tokens' <code>exp</code> follows it.
            </>
          }
          required
        />
      </div>
      <Choices
        name="allow_client_credentials"
        legend="Machine-to-machine access (client credentials)"
        row
        selected={[v.allow_client_credentials]}
        error={e.fields.allow_client_credentials}
        options={[
          {
            value: 'yes',
            label: 'Allowed',
            description: 'Apps granted scopes by an admin may get tokens for themselves.',
          },
          { value: 'no', label: 'Not allowed', description: 'Only tokens on behalf of a signed-in user.' },
        ]}
      />
      {platform ? (
        <Choices
          name="visibility"
          legend="Which apps may ask for it"
          row
          selected={[v.visibility]}
          error={e.fields.visibility}
          options={[
            {
              value: 'tenant',
              label: 'Apps of its tenant',
              description: 'Private to the tenant that owns it.',
            },
            {
              value: 'public',
              label: 'Apps of every tenant',
              description: 'Public: any developer may request it.',
            },
          ]}
        />
      ) : (
        <div class="field">
          <span class="label-text">Which apps may ask for it</span>
          <p class="hint">
            {v.visibility === 'public'
              ? 'Apps of every tenant (a platform administrator made this API public).'
              : `Apps of ${hub.tenant.name}. Only a platform administrator can make an API public.`}
          </p>
          {e.fields.visibility ? <span class="field-error">{e.fields.visibility}</span> : null}
        </div>
      )}
      <ScopesTable v={v} error={e.fields.scopes} />
      <ResourceServersField
        selected={v.resource_server_app_ids}
        error={e.fields.resource_server_app_ids}
        candidates={p.candidates}
      />
      <div class="actions">
        <button type="submit" name="op" value="save" class="btn btn-primary">
          {p.api ? 'Save API' : 'Create API'}
        </button>
        <a class="btn" href={p.cancelHref}>
          Cancel
        </a>
      </div>
    </form>
  );
}

/** The resource-server apps of an API: checkboxes of the candidate apps (and any app named before). */
export function ResourceServersField(p: { selected: string[]; error?: string; candidates: App[] }) {
  const selected = p.selected;
  const known = new Set(p.candidates.map((a) => a.id));
  const options = [
    ...p.candidates.map((a) => ({ value: a.id, label: a.name, description: `client_id ${a.client_id}` })),
    // An app named before that is no longer offered (deleted, or not this admin's to list) stays visible.
    ...selected
      .filter((id) => !known.has(id))
      .map((id) => ({ value: id, label: 'Another app', description: `Object ID ${id}` })),
  ];
  return options.length === 0 ? (
    <div class="field">
      <span class="label-text">Resource servers</span>
      <p class="hint">
        No confidential app to choose yet. Register the API's own backend as a confidential app to let it
        introspect tokens issued for this API.
      </p>
      {p.error ? <span class="field-error">{p.error}</span> : null}
    </div>
  ) : (
    <Choices
      type="checkbox"
      name="resource_server_app_ids"
      legend="Resource servers"
      hint="The apps that serve this API. Introspection (RFC 7662) reports this API's tokens as active only to them and to the token's own client."
      selected={selected}
      error={p.error}
      options={options}
    />
  );
}
