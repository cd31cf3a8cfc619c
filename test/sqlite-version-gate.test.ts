import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteVersionGate } from '../src/db/sqlite-version-gate.js';

const dir = mkdtempSync(join(tmpdir(), 'clavis-gate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function open(file: string) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  return db;
}

describe('SqliteVersionGate', () => {
  it("sees another connection's commit made right after the call, before the call resolves", async () => {
    const file = join(dir, 'a.db');
    const mine = open(file);
    mine.exec('create table t (x integer)');
    const other = open(file); // as far as SQLite is concerned, another process
    const gate = new SqliteVersionGate(mine);
    let changes = 0;
    gate.onChange(() => changes++);

    expect(await gate.check()).toBe(true);
    expect(changes).toBe(0); // nothing committed elsewhere yet; our own connection's writes don't count
    mine.prepare('insert into t values (1)').run();
    expect(await gate.check()).toBe(true);
    expect(changes).toBe(0);

    // The read begins after the call: a commit between the call and the read is seen.
    const pending = gate.check();
    other.prepare('insert into t values (2)').run();
    expect(changes).toBe(0);
    expect(await pending).toBe(true);
    expect(changes).toBe(1);
    mine.close();
    other.close();
  });

  it('answers every caller of one turn with one read, and each later caller with a new one', async () => {
    const file = join(dir, 'b.db');
    const mine = open(file);
    mine.exec('create table t (x integer)');
    const other = open(file);
    const gate = new SqliteVersionGate(mine);
    let changes = 0;
    gate.onChange(() => changes++);
    const batch = Array.from({ length: 100 }, () => gate.check());
    expect(new Set(batch).size).toBe(1); // one shared read
    other.prepare('insert into t values (1)').run();
    expect(await Promise.all(batch)).toEqual(Array(100).fill(true));
    expect(changes).toBe(1);
    const later = gate.check();
    expect(later).not.toBe(batch[0]);
    other.prepare('insert into t values (2)').run();
    await later;
    expect(changes).toBe(2);
    mine.close();
    other.close();
  });

  it('reports false (go to the database) when the version cannot be read', async () => {
    const db = new Database(':memory:');
    const gate = new SqliteVersionGate(db);
    let changes = 0;
    gate.onChange(() => changes++);
    db.close();
    expect(await gate.check()).toBe(false);
    expect(changes).toBe(1);
  });
});
