/**
 * The one word for a client secret's state, shown by the hub's Status column, returned by the API as
 * `status` and printed by the CLI. Every surface takes it from {@link secretStatus}, never from its own
 * reading of the timestamps.
 */

/** A secret's state: usable (`active`, `expiring`), or not and why (`replaced`, `revoked`, `expired`). */
export type SecretStatus = 'active' | 'expiring' | 'replaced' | 'revoked' | 'expired';

export const SECRET_STATUSES: readonly SecretStatus[] = [
  'active',
  'expiring',
  'replaced',
  'revoked',
  'expired',
];

/** A usable secret expiring within this window counts as `expiring`. */
export const SECRET_EXPIRING_WITHIN_MS = 30 * 86_400_000;

/** The fields the status is derived from (epoch ms; `replaced_by` is the secret a refresh put in its place). */
export interface SecretStatusFields {
  revoked_at: number | null;
  replaced_by: string | null;
  expires_at: number | null;
}

/**
 * The secret's status at `now`. A deactivated secret is `replaced` when a refresh deactivated it and
 * `revoked` otherwise, whatever its expiry; an expired secret fails exactly like a revoked one.
 */
export function secretStatus(s: SecretStatusFields, now: number): SecretStatus {
  if (s.revoked_at !== null) return s.replaced_by !== null ? 'replaced' : 'revoked';
  if (s.expires_at === null) return 'active';
  if (s.expires_at <= now) return 'expired';
  return s.expires_at - now <= SECRET_EXPIRING_WITHIN_MS ? 'expiring' : 'active';
}

/** Whether a secret in this status still authenticates its client. */
export function secretUsable(status: SecretStatus): boolean {
  return status === 'active' || status === 'expiring';
}
