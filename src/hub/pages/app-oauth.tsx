import type { FastifyInstance, FastifyReply } from 'fastify';
import { type Api, listApis } from '../../domain/apis.js';
import { DEVICE_CODE_GRANT, GRANT_TYPES, type GrantType } from '../../domain/app-fields.js';
import { type AppPermission, listAppPermissions } from '../../domain/app-permissions.js';
import {
  type App,
  type AppChange,
  changeNeedsNewReview,
  getAppForActor,
  previewAppUpdate,
  updateApp,
} from '../../domain/apps.js';
import { parseRealDate } from '../../domain/dates.js';
import { invalid } from '../../domain/errors.js';
import { listSentExpiryNotices, type SentExpiryNotice } from '../../domain/expiry-notices.js';
import { listScopes, type Scope } from '../../domain/scopes.js';
import { secretUsable } from '../../domain/secret-status.js';
import {
  addSecret,
  type ClientSecret,
  type CreatedSecret,
  DEFAULT_SECRET_MONTHS,
  listSecrets,
  monthsWithinPolicy,
  refreshSecret,
  revokeSecret,
  type SecretOptions,
} from '../../domain/secrets.js';
import type { Services } from '../../services.js';
import { sendPage } from '../../web/render.js';
import { type FormErrors, type Hub, noStore, seeOther, toFormErrors } from '../context.js';
import { newNonce, recordNonce, usedNonce } from '../nonce.js';
import { hubAction, hubPage } from '../route.js';
import {
  Alert,
  Choices,
  CopyableId,
  CopyButton,
  Csrf,
  DAY_MS,
  DateText,
  Dialog,
  DialogButton,
  ExpiresIn,
  Field,
  SecretStatusBadge,
  Select,
} from '../ui/components.js';
import {
  PERMISSION_NOTICES,
  type PermissionRequest,
  PermissionsCard,
  permissionRoutes,
} from './app-oauth-permissions.js';
import { OidcCard, type OidcFormValues, oidcFormValues } from './app-oidc.js';
import { PendingChangeBox, ReviewConfirm } from './app-review-confirm.js';
import { AppParams, AppSecretParams, AppShell, appPath } from './app-shell.js';

export interface NewSecretValues {
  description: string;
  expiry: string;
  expires_on: string;
}

export interface OAuthTabProps {
  hub: Hub;
  app: App;
  secrets: ClientSecret[];
  /** Expiry notices already sent, per secret id (30, 7, 1 days before; 0 on expiry). */
  notices?: Map<string, SentExpiryNotice[]>;
  catalogue: Scope[];
  now: number;
  nonce: string;
  notice?: string;
  /** A message about a failed action (e.g. the secret was deactivated meanwhile). */
  error?: string;
  newSecret?: { values: NewSecretValues; errors: FormErrors };
  confirm?: { kind: 'refresh' | 'revoke'; secretId: string };
  /** A value to show once: this response only, never stored or put in a URL. */
  shown?: { secret: CreatedSecret; kind: 'created' | 'refreshed' | 'app-created' };
  scopes?: { values: string[]; errors: FormErrors; confirm?: AppChange };
  /** The app's API permissions and the APIs the actor may see. */
  permissions: AppPermission[];
  apis: Api[];
  /** The permission request form that is open (`?request_api=`), after a failed post with its errors. */
  permissionRequest?: PermissionRequest;
  /** The permission whose Remove confirmation is open (`?remove_api=`). */
  confirmRemove?: string;
  grantTypes?: { values: string[]; errors: FormErrors };
  oidc?: { values: OidcFormValues; errors: FormErrors };
  /** A grant types or OpenID Connect change that needs review again, shown for confirmation. */
  review?: { change: AppChange; action: string; fields: Array<[string, string]> };
}

const PRESET_MONTHS = [6, 12, 24];

/**
 * The expiry choices the tenant's policy allows: the presets that fit it, the policy's maximum when even
 * 6 months is too long (`default`: the domain's default expiry, which never exceeds the policy), a custom
 * date and, if allowed, no expiry. `selected` is the largest allowed choice up to 6 months.
 */
export function expiryChoices(
  settings: { secret_max_lifetime_days: number; secret_allow_never_expire: boolean },
  now: number,
): { options: Array<{ value: string; label: string }>; selected: string } {
  const maxDays = settings.secret_max_lifetime_days;
  const options: Array<{ value: string; label: string }> = [];
  const fits = PRESET_MONTHS.filter((m) => monthsWithinPolicy(now, maxDays, m));
  if (!fits.includes(DEFAULT_SECRET_MONTHS))
    options.push({ value: 'default', label: `${maxDays} days (your tenant's maximum)` });
  for (const m of fits)
    options.push({
      value: String(m),
      label: m === DEFAULT_SECRET_MONTHS ? `${m} months (recommended)` : `${m} months`,
    });
  options.push({ value: 'custom', label: 'Custom date' });
  if (settings.secret_allow_never_expire) options.push({ value: 'never', label: 'Never expires' });
  return { options, selected: options[0]!.value };
}

function IdRow(p: {
  id: string;
  label: string;
  sub: string;
  value: string;
  help: string;
  primary?: boolean;
}) {
  return (
    <div class={p.primary ? 'id-row primary-id' : 'id-row'}>
      <div class="id-label">
        {p.label}
        <small>{p.sub}</small>
      </div>
      <code class="id-value" id={p.id}>
        {p.value}
      </code>
      <CopyButton target={p.id} label={p.label} />
      <div class="id-help">{p.help}</div>
    </div>
  );
}

function SecretShownDialog({ app, shown }: { app: App; shown: NonNullable<OAuthTabProps['shown']> }) {
  const title =
    shown.kind === 'refreshed'
      ? 'New client secret generated'
      : shown.kind === 'app-created'
        ? 'Your app is registered'
        : 'Client secret created';
  return (
    <Dialog id="secret-value" title={title} open closeHref={appPath(app, 'oauth')} role="alertdialog">
      {shown.kind === 'refreshed' ? (
        <p>
          The previous secret is replaced and no longer works: update your app's configuration with this
          value.
        </p>
      ) : shown.kind === 'app-created' ? (
        <p>Here are your app's first client secret and its client_id.</p>
      ) : null}
      <label for="secret-value-text">Client secret value</label>
      <div class="secret-box">
        {/* A textarea, not an input: the whole value stays visible (it wraps) and selectable at phone width. */}
        <textarea
          id="secret-value-text"
          class="secret-value"
          readonly
          rows={2}
          spellcheck={false}
          autocomplete="off"
          data-secret
          autofocus
        >
          {shown.secret.value}
        </textarea>
        <CopyButton target="secret-value-text" label="client secret value" />
      </div>
      <Alert kind="warn">
        <strong>Copy this value now. It will not be shown again.</strong> Store it in a password manager or
        your secret store. Afterwards only its first three characters (
        <span class="secret-hint">{shown.secret.hint}•••••</span>) are shown.
      </Alert>
      <dl class="kv small">
        <dt>Use with client_id</dt>
        <dd class="mono">{app.client_id}</dd>
        <dt>Secret ID</dt>
        <dd>
          <span class="mono">{shown.secret.id}</span>
          <div class="hint">Only identifies the secret in this hub and the API. It is not the secret.</div>
        </dd>
        <dt>Expires</dt>
        <dd>{shown.secret.expires_at === null ? 'Never' : <DateText at={shown.secret.expires_at} />}</dd>
      </dl>
      <div class="actions">
        <a class="btn btn-primary" href={appPath(app, 'oauth')} data-dialog-close>
          I have copied the secret
        </a>
      </div>
    </Dialog>
  );
}

function NewSecretDialog(p: OAuthTabProps) {
  const { app, hub } = p;
  const maxDays = hub.tenant.settings.secret_max_lifetime_days;
  const { options, selected } = expiryChoices(hub.tenant.settings, p.now);
  const v = p.newSecret?.values ?? { description: '', expiry: selected, expires_on: '' };
  const e = p.newSecret?.errors ?? { fields: {} };
  const maxDate = new Date(p.now + maxDays * DAY_MS).toISOString().slice(0, 10);
  return (
    <Dialog id="new-secret" title="New client secret" open={!!p.newSecret} closeHref={appPath(app, 'oauth')}>
      <form method="post" action={`${appPath(app, 'oauth')}/secrets`} novalidate>
        <Csrf token={hub.csrf} />
        <input type="hidden" name="nonce" value={p.nonce} />
        {e.form ? <Alert kind="error">{e.form}</Alert> : null}
        <Field
          name="description"
          id="secret-description"
          label="Description"
          value={v.description}
          error={e.fields.description}
          placeholder="e.g. Production server"
          hint="Helps you tell secrets apart later."
        />
        <Select
          name="expiry"
          id="secret-expiry"
          label="Expires"
          value={v.expiry}
          options={options}
          error={e.fields.expires_in_months}
        />
        <Field
          name="expires_on"
          id="secret-expires-on"
          label="Custom expiry date"
          type="date"
          value={v.expires_on}
          error={e.fields.expires_at}
          max={maxDate}
          hint={`Used when "Custom date" is chosen. Your tenant allows at most ${maxDays} days.`}
        />
        <div class="actions">
          <a class="btn" href={appPath(app, 'oauth')} data-dialog-close>
            Cancel
          </a>
          <button type="submit" class="btn btn-primary">
            Add secret
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** "Expiry notices sent: 30 days (date), 7 days (date)" under a secret's expiry. */
function ExpiryNoticesSent({ notices }: { notices: SentExpiryNotice[] | undefined }) {
  if (!notices || notices.length === 0) return null;
  return (
    <span class="cell-sub block expiry-notices">
      Expiry notices sent:{' '}
      {notices.map((n, i) => (
        <>
          {i > 0 ? ', ' : ''}
          {n.threshold === 0 ? 'expired' : `${n.threshold} day${n.threshold === 1 ? '' : 's'}`} (
          <DateText at={n.sent_at} />)
        </>
      ))}
    </span>
  );
}

function SecretsCard(p: OAuthTabProps) {
  const { app, hub, secrets, now } = p;
  const current = secrets.filter((s) => s.revoked_at === null);
  const usable = secrets.filter((s) => secretUsable(s.status));
  const deactivated = secrets.filter((s) => s.revoked_at !== null).slice(0, 5);
  const hintOf = new Map(secrets.map((s) => [s.id, s.hint]));
  const tab = appPath(app, 'oauth');
  return (
    <section class="card" aria-labelledby="secrets-title">
      <div class="card-head">
        <h2 id="secrets-title">Client secrets</h2>
        <DialogButton action={tab} query={{ new_secret: '1' }} dialog="new-secret" class="btn btn-primary">
          New client secret
        </DialogButton>
      </div>
      <p class="section-note">
        Your app proves it is itself with the client_id and a secret <strong>value</strong>. A value is shown
        once, when it is created; afterwards only its first three characters appear. The{' '}
        <strong>secret ID</strong> only names a secret here and in the API: never send it to the token
        endpoint.
      </p>
      {usable.length === 0 ? (
        <Alert kind="warn">This app has no active client secret, so it cannot get tokens. Create one.</Alert>
      ) : null}
      <div class="table-wrap">
        <table class="data stack secrets-table">
          <thead>
            <tr>
              <th scope="col">Description</th>
              <th scope="col">Value</th>
              <th scope="col">Secret ID</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {[...current, ...deactivated].map((s) => {
              const replaces = secrets.filter((o) => o.replaced_by === s.id);
              const replacedBy = s.replaced_by === null ? undefined : hintOf.get(s.replaced_by);
              return (
                <tr key={s.id} data-secret-id={s.id}>
                  <td data-label="Description">
                    {s.description || <span class="muted">No description</span>}
                    {replaces.length > 0 ? (
                      <span class="cell-sub block">
                        Replaces {replaces.map((o) => `${o.hint}•••••`).join(', ')}
                      </span>
                    ) : null}
                    {replacedBy ? <span class="cell-sub block">Replaced by {replacedBy}•••••</span> : null}
                  </td>
                  <td data-label="Value">
                    <span class="secret-hint" title="Only the first three characters are kept visible">
                      {s.hint}•••••
                    </span>
                  </td>
                  <td data-label="Secret ID">
                    <CopyableId id={`secret-id-${s.id}`} value={s.id} label={`secret ID of ${s.hint}•••••`} />
                  </td>
                  <td data-label="Status">
                    <SecretStatusBadge status={s.status} />
                  </td>
                  <td data-label="Created">
                    <DateText at={s.created_at} />
                  </td>
                  <td data-label="Expires">
                    {s.expires_at === null ? 'Never' : <DateText at={s.expires_at} />}
                    {s.status === 'expiring' ? (
                      <span class="cell-sub block">
                        <ExpiresIn at={s.expires_at as number} now={now} />
                      </span>
                    ) : null}
                    <ExpiryNoticesSent notices={p.notices?.get(s.id)} />
                  </td>
                  <td data-label="Last used">
                    {s.last_used_at === null ? (
                      <span class="muted">Never</span>
                    ) : (
                      <DateText at={s.last_used_at} withTime />
                    )}
                  </td>
                  <td class="actions-cell">
                    {s.revoked_at === null ? (
                      <>
                        <DialogButton
                          action={tab}
                          query={{ confirm: 'refresh', secret: s.id }}
                          dialog={`refresh-${s.id}`}
                          class="btn btn-sm"
                        >
                          Refresh<span class="visually-hidden"> secret {s.hint}•••••</span>
                        </DialogButton>{' '}
                        <DialogButton
                          action={tab}
                          query={{ confirm: 'revoke', secret: s.id }}
                          dialog={`revoke-${s.id}`}
                          class="btn btn-sm btn-danger"
                        >
                          Revoke<span class="visually-hidden"> secret {s.hint}•••••</span>
                        </DialogButton>
                      </>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {current.map((s) => (
        <div key={s.id}>
          <Dialog
            id={`refresh-${s.id}`}
            title="Refresh this client secret?"
            open={p.confirm?.kind === 'refresh' && p.confirm.secretId === s.id}
            closeHref={tab}
          >
            <p>
              A new secret value is generated and shown once. It <strong>replaces</strong> the current secret
              (<span class="secret-hint">{s.hint}•••••</span>
              {s.description ? `, ${s.description}` : ''}), which stops working at once: anything still using
              it stops getting tokens. Tokens already issued keep working.
            </p>
            <form method="post" action={`${tab}/secrets/${encodeURIComponent(s.id)}/refresh`}>
              <Csrf token={hub.csrf} />
              <input type="hidden" name="nonce" value={p.nonce} />
              <div class="actions">
                <a class="btn" href={tab} data-dialog-close>
                  Cancel
                </a>
                <button type="submit" class="btn btn-primary">
                  Generate new client secret
                </button>
              </div>
            </form>
          </Dialog>
          <Dialog
            id={`revoke-${s.id}`}
            title="Revoke this client secret?"
            open={p.confirm?.kind === 'revoke' && p.confirm.secretId === s.id}
            closeHref={tab}
          >
            <p>
              The secret <span class="secret-hint">{s.hint}•••••</span>
              {s.description ? ` (${s.description})` : ''} stops working at once. This cannot be undone.
            </p>
            <form method="post" action={`${tab}/secrets/${encodeURIComponent(s.id)}/revoke`}>
              <Csrf token={hub.csrf} />
              <div class="actions">
                <a class="btn" href={tab} data-dialog-close>
                  Cancel
                </a>
                <button type="submit" class="btn btn-danger-solid">
                  Revoke secret
                </button>
              </div>
            </form>
          </Dialog>
        </div>
      ))}
      <NewSecretDialog {...p} />
    </section>
  );
}

function ScopesCard(p: OAuthTabProps) {
  const { app, hub, catalogue } = p;
  // While a change awaits review the form shows it, so saving again keeps the pending change.
  const selected = p.scopes?.values ?? app.pending_change?.values.scopes ?? app.scopes;
  const errors = p.scopes?.errors ?? { fields: {} };
  const usable = catalogue.filter(
    (s) =>
      !s.restricted || hub.actor.platformAdmin || app.scopes.includes(s.name) || selected.includes(s.name),
  );
  return (
    <section class="card" aria-labelledby="scopes-title">
      <h2 id="scopes-title">Access scopes</h2>
      <p class="section-note">
        What your app may ask users for. Users see these descriptions on the consent screen, and an app can
        only request scopes ticked here.
      </p>
      <form method="post" action={`${appPath(app, 'oauth')}/scopes`} novalidate>
        <Csrf token={hub.csrf} />
        {errors.form ? <Alert kind="error">{errors.form}</Alert> : null}
        <Choices
          type="checkbox"
          name="scopes"
          legend="Scopes"
          row
          selected={selected}
          error={errors.fields.scopes}
          options={usable.map((s) => ({ value: s.name, label: s.description, description: s.name }))}
        />
        <button type="submit" class="btn btn-primary">
          Save scopes
        </button>
      </form>
    </section>
  );
}

/** What each grant type is for, in the words the tab uses. */
const GRANT_TYPE_WORDS: Record<GrantType, string> = {
  authorization_code: 'Users sign in and consent in the browser (authorization code with PKCE)',
  refresh_token: 'Keep users signed in with refresh tokens',
  client_credentials: 'The app acts as itself, with its client secret (client credentials)',
  [DEVICE_CODE_GRANT]:
    'Devices and terminals without a browser: users enter a code at /device (device grant)',
};

function GrantTypesCard(p: OAuthTabProps) {
  const { app, hub } = p;
  // While a change awaits review the form shows it, so saving again keeps the pending change.
  const selected = p.grantTypes?.values ?? app.pending_change?.values.grant_types ?? app.grant_types;
  const errors = p.grantTypes?.errors ?? { fields: {} };
  // A public client has no secret, so client_credentials is never offered to it.
  const offered = GRANT_TYPES.filter((g) => g !== 'client_credentials' || app.client_type === 'confidential');
  return (
    <section class="card" aria-labelledby="grant-types-title">
      <h2 id="grant-types-title">Grant types</h2>
      <p class="section-note">
        How the app may get tokens. The token endpoint refuses any other grant type with unauthorized_client.
      </p>
      <form method="post" action={`${appPath(app, 'oauth')}/grant-types`} novalidate>
        <Csrf token={hub.csrf} />
        {errors.form ? <Alert kind="error">{errors.form}</Alert> : null}
        <Choices
          type="checkbox"
          name="grant_types"
          legend="Grant types"
          selected={selected}
          error={errors.fields.grant_types}
          options={offered.map((g) => ({ value: g, label: GRANT_TYPE_WORDS[g], description: g }))}
        />
        <button type="submit" class="btn btn-primary">
          Save grant types
        </button>
      </form>
    </section>
  );
}

export function OAuthTab(p: OAuthTabProps) {
  const { app, hub } = p;
  return (
    <AppShell
      hub={hub}
      app={app}
      tab="oauth"
      title="OAuth & access scopes"
      replaceUrl={p.shown ? appPath(app, 'oauth') : undefined}
    >
      {p.notice ? <Alert kind="ok">{p.notice}</Alert> : null}
      {p.error ? <Alert kind="error">{p.error}</Alert> : null}
      <PendingChangeBox hub={hub} app={app} />
      {p.scopes?.confirm ? (
        <ReviewConfirm
          hub={hub}
          app={app}
          change={p.scopes.confirm}
          action={`${appPath(app, 'oauth')}/scopes`}
          cancelHref={appPath(app, 'oauth')}
          fields={p.scopes.values.map((s) => ['scopes', s])}
        />
      ) : null}
      {p.review ? (
        <ReviewConfirm
          hub={hub}
          app={app}
          change={p.review.change}
          action={p.review.action}
          cancelHref={appPath(app, 'oauth')}
          fields={p.review.fields}
        />
      ) : null}
      <section class="card" aria-labelledby="ids-title">
        <h2 id="ids-title">Identifiers</h2>
        <p class="section-note">Three different identifiers. Only the client ID goes into OAuth requests.</p>
        <div class="id-list">
          <IdRow
            id="client-id"
            label="Client ID"
            sub="client_id"
            value={app.client_id}
            primary
            help="Use this in OAuth: the client_id parameter of /oauth/authorize and /oauth/token. It never changes."
          />
          <IdRow
            id="object-id"
            label="Object ID"
            sub="management API only"
            value={app.id}
            help="Identifies the app in the Clavis management API (/api/v1/apps/{id}). Not used in OAuth."
          />
          <IdRow
            id="tenant-id"
            label="Tenant ID"
            sub={hub.tenant.id === app.tenant_id ? hub.tenant.name : 'owning tenant'}
            value={app.tenant_id}
            help="The tenant that owns this app. You do not need it to get tokens."
          />
        </div>
      </section>
      {app.client_type === 'confidential' ? (
        <SecretsCard {...p} />
      ) : (
        <section class="card">
          <h2>Client secrets</h2>
          <p class="muted">
            This is a public client (a browser or mobile app), so it has no client secret: it proves itself
            with PKCE (code_challenge_method S256) on every authorization request.
          </p>
        </section>
      )}
      <ScopesCard {...p} />
      <PermissionsCard
        hub={hub}
        app={app}
        permissions={p.permissions}
        apis={p.apis}
        request={p.permissionRequest}
        confirmRemove={p.confirmRemove}
      />
      <GrantTypesCard {...p} />
      <OidcCard hub={hub} app={app} oidc={p.oidc} />
      {p.shown ? <SecretShownDialog app={app} shown={p.shown} /> : null}
    </AppShell>
  );
}

/** The notice after saving a card: `-saved`, `-pending` (held for review) or `-review` (back to draft). */
function savedNotice(card: 'grant-types' | 'oidc', before: App, saved: App): string {
  if (saved.status === 'draft' && before.status !== 'draft') return `${card}-review`;
  if (saved.pending_change && saved.pending_change.requested_at !== before.pending_change?.requested_at)
    return `${card}-pending`;
  return `${card}-saved`;
}

const NOTICES: Record<string, string> = {
  'secret-revoked': 'The client secret was revoked. It no longer works.',
  'scopes-saved': 'Scopes saved.',
  'grant-types-saved': 'Grant types saved.',
  'oidc-saved': 'OpenID Connect settings saved.',
  'scopes-pending':
    'Scopes saved. The change awaits review; the approved version stays live until it is approved.',
  'scopes-review':
    'Scopes saved. The app is back to Draft: submit it for approval again so users of other tenants can authorize it.',
  'grant-types-pending':
    'Grant types saved. The change awaits review; the approved version stays live until it is approved.',
  'grant-types-review':
    'Grant types saved. The app is back to Draft: submit it for approval again so users of other tenants can authorize it.',
  'oidc-pending':
    'OpenID Connect settings saved. The new URIs await review; the approved ones stay live until they are approved.',
  'oidc-review':
    'OpenID Connect settings saved. The app is back to Draft: submit it for approval again so users of other tenants can authorize it.',
  created: 'Your app is registered. Here is its client_id.',
  ...PERMISSION_NOTICES,
};

/** Renders the tab (GET, or a POST answer with errors or a value shown once). */
export async function renderOAuthTab(
  hub: Hub,
  reply: FastifyReply,
  app: App,
  extra: Partial<OAuthTabProps> & { status?: number } = {},
): Promise<FastifyReply> {
  const ctx = hub.services.ctx;
  const secrets = app.client_type === 'confidential' ? await listSecrets(ctx, hub.actor, app.id) : [];
  const notices = await listSentExpiryNotices(
    ctx,
    secrets.map((s) => s.id),
  );
  const catalogue = await listScopes(ctx);
  const permissions = await listAppPermissions(ctx, hub.actor, app.id);
  const apis = await listApis(ctx, hub.actor);
  const { status, ...rest } = extra;
  const props: OAuthTabProps = {
    hub,
    app,
    secrets,
    notices,
    catalogue,
    permissions,
    apis,
    now: ctx.now(),
    nonce: newNonce(),
    ...rest,
  };
  return sendPage(noStore(reply), status ?? 200, OAuthTab(props));
}

function secretOptions(v: NewSecretValues): SecretOptions {
  const opts: SecretOptions = { description: v.description };
  if (v.expiry === 'never') opts.never_expires = true;
  else if (v.expiry === 'default') {
    // No lifetime given: the domain's default, six months or the policy's maximum if that is shorter.
  } else if (v.expiry === 'custom') {
    if (!v.expires_on.trim()) throw invalid('expires_at', 'Choose an expiry date.');
    const t = /^\d{4}-\d{2}-\d{2}$/.test(v.expires_on)
      ? parseRealDate(`${v.expires_on}T00:00:00Z`)
      : Number.NaN;
    opts.expires_at = t;
  } else opts.expires_in_months = Number(v.expiry);
  return opts;
}

const sessionKey = (hub: Hub) => hub.session.idHash;

export async function oauthTabRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const ctx = services.ctx;
  const onApp = { params: AppParams, what: 'app' };
  const onSecret = { params: AppSecretParams, what: 'client secret' };

  hubPage(app, services, '/apps/:id/oauth', onApp, async ({ hub, params: { id }, query: q, reply }) => {
    const a = await getAppForActor(ctx, hub.actor, id);
    const confirm =
      (q.confirm === 'refresh' || q.confirm === 'revoke') && q.secret
        ? { kind: q.confirm as 'refresh' | 'revoke', secretId: q.secret }
        : undefined;
    return renderOAuthTab(hub, reply, a, {
      notice: q.notice ? NOTICES[q.notice] : undefined,
      confirm,
      permissionRequest: q.request_api ? { apiId: q.request_api } : undefined,
      confirmRemove: q.remove_api,
      newSecret:
        q.new_secret === '1'
          ? {
              values: {
                description: '',
                expiry: expiryChoices(hub.tenant.settings, ctx.now()).selected,
                expires_on: '',
              },
              errors: { fields: {} },
            }
          : undefined,
    });
  });

  hubAction(app, services, '/apps/:id/oauth/secrets', onApp, async ({ hub, params: { id }, form, reply }) => {
    const a = await getAppForActor(ctx, hub.actor, id);
    const nonce = form.get('nonce');
    if (nonce && usedNonce(sessionKey(hub), nonce)) return seeOther(reply, appPath(a, 'oauth'));
    const values = {
      description: form.get('description').slice(0, 300),
      expiry: form.get('expiry') || expiryChoices(hub.tenant.settings, ctx.now()).selected,
      expires_on: form.get('expires_on').slice(0, 20),
    };
    try {
      const secret = await addSecret(ctx, hub.actor, a.id, secretOptions(values));
      recordNonce(sessionKey(hub), nonce, secret.id);
      return renderOAuthTab(hub, reply, a, { status: 201, shown: { secret, kind: 'created' } });
    } catch (e) {
      const errors = toFormErrors(e, ['description', 'expires_in_months', 'expires_at']);
      return renderOAuthTab(hub, reply, a, { status: 400, newSecret: { values, errors } });
    }
  });

  hubAction(
    app,
    services,
    '/apps/:id/oauth/secrets/:sid/refresh',
    onSecret,
    async ({ hub, params: { id, sid }, form, reply }) => {
      const a = await getAppForActor(ctx, hub.actor, id);
      const nonce = form.get('nonce');
      if (nonce && usedNonce(sessionKey(hub), nonce)) return seeOther(reply, appPath(a, 'oauth'));
      try {
        const secret = await refreshSecret(ctx, hub.actor, a.id, sid);
        recordNonce(sessionKey(hub), nonce, secret.id);
        return renderOAuthTab(hub, reply, a, { shown: { secret, kind: 'refreshed' } });
      } catch (e) {
        const errors = toFormErrors(e, []);
        return renderOAuthTab(hub, reply, a, { status: 409, error: errors.form });
      }
    },
  );

  hubAction(
    app,
    services,
    '/apps/:id/oauth/secrets/:sid/revoke',
    onSecret,
    async ({ hub, params: { id, sid }, reply }) => {
      const a = await getAppForActor(ctx, hub.actor, id);
      await revokeSecret(ctx, hub.actor, a.id, sid);
      return seeOther(reply, `${appPath(a, 'oauth')}?notice=secret-revoked`);
    },
  );

  permissionRoutes(app, services, {
    renderFailed: (hub, reply, a, request) =>
      renderOAuthTab(hub, reply, a, { status: 400, permissionRequest: request }),
    renderError: (hub, reply, a, message) => renderOAuthTab(hub, reply, a, { status: 409, error: message }),
  });

  hubAction(app, services, '/apps/:id/oauth/scopes', onApp, async ({ hub, params: { id }, form, reply }) => {
    const a = await getAppForActor(ctx, hub.actor, id);
    const values = form.all('scopes');
    try {
      if (form.get('confirm') !== 'yes') {
        const confirm = await previewAppUpdate(ctx, hub.actor, a.id, { scopes: values });
        if (changeNeedsNewReview(a, confirm))
          return renderOAuthTab(hub, reply, a, { scopes: { values, errors: { fields: {} }, confirm } });
      }
      const saved = await updateApp(ctx, hub.actor, a.id, { scopes: values });
      const notice =
        saved.status === 'draft' && a.status !== 'draft'
          ? 'scopes-review'
          : saved.pending_change && saved.pending_change.requested_at !== a.pending_change?.requested_at
            ? 'scopes-pending'
            : 'scopes-saved';
      return seeOther(reply, `${appPath(a, 'oauth')}?notice=${notice}`);
    } catch (e) {
      return renderOAuthTab(hub, reply, a, {
        status: 400,
        scopes: { values, errors: toFormErrors(e, ['scopes']) },
      });
    }
  });

  hubAction(
    app,
    services,
    '/apps/:id/oauth/grant-types',
    onApp,
    async ({ hub, params: { id }, form, reply }) => {
      const a = await getAppForActor(ctx, hub.actor, id);
      const values = form.all('grant_types');
      try {
        const action = `${appPath(a, 'oauth')}/grant-types`;
        if (form.get('confirm') !== 'yes') {
          const change = await previewAppUpdate(ctx, hub.actor, a.id, { grant_types: values });
          if (changeNeedsNewReview(a, change))
            return renderOAuthTab(hub, reply, a, {
              grantTypes: { values, errors: { fields: {} } },
              review: { change, action, fields: values.map((g) => ['grant_types', g]) },
            });
        }
        const saved = await updateApp(ctx, hub.actor, a.id, { grant_types: values });
        return seeOther(reply, `${appPath(a, 'oauth')}?notice=${savedNotice('grant-types', a, saved)}`);
      } catch (e) {
        return renderOAuthTab(hub, reply, a, {
          status: 400,
          grantTypes: { values, errors: toFormErrors(e, ['grant_types']) },
        });
      }
    },
  );
  hubAction(app, services, '/apps/:id/oauth/oidc', onApp, async ({ hub, params: { id }, form, reply }) => {
    const a = await getAppForActor(ctx, hub.actor, id);
    const values = oidcFormValues(form);
    try {
      if (form.get('confirm') !== 'yes') {
        const change = await previewAppUpdate(ctx, hub.actor, a.id, values);
        if (changeNeedsNewReview(a, change))
          return renderOAuthTab(hub, reply, a, {
            oidc: { values, errors: { fields: {} } },
            review: {
              change,
              action: `${appPath(a, 'oauth')}/oidc`,
              fields: Object.entries(values) as Array<[string, string]>,
            },
          });
      }
      const saved = await updateApp(ctx, hub.actor, a.id, values);
      return seeOther(reply, `${appPath(a, 'oauth')}?notice=${savedNotice('oidc', a, saved)}`);
    } catch (e) {
      return renderOAuthTab(hub, reply, a, {
        status: 400,
        oidc: {
          values,
          errors: toFormErrors(e, [
            'id_token_signed_response_alg',
            'post_logout_redirect_uri',
            'backchannel_logout_uri',
          ]),
        },
      });
    }
  });
}
