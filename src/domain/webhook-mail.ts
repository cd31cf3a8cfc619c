import type { Db } from '../db/database.js';
import type { WebhookEndpointTable } from '../db/schema.js';
import type { DomainContext } from './context.js';
import { queueMail } from './mail.js';
import { html, type MailContent, plain } from './mail-templates.js';

/** The mail that tells an endpoint's owner it was disabled after 3 days of failed deliveries. */
export function webhookDisabledMail(p: {
  url: string;
  since: string;
  lastError: string;
  link: string;
}): MailContent {
  const body = html`<!doctype html>
<html><head><meta charset="utf-8"><title>A webhook endpoint was disabled</title></head>
<body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1f2328;max-width:560px;margin:24px auto;padding:0 16px">
<p>Every delivery to this webhook endpoint has failed since ${p.since}, so Clavis disabled it:</p>
<p><code>${p.url}</code></p>
<p>Last answer: ${p.lastError}</p>
<p>Fix the receiver, then enable the endpoint again and redeliver what it missed: <a href="${p.link}">${p.link}</a></p>
</body></html>`;
  return {
    subject: 'A webhook endpoint was disabled',
    text: `Every delivery to this webhook endpoint has failed since ${plain(p.since)}, so Clavis disabled it:

${plain(p.url, 2000)}

Last answer: ${plain(p.lastError)}

Fix the receiver, then enable the endpoint again and redeliver what it missed:
${p.link}
`,
    html: body.value,
  };
}

/**
 * Mails the endpoint's owner (the user who created it, while active), or else the tenant's active admins,
 * in the caller's transaction. Nothing is queued when mail is not configured.
 */
export async function mailEndpointDisabled(
  ctx: DomainContext,
  trx: Db,
  endpoint: WebhookEndpointTable,
  since: string,
  lastError: string,
): Promise<number> {
  let q = trx
    .selectFrom('users')
    .select('email')
    .where('tenant_id', '=', endpoint.tenant_id)
    .where('disabled_at', 'is', null);
  const owner = endpoint.owner_user_id
    ? await q.where('id', '=', endpoint.owner_user_id).executeTakeFirst()
    : undefined;
  if (!owner) q = q.where('role', '=', 'admin');
  const to = owner ? [owner] : await q.execute();
  const content = webhookDisabledMail({
    url: endpoint.url,
    since,
    lastError,
    link: `${ctx.config.issuer}/admin/webhooks/${endpoint.id}`,
  });
  for (const u of to)
    await queueMail(ctx, trx, {
      to: u.email,
      content,
      dedupe_key: `webhook-disabled:${endpoint.id}:${since}:${u.email}`,
    });
  return to.length;
}
