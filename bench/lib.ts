/** Process, memory and HTTP helpers shared by the bench scripts. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadJob } from './load.js';

/** dist/bench (where the compiled scripts live) and the repository root. */
export const benchDir = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(benchDir, '..', '..');

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A server process started by the bench. */
export interface ServerProc {
  name: string;
  child: ChildProcess;
  pid: number;
  port: number;
  url: string;
  /** Milliseconds from spawn to the first 200 from /readyz. */
  readyMs: number;
  output: () => string;
  /** Exit code once the process has ended, else null. */
  exitCode: () => number | null;
  stop(): Promise<void>;
}

/**
 * Spawns `node <args>` with `env`, and waits until GET /readyz answers 200 (or the process dies, or
 * `timeoutMs` passes).
 */
export async function startProcess(
  name: string,
  args: string[],
  env: Record<string, string>,
  port: number,
  timeoutMs = 30_000,
): Promise<ServerProc> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited: number | null = null;
  child.on('exit', (code) => {
    exited = code ?? -1;
  });
  const url = `http://127.0.0.1:${port}`;
  let readyMs = -1;
  while (performance.now() - t0 < timeoutMs) {
    if (exited !== null) break;
    try {
      const r = await fetch(`${url}/readyz`);
      await r.arrayBuffer();
      if (r.status === 200) {
        readyMs = performance.now() - t0;
        break;
      }
    } catch {}
    await sleep(10);
  }
  const proc: ServerProc = {
    name,
    child,
    pid: child.pid!,
    port,
    url,
    readyMs,
    output: () => out,
    exitCode: () => exited,
    stop: () =>
      new Promise<void>((res) => {
        if (exited !== null) return res();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          res();
        });
        child.kill('SIGTERM');
      }),
  };
  if (readyMs < 0) {
    await proc.stop();
    throw new Error(`${name} did not become ready (exit ${exited}):\n${out.slice(-3000)}`);
  }
  return proc;
}

/** The pid and its descendants (Linux /proc). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        const kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim();
        if (kids) for (const k of kids.split(/\s+/)) out.push(Number(k));
      } catch {}
    }
  }
  return out;
}

function statusField(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident memory of a process tree, bytes. */
export function treeRss(pid: number): number {
  return processTree(pid).reduce((s, p) => s + statusField(p, 'VmRSS'), 0);
}

/** Peak resident memory (VmHWM) of a process tree, bytes: the sum of each process's own peak. */
export function treeHwm(pid: number): number {
  return processTree(pid).reduce((s, p) => s + statusField(p, 'VmHWM'), 0);
}

/** Samples a tree's RSS every `everyMs` until stopped; returns the maximum seen. */
export function rssSampler(pid: number, everyMs = 200): { stop(): number } {
  let max = treeRss(pid);
  const t = setInterval(() => {
    max = Math.max(max, treeRss(pid));
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      return Math.max(max, treeRss(pid));
    },
  };
}

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** POSTs a form; returns status and parsed JSON (or text). */
export async function postForm(
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> | null; text: string }> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const text = await r.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {}
  return { status: r.status, json, text };
}

/**
 * The load the profiling tools drive at a server: client_credentials with `ccBody`, or (`introspect`) the
 * introspection of one token that it fetches first, at 32 connections for `seconds` after a 2 s warm-up.
 */
export async function endpointLoadJob(
  url: string,
  auth: string,
  scenario: 'cc' | 'introspect',
  seconds: number,
  ccBody = 'grant_type=client_credentials',
): Promise<LoadJob> {
  let body = ccBody;
  let path = '/oauth/token';
  if (scenario === 'introspect') {
    const r = await postForm(
      `${url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: auth },
    );
    if (typeof r.json?.access_token !== 'string')
      throw new Error(`no token from ${url}: ${r.status} ${r.text}`);
    body = `token=${encodeURIComponent(r.json.access_token)}`;
    path = '/oauth/introspect';
  }
  return {
    url,
    path,
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
    body,
    connections: 32,
    duration: seconds,
    kind: scenario === 'introspect' ? 'introspect' : 'token',
    warmup: 2,
  };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? m[1]!.trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = `${dir}/${cmd}`;
    if (dir && existsSync(p)) return p;
  }
  return null;
}
