import { type RawBuilder, sql } from 'kysely';
import { uuid } from '../crypto/random.js';
import type { Db } from '../db/database.js';
import type { OutboxStatus } from '../db/schema.js';
import { Coalescer } from './coalescer.js';
import type { DomainContext } from './context.js';

/**
 * The durable outbox: a message is written in the transaction of the change that causes it (so it exists
 * exactly when the change does), and a worker delivers it later through the handler registered for its kind,
 * retrying with exponential backoff and jitter.
 *
 * Each message has an id that stays the same over retries (a mail's Message-ID, a webhook's `webhook-id`),
 * and a worker claims it with a lease (`claimed_until`): a message whose worker died is claimed again once
 * the lease has run out, never while it holds. On PostgreSQL claims use `FOR UPDATE SKIP LOCKED`, so nodes
 * never claim the same row at once; SQLite has one writer, so its conditional update is atomic anyway.
 */

/** A message as a handler sees it. */
export interface OutboxMessage<P = unknown> {
  id: string;
  kind: string;
  payload: P;
  dedupe_key: string | null;
  /** 1 on the first delivery attempt. */
  attempt: number;
  created_at: number;
}

/** A logger for delivery outcomes (pino's or Fastify's fits). */
export interface OutboxLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** What a handler gets besides the message: the domain context, and a signal aborted at its timeout. */
export interface DeliveryContext extends DomainContext {
  signal: AbortSignal;
  log: OutboxLogger;
}

export type OutboxHandler = (msg: OutboxMessage, ctx: DeliveryContext) => Promise<void>;

export interface OutboxHandlerOptions {
  /** Retries stop this long after the message was written; it is then marked failed. Default 24 hours. */
  maxAgeMs?: number;
  /** An attempt that takes longer fails (and is retried); its signal is aborted. Default 30 seconds. */
  timeoutMs?: number;
  /** The longest wait between two attempts. Default 1 hour. */
  maxBackoffMs?: number;
  /**
   * Groups messages (e.g. by webhook endpoint, from the payload): at most `maxPerKey` of one key run at once
   * in a drain. Undefined: no limit.
   */
  keyOf?: (payload: unknown) => string | undefined;
  /** The most messages of one key running at once. Default 8. */
  maxPerKey?: number;
}

/** Thrown by a handler to retry, optionally after a given delay (e.g. an SMTP 4xx, an HTTP 429). */
export class RetryLater extends Error {
  constructor(
    message: string,
    readonly afterMs?: number,
  ) {
    super(message);
    this.name = 'RetryLater';
  }
}

/** Thrown by a handler when retrying cannot help (a bounced address, a gone endpoint): marked failed at once. */
export class PermanentFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentFailure';
  }
}

interface Registered {
  handler: OutboxHandler;
  maxAgeMs: number;
  timeoutMs: number;
  maxBackoffMs: number;
  keyOf?: (payload: unknown) => string | undefined;
  maxPerKey: number;
}

const handlers = new Map<string, Registered>();

const DEFAULT_MAX_AGE_MS = 24 * 3600_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BACKOFF_MS = 3600_000;
/** The first retry waits about this long; each next one twice as long (with jitter). */
const BASE_BACKOFF_MS = 5_000;
/** A claim outlives the handler's timeout by this margin (at most the timeout itself). */
const LEASE_MARGIN_MS = 30_000;
const MAX_ERROR_LENGTH = 1000;
/** How long a drain waits with nothing it may start before it gives the waiting messages back and claims anew. */
const IDLE_RECLAIM_MS = 1_000;

/**
 * Registers the delivery function of a kind (replacing any earlier one). It returns normally on success and
 * throws to retry; {@link RetryLater} chooses the delay and {@link PermanentFailure} stops retrying.
 */
export function registerOutboxHandler(
  kind: string,
  handler: OutboxHandler,
  opts: OutboxHandlerOptions = {},
): void {
  handlers.set(kind, {
    handler,
    maxAgeMs: opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxBackoffMs: opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS,
    keyOf: opts.keyOf,
    maxPerKey: opts.maxPerKey ?? 8,
  });
}

/** Removes the handler of a kind (tests). */
export function unregisterOutboxHandler(kind: string): void {
  handlers.delete(kind);
}

export interface NewOutboxMessage {
  kind: string;
  payload: unknown;
  /** At most one message is ever written per key; a second enqueue returns the first one's id. */
  dedupe_key?: string;
  /** Not delivered before this time (epoch ms); default now. */
  available_at?: number;
}

/**
 * Writes a message in the caller's transaction (`trx` is the Kysely transaction, or the db for a message of
 * its own). Returns its id; with a `dedupe_key` already used, the id of the message written then.
 */
export async function enqueue(trx: Db, msg: NewOutboxMessage, now: number = Date.now()): Promise<string> {
  const { id, write } = outboxWrite(msg, now);
  if (msg.dedupe_key === undefined) {
    await write.execute(trx);
    return id;
  }
  const inserted = await sql<{
    id: string;
  }>`${write} ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`.execute(trx);
  if (inserted.rows[0]) return inserted.rows[0].id;
  const existing = await trx
    .selectFrom('outbox')
    .select('id')
    .where('dedupe_key', '=', msg.dedupe_key)
    .executeTakeFirstOrThrow();
  return existing.id;
}

/**
 * The insert of a message, not yet run, and its id: for `executeTogether`, which writes it in one statement
 * with the other writes of the change that causes it. A message with a `dedupe_key` needs {@link enqueue},
 * which answers with the id of an earlier message of the same key.
 */
export function outboxWrite(
  msg: NewOutboxMessage,
  now: number = Date.now(),
): { id: string; write: RawBuilder<unknown> } {
  const id = uuid();
  const payload = JSON.stringify(msg.payload ?? null);
  const availableAt = msg.available_at ?? now;
  // One plain statement (it is on the path of every change that publishes, e.g. a secret refresh): a SQL
  // template costs a fraction of the query builder's build and compile, and its text never changes, so
  // SQLite reuses the prepared statement.
  const values = sql`(${id}, ${msg.kind}, ${payload}, ${msg.dedupe_key ?? null}, 'pending', 0, ${availableAt}, ${now})`;
  const write = sql`INSERT INTO outbox (id, kind, payload, dedupe_key, status, attempts, available_at, created_at) VALUES ${values}`;
  return { id, write };
}

export interface DrainOptions {
  /** The most messages claimed per batch. Default 100. */
  batchSize?: number;
  /** Messages delivered at once. Default 32. */
  concurrency?: number;
  /** Stop after this many claims (default: until nothing is due). */
  maxBatches?: number;
  /** Only these kinds (default: all). */
  kinds?: readonly string[];
  log?: OutboxLogger;
  /** Once aborted, no more messages are claimed; those claimed are delivered and the drain ends. */
  signal?: AbortSignal;
}

export interface DrainResult {
  delivered: number;
  failed: number;
  retried: number;
}

const silent: OutboxLogger = { info() {}, warn() {} };

/** Claims up to `limit` due messages for `claim` until `leaseUntil`; see the module comment. */
async function claimDue(
  ctx: DomainContext,
  claim: string,
  limit: number,
  kinds: readonly string[] | undefined,
): Promise<ClaimedRow[]> {
  const now = ctx.now();
  const postgres = ctx.config.database.kind === 'postgres';
  let due = ctx.db
    .selectFrom('outbox')
    .select('id')
    .where('status', '=', 'pending')
    .where('available_at', '<=', now)
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
    .orderBy('available_at')
    .limit(limit);
  if (kinds) due = due.where('kind', 'in', kinds.length ? [...kinds] : ['']);
  // PostgreSQL: rows another node is claiming right now are skipped, not waited for or claimed twice.
  if (postgres) due = due.forUpdate().skipLocked();
  return (
    ctx.db
      .updateTable('outbox')
      .set({
        claimed_by: claim,
        claimed_until: leaseUntil(now),
        attempts: sql<number>`attempts + 1`,
        last_attempt_at: now,
      })
      .where('id', 'in', due)
      // Re-checked on the row itself: on SQLite the subquery and the update are one statement of the one
      // writer; on PostgreSQL the locked row is re-read, so a claim made in between is never taken over.
      .where('status', '=', 'pending')
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
      .returning(['id', 'kind', 'payload', 'dedupe_key', 'attempts', 'created_at'])
      .execute()
  );
}

interface ClaimedRow {
  id: string;
  kind: string;
  payload: string;
  dedupe_key: string | null;
  attempts: number;
  created_at: number;
}

/** How long a claim holds: past the handler's timeout by a margin, so a live worker never loses its claim. */
function leaseMs(timeoutMs: number): number {
  return timeoutMs + Math.min(LEASE_MARGIN_MS, timeoutMs);
}

/** The end of a claim made at `now`, per kind (a kind without a handler gets the default timeout's). */
function leaseUntil(now: number) {
  const fallback = now + leaseMs(DEFAULT_TIMEOUT_MS);
  if (handlers.size === 0) return sql<number>`CAST(${fallback} AS bigint)`;
  const cases = [...handlers].map(
    ([kind, h]) => sql`WHEN ${kind} THEN CAST(${now + leaseMs(h.timeoutMs)} AS bigint)`,
  );
  return sql<number>`CASE kind ${sql.join(cases, sql` `)} ELSE CAST(${fallback} AS bigint) END`;
}

/** Exponential backoff with full jitter over the upper half: attempt n waits 0.5–1 × base·2^(n−1), capped. */
export function backoffMs(attempt: number, maxBackoffMs = DEFAULT_MAX_BACKOFF_MS): number {
  const ceiling = Math.min(maxBackoffMs, BASE_BACKOFF_MS * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

async function finish(
  ctx: DomainContext,
  id: string,
  claim: string,
  set: { status: OutboxStatus; available_at?: number; last_error?: string | null },
): Promise<boolean> {
  const now = ctx.now();
  const res = await ctx.db
    .updateTable('outbox')
    .set({
      status: set.status,
      claimed_by: null,
      claimed_until: null,
      last_error: set.last_error == null ? null : set.last_error.slice(0, MAX_ERROR_LENGTH),
      ...(set.available_at === undefined ? {} : { available_at: set.available_at }),
      ...(set.status === 'pending' ? {} : { done_at: now }),
    })
    .where('id', '=', id)
    .where('claimed_by', '=', claim)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

function withTimeout<T>(run: (signal: AbortSignal) => Promise<T>, ms: number): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`delivery timed out after ${ms} ms`);
      ac.abort(err);
      reject(err);
    }, ms);
  });
  return Promise.race([run(ac.signal), timeout]).finally(() => clearTimeout(timer));
}

type Outcome = 'delivered' | 'failed' | 'retried';

/**
 * Records deliveries as done in groups (see {@link Coalescer}): one UPDATE per group and claim rather than
 * one per message. Each delivery waits for its own record, so nothing is reported delivered before it is
 * recorded.
 */
function doneRecorder(ctx: DomainContext): Coalescer<{ id: string; claim: string }, void> {
  return new Coalescer<{ id: string; claim: string }, void>(async (items) => {
    const byClaim = new Map<string, string[]>();
    for (const { id, claim } of items) byClaim.set(claim, [...(byClaim.get(claim) ?? []), id]);
    for (const [claim, ids] of byClaim)
      await ctx.db
        .updateTable('outbox')
        .set({ status: 'done', claimed_by: null, claimed_until: null, last_error: null, done_at: ctx.now() })
        .where('id', 'in', ids)
        .where('claimed_by', '=', claim)
        .execute();
    return items.map(() => undefined);
  });
}

/** A claimed row waiting in a drain's queue, with its claim and when the claim was made. */
interface Queued {
  row: ClaimedRow;
  claim: string;
  claimedAt: number;
  key: string | undefined;
}

/**
 * Gives claimed messages back untouched (their attempt not counted), due again at `availableAt`: for another
 * worker or a later drain.
 */
async function postpone(ctx: DomainContext, items: Queued[], availableAt: number): Promise<void> {
  const byClaim = new Map<string, string[]>();
  for (const { row, claim } of items) byClaim.set(claim, [...(byClaim.get(claim) ?? []), row.id]);
  for (const [claim, ids] of byClaim)
    await ctx.db
      .updateTable('outbox')
      .set({
        claimed_by: null,
        claimed_until: null,
        attempts: sql<number>`attempts - 1`,
        available_at: availableAt,
      })
      .where('id', 'in', ids)
      .where('claimed_by', '=', claim)
      .execute();
}

async function deliverOne(
  ctx: DomainContext,
  claim: string,
  row: ClaimedRow,
  log: OutboxLogger,
  done: Coalescer<{ id: string; claim: string }, void>,
): Promise<Outcome> {
  const registered = handlers.get(row.kind);
  if (!registered) {
    // Nothing listens for this kind (no webhook handler yet for events): nothing to deliver.
    await finish(ctx, row.id, claim, { status: 'done', last_error: 'no handler for this kind' });
    return 'delivered';
  }
  let payload: unknown;
  try {
    payload = JSON.parse(row.payload);
  } catch {
    await finish(ctx, row.id, claim, { status: 'failed', last_error: 'payload is not JSON' });
    return 'failed';
  }
  const msg: OutboxMessage = {
    id: row.id,
    kind: row.kind,
    payload,
    dedupe_key: row.dedupe_key,
    attempt: row.attempts,
    created_at: row.created_at,
  };
  try {
    await withTimeout((signal) => registered.handler(msg, { ...ctx, signal, log }), registered.timeoutMs);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const now = ctx.now();
    if (err instanceof PermanentFailure || now - row.created_at >= registered.maxAgeMs) {
      log.warn(
        { outbox_id: row.id, kind: row.kind, attempt: row.attempts, error: message },
        'outbox delivery failed',
      );
      await finish(ctx, row.id, claim, { status: 'failed', last_error: message });
      return 'failed';
    }
    const wait =
      err instanceof RetryLater && err.afterMs !== undefined
        ? err.afterMs
        : backoffMs(row.attempts, registered.maxBackoffMs);
    // The last retry happens at the deadline at the latest.
    const at = Math.min(now + wait, row.created_at + registered.maxAgeMs);
    log.info(
      { outbox_id: row.id, kind: row.kind, attempt: row.attempts, error: message, retry_at: at },
      'outbox delivery will be retried',
    );
    await finish(ctx, row.id, claim, { status: 'pending', available_at: at, last_error: message });
    return 'retried';
  }
  await done.add({ id: row.id, claim });
  return 'delivered';
}

/** The per-handler key of a message (e.g. its webhook endpoint), whose messages run at most `maxPerKey` at once. */
function keyOf(row: ClaimedRow): string | undefined {
  const registered = handlers.get(row.kind);
  if (!registered?.keyOf) return undefined;
  try {
    const key = registered.keyOf(JSON.parse(row.payload));
    return key === undefined ? undefined : `${row.kind} ${key}`;
  } catch {
    return undefined;
  }
}

/**
 * Claims due messages, runs their handlers and records each attempt (delivered, retried with backoff, or
 * failed), until nothing is due (or `maxBatches` claims were made, or `signal` is aborted). Safe to run on
 * every node at once.
 *
 * `concurrency` messages run at once, taken from a queue that is claimed again (one claim at a time) as it
 * runs low, so a slow message never holds up the next claim. Messages of one key (a webhook endpoint) run at
 * most their handler's `maxPerKey` at once, so a receiver that hangs holds that many workers for its timeout
 * while the others go on with other keys; its other queued messages are given back after a second with
 * nothing finished (due a second later, their attempt not counted) and claiming goes on meanwhile. A queued
 * message whose claim would run out before its handler's timeout is given back rather than started, so it
 * never runs on two nodes at once.
 */
export async function drainOutbox(ctx: DomainContext, opts: DrainOptions = {}): Promise<DrainResult> {
  const result: DrainResult = { delivered: 0, failed: 0, retried: 0 };
  const batchSize = opts.batchSize ?? 100;
  const concurrency = Math.max(1, opts.concurrency ?? 32);
  const log = opts.log ?? silent;
  const done = doneRecorder(ctx);
  const queue: Queued[] = [];
  const running = new Map<string, number>();
  let claims = 0;
  let exhausted = false;
  let claiming: Promise<void> | undefined;
  let freed: (() => void) | undefined;
  let whenFreed: Promise<void> | undefined;

  const claimMore = async () => {
    if (opts.maxBatches !== undefined && claims >= opts.maxBatches) {
      exhausted = true;
      return;
    }
    claims++;
    const claim = uuid();
    const claimedAt = ctx.now();
    const rows = await claimDue(ctx, claim, batchSize, opts.kinds);
    if (rows.length < batchSize) exhausted = true;
    for (const row of rows) queue.push({ row, claim, claimedAt, key: keyOf(row) });
  };
  const take = (): Queued | undefined => {
    const i = queue.findIndex(
      (q) => q.key === undefined || (running.get(q.key) ?? 0) < (handlers.get(q.row.kind)?.maxPerKey ?? 0),
    );
    return i < 0 ? undefined : queue.splice(i, 1)[0];
  };
  const waitForFree = () => {
    whenFreed ??= new Promise<void>((resolve) => {
      freed = resolve;
    });
    return whenFreed;
  };
  /**
   * Nothing can start: wait until a running message is over, or a second. After a second with nothing over,
   * the keys in the queue are slow (a receiver that hangs): their queued messages are given back for a
   * second later, and claiming starts again, so new messages of other keys go out meanwhile.
   */
  let idle: Promise<void> | undefined;
  const idleWait = () => {
    idle ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const over = await Promise.race([
        waitForFree().then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), IDLE_RECLAIM_MS);
        }),
      ]);
      clearTimeout(timer);
      if (over || opts.signal?.aborted) return;
      const blocked = queue.splice(0, queue.length);
      await postpone(ctx, blocked, ctx.now() + IDLE_RECLAIM_MS);
      if (opts.maxBatches === undefined) exhausted = false;
    })().finally(() => {
      idle = undefined;
    });
    return idle;
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      const q = take();
      if (!q) {
        if (!exhausted && !opts.signal?.aborted && queue.length < batchSize) {
          claiming ??= claimMore().finally(() => {
            claiming = undefined;
          });
          await claiming;
          continue;
        }
        if (running.size === 0) {
          // Nothing runs, so nothing queued was held back by its key: the queue is empty.
          return;
        }
        await idleWait();
        continue;
      }
      if (q.key !== undefined) running.set(q.key, (running.get(q.key) ?? 0) + 1);
      try {
        const registered = handlers.get(q.row.kind);
        const timeoutMs = registered?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
        // Its claim would run out before its timeout: given back, so it never runs on two nodes at once.
        if (ctx.now() + timeoutMs > q.claimedAt + leaseMs(timeoutMs)) {
          await postpone(ctx, [q], ctx.now());
          continue;
        }
        result[await deliverOne(ctx, q.claim, q.row, log, done)]++;
      } catch (err) {
        // The database failed while recording: the lease runs out and the message is tried again.
        log.warn({ err, outbox_id: q.row.id }, 'outbox bookkeeping failed');
        result.retried++;
      } finally {
        if (q.key !== undefined) {
          const n = (running.get(q.key) ?? 1) - 1;
          if (n === 0) running.delete(q.key);
          else running.set(q.key, n);
        }
        const wake = freed;
        freed = undefined;
        whenFreed = undefined;
        wake?.();
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return result;
}

export interface OutboxCounts {
  pending: number;
  done: number;
  failed: number;
}

/** How many messages are in each state (optionally of one kind), for metrics, tests and the CLI. */
export async function countOutbox(ctx: DomainContext, kind?: string): Promise<OutboxCounts> {
  let q = ctx.db
    .selectFrom('outbox')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status');
  if (kind) q = q.where('kind', '=', kind);
  const counts: OutboxCounts = { pending: 0, done: 0, failed: 0 };
  for (const r of await q.execute()) counts[r.status] = Number(r.n);
  return counts;
}

/** Deletes delivered and failed messages older than `olderThanMs` (a purge step); returns how many. */
export async function purgeOutbox(ctx: DomainContext, olderThanMs = 7 * 24 * 3600_000): Promise<number> {
  const res = await ctx.db
    .deleteFrom('outbox')
    .where('status', 'in', ['done', 'failed'])
    .where('done_at', '<', ctx.now() - olderThanMs)
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}
