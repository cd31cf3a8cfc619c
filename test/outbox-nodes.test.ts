import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { migrateToLatest } from '../src/db/database.js';
import { queueMail } from '../src/domain/mail.js';
import { verifyEmailMail } from '../src/domain/mail-templates.js';
import { closeServices, createServices, type Services } from '../src/services.js';
import { CLI, waitUntilReady } from './helpers/cli.js';
import { createTestDatabase, TEST_DB, type TestDatabase } from './helpers/db.js';
import { freePort } from './helpers/server.js';
import { startTestSmtp, type TestSmtp } from './helpers/smtp.js';
import { exited, waitFor } from './helpers/wait.js';

/**
 * Real server processes (`clavis serve` from the build) sharing one database and draining one outbox:
 * every message goes out exactly once with two nodes at work, and a node killed with SIGKILL in the middle
 * of a delivery loses nothing: another node sends the message once its claim has run out.
 */

const key = randomBytes(32).toString('base64url');
let db: TestDatabase;
let smtp: TestSmtp;
let services: Services;
const nodes: ChildProcess[] = [];
/** While set, the SMTP server holds the end of DATA until it resolves (a delivery in progress). */
let hold: { started: () => void; release: Promise<void> } | undefined;

function env(extra: Record<string, string> = {}) {
  return {
    CLAVIS_DATABASE_URL: db.url,
    CLAVIS_SECRET_KEY: key,
    CLAVIS_ISSUER: 'http://clavis.test',
    CLAVIS_SMTP_URL: smtp.url,
    CLAVIS_OUTBOX_POLL_MS: '50',
    CLAVIS_NOTIFY_INTERVAL: '604800',
    ...extra,
  };
}

async function startNode(extra: Record<string, string> = {}): Promise<ChildProcess> {
  const port = await freePort();
  const proc = spawn(process.execPath, [CLI, 'serve'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env(extra) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  nodes.push(proc);
  await waitUntilReady(`http://127.0.0.1:${port}`, proc);
  return proc;
}

async function stop(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM') {
  proc.kill(signal);
  await exited(proc);
}

beforeAll(async () => {
  db = await createTestDatabase();
  smtp = await startTestSmtp({
    onData: async () => {
      const h = hold;
      if (!h) return;
      hold = undefined;
      h.started();
      await h.release;
    },
  });
  const handle = db.open();
  await migrateToLatest(handle);
  services = await createServices(loadConfig(env()), handle);
}, 60_000);
afterAll(async () => {
  for (const n of nodes) if (n.exitCode === null && n.signalCode === null) await stop(n);
  if (services) await closeServices(services);
  await smtp?.close();
  await db?.drop();
});

async function queue(n: number, tag: string): Promise<string[]> {
  const { ctx } = services;
  const content = verifyEmailMail({ name: tag, link: 'https://clavis.test/x', minutes: 60 });
  const ids: string[] = [];
  // Written in batches of transactions, as changes would write them.
  for (let i = 0; i < n; i += 50)
    await ctx.db.transaction().execute(async (trx) => {
      for (let j = i; j < Math.min(n, i + 50); j++)
        ids.push((await queueMail(ctx, trx, { to: `${tag}-${j}@example.com`, content })) as string);
    });
  return ids;
}

const received = (ids: string[]) => {
  const wanted = new Set(ids);
  const counts = new Map<string, number>();
  for (const m of smtp.mails) {
    const id = /^<([^@]+)@/.exec(m.messageId)?.[1];
    if (id && wanted.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
};

describe(`two nodes on one ${TEST_DB} database`, () => {
  it('deliver each of 400 messages exactly once', async () => {
    const a = await startNode();
    const b = await startNode();
    const ids = await queue(400, 'pair');
    await waitFor(() => received(ids).size === 400, {
      what: '400 mails',
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    // A little longer: a double delivery would show up now.
    await new Promise((r) => setTimeout(r, 500));
    const counts = received(ids);
    expect(counts.size).toBe(400);
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    const rows = await services.ctx.db
      .selectFrom('outbox')
      .select(['status', 'attempts'])
      .where('id', 'in', ids)
      .execute();
    expect(rows.every((r) => r.status === 'done' && r.attempts === 1)).toBe(true);
    await stop(a);
    await stop(b);
  }, 90_000);

  it('a node killed (SIGKILL) during a delivery loses nothing; another node sends it once', async () => {
    let started!: () => void;
    const inProgress = new Promise<void>((r) => {
      started = r;
    });
    let release!: () => void;
    hold = { started, release: new Promise<void>((r) => (release = r)) };
    // Short SMTP timeouts so the dead node's claim runs out within seconds (lease = 2 × (2 × 1 s + 1 s)).
    const a = await startNode({ CLAVIS_SMTP_TIMEOUT: '1' });
    const [id] = await queue(1, 'victim');
    await inProgress;
    await stop(a, 'SIGKILL');
    // Let the SMTP server notice the connection is gone before it would answer 250.
    await new Promise((r) => setTimeout(r, 300));
    release();
    const row = await services.ctx.db
      .selectFrom('outbox')
      .selectAll()
      .where('id', '=', id as string)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'pending', attempts: 1 });
    expect(row.claimed_until).toBeGreaterThan(Date.now());
    // The mail was not accepted: its sender died before the server's 250 reached it.
    expect(received([id as string]).size).toBe(0);
    await startNode({ CLAVIS_SMTP_TIMEOUT: '1' });
    await waitFor(() => received([id as string]).size === 1, {
      what: 'the mail',
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(received([id as string]).get(id as string)).toBe(1);
    const after = await services.ctx.db
      .selectFrom('outbox')
      .selectAll()
      .where('id', '=', id as string)
      .executeTakeFirstOrThrow();
    expect(after).toMatchObject({ status: 'done', attempts: 2 });
  }, 60_000);
});
