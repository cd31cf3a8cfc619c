import { describe, expect, it } from 'vitest';
import { deleteInPacedBatches, type PurgePace } from '../src/domain/grant-store.js';

const busyWait = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end) {}
};

/** A table of `rows` rows whose batches take `msPerRow` each (blocking, like a SQLite statement). */
function table(rows: number, msPerRow: number) {
  const sizes: number[] = [];
  const calls: Array<{ start: number; end: number }> = [];
  let left = rows;
  const batch = async (size: number) => {
    const start = performance.now();
    sizes.push(size);
    const n = Math.min(size, left);
    busyWait(n * msPerRow);
    left -= n;
    calls.push({ start, end: performance.now() });
    return { numDeletedRows: BigInt(n) };
  };
  return { batch, sizes, calls, left: () => left };
}

describe('deleteInPacedBatches', () => {
  const pace: PurgePace = {
    targetMs: 4,
    restFactor: 2,
    busyRestFactor: 6,
    busyShare: 0.2,
    minRows: 5,
    maxRows: 400,
  };

  it('grows the batches while they are quick, up to the cap, and deletes every row', async () => {
    const t = table(1500, 0);
    // A batch doubles when it took under half the target: a 50 ms target leaves room for a loaded host's
    // scheduling hiccups (at 4 ms, one 2 ms pause kept a batch from growing).
    expect(await deleteInPacedBatches(50, t.batch, { ...pace, targetMs: 50 })).toBe(1500);
    expect(t.left()).toBe(0);
    expect(t.sizes.slice(0, 5)).toEqual([50, 100, 200, 400, 400]);
    expect(Math.max(...t.sizes)).toBe(400);
  });

  it('shrinks batches that hold the database too long, down to the floor', async () => {
    // 1 ms a row: 100 rows take 100 ms, far over twice the 4 ms target.
    const t = table(40, 1);
    expect(await deleteInPacedBatches(20, t.batch, pace)).toBe(40);
    expect(t.sizes.slice(0, 3)).toEqual([20, 10, 5]);
    expect(Math.min(...t.sizes)).toBe(5);
  });

  it('rests between batches for restFactor times as long as the last batch took', async () => {
    const t = table(60, 0.5); // batches of 10 rows: about 5 ms each
    await deleteInPacedBatches(10, t.batch, { ...pace, targetMs: 5 });
    expect(t.calls.length).toBeGreaterThanOrEqual(6);
    for (let i = 1; i < t.calls.length; i++) {
      const took = t.calls[i - 1]!.end - t.calls[i - 1]!.start;
      const rest = t.calls[i]!.start - t.calls[i - 1]!.end;
      // Timers round to whole milliseconds.
      expect(rest).toBeGreaterThanOrEqual(took * 2 - 1.5);
    }
  });

  it('rests longer while other work keeps the event loop busy, and goes back once it stops', async () => {
    const t = table(300, 1); // batches of 10 rows: about 10 ms each
    // Other work: 3 ms of every 4 ms on the event loop (requests, as far as the purge can tell), for 600 ms:
    // long enough that a loaded host's late timers still leave rests inside it.
    const traffic = setInterval(() => busyWait(3), 1);
    const stopTraffic = setTimeout(() => clearInterval(traffic), 600);
    try {
      await deleteInPacedBatches(10, t.batch, { ...pace, targetMs: 10, maxRows: 10 });
    } finally {
      clearInterval(traffic);
      clearTimeout(stopTraffic);
    }
    const rests = t.calls.slice(1).map((c, i) => ({
      at: c.start - t.calls[0]!.start,
      ratio: (c.start - t.calls[i]!.end) / (t.calls[i]!.end - t.calls[i]!.start),
    }));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const during = rests.filter((r) => r.at < 500).slice(1); // the first rest comes before any is measured
    const after = rests.filter((r) => r.at > 900).slice(1);
    expect(during.length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(2);
    for (const r of during) expect(r.ratio).toBeGreaterThanOrEqual(6 - 0.5);
    // Idle again: about restFactor (2) times, well under the busy factor (timers may fire a little late).
    expect(median(after.map((r) => r.ratio))).toBeLessThan(4);
  });

  it('stops at the first short batch', async () => {
    const t = table(7, 0);
    expect(await deleteInPacedBatches(10, t.batch, pace)).toBe(7);
    expect(t.sizes).toEqual([10]);
  });
});
