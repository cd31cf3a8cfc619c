import { Layout } from './layout.js';

export interface LogoutConfirmProps {
  csrf: string;
  user: { email: string; display_name: string };
  /** The app that asked, when it said which. */
  appName: string | null;
  /** The request's parameters, posted back with the answer. */
  carry: Record<string, string>;
}

/** RP-Initiated Logout §2: asks the signed-in user whether to sign out of Clavis. */
export function LogoutConfirmPage({ csrf, user, appName, carry }: LogoutConfirmProps) {
  return (
    <Layout title="Sign out of Clavis?" narrow>
      <div class="card">
        <h1>Sign out of Clavis?</h1>
        <p>
          {appName ? `${appName} asks to sign you out.` : 'An app asks to sign you out.'} You are signed in as{' '}
          <strong>{user.email}</strong>.
        </p>
        <form method="post" action="/oauth/end-session">
          <input type="hidden" name="csrf" value={csrf} />
          {Object.entries(carry).map(([name, value]) => (
            <input key={name} type="hidden" name={name} value={value} />
          ))}
          <div class="actions">
            <button type="submit" name="confirm" value="yes" class="btn btn-primary">
              Sign out
            </button>
            <a class="btn" href="/">
              Stay signed in
            </a>
          </div>
        </form>
      </div>
    </Layout>
  );
}

/** Shown after a sign-out that has nowhere registered to return to. */
export function SignedOutPage({ appName }: { appName: string | null }) {
  return (
    <Layout title="Signed out" narrow>
      <div class="card">
        <h1>You are signed out</h1>
        <p>
          {appName ? `You signed out of Clavis from ${appName}.` : 'You signed out of Clavis.'} You can close
          this window.
        </p>
        <p>
          <a class="btn" href="/login">
            Sign in again
          </a>
        </p>
      </div>
    </Layout>
  );
}
