import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The built, bundled CLI that `clavis` and `npm start` run (`npm run build` first; `npm test` does). */
export const CLI = resolve(import.meta.dirname, '../../dist/bin/clavis.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Extra environment (CLAVIS_* from the test process is never inherited). */
  env?: Record<string, string | undefined>;
  /** Written to stdin, then stdin is closed. */
  input?: string;
  timeoutMs?: number;
}

/** A fresh config directory for saved logins. */
export function tempConfigDir(): string {
  return mkdtempSync(join(tmpdir(), 'clavis-cli-'));
}

function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('CLAVIS_') && v !== undefined) env[k] = v;
  env.CLAVIS_NO_BROWSER = '1';
  env.NO_COLOR = '1';
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Starts the built CLI as a subprocess (asynchronously: the in-process test server keeps answering). */
export function spawnCli(args: string[], options: CliOptions = {}): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (options.input !== undefined) child.stdin!.end(options.input);
  else child.stdin!.end();
  return child;
}

export function collect(child: ChildProcess, timeoutMs = 20_000): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`clavis timed out after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Runs `clavis ...args` and returns exit code, stdout and stderr. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return collect(spawnCli(args, options), options.timeoutMs);
}

/** Non-empty lines of a stream. */
export const lines = (s: string) => s.split('\n').filter((l) => l.trim() !== '');

/**
 * Waits until a spawned server answers 200 on `/readyz`; fails with its output so far if it exits or takes
 * longer than `timeoutMs`.
 */
export function waitUntilReady(url: string, child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  return waitUntilReadyAt(`${url}/readyz`, child, timeoutMs);
}

/** Waits until a spawned server answers 200 at `probe` (any URL); fails with its output otherwise. */
export async function waitUntilReadyAt(
  probe: string,
  child: ChildProcess,
  timeoutMs = 20_000,
): Promise<void> {
  let output = '';
  const keep = (d: Buffer) => (output += d);
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`server exited: ${output}`);
      const ok = await fetch(probe).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`server did not become ready: ${output}`);
  } finally {
    child.stdout?.off('data', keep);
    child.stderr?.off('data', keep);
  }
}
