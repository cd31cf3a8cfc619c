import { randomToken } from '../crypto/random.js';

/**
 * The flash store behind "redirect after POST, errors included": a hub action whose form failed
 * validation answers 303 to its form page with `?flash=ID`, and that GET shows the form as the action
 * rendered it (the typed values and the error messages) once. The entry is bound to the session and to
 * the page it was made for, and is deleted when read, so a reload shows the clean page and never posts again.
 *
 * Only failed forms go here, and no hub form re-fills a password or shows a secret value on failure; values
 * shown once on success (a new client secret, an initial password) are sent with the POST's own 200 answer
 * and never stored. Kept in memory per process for ten minutes (like the one-time form tokens in
 * nonce.ts): if the GET lands on another node, or after a restart, the user sees the clean form.
 */
const TTL_MS = 600_000;
const MAX_ENTRIES = 5_000;

interface Entry {
  at: number;
  sessionKey: string;
  path: string;
  html: string;
}

const entries = new Map<string, Entry>();

/** Keeps a failed form's page for the session's next GET of `path`; returns the flash id. */
export function putFlash(sessionKey: string, path: string, html: string): string {
  const now = Date.now();
  if (entries.size >= MAX_ENTRIES)
    for (const [k, v] of entries) if (v.at < now - TTL_MS || entries.size >= MAX_ENTRIES) entries.delete(k);
  const id = randomToken(18);
  entries.set(id, { at: now, sessionKey, path, html });
  return id;
}

/**
 * The page kept under `id` for this session and path, removed as it is read. Undefined when it was read
 * already, expired, or belongs to another session or page.
 */
export function takeFlash(sessionKey: string, path: string, id: string): string | undefined {
  const hit = entries.get(id);
  if (!hit || hit.sessionKey !== sessionKey || hit.path !== path) return undefined;
  entries.delete(id);
  return hit.at > Date.now() - TTL_MS ? hit.html : undefined;
}
