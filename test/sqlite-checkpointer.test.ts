import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteCheckpointer } from '../src/db/sqlite-checkpointer.js';

// The checkpoint thread works on a SQLite file of its own, whichever database the suite runs on.

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function openFile() {
  const dir = mkdtempSync(join(tmpdir(), 'clavis-ckpt-'));
  dirs.push(dir);
  const path = join(dir, 'db.sqlite');
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.exec('create table t (id integer primary key, v text)');
  return { path, sqlite };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const autocheckpoint = (sqlite: SQLite.Database) => sqlite.pragma('wal_autocheckpoint', { simple: true });
const timing = { tickMs: 50, busyTicks: 3, checkpointMs: 20, idleMs: 400 };

describe('SqliteCheckpointer', () => {
  it('checkpoints on its own thread while writes keep coming, and stops once they stop', async () => {
    const { path, sqlite } = openFile();
    const ck = new SqliteCheckpointer(sqlite, path, timing);
    const insert = sqlite.prepare('insert into t (v) values (?)');
    expect(ck.threadRunning).toBe(false);
    expect(autocheckpoint(sqlite)).toBe(1000);
    // Writes in every tick: the thread starts, and the server's connection only checkpoints as a backstop.
    const until = Date.now() + 1500;
    while (Date.now() < until && !ck.threadRunning) {
      for (let i = 0; i < 50; i++) insert.run('x'.repeat(500));
      await sleep(10);
    }
    expect(ck.threadRunning).toBe(true);
    expect(autocheckpoint(sqlite)).toBe(2000);
    // The thread needs a moment to start and open its connection (longer on a busy machine): the WAL grows
    // meanwhile, so it is measured from the thread's first checkpoint.
    const readyBy = Date.now() + 10_000;
    while (Date.now() < readyBy && !ck.threadCheckpointing) {
      for (let i = 0; i < 50; i++) insert.run('x'.repeat(500));
      await sleep(10);
    }
    expect(ck.threadCheckpointing).toBe(true);
    // 3,000 more commits of a page or more each (12 MB of WAL frames), far below the connection's own
    // backstop: only the thread's checkpoints let the writer start the WAL over, so it hardly grows.
    const before = statSync(`${path}-wal`).size;
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < 50; i++) insert.run('y'.repeat(500));
      await sleep(10);
    }
    expect(statSync(`${path}-wal`).size - before).toBeLessThan(3 * 2 ** 20);
    // Quiet: the thread ends by itself and the connection checkpoints itself again.
    const quietUntil = Date.now() + 3000;
    while (Date.now() < quietUntil && ck.threadRunning) await sleep(50);
    expect(ck.threadRunning).toBe(false);
    expect(autocheckpoint(sqlite)).toBe(1000);
    await ck.close();
    expect((sqlite.prepare('select count(*) as n from t').get() as { n: number }).n).toBeGreaterThan(1000);
    sqlite.close();
  });

  it('never starts for a database that is only read, and closes with its thread running', async () => {
    const { path, sqlite } = openFile();
    const ck = new SqliteCheckpointer(sqlite, path, timing);
    for (let i = 0; i < 10; i++) {
      sqlite.prepare('select count(*) from t').get();
      await sleep(30);
    }
    expect(ck.threadRunning).toBe(false);
    const insert = sqlite.prepare('insert into t (v) values (?)');
    const until = Date.now() + 1500;
    while (Date.now() < until && !ck.threadRunning) {
      insert.run('z');
      await sleep(10);
    }
    expect(ck.threadRunning).toBe(true);
    await ck.close();
    expect(ck.threadRunning).toBe(false);
    sqlite.close();
    // The last connection closed: SQLite checkpointed everything and removed the WAL.
    expect(() => statSync(`${path}-wal`)).toThrow();
    const again = new SQLite(path);
    expect((again.prepare('select count(*) as n from t').get() as { n: number }).n).toBeGreaterThan(0);
    again.close();
  });
});
