import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * `holdYoungGeneration` / `releaseYoungGeneration` in a fresh Node process each (V8 flags are per process).
 * The child churns through short-lived objects with a survivor set of about 10 MB, which makes V8 grow the
 * young generation to its maximum when it may.
 */
const MODULE = resolve(import.meta.dirname, '../dist/src/cli/startup-heap.js');
const SCRIPT = `
import v8 from 'node:v8';
import { holdYoungGeneration, releaseYoungGeneration } from ${JSON.stringify(MODULE)};
const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
const churn = () => { let keep = []; for (let i = 0; i < 1e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 2e5) keep = []; } };
const out = {};
if (process.argv.includes('hold')) holdYoungGeneration();
churn();
out.held = young();
releaseYoungGeneration();
churn();
out.released = young();
console.log(JSON.stringify(out));
`;
const run = async (args: string[], nodeArgs: string[] = []) => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...nodeArgs, '--input-type=module', '-e', SCRIPT, '--', ...args],
    { env: { ...process.env, NODE_OPTIONS: '' } },
  );
  return JSON.parse(stdout) as { held: number; released: number };
};
const MB = 2 ** 20;

describe('young generation during start-up', () => {
  it('held: stays small (2 MB; Node 24 sometimes 4 MB) however much survives; released: V8 grows it again', async () => {
    const r = await run(['hold']);
    // Node 20 and 22 hold it at 2 MB. Node 24's V8 lands on 4-4.25 MB in about one run in three (seen in
    // CI and in 6 runs by hand); unheld, the same churn grows it to 8 MB or more (the next test).
    expect(r.held).toBeLessThan(8 * MB);
    expect(r.released).toBeGreaterThanOrEqual(4 * r.held);
  });

  it('without the hold the same churn grows it at once (the test would notice a hold that does nothing)', async () => {
    const r = await run([]);
    expect(r.held).toBeGreaterThanOrEqual(8 * MB);
  });

  it("an operator's own semi-space flag wins: nothing is held", async () => {
    const r = await run(['hold'], ['--max-semi-space-size=8']);
    expect(r.held).toBeGreaterThan(2 * MB);
  });
});
