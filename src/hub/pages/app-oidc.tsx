import { ID_TOKEN_SIGNING_ALGS } from '../../domain/app-fields.js';
import type { App } from '../../domain/apps.js';
import type { FormErrors, Hub } from '../context.js';
import { Alert, Csrf, Field, Select } from '../ui/components.js';
import { appPath } from './app-shell.js';

/** The values typed into the OpenID Connect form, shown again with its errors. */
export interface OidcFormValues {
  id_token_signed_response_alg: string;
  post_logout_redirect_uri: string;
  backchannel_logout_uri: string;
}

/** Reads the OpenID Connect form's values. */
export function oidcFormValues(form: { get(name: string): string | undefined }): OidcFormValues {
  return {
    id_token_signed_response_alg: form.get('id_token_signed_response_alg') ?? '',
    post_logout_redirect_uri: form.get('post_logout_redirect_uri') ?? '',
    backchannel_logout_uri: form.get('backchannel_logout_uri') ?? '',
  };
}

/** The "OAuth & access scopes" tab's OpenID Connect card: ID token algorithm and the logout URIs. */
export function OidcCard(p: { hub: Hub; app: App; oidc?: { values: OidcFormValues; errors: FormErrors } }) {
  const { app, hub } = p;
  // While a change awaits review the form shows it, so saving again keeps the pending change.
  const pending = app.pending_change?.values;
  const v = p.oidc?.values ?? {
    id_token_signed_response_alg: app.id_token_signed_response_alg,
    post_logout_redirect_uri: pending?.post_logout_redirect_uri ?? app.post_logout_redirect_uri ?? '',
    backchannel_logout_uri: pending?.backchannel_logout_uri ?? app.backchannel_logout_uri ?? '',
  };
  const errors = p.oidc?.errors ?? { fields: {} };
  return (
    <section class="card" aria-labelledby="oidc-title">
      <h2 id="oidc-title">OpenID Connect</h2>
      <p class="section-note">
        Ask for the <code>openid</code> scope to sign users in: the token response then carries an ID token.
      </p>
      <form method="post" action={`${appPath(app, 'oauth')}/oidc`} novalidate>
        <Csrf token={hub.csrf} />
        {errors.form ? <Alert kind="error">{errors.form}</Alert> : null}
        <Select
          name="id_token_signed_response_alg"
          label="ID token signing algorithm"
          value={v.id_token_signed_response_alg}
          error={errors.fields.id_token_signed_response_alg}
          options={ID_TOKEN_SIGNING_ALGS.map((a) => ({
            value: a,
            label: a === 'RS256' ? 'RS256 (default)' : a,
          }))}
        />
        <Field
          name="post_logout_redirect_uri"
          label="Post-logout redirect URI"
          type="url"
          value={v.post_logout_redirect_uri}
          error={errors.fields.post_logout_redirect_uri}
          hint="Where the end-session endpoint may send users back after signing out. Leave empty for none."
        />
        <Field
          name="backchannel_logout_uri"
          label="Back-channel logout URI"
          type="url"
          value={v.backchannel_logout_uri}
          error={errors.fields.backchannel_logout_uri}
          hint="Clavis POSTs a signed logout token here when a user signs out or revokes your app. Leave empty for none."
        />
        <button type="submit" class="btn btn-primary">
          Save OpenID Connect settings
        </button>
      </form>
    </section>
  );
}
