import { randomToken } from '../crypto/random.js';

/**
 * One-time form tokens for forms whose success page shows a secret once (create app, new secret, refresh).
 * Reloading such a page re-posts the form; the second post finds the token used and is redirected to the
 * plain page, so it neither repeats the action nor shows the value again. Kept in memory per process for an
 * hour (a re-post landing on another node just fails the CSRF-protected action's idempotency, not safety).
 */
const TTL_MS = 3600_000;
const used = new Map<string, { at: number; result: string }>();

export function newNonce(): string {
  return randomToken(18);
}

/** The result recorded for this session's nonce, if it was used already. */
export function usedNonce(sessionKey: string, nonce: string): string | undefined {
  const hit = used.get(`${sessionKey}:${nonce}`);
  return hit && hit.at > Date.now() - TTL_MS ? hit.result : undefined;
}

export function recordNonce(sessionKey: string, nonce: string, result: string): void {
  if (!nonce) return;
  const now = Date.now();
  if (used.size > 10_000)
    for (const [k, v] of used) if (v.at < now - TTL_MS || used.size > 10_000) used.delete(k);
  used.set(`${sessionKey}:${nonce}`, { at: now, result });
}
