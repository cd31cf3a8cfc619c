/**
 * Mail templates: each gives a subject, a plain-text body and an HTML body. Every value is escaped in the
 * HTML (the {@link html} tag escapes whatever it interpolates) and stripped of control characters in the
 * text and subject. No template takes a secret value: a secret is named by its hint and id only.
 */

/** A rendered mail, without its recipient. */
export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes a value for HTML text and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** Raw HTML that {@link html} inserts as is (only for fragments built with {@link html} itself). */
class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** A tagged template that escapes every interpolated value unless it is itself built with `html`. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    const part = Array.isArray(v)
      ? v.map((x) => (x instanceof SafeHtml ? x.value : escapeHtml(x))).join('')
      : v instanceof SafeHtml
        ? v.value
        : escapeHtml(v);
    out += part + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** A value for plain text: no control characters (so it cannot add lines or headers), bounded length. */
export function plain(value: unknown, max = 500): string {
  let out = '';
  for (const ch of String(value ?? '').slice(0, max)) {
    const c = ch.codePointAt(0) ?? 0;
    out += c < 0x20 || c === 0x7f ? ' ' : ch;
  }
  return out;
}

function layout(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title></head>
<body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1f2328;max-width:560px;margin:24px auto;padding:0 16px">
${body}
<p style="color:#656d76;font-size:13px;margin-top:32px">Sent by Clavis. You get this mail because of an account or app on this server.</p>
</body></html>`.value;
}

function button(href: string, label: string): SafeHtml {
  return html`<p><a href="${href}" style="display:inline-block;background:#1f6feb;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none">${label}</a></p>
<p style="color:#656d76;font-size:13px">Or open this link: <a href="${href}">${href}</a></p>`;
}

/** Confirms an address given at sign-up; the link creates the account. */
export function verifyEmailMail(p: { name: string; link: string; minutes: number }): MailContent {
  return {
    subject: 'Confirm your email address',
    text: `Hello ${plain(p.name)},

Confirm your email address to create your Clavis developer account:

${p.link}

The link works once, for ${p.minutes} minutes. If you did not sign up, ignore this mail: no account is created.
`,
    html: layout(
      'Confirm your email address',
      html`<p>Hello ${p.name},</p>
<p>Confirm your email address to create your Clavis developer account:</p>
${button(p.link, 'Confirm and create my account')}
<p>The link works once, for ${p.minutes} minutes. If you did not sign up, ignore this mail: no account is created.</p>`,
    ),
  };
}

/** Sent instead of a verification link when the address already has an account (no enumeration). */
export function accountExistsMail(p: { loginLink: string; resetLink: string }): MailContent {
  return {
    subject: 'You already have an account',
    text: `Someone (perhaps you) tried to sign up with this email address, which already has an account.

Sign in: ${p.loginLink}
Forgot your password? ${p.resetLink}

If it was not you, ignore this mail; nothing changed.
`,
    html: layout(
      'You already have an account',
      html`<p>Someone (perhaps you) tried to sign up with this email address, which already has an account.</p>
${button(p.loginLink, 'Sign in')}
<p>Forgot your password? <a href="${p.resetLink}">Reset it</a>.</p>
<p>If it was not you, ignore this mail; nothing changed.</p>`,
    ),
  };
}

/** A single-use password reset link. */
export function passwordResetMail(p: { name: string; link: string; minutes: number }): MailContent {
  return {
    subject: 'Reset your password',
    text: `Hello ${plain(p.name)},

Someone (perhaps you) asked to reset the password of your account. Choose a new password here:

${p.link}

The link works once, for ${p.minutes} minutes. Setting a new password signs you out everywhere. If you did
not ask for this, ignore this mail: your password stays as it is.
`,
    html: layout(
      'Reset your password',
      html`<p>Hello ${p.name},</p>
<p>Someone (perhaps you) asked to reset the password of your account. Choose a new password here:</p>
${button(p.link, 'Choose a new password')}
<p>The link works once, for ${p.minutes} minutes. Setting a new password signs you out everywhere. If you did not ask for this, ignore this mail: your password stays as it is.</p>`,
    ),
  };
}

export interface ExpiryNoticeMailInput {
  app: { name: string; client_id: string };
  secret: { hint: string; description: string; expires_at: number };
  /** 30, 7 or 1 before expiry; 0 once expired. */
  daysLeft: number;
  /** A newer active secret of the same app has replaced this one: nothing to do but remove the old. */
  superseded: boolean;
  link: string;
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ').concat(' UTC');
}

/** A secret expires in 30, 7 or 1 days, or has expired. Names the secret by hint only. */
export function expiryNoticeMail(p: ExpiryNoticeMailInput): MailContent {
  const when = day(p.secret.expires_at);
  const secretName = `${p.secret.hint}…${p.secret.description ? ` (${p.secret.description})` : ''}`;
  const headline =
    p.daysLeft === 0
      ? `A client secret of ${p.app.name} has expired`
      : `A client secret of ${p.app.name} expires in ${p.daysLeft} day${p.daysLeft === 1 ? '' : 's'}`;
  const advice = p.superseded
    ? 'The app already has a newer active secret, so nothing needs to happen if your deployments use it; you may revoke this one.'
    : p.daysLeft === 0
      ? 'Clients that still use it can no longer get tokens. Create a new secret and deploy it.'
      : 'Create a new secret (refresh) and deploy it before then, or clients using this one will stop getting tokens.';
  return {
    subject: plain(headline, 200),
    text: `${plain(headline)}

App: ${plain(p.app.name)} (client ID ${plain(p.app.client_id)})
Secret: ${plain(secretName)}
Expires: ${when}

${advice}

${p.link}
`,
    html: layout(
      headline,
      html`<p><strong>${headline}</strong></p>
<table style="border-collapse:collapse">
<tr><td style="padding:2px 12px 2px 0;color:#656d76">App</td><td>${p.app.name} (client ID <code>${p.app.client_id}</code>)</td></tr>
<tr><td style="padding:2px 12px 2px 0;color:#656d76">Secret</td><td><code>${secretName}</code></td></tr>
<tr><td style="padding:2px 12px 2px 0;color:#656d76">Expires</td><td>${when}</td></tr>
</table>
<p>${advice}</p>
${button(p.link, 'Open the app')}`,
    ),
  };
}

export interface LeakedSecretMailInput {
  app: { name: string; client_id: string };
  secret: { hint: string; id: string };
  /** Where the secret was found, as reported (may be empty). */
  url: string;
  /** `report` (someone used the public form) or `github` (GitHub secret scanning). */
  source: 'report' | 'github';
  /** What Clavis did: revoked the secret at once, or only notified (the tenant's policy). */
  action: 'revoked' | 'notified';
  /** The app's secrets page in the hub. */
  link: string;
}

/** A client secret was found in public. Names the secret by hint and ID only, never its value. */
export function leakedSecretMail(p: LeakedSecretMailInput): MailContent {
  const headline =
    p.action === 'revoked'
      ? `A leaked client secret of ${p.app.name} was revoked`
      : `A client secret of ${p.app.name} was found in public`;
  const by = p.source === 'github' ? 'GitHub secret scanning' : 'Someone';
  const where = p.url ? `${by} reported it found at ${p.url}` : `${by} reported it found in public`;
  const advice =
    p.action === 'revoked'
      ? 'Clavis revoked it at once: clients using it can no longer get tokens. Create a new secret, deploy it, and remove the leaked one from where it was found.'
      : 'Your tenant only notifies, so it still works, and anyone who found it can use it. Refresh it now (create a new secret and deploy it), then remove the leaked one from where it was found.';
  const secretName = `${p.secret.hint}… (secret ID ${p.secret.id})`;
  return {
    subject: plain(headline, 200),
    text: `${plain(headline)}

${plain(where, 2200)}.

App: ${plain(p.app.name)} (client ID ${plain(p.app.client_id)})
Secret: ${plain(secretName)}

${advice}

${p.link}
`,
    html: layout(
      headline,
      html`<p><strong>${headline}</strong></p>
<p>${by} reported it found ${p.url ? html`at <code>${p.url}</code>` : 'in public'}.</p>
<table style="border-collapse:collapse">
<tr><td style="padding:2px 12px 2px 0;color:#656d76">App</td><td>${p.app.name} (client ID <code>${p.app.client_id}</code>)</td></tr>
<tr><td style="padding:2px 12px 2px 0;color:#656d76">Secret</td><td><code>${secretName}</code></td></tr>
</table>
<p>${advice}</p>
${button(p.link, 'Open the app')}`,
    ),
  };
}
