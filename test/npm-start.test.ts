import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { staleReason } from '../scripts/build-if-stale.mjs';
import { waitUntilReady } from './helpers/cli.js';
import { createTestDatabase } from './helpers/db.js';
import { freePort } from './helpers/server.js';

const ROOT = join(import.meta.dirname, '..');
const stale = staleReason as (base?: string) => string | null;

/** Pids of live processes whose environment holds `marker` (how the test finds the server npm started). */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(marker)) {
        const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
        if (state !== 'Z') pids.push(Number(entry));
      }
    } catch {} // gone meanwhile, or not ours to read
  }
  return pids;
}

describe('build-if-stale', () => {
  it('builds when there is no bundle or a source is newer than it, not otherwise', () => {
    const base = mkdtempSync(join(tmpdir(), 'clavis-stale-'));
    try {
      mkdirSync(join(base, 'src', 'cli'), { recursive: true });
      mkdirSync(join(base, 'dist', 'bin'), { recursive: true });
      const source = join(base, 'src', 'cli', 'main.ts');
      writeFileSync(source, '');
      writeFileSync(join(base, 'package.json'), '{}');
      expect(stale(base)).toBe('no build yet');
      const bundle = join(base, 'dist', 'bin', 'clavis.js');
      writeFileSync(bundle, '');
      const t = Date.now() / 1000;
      utimesSync(source, t - 100, t - 100);
      utimesSync(join(base, 'package.json'), t - 100, t - 100);
      utimesSync(bundle, t - 50, t - 50);
      expect(stale(base)).toBeNull();
      utimesSync(source, t, t);
      expect(stale(base)).toBe('src changed since the last build');
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});

describe('npm start', () => {
  it('on a built tree is ready in seconds (no rebuild), and SIGTERM to npm leaves no server running', async () => {
    expect(stale(), 'run `npm run build` first: this test starts the built tree').toBeNull();
    const port = await freePort();
    const data = mkdtempSync(join(tmpdir(), 'clavis-start-'));
    const db = await createTestDatabase();
    const marker = `CLAVIS_TEST_START_MARKER=${randomBytes(8).toString('hex')}`;
    const [key, value] = marker.split('=') as [string, string];
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CLAVIS_')) env[k] = v;
    const started = Date.now();
    const npm = spawn('npm', ['start'], {
      cwd: ROOT,
      env: {
        ...env,
        [key]: value,
        PORT: String(port),
        HOST: '127.0.0.1',
        CLAVIS_DATABASE_URL: db.url,
        CLAVIS_DATA_DIR: data,
        CLAVIS_BOOTSTRAP_ADMIN_EMAIL: 'admin@start.test',
        CLAVIS_BOOTSTRAP_ADMIN_PASSWORD: 'correct horse battery staple',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so the finally below can clean up whatever is left
    });
    try {
      await waitUntilReady(`http://127.0.0.1:${port}`, npm, 25_000);
      const readyMs = Date.now() - started;
      // A rebuild takes 18 s or more here; npm, the start script and the server take one to three.
      expect(readyMs).toBeLessThan(10_000);
      expect(processesWith(marker).length).toBeGreaterThanOrEqual(2); // npm, and the script that is the server

      const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
      npm.kill('SIGTERM');
      await exited;
      const deadline = Date.now() + 5000;
      while (processesWith(marker).length > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(processesWith(marker)).toEqual([]);
      const refused = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        () => false,
        () => true,
      );
      expect(refused).toBe(true);
    } finally {
      try {
        process.kill(-npm.pid!, 'SIGKILL');
      } catch {} // the group is already gone
      rmSync(data, { recursive: true, force: true });
      await db.drop();
    }
  }, 45_000);

  // Issue 17: `npm start` on a built tree builds nothing, and is ready within 1.5 s of the command. The rebuild
  // checks always hold. The median of three starts is held to 1.5 s, except on an oversubscribed machine (load
  // average above its core count), where a timing says nothing: there the test reports itself skipped after the
  // rebuild checks, instead of passing on a looser bound. The measured values are printed either way.
  it('on a built tree does not rebuild, and is ready within 1.5 s (median of 3)', async (ctx) => {
    expect(stale(), 'run `npm run build` first: this test starts the built tree').toBeNull();
    const bundle = join(ROOT, 'dist', 'bin', 'clavis.js');
    const builtAt = statSync(bundle).mtimeMs;
    const data = mkdtempSync(join(tmpdir(), 'clavis-start-'));
    const db = await createTestDatabase();
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CLAVIS_')) env[k] = v;
    const start = async (): Promise<{ ms: number; output: string }> => {
      const port = await freePort();
      const started = performance.now();
      const npm = spawn('npm', ['start'], {
        cwd: ROOT,
        env: {
          ...env,
          PORT: String(port),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
          CLAVIS_DATABASE_URL: db.url,
          CLAVIS_DATA_DIR: data,
          CLAVIS_BOOTSTRAP_ADMIN_EMAIL: 'admin@start.test',
          CLAVIS_BOOTSTRAP_ADMIN_PASSWORD: 'correct horse battery staple',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let output = '';
      npm.stdout?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      npm.stderr?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      try {
        await waitUntilReady(`http://127.0.0.1:${port}`, npm, 25_000);
        const ms = performance.now() - started;
        const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
        npm.kill('SIGTERM');
        await exited;
        return { ms, output };
      } finally {
        try {
          process.kill(-npm.pid!, 'SIGKILL');
        } catch {} // the group is already gone
      }
    };
    try {
      await start(); // the first start migrates and bootstraps the new database: not what is measured
      const runs = [await start(), await start(), await start()];
      for (const run of runs) expect(run.output).not.toMatch(/Building \(/);
      expect(statSync(bundle).mtimeMs).toBe(builtAt);
      const times = runs.map((r) => Math.round(r.ms));
      const median = [...times].sort((a, b) => a - b)[1]!;
      const busy = loadavg()[0]! > availableParallelism();
      console.info(
        `npm start to ready: median ${median} ms of ${times.join(', ')} ms (load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores${busy ? ': oversubscribed, the 1.5 s bound not checked' : ''})`,
      );
      ctx.skip(
        busy,
        'the machine is oversubscribed: start-up timing not checked (the rebuild checks passed)',
      );
      expect(median).toBeLessThanOrEqual(1500);
    } finally {
      rmSync(data, { recursive: true, force: true });
      await db.drop();
    }
  }, 90_000);
});
