import { Layout } from './layout.js';
import { AppHeader, type AppSummary, type ScopeGroup, ScopeGroups } from './pages.js';

/** The signed-in user, as the device pages show them. */
interface PageUser {
  email: string;
  display_name: string;
}

export interface DeviceCodePageProps {
  user: PageUser;
  csrf: string;
  /** What the user typed, shown again after an error. */
  userCode?: string;
  error?: string;
}

/** The verification page (RFC 8628 §3.3): type the code the device shows. A GET form: it changes nothing. */
export function DeviceCodePage({ user, csrf, userCode, error }: DeviceCodePageProps) {
  return (
    <Layout title="Connect a device" narrow user={user} csrf={csrf}>
      <div class="card">
        <h1>Connect a device</h1>
        <p>Enter the code shown on your device or in your terminal.</p>
        <p class="muted small">Signed in as {user.email}</p>
        {error ? (
          <div class="alert alert-error" role="alert">
            {error}
          </div>
        ) : null}
        <form method="get" action="/device" novalidate>
          <div class="field">
            <label for="user_code">Code</label>
            <input
              id="user_code"
              name="user_code"
              type="text"
              autocomplete="off"
              autocapitalize="characters"
              spellcheck={false}
              placeholder="XXXX-XXXX"
              maxLength={20}
              required
              value={userCode ?? ''}
              autofocus
            />
          </div>
          <button type="submit" class="btn btn-primary btn-block">
            Continue
          </button>
        </form>
      </div>
    </Layout>
  );
}

export interface DeviceConfirmPageProps {
  user: PageUser;
  csrf: string;
  /** The code, formatted `XXXX-XXXX`, posted back with the decision. */
  userCode: string;
  app: AppSummary;
  /** What the app asks for, grouped by API as on the consent page. */
  groups: ScopeGroup[];
  tenantName: string;
}

/**
 * Asks the user to allow or deny a device (RFC 8628 §3.3): names the app and what it asks for, and shows the
 * code so the user can check it is the one on their own device (RFC 8628 §5.4, remote phishing).
 */
export function DeviceConfirmPage({ user, csrf, userCode, app, groups, tenantName }: DeviceConfirmPageProps) {
  return (
    <Layout title={`Allow ${app.name} on your device?`} narrow user={user} csrf={csrf}>
      <div class="card">
        <AppHeader app={app} />
        <h1>
          {app.name} wants to access your {tenantName} account from a device
        </h1>
        <p class="muted small">Signed in as {user.email}</p>
        <p>
          Code: <strong id="device-user-code">{userCode}</strong>
        </p>
        <div class="alert alert-warn">
          Only continue if this is the code shown on a device or terminal you are using yourself. If someone
          sent you this code or link, deny.
        </div>
        {groups.some((g) => g.scopes.length > 0) ? (
          <>
            <h2>It will be able to:</h2>
            <ScopeGroups groups={groups} />
          </>
        ) : (
          <p>It asks for no specific permissions.</p>
        )}
        {app.visibility === 'public' && app.status !== 'approved' ? (
          <div class="alert alert-warn">
            This app has not been reviewed. Only continue if you are testing it.
          </div>
        ) : null}
        <form method="post" action="/device/decision">
          <input type="hidden" name="csrf" value={csrf} />
          <input type="hidden" name="user_code" value={userCode} />
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

/** After the decision: go back to the device. */
export function DeviceDonePage({
  user,
  csrf,
  approved,
}: {
  user: PageUser;
  csrf: string;
  approved: boolean;
}) {
  return (
    <Layout title={approved ? 'Device connected' : 'Device denied'} narrow user={user} csrf={csrf}>
      <div class="card">
        <h1>{approved ? 'Device connected' : 'Device denied'}</h1>
        <div class={approved ? 'alert alert-ok' : 'alert'} role="status">
          {approved
            ? 'You allowed the device. Go back to it: it will continue on its own in a few seconds.'
            : 'You denied the device. It gets no access to your account.'}
        </div>
        <p>
          <a class="btn" href="/device">
            Connect another device
          </a>
        </p>
      </div>
    </Layout>
  );
}
