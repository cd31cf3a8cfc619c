/**
 * The credentials lock under contention: CLI processes that all find a lock left by a dead process take it
 * over one at a time. Before the takeover lock, one waiter could remove the live lock another had just taken
 * (check, then remove), and two processes then presented the same rotating refresh token, which revokes the
 * login (seen as a flaky parallel-refresh test). The race is timing-dependent, so this test runs many rounds;
 * without the takeover lock about one round in 150 overlapped, and two runs in four failed.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';

const MODULE = resolve(import.meta.dirname, '../dist/src/cli/credentials.js');
const WORKER = resolve(import.meta.dirname, 'fixtures/lock-worker.mjs');
const WORKERS = 8;
const ROUNDS = 80;

const workers: ChildProcessWithoutNullStreams[] = [];
afterAll(() => {
  for (const w of workers) w.kill();
});

describe('the credentials lock', () => {
  it('waiters that find a dead process’s lock take it over one at a time', { timeout: 120_000 }, async () => {
    expect(existsSync(MODULE), `${MODULE} (npm test builds it)`).toBe(true);
    const answers: Array<AsyncIterator<string>> = [];
    for (let i = 0; i < WORKERS; i++) {
      const w = spawn(process.execPath, [WORKER, MODULE]);
      w.stderr.on('data', (d) => process.stderr.write(d));
      workers.push(w);
      answers.push(createInterface({ input: w.stdout })[Symbol.asyncIterator]());
    }
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const overlaps: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const dir = mkdtempSync(join(tmpdir(), 'clavis-lock-'));
      const lock = join(dir, 'credentials.json.lock');
      const old = new Date(Date.now() - 5000);
      writeFileSync(lock, JSON.stringify({ pid: dead, at: old.getTime() }));
      utimesSync(lock, old, old);
      for (const w of workers) w.stdin.write(`${dir}\n`);
      const said = await Promise.all(answers.map(async (a) => (await a.next()).value as string));
      expect(
        said.every((s) => s === 'alone' || s === 'overlap'),
        said.join(),
      ).toBe(true);
      if (said.includes('overlap')) overlaps.push(round);
      expect(existsSync(lock)).toBe(false);
      rmSync(dir, { recursive: true, force: true });
    }
    expect(overlaps, 'rounds where two processes held the lock at once').toEqual([]);
  });
});
