import { randomToken } from '../crypto/random.js';

/**
 * The flash store behind "redirect after POST, errors included": a form that failed answers 303 to its
 * form page with `?flash=ID`, and that GET shows the failure once. An entry is bound to a browser (the
 * signed-in session, or the pre-session cookie on pages shown signed out) and to the page it was made
 * for, and is deleted when read, so a reload shows the clean page and never posts again.
 *
 * No form re-fills a password, and no entry holds a password or a secret value: values shown once on
 * success (a new client secret, an initial password) are sent with the POST's own answer and never stored.
 * (A hub entry is the page as rendered, with the session's own CSRF token, which only that session can
 * read back; the signed-out forms keep only messages and typed values: src/web/form-flash.ts.)
 * Kept in memory per process for ten minutes (like the one-time form tokens in the hub's nonce.ts): if
 * the GET lands on another node, or after a restart, the user sees the clean form.
 */
export class FlashStore<T> {
  static readonly TTL_MS = 600_000;
  static readonly MAX_ENTRIES = 5_000;

  readonly #entries = new Map<string, { at: number; binding: string; path: string; value: T }>();

  /** Keeps `value` for the next GET of `path` by the browser `binding` names; returns the flash id. */
  put(binding: string, path: string, value: T): string {
    const now = Date.now();
    if (this.#entries.size >= FlashStore.MAX_ENTRIES)
      for (const [k, v] of this.#entries)
        if (v.at < now - FlashStore.TTL_MS || this.#entries.size >= FlashStore.MAX_ENTRIES)
          this.#entries.delete(k);
    const id = randomToken(18);
    this.#entries.set(id, { at: now, binding, path, value });
    return id;
  }

  /**
   * The value kept under `id` for this browser and path, removed as it is read. Undefined when it was read
   * already, expired, or belongs to another browser or page (then it stays for its own).
   */
  take(binding: string, path: string, id: string): T | undefined {
    const hit = this.#entries.get(id);
    if (!hit || hit.binding !== binding || hit.path !== path) return undefined;
    this.#entries.delete(id);
    return hit.at > Date.now() - FlashStore.TTL_MS ? hit.value : undefined;
  }
}
