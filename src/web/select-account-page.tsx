import { Layout } from './layout.js';
import { AppHeader, type AppSummary } from './pages.js';

export interface SelectAccountPageProps {
  csrf: string;
  app: AppSummary;
  /** The signed-in account. */
  user: { email: string; display_name: string };
  /** The authorization request's query to go on with (without `prompt=select_account`). */
  request: string;
}

/**
 * The account chooser of `prompt=select_account` (OIDC Core §3.1.2.1): continue as the signed-in account,
 * or sign out of Clavis and sign in with another. A CSRF-protected form posted to
 * `/oauth/authorize/select-account`.
 */
export function SelectAccountPage({ csrf, app, user, request }: SelectAccountPageProps) {
  return (
    <Layout title="Choose an account" narrow>
      <div class="card">
        <AppHeader app={app} />
        <h1>Choose an account to continue to {app.name}</h1>
        <p>
          You are signed in to Clavis as <strong>{user.email}</strong>.
        </p>
        <form method="post" action="/oauth/authorize/select-account">
          <input type="hidden" name="csrf" value={csrf} />
          <input type="hidden" name="request" value={request} />
          <div class="actions">
            <button type="submit" name="choice" value="continue" class="btn btn-primary">
              Continue as {user.email}
            </button>
            <button type="submit" name="choice" value="other" class="btn">
              Use another account
            </button>
          </div>
        </form>
        <p class="muted small">Using another account signs you out of Clavis in this browser first.</p>
      </div>
    </Layout>
  );
}
