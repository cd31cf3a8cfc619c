import type { ConnectedApp } from '../domain/grants.js';
import { formatDate } from './date-format.js';
import { Layout } from './layout.js';

/** What the login and consent pages say about the app asking. */
export interface AppSummary {
  name: string;
  tenantName: string;
  visibility: 'private' | 'public';
  status: string;
}

function AppBadge({ app }: { app: AppSummary }) {
  if (app.visibility === 'private') return <span class="badge">Private app of {app.tenantName}</span>;
  if (app.status === 'approved') return <span class="badge badge-ok">Approved by Clavis</span>;
  return <span class="badge badge-warn">Not approved · test use in {app.tenantName} only</span>;
}

export function AppHeader({ app }: { app: AppSummary }) {
  return (
    <div class="app-head">
      <div class="app-icon" aria-hidden="true">
        {app.name.slice(0, 1).toUpperCase()}
      </div>
      <div>
        <div>
          <strong>{app.name}</strong>
        </div>
        <div class="muted small">by {app.tenantName}</div>
        <AppBadge app={app} />
      </div>
    </div>
  );
}

export interface LoginPageProps {
  csrf: string;
  returnTo: string;
  email?: string;
  error?: string;
  app?: AppSummary;
  /** Offer a link to the developer sign-up (when the operator allows public sign-up). */
  signup?: boolean;
  /** Offer "Forgot your password?" (when the server sends mail). */
  forgot?: boolean;
  /** A note above the form (e.g. after a password reset). */
  notice?: string;
}

export function LoginPage({ csrf, returnTo, email, error, app, signup, forgot, notice }: LoginPageProps) {
  return (
    <Layout title="Sign in" narrow>
      <div class="card">
        {app ? <AppHeader app={app} /> : null}
        <h1>Sign in{app ? ` to continue to ${app.name}` : ''}</h1>
        {notice ? (
          <div class="alert alert-ok" role="status">
            {notice}
          </div>
        ) : null}
        {error ? (
          <div class="alert alert-error" role="alert">
            {error}
          </div>
        ) : null}
        <form method="post" action="/login" novalidate>
          <input type="hidden" name="csrf" value={csrf} />
          <input type="hidden" name="return_to" value={returnTo} />
          <div class="field">
            <label for="email">Email address</label>
            <input
              id="email"
              name="email"
              type="email"
              autocomplete="username"
              required
              value={email ?? ''}
              autofocus
            />
          </div>
          <div class="field">
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required />
          </div>
          <button type="submit" class="btn btn-primary btn-block">
            Sign in
          </button>
        </form>
        {forgot ? (
          <p class="auth-switch muted">
            <a href="/login/forgot">Forgot your password?</a>
          </p>
        ) : null}
        {signup && !app ? (
          <p class="auth-switch muted">
            New to Clavis? <a href="/signup">Create a developer account</a>
          </p>
        ) : null}
      </div>
    </Layout>
  );
}

export interface ConsentPageProps {
  csrf: string;
  /** The original authorization request's query string, posted back with the decision. */
  request: string;
  app: AppSummary;
  user: { email: string; display_name: string };
  scopes: Array<{ name: string; description: string }>;
  /** The scopes grouped by API (each API's name shown above its scopes); empty: one plain list. */
  groups?: Array<{
    api: { id: string; name: string; identifier: string };
    scopes: Array<{ name: string; description: string }>;
  }>;
  tenantName: string;
  /** The redirect URI the user is sent back to with the decision. */
  redirectUri: string;
}

/** Where a redirect URI sends the user, as a person reads it: the host of a web address, else the whole URI. */
export function redirectTarget(uri: string): string {
  try {
    const u = new URL(uri);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.host ? u.host : uri;
  } catch {
    return uri;
  }
}

/** One scope on the consent page, with the checkbox the user consents to it with (checked by default). */
function ConsentScope({ scope }: { scope: { name: string; description: string } }) {
  return (
    <li>
      <label>
        <input type="checkbox" name={`consent_scope:${scope.name}`} value="on" checked /> {scope.description}{' '}
        <code>{scope.name}</code>
      </label>
    </li>
  );
}

/** A group of scopes under its API's name (no API: one plain list). */
export interface ScopeGroup {
  api: { id: string; name: string; identifier: string } | null;
  scopes: Array<{ name: string; description: string }>;
}

/**
 * Scopes grouped by API, each API's name above its scopes: the consent page's list (`checkboxes`: one per
 * scope, ticked) and the device verification page's (read only).
 */
export function ScopeGroups({ groups, checkboxes = false }: { groups: ScopeGroup[]; checkboxes?: boolean }) {
  return (
    <>
      {groups.map((g) => (
        <section class="scope-group" key={g.api?.id ?? 'all'}>
          {g.api ? (
            <h3 class="scope-api" title={g.api.identifier}>
              {g.api.name}
            </h3>
          ) : null}
          <ul class="scope-list">
            {g.scopes.map((s) =>
              checkboxes ? (
                <ConsentScope key={s.name} scope={s} />
              ) : (
                <li key={s.name}>
                  {s.description} <code>{s.name}</code>
                </li>
              ),
            )}
          </ul>
        </section>
      ))}
    </>
  );
}

export function ConsentPage({
  csrf,
  request,
  app,
  user,
  scopes,
  groups = [],
  tenantName,
  redirectUri,
}: ConsentPageProps) {
  const grouped = groups.length > 0 ? groups : [{ api: null, scopes }];
  return (
    <Layout title={`Allow ${app.name}?`} narrow user={user} csrf={csrf}>
      <div class="card">
        <AppHeader app={app} />
        <h1>
          {app.name} wants to access your {tenantName} account
        </h1>
        <p class="muted small">Signed in as {user.email}</p>
        {app.visibility === 'public' && app.status !== 'approved' ? (
          <div class="alert alert-warn">
            This app has not been reviewed. Only continue if you are testing it.
          </div>
        ) : null}
        <p class="small" id="redirect-target">
          Whatever you choose, you will be sent back to <strong>{redirectTarget(redirectUri)}</strong>.
        </p>
        <form method="post" action="/oauth/authorize/decision">
          <input type="hidden" name="csrf" value={csrf} />
          <input type="hidden" name="request" value={request} />
          {scopes.length > 0 ? (
            <>
              <h2>It will be able to:</h2>
              <input type="hidden" name="per_scope" value="1" />
              <ScopeGroups groups={grouped} checkboxes />
              <p class="muted small">Untick anything you don’t want to allow.</p>
            </>
          ) : (
            <p>It asks for no specific permissions.</p>
          )}
          <div class="actions">
            <button type="submit" name="decision" value="allow" class="btn btn-primary">
              Allow
            </button>
            <button type="submit" name="decision" value="deny" class="btn">
              Deny
            </button>
          </div>
        </form>
        <p class="muted small">You can take this access back at any time under Connected apps.</p>
      </div>
    </Layout>
  );
}

export interface MessagePageProps {
  title: string;
  message: string;
  /** An optional way back (e.g. to the app, carrying `error=access_denied`). */
  link?: { href: string; label: string };
  app?: AppSummary;
}

/** A plain error or notice page: used where redirecting would be unsafe or pointless. */
export function MessagePage({ title, message, link, app }: MessagePageProps) {
  return (
    <Layout title={title} narrow>
      <div class="card">
        {app ? <AppHeader app={app} /> : null}
        <h1>{title}</h1>
        <div class="alert alert-error" role="alert">
          {message}
        </div>
        {link ? (
          <p>
            <a class="btn" href={link.href}>
              {link.label}
            </a>
          </p>
        ) : null}
      </div>
    </Layout>
  );
}

export interface ConnectedAppsPageProps {
  csrf: string;
  user: { email: string; display_name: string };
  apps: ConnectedApp[];
  scopeText: Record<string, string>;
  notice?: string;
  /** The app whose revocation awaits confirmation (`?confirm=<app_id>`, works without JavaScript). */
  confirm?: string;
}

function RevokeConfirm({ csrf, app }: { csrf: string; app: ConnectedApp }) {
  return (
    <section class="card" aria-labelledby="revoke-title">
      <h2 id="revoke-title">Revoke access for {app.app_name}?</h2>
      <p>
        {app.app_name} (by {app.tenant_name}) can no longer use your account: its access ends at once, and if
        it asks again you will be asked again.
      </p>
      <form method="post" action="/account/connected-apps/revoke">
        <input type="hidden" name="csrf" value={csrf} />
        <input type="hidden" name="app_id" value={app.app_id} />
        <input type="hidden" name="confirm" value="yes" />
        <div class="actions">
          <a class="btn" href="/account/connected-apps">
            Cancel
          </a>
          <button type="submit" class="btn btn-danger-solid">
            Revoke access
          </button>
        </div>
      </form>
    </section>
  );
}

export function ConnectedAppsPage({ csrf, user, apps, scopeText, notice, confirm }: ConnectedAppsPageProps) {
  const confirming = confirm ? apps.find((a) => a.app_id === confirm) : undefined;
  return (
    <Layout title="Connected apps" user={user} csrf={csrf} active="/account/connected-apps">
      <h1>Connected apps</h1>
      <p class="muted">Apps you have allowed to access your account. Revoking ends their access at once.</p>
      {notice ? (
        <div class="alert alert-ok" role="status">
          {notice}
        </div>
      ) : null}
      {confirming ? <RevokeConfirm csrf={csrf} app={confirming} /> : null}
      {apps.length === 0 ? (
        <div class="card">
          <p>You have not authorized any apps.</p>
        </div>
      ) : (
        <div class="card table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">App</th>
                <th scope="col">Access</th>
                <th scope="col" class="hide-sm">
                  Authorized
                </th>
                <th scope="col">
                  <span class="skip-link">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {apps.map((a) => (
                <tr key={a.app_id}>
                  <td>
                    <strong>{a.app_name}</strong>
                    <div class="muted small">by {a.tenant_name}</div>
                  </td>
                  <td>
                    <ul class="small">
                      {a.scopes.map((s) => (
                        <li key={s}>
                          {scopeText[s] ?? s} <code>{s.includes('#') ? s.slice(s.indexOf('#') + 1) : s}</code>
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td class="hide-sm">
                    <time dateTime={new Date(a.authorized_at).toISOString()}>
                      {formatDate(a.authorized_at)}
                    </time>
                  </td>
                  <td>
                    {/* Asks first: without confirm=yes the route answers the confirmation. */}
                    <form method="post" action="/account/connected-apps/revoke" class="inline-form">
                      <input type="hidden" name="csrf" value={csrf} />
                      <input type="hidden" name="app_id" value={a.app_id} />
                      <button type="submit" class="btn btn-danger">
                        Revoke<span class="skip-link"> access for {a.app_name}</span>
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Layout>
  );
}
