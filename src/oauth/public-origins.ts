import { publicAppCallbacks } from '../domain/apps.js';
import { callbackOriginKey, originKeys } from '../domain/callback-url.js';
import type { DomainContext } from '../domain/context.js';
import type { CacheGuard } from './client-registry.js';

/**
 * This node's set of the origins where public apps run their pages (their callback URLs' origins), for CORS
 * preflights, which name no client. Held in memory while caches may be trusted, so a flood of preflights
 * from made-up origins costs a set lookup each, not a scan of the apps; any change to an app (the change
 * feed) or on another node (the version gate) drops it, and the next preflight reads it again.
 */
export class PublicOrigins {
  #keys: Set<string> | null = null;
  #loading: Promise<Set<string>> | null = null;
  #generation = 0;

  constructor(
    private readonly ctx: DomainContext,
    private readonly guard?: CacheGuard | undefined,
  ) {}

  /** Drops the set (an app changed). */
  invalidate(): void {
    this.#generation++;
    this.#keys = null;
    // A load in flight may have read before the change: later callers must not join it.
    this.#loading = null;
  }

  /** Whether some public app that is not disabled runs its pages at `origin` (an `Origin` header). */
  async has(origin: string): Promise<boolean> {
    const keys = originKeys(origin);
    if (keys.length === 0) return false;
    const trusted = this.guard ? await this.guard() : false;
    if (!trusted) this.invalidate();
    const set = this.#keys ?? (await this.#load());
    return keys.some((k) => set.has(k));
  }

  #load(): Promise<Set<string>> {
    if (this.#loading) return this.#loading;
    const generation = this.#generation;
    const loading = publicAppCallbacks(this.ctx)
      .then((callbacks) => {
        const set = new Set<string>();
        for (const url of callbacks) {
          const key = callbackOriginKey(url);
          if (key) set.add(key);
        }
        if (generation === this.#generation) this.#keys = set;
        return set;
      })
      .finally(() => {
        if (this.#loading === loading) this.#loading = null;
      });
    this.#loading = loading;
    return loading;
  }
}
