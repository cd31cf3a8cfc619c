import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { VersionGate } from '../src/db/version-gate.js';

/** A pool whose queries resolve only when the test says so, recording when each one started. */
function fakePool() {
  const started: Array<{ resolve: (version: number) => void; reject: (e: Error) => void }> = [];
  const pool = {
    query: () =>
      new Promise((resolve, reject) => {
        started.push({ resolve: (version) => resolve({ rows: [{ version }] }), reject });
      }),
  } as unknown as pg.Pool;
  return { pool, started };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('VersionGate', () => {
  it('never answers a request with a read that began before it arrived', async () => {
    const { pool, started } = fakePool();
    const gate = new VersionGate(pool);
    let changes = 0;
    gate.onChange(() => changes++);

    const first = gate.check();
    const alongside = gate.check(); // same turn: shares the read that is about to start
    expect(alongside).toBe(first);
    expect(started).toHaveLength(0); // reads start in the check phase, after the turn's requests
    await tick();
    expect(started).toHaveLength(1); // read #1
    const second = gate.check(); // arrives during read #1: must wait for read #2
    const third = gate.check(); // shares read #2
    await tick();
    expect(started).toHaveLength(1); // never two reads at once

    let secondDone = false;
    second.then(() => (secondDone = true));
    started[0]!.resolve(7);
    expect(await first).toBe(true);
    const late = gate.check(); // read #1 has answered but read #2 has not started: it joins read #2
    expect(late).toBe(second);
    await tick();
    expect(secondDone).toBe(false); // read #1 finished, but #2 has only just started
    expect(started).toHaveLength(2);
    started[1]!.resolve(7);
    expect(await second).toBe(true);
    expect(await third).toBe(true);
    expect(await late).toBe(true);
    expect(changes).toBe(1); // the first sighting of a version counts as a change; 7 → 7 does not

    const fourth = gate.check(); // nothing in flight: a new read in this turn's check phase
    await tick();
    expect(started).toHaveLength(3);
    started[2]!.resolve(8);
    expect(await fourth).toBe(true);
    expect(changes).toBe(2);
  });

  it('drops caches and answers false when the version cannot be read', async () => {
    const { pool, started } = fakePool();
    const gate = new VersionGate(pool);
    let changes = 0;
    gate.onChange(() => changes++);
    const p = gate.check();
    await tick();
    started[0]!.reject(new Error('connection lost'));
    expect(await p).toBe(false);
    expect(changes).toBe(1);
    const q = gate.check();
    await tick();
    started[1]!.resolve(3);
    expect(await q).toBe(true);
  });
});
