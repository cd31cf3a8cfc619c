import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Coalescer } from '../src/domain/coalescer.js';

/** A group runner whose groups finish when the test says so. */
function controlledRunner() {
  const groups: Array<{ items: number[]; finish: (fail?: Error) => void }> = [];
  let running = 0;
  let mostRunning = 0;
  const run = (items: number[]) =>
    new Promise<number[]>((resolve, reject) => {
      running++;
      mostRunning = Math.max(mostRunning, running);
      groups.push({
        items,
        finish: (fail) => {
          running--;
          if (fail) reject(fail);
          else resolve(items.map((i) => i * 10));
        },
      });
    });
  return { run, groups, mostRunning: () => mostRunning };
}

describe('Coalescer', () => {
  it('runs the requests of one turn as one group and those made meanwhile as the next', async () => {
    const r = controlledRunner();
    const c = new Coalescer(r.run, 100);
    const first = [c.add(1), c.add(2), c.add(3)];
    await nextTurn();
    expect(r.groups.map((g) => g.items)).toEqual([[1, 2, 3]]);
    const second = [c.add(4), c.add(5)];
    await nextTurn();
    // One group at a time by default: 4 and 5 wait for the first to end.
    expect(r.groups).toHaveLength(1);
    r.groups[0]!.finish();
    expect(await Promise.all(first)).toEqual([10, 20, 30]);
    await nextTurn();
    expect(r.groups.map((g) => g.items)).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    r.groups[1]!.finish();
    expect(await Promise.all(second)).toEqual([40, 50]);
  });

  it('runs up to maxRunning groups at once, each of the requests made while the others ran', async () => {
    const r = controlledRunner();
    const c = new Coalescer(r.run, 100, 2);
    const a = c.add(1);
    await nextTurn();
    const b = [c.add(2), c.add(3)];
    await nextTurn();
    const d = c.add(4);
    await nextTurn();
    expect(r.groups.map((g) => g.items)).toEqual([[1], [2, 3]]);
    r.groups[1]!.finish();
    expect(await Promise.all(b)).toEqual([20, 30]);
    await nextTurn();
    expect(r.groups.map((g) => g.items)).toEqual([[1], [2, 3], [4]]);
    r.groups[0]!.finish();
    r.groups[2]!.finish();
    expect(await Promise.all([a, d])).toEqual([10, 40]);
    expect(r.mostRunning()).toBe(2);
  });

  it('gives a failed group its error and goes on with the next', async () => {
    const r = controlledRunner();
    const c = new Coalescer(r.run, 2);
    const failed = [c.add(1), c.add(2)];
    const next = c.add(3);
    await nextTurn();
    expect(r.groups.map((g) => g.items)).toEqual([[1, 2]]);
    r.groups[0]!.finish(new Error('group failed'));
    for (const p of failed) await expect(p).rejects.toThrow('group failed');
    await nextTurn();
    r.groups[1]!.finish();
    expect(await next).toBe(30);
  });
});
