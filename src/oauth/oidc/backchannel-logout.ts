import type { DomainContext } from '../../domain/context.js';
import {
  auditLogoutDelivery,
  type LogoutTarget,
  logoutTargetsForSession,
  logoutTargetsForUserApp,
} from '../../domain/oidc.js';
import { postWebhook } from '../../domain/webhook-http.js';
import type { IdTokens } from './id-token.js';

/** Delays before each retry of a failed delivery: three more tries within about a minute. */
export const RETRY_DELAYS_MS: readonly number[] = [2_000, 10_000, 45_000];
/** How long one POST may take before it counts as failed. */
const TIMEOUT_MS = 5_000;

export interface BackchannelOptions {
  retryDelaysMs?: readonly number[];
  timeoutMs?: number;
  /** Reports an unexpected failure (the database gone while auditing); never thrown to the caller. */
  onError?: (err: unknown) => void;
}

/**
 * OpenID Connect Back-Channel Logout 1.0: when a Clavis session ends (sign-out, RP-initiated logout) or a
 * user revokes an app, each app that registered a `backchannel_logout_uri` and signed the user in gets a
 * logout token POSTed (§2.5, `logout_token` form parameter). Delivery happens in the background, so it never
 * blocks or fails the sign-out; a failed POST (network error, timeout, non-2xx) is retried in process after
 * {@link RETRY_DELAYS_MS}, and the outcome, delivered or given up, is audited on the app.
 */
export class BackchannelLogout {
  readonly #pending = new Set<Promise<void>>();
  /** Retries waiting for their delay: closing wakes them (to give up). */
  readonly #waiting = new Map<NodeJS.Timeout, (go: boolean) => void>();
  #closed = false;

  constructor(
    private readonly ctx: DomainContext,
    private readonly idTokens: IdTokens,
    private readonly options: BackchannelOptions = {},
  ) {}

  /** Tells every app the session `sid` signed in to that it ended. Returns at once. */
  sessionEnded(sid: string): void {
    this.#track(logoutTargetsForSession(this.ctx, sid).then((targets) => this.#deliverAll(targets)));
  }

  /** Tells `appId` that `userId` revoked it, for each of the user's sessions there. Returns at once. */
  appRevoked(userId: string, appId: string, targets?: LogoutTarget[]): void {
    this.#track(
      (targets ? Promise.resolve(targets) : logoutTargetsForUserApp(this.ctx, userId, appId)).then((t) =>
        this.#deliverAll(t),
      ),
    );
  }

  /** The apps to tell when `userId` revokes `appId`: read before the revocation removes what names them. */
  targetsForRevocation(userId: string, appId: string): Promise<LogoutTarget[]> {
    return logoutTargetsForUserApp(this.ctx, userId, appId);
  }

  /** Waits for every delivery under way, retries included (tests, and a graceful close). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Stops retrying: deliveries still waiting for a retry are abandoned (audited as failed). */
  close(): void {
    this.#closed = true;
    for (const [t, wake] of this.#waiting) {
      clearTimeout(t);
      wake(false);
    }
    this.#waiting.clear();
  }

  #track(work: Promise<void>): void {
    const p = work.catch((err) => this.options.onError?.(err)).finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  async #deliverAll(targets: LogoutTarget[]): Promise<void> {
    await Promise.all(targets.map((t) => this.#deliver(t)));
  }

  async #deliver(target: LogoutTarget): Promise<void> {
    const delays = this.options.retryDelaysMs ?? RETRY_DELAYS_MS;
    let attempts = 0;
    let error = '';
    for (const delay of [0, ...delays]) {
      if (attempts > 0 && !(await this.#wait(delay))) break;
      attempts++;
      error = await this.#post(target);
      if (error === '') {
        await auditLogoutDelivery(this.ctx, target, { delivered: true, attempts });
        return;
      }
    }
    await auditLogoutDelivery(this.ctx, target, { delivered: false, attempts, error });
  }

  #wait(ms: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#waiting.delete(t);
        resolve(!this.#closed);
      }, ms);
      this.#waiting.set(t, resolve);
    });
  }

  /** One POST of a fresh logout token; '' on success (any 2xx, §2.8), else what went wrong. */
  async #post(target: LogoutTarget): Promise<string> {
    const token = this.idTokens.logoutToken({
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
      { allowPrivate: this.ctx.config.webhooksAllowPrivate, timeoutMs: this.options.timeoutMs ?? TIMEOUT_MS },
    );
    if (r.ok) return '';
    return r.statusCode !== null ? `HTTP ${r.statusCode}` : (r.error ?? 'connection failed');
  }
}
