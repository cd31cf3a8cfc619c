/**
 * The catalogue of webhook event types: what an endpoint may subscribe to (or `*` for all). `data` names the
 * app (`id`, `client_id`, `name`), the secret (`id`, `hint`, `expires_at`) and the `actor`; never a secret
 * value.
 */
export const WEBHOOK_EVENT_TYPES = {
  'app.created': 'An app was registered.',
  'app.updated': "An app's settings changed.",
  'app.approved': 'A public app was approved in review.',
  'app.rejected': 'A public app was rejected in review.',
  'app.disabled': 'An app was disabled: its clients can no longer get tokens.',
  'app.deleted': 'An app was deleted.',
  'secret.created': 'A client secret was added.',
  'secret.refreshed': 'A client secret was refreshed: a new one replaced the current one(s).',
  'secret.revoked': 'A client secret was revoked.',
  'secret.expiring': 'A client secret expires in 30, 7 or 1 days (`data.days_left`).',
  'secret.expired': 'A client secret expired.',
  'secret.leaked': 'A client secret was reported as leaked (and revoked, unless the tenant only notifies).',
  'grant.revoked': 'A user disconnected an app (the uninstall notice).',
} as const;

export type WebhookEventType = keyof typeof WEBHOOK_EVENT_TYPES;

/** Every event type, in catalogue order. */
export const WEBHOOK_EVENT_NAMES = Object.keys(WEBHOOK_EVENT_TYPES) as WebhookEventType[];

/** Whether a string names an event of the catalogue. */
export function isWebhookEventType(name: string): name is WebhookEventType {
  return Object.hasOwn(WEBHOOK_EVENT_TYPES, name);
}

/** Whether an endpoint subscribed to `events` (a list, or `["*"]`) receives an event of `type`. */
export function subscribes(events: readonly string[], type: string): boolean {
  return events.includes('*') || events.includes(type);
}
