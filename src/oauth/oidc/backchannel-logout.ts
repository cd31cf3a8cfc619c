import {
  auditLogoutDelivery,
  BACKCHANNEL_LOGOUT_KIND,
  type LogoutMessage,
  logoutTarget,
} from '../../domain/oidc.js';
import {
  backoffMs,
  type DeliveryContext,
  type OutboxMessage,
  PermanentFailure,
  RetryLater,
  registerOutboxHandler,
} from '../../domain/outbox.js';
import { checkWebhookUrl, postWebhook, WebhookAddressRefused } from '../../domain/webhook-http.js';
import type { IdTokens } from './id-token.js';

/**
 * OpenID Connect Back-Channel Logout 1.0, delivered through the durable outbox. Ending a Clavis session
 * (sign-out, RP-initiated logout) or revoking an app under Connected apps queues one message per (app with a
 * `backchannel_logout_uri`, session) in the transaction of that change (`queueSessionLogout`,
 * `queueAppRevocationLogout` in the domain). The worker POSTs a freshly signed logout token (§2.5,
 * `application/x-www-form-urlencoded`, `logout_token=...`); a network error, timeout or non-2xx answer (§2.8)
 * is retried with the outbox's exponential backoff and jitter for {@link LOGOUT_RETRY_MS}, and the outcome,
 * delivered or given up, is audited on the app. A node that dies mid-delivery leaves its claim to run out,
 * and another node delivers the message then.
 */

/** Retries stop this long after the sign-out; the delivery is then audited as failed. */
export const LOGOUT_RETRY_MS = 3600_000;
/** How long one POST may take before it counts as failed. */
export const LOGOUT_TIMEOUT_MS = 5_000;

/**
 * Makes one delivery attempt of a queued logout: returns on success (audited), throws {@link RetryLater}
 * to try again and {@link PermanentFailure} once it has given up (audited).
 */
export async function deliverLogout(
  idTokens: IdTokens,
  msg: OutboxMessage,
  ctx: DeliveryContext,
): Promise<void> {
  const target = await logoutTarget(ctx, msg.payload as LogoutMessage);
  // The app was deleted since: nobody to tell.
  if (!target) return;
  const attempts = msg.attempt;
  const giveUp = async (error: string): Promise<never> => {
    await auditLogoutDelivery(ctx, target, { delivered: false, attempts, error });
    throw new PermanentFailure(error);
  };
  if (target.uri === null) return giveUp('The app no longer registers a back-channel logout URI.');
  try {
    // A URL refused by the SSRF rules as written (scheme, literal address) stays refused: no retries.
    checkWebhookUrl(target.uri, ctx.config.webhooksAllowPrivate);
  } catch (err) {
    if (err instanceof WebhookAddressRefused) return giveUp(err.message);
    throw err;
  }
  // Signed at each attempt, so a retried token is as fresh as the first (it lives 2 minutes).
  const token = await idTokens.logoutToken({
    clientId: target.clientId,
    alg: target.alg,
    sub: target.userId,
    sid: target.sid,
  });
  // The webhooks' sender: an address checked after DNS (no loopback, private, link-local or metadata
  // address unless CLAVIS_WEBHOOKS_ALLOW_PRIVATE), no redirects, one connection, a bounded answer, so an
  // app's back-channel URI can't make Clavis probe its own network.
  const r = await postWebhook(
    target.uri,
    { 'content-type': 'application/x-www-form-urlencoded' },
    new URLSearchParams({ logout_token: token }).toString(),
    { allowPrivate: ctx.config.webhooksAllowPrivate, timeoutMs: LOGOUT_TIMEOUT_MS },
  );
  if (r.ok) {
    await auditLogoutDelivery(ctx, target, { delivered: true, attempts });
    return;
  }
  const error = r.statusCode !== null ? `HTTP ${r.statusCode}` : (r.error ?? 'connection failed');
  const deadline = msg.created_at + LOGOUT_RETRY_MS;
  const now = ctx.now();
  if (now >= deadline) return giveUp(error);
  // The last retry comes at the deadline at the latest, and is the one that gives up.
  throw new RetryLater(error, Math.min(backoffMs(attempts), deadline - now));
}

/**
 * Registers the outbox handler of back-channel logouts, signing with `idTokens`' keys. The outbox's own age
 * limit is only a backstop: {@link deliverLogout} gives up (and audits it) at {@link LOGOUT_RETRY_MS}.
 */
export function registerBackchannelLogoutHandler(idTokens: IdTokens): void {
  registerOutboxHandler(BACKCHANNEL_LOGOUT_KIND, (msg, ctx) => deliverLogout(idTokens, msg, ctx), {
    maxAgeMs: LOGOUT_RETRY_MS + 3600_000,
    timeoutMs: LOGOUT_TIMEOUT_MS + 5_000,
  });
}
