import { type Api, findApiById, findApiByIdentifier, loadAllApis } from '../domain/apis.js';
import type { DomainContext } from '../domain/context.js';

/**
 * The APIs (resource servers) the token endpoint issues tokens for, by identifier. The whole catalogue is
 * held in memory while caches may be trusted: it is trusted exactly when the client registry's lookup in
 * the same request was (`trusted()`, the result of the version read that began after the request arrived;
 * see {@link ClientRegistry}), and the version gate and the change feed drop it on every change
 * ({@link invalidate}), so an API changed on any node is seen on the very next request, with no query of
 * its own on the hot path. Untrusted, every lookup reads the database.
 */
export class ApiRegistry {
  #byIdentifier: Map<string, Api> | null = null;
  #byId: Map<string, Api> | null = null;
  #loading: Promise<Map<string, Api>> | null = null;
  /** Bumped on every invalidation, so a load that raced with a change is not kept. */
  #generation = 0;

  constructor(
    private readonly ctx: DomainContext,
    private readonly trusted: () => boolean,
  ) {}

  /** Drops the catalogue (any API changed). */
  invalidate(): void {
    this.#generation++;
    this.#byIdentifier = null;
    this.#byId = null;
    this.#loading = null;
  }

  /** The API with this object ID, or null. */
  async findById(id: string): Promise<Api | null> {
    if (!this.trusted()) {
      if (this.#byIdentifier) this.invalidate();
      return findApiById(this.ctx, id);
    }
    const byId = this.#byId ?? new Map([...(await this.#load()).values()].map((a) => [a.id, a]));
    return byId.get(id) ?? null;
  }

  /** The API with this identifier (built-ins resolved from configuration), or null. */
  async find(identifier: string): Promise<Api | null> {
    if (!this.trusted()) {
      if (this.#byIdentifier) this.invalidate();
      return findApiByIdentifier(this.ctx, identifier);
    }
    const map = this.#byIdentifier ?? (await this.#load());
    return map.get(identifier) ?? null;
  }

  #load(): Promise<Map<string, Api>> {
    if (this.#loading) return this.#loading;
    const generation = this.#generation;
    const loading = loadAllApis(this.ctx).then((apis) => {
      const map = new Map(apis.map((a) => [a.identifier, a]));
      if (generation === this.#generation) {
        this.#byIdentifier = map;
        this.#byId = new Map(apis.map((a) => [a.id, a]));
      }
      if (this.#loading === loading) this.#loading = null;
      return map;
    });
    this.#loading = loading;
    loading.catch(() => {
      if (this.#loading === loading) this.#loading = null;
    });
    return loading;
  }
}
