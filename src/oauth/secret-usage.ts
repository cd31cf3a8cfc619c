import type { ClientRecord } from '../domain/client-lookup.js';
import type { DomainContext } from '../domain/context.js';
import {
  recordExpiredSecretUse,
  recordSecretUse,
  type SecretOwner,
  useMinute,
} from '../domain/secret-use.js';

function ownerOf(client: ClientRecord): SecretOwner {
  return { clientId: client.app.client_id, tenantId: client.app.tenant_id, appId: client.app.id };
}

/**
 * Records when secrets are used, precise to the minute, without a database write per token request: a
 * secret's `last_used_at` is written at most once a minute per node, and the first use writes a
 * `secret.first_used` audit event exactly once (the domain's {@link recordSecretUse} decides which node
 * wins). This class holds only the node's memo of what it wrote.
 */
export class SecretUsage {
  /** secret id → the minute this node last wrote. */
  readonly #written = new Map<string, number>();

  constructor(private readonly ctx: DomainContext) {}

  /** Call after a secret authenticated a request. Never throws; never delays the response. */
  touch(client: ClientRecord, secret: ClientRecord['secrets'][number]): void {
    const now = this.ctx.now();
    const minute = useMinute(now);
    if (secret.last_used_at !== null && useMinute(secret.last_used_at) >= minute) return;
    if (this.#written.get(secret.id) === minute) return;
    this.#written.set(secret.id, minute);
    const wasUnused = secret.last_used_at === null;
    // Keep a cached client record current, so this node doesn't rewrite within the minute.
    secret.last_used_at = now;
    if (this.#written.size > 50_000) this.#written.clear();
    recordSecretUse(this.ctx, ownerOf(client), secret.id, wasUnused, now).catch(() => {
      this.#written.delete(secret.id);
    });
  }

  /** Audits a presented secret that matched but had expired (it is refused like a wrong one). */
  expiredUse(client: ClientRecord, secretId: string): void {
    // At most one event a minute per secret, so a misconfigured client can't flood the log.
    const key = `expired:${secretId}`;
    const minute = useMinute(this.ctx.now());
    if (this.#written.get(key) === minute) return;
    this.#written.set(key, minute);
    recordExpiredSecretUse(this.ctx, ownerOf(client), secretId).catch(() => {});
  }
}
