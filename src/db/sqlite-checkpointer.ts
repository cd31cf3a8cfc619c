import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';

/** Pages the server's own connection lets the WAL grow to before it checkpoints itself (SQLite's default). */
const OWN_CHECKPOINT_PAGES = 1000;
/**
 * The same while the checkpoint thread runs. Under writes that never pause the thread rarely finds every frame
 * copied when a write begins, so the WAL is seldom started over; at this size the connection checkpoints
 * itself, copying only what the thread has not yet copied, and the WAL starts over. At 20,000 pages the WAL
 * grew to 80 MB and that catch-up copy stalled requests for 200 ms during the seeded bench's purge.
 */
const BACKSTOP_CHECKPOINT_PAGES = 2000;

/** When the checkpoint thread starts and stops. */
export interface CheckpointerTiming {
  /** How often the WAL is looked at (ms). */
  tickMs: number;
  /** Consecutive ticks with new WAL writes that start the thread. */
  busyTicks: number;
  /** How often the thread checkpoints (ms). */
  checkpointMs: number;
  /** How long the thread runs on without new WAL frames before it stops (ms). */
  idleMs: number;
}

const DEFAULT_TIMING: CheckpointerTiming = {
  tickMs: 1000,
  busyTicks: 3,
  checkpointMs: 100,
  idleMs: 60_000,
};

// The thread's code: its own connection, a PASSIVE checkpoint every `checkpointMs` (it never waits for the
// server's readers or writer), and an exit once no new frame came for `idleMs`.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const SQLite = require(workerData.driver);
const db = new SQLite(workerData.path);
db.pragma('busy_timeout = 0');
let lastLog = -1;
let quietSince = Date.now();
const stop = () => { clearInterval(timer); try { db.close(); } catch {} process.exit(0); };
const timer = setInterval(() => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    if (lastLog === -1) parentPort.postMessage('checkpointed');
    if (r.log !== lastLog || r.checkpointed < r.log) { lastLog = r.log; quietSince = Date.now(); }
  } catch { /* busy: another checkpoint runs; try again next time */ }
  if (Date.now() - quietSince > workerData.idleMs) stop();
}, workerData.checkpointMs);
parentPort.on('message', (m) => { if (m === 'stop') stop(); });
`;

/**
 * Runs SQLite's WAL checkpoints on a thread of their own while the server writes a lot.
 *
 * In WAL mode each commit appends the pages it changed to the `-wal` file, and by default the committing
 * connection copies them back into the database file (a checkpoint, with an fsync) once the WAL holds 1,000
 * pages. With better-sqlite3 that happens on the event loop: under a stream of refresh rotations a
 * checkpoint every few hundred milliseconds stalled every request for 5–10 ms, which set the token
 * endpoint's p99 and cost a quarter of its throughput. While writes keep coming, a worker thread with its
 * own connection checkpoints every 100 ms instead (PASSIVE: it never waits for, nor blocks, the server's
 * readers and writer), and the server's connection checkpoints itself only every 2,000 pages, to copy
 * what the thread has not yet copied and start the WAL over.
 *
 * The thread costs about 10 MB of memory, so it starts only after writes were seen in three consecutive
 * seconds (the WAL file's modification time moved) and stops after a minute without new WAL frames; an
 * idle server has none. Durability is unchanged: a checkpoint only moves committed pages from the WAL into
 * the database file, whoever runs it.
 */
export class SqliteCheckpointer {
  readonly #timing: CheckpointerTiming;
  readonly #walPath: string;
  readonly #ticker: NodeJS.Timeout;
  #worker: Worker | null = null;
  #checkpointing = false;
  #lastMtime = 0;
  #busy = 0;
  #closed = false;

  constructor(
    private readonly sqlite: SQLite.Database,
    private readonly path: string,
    timing: Partial<CheckpointerTiming> = {},
  ) {
    this.#timing = { ...DEFAULT_TIMING, ...timing };
    this.#walPath = `${path}-wal`;
    this.#lastMtime = this.#walMtime();
    this.#ticker = setInterval(() => this.#tick(), this.#timing.tickMs);
    this.#ticker.unref();
  }

  /** Whether the checkpoint thread is running. */
  get threadRunning(): boolean {
    return this.#worker !== null;
  }

  /** Whether the running thread has made its first checkpoint (it needs a moment to start and connect). */
  get threadCheckpointing(): boolean {
    return this.#checkpointing;
  }

  #walMtime(): number {
    try {
      return statSync(this.#walPath).mtimeMs;
    } catch {
      return 0;
    }
  }

  #tick(): void {
    const mtime = this.#walMtime();
    const wrote = mtime !== this.#lastMtime;
    this.#lastMtime = mtime;
    this.#busy = wrote ? this.#busy + 1 : 0;
    if (this.#busy >= this.#timing.busyTicks && !this.#worker && !this.#closed) this.#start();
  }

  #start(): void {
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          driver: createRequire(import.meta.url).resolve('better-sqlite3'),
          path: this.path,
          checkpointMs: this.#timing.checkpointMs,
          idleMs: this.#timing.idleMs,
        },
        resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
      });
    } catch {
      return; // No thread: the connection goes on checkpointing itself.
    }
    worker.unref();
    this.#worker = worker;
    this.#ownCheckpoints(BACKSTOP_CHECKPOINT_PAGES);
    const ended = () => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      this.#checkpointing = false;
      this.#busy = 0;
      this.#ownCheckpoints(OWN_CHECKPOINT_PAGES);
    };
    worker.on('exit', ended);
    worker.on('error', ended);
    worker.on('message', (m) => {
      if (m === 'checkpointed' && this.#worker === worker) this.#checkpointing = true;
    });
  }

  #ownCheckpoints(pages: number): void {
    if (this.#closed || !this.sqlite.open) return;
    try {
      this.sqlite.pragma(`wal_autocheckpoint = ${pages}`);
    } catch {
      // A connection that cannot take the pragma keeps the setting it had.
    }
  }

  /** Stops watching and ends the thread (its connection closed first, so the server's can close last). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#ticker);
    const worker = this.#worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage('stop');
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref());
    await Promise.race([exited, timeout]);
    if (this.#worker === worker) await worker.terminate();
  }
}
