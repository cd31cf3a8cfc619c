/**
 * CPU time per request, server and load generator apart: the bench's throughput on a 2-core machine is what
 * the two cores give divided by the CPU a request costs everyone on them, so this says where a ratio between
 * two servers comes from. Each server is started in turn (rounds interleave them, as this machine's speed
 * drifts from minute to minute), driven by autocannon at 32 connections in its own process, and
 * `/proc/<pid>/task/<tid>/stat` is read around the measured seconds for every thread of both processes.
 *
 *   node dist/bench/cpu-per-request.js [--scenario=introspect|cc] [--servers=limit,floor,sqlite,pg]
 *     [--rounds=3] [--seconds=6] [--pg-url=postgres://postgres@127.0.0.1:5432/postgres]
 *
 * Servers: `limit` (bench/bare-limit.ts), `floor` (bench/fastify-floor.ts: the limit's code in Fastify),
 * `sqlite` and `pg` (Clavis, a new database each). Prints one line per run and the medians per server, with
 * the server's CPU split between its main thread (the event loop) and the others (the pool, V8's workers).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  basic,
  benchDir,
  endpointLoadJob,
  freePort,
  median,
  repoRoot,
  type ServerProc,
  startProcess,
} from './lib.js';

const argv = process.argv.slice(2);
const opt = (n: string, d: string) => argv.find((a) => a.startsWith(`--${n}=`))?.slice(n.length + 3) ?? d;
const scenario = opt('scenario', 'introspect');
const servers = opt('servers', 'limit,floor,sqlite').split(',');
const rounds = Number(opt('rounds', '3'));
const seconds = Number(opt('seconds', '6'));
const pgAdminUrl = opt('pg-url', process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const known = ['limit', 'floor', 'sqlite', 'pg'];
const unknown = servers.filter((s) => !known.includes(s));
if (unknown.length || !['introspect', 'cc'].includes(scenario) || !(rounds > 0) || !(seconds >= 3)) {
  process.stderr.write(
    `usage: cpu-per-request.js [--scenario=introspect|cc] [--servers=${known.join(',')}] [--rounds=N] [--seconds=S≥3]\n`,
  );
  process.exit(2);
}
const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux.

/**
 * User and system CPU of every thread of `pid`, µs, and of its main thread (the event loop) alone. Node 20
 * names all its threads `node`, so the others (libuv's pool, which makes the signatures, and V8's workers,
 * which mark and sweep concurrently) are counted together.
 */
function cpuOf(pid: number): { user: number; sys: number; main: number } {
  let user = 0;
  let sys = 0;
  let main = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const u = Number(f[11]) * TICK_US;
      const s = Number(f[12]) * TICK_US;
      user += u;
      sys += s;
      if (Number(t) === pid) main = u + s;
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return { user, sys, main };
}

async function withPgDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const { default: pg } = await import('pg');
  const name = `clavis_cpu_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: pgAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const u = new URL(pgAdminUrl);
    u.pathname = `/${name}`;
    return await fn(u.href);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
}

interface Run {
  server: string;
  rps: number;
  serverUs: number;
  userUs: number;
  sysUs: number;
  loadUs: number;
  /** Server CPU µs per request on the main thread, and on all the others. */
  main: number;
  others: number;
}

async function measure(server: string, dbUrl: string | null, work: string): Promise<Run> {
  const port = await freePort();
  const secret = randomBytes(32).toString('base64url');
  const limitEnv = { BENCH_CLIENT_ID: 'bench-client', BENCH_CLIENT_SECRET: secret };
  let proc: ServerProc;
  if (server === 'limit' || server === 'floor')
    proc = await startProcess(
      server,
      [join(benchDir, server === 'limit' ? 'bare-limit.js' : 'fastify-floor.js')],
      limitEnv,
      port,
    );
  else
    proc = await startProcess(
      server,
      [join(repoRoot, 'dist', 'bin', 'clavis.js'), 'serve'],
      {
        CLAVIS_ISSUER: `http://127.0.0.1:${port}`,
        CLAVIS_DATABASE_URL: dbUrl ?? `sqlite:${join(work, `${server}-${port}.db`)}`,
        CLAVIS_SECRET_KEY: randomBytes(32).toString('base64url'),
        LOG_LEVEL: 'warn',
        CLAVIS_BOOTSTRAP_CLIENT_ID: 'bench-client',
        CLAVIS_BOOTSTRAP_CLIENT_SECRET: secret,
      },
      port,
    );
  try {
    const job = await endpointLoadJob(
      proc.url,
      basic('bench-client', secret),
      scenario as 'cc' | 'introspect',
      seconds,
    );
    const load = spawn(process.execPath, [join(benchDir, 'load.js'), JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    load.stdout.on('data', (d: Buffer) => (out += d));
    const exited = new Promise<void>((r) => load.on('exit', () => r()));
    // After the warm-up, a window inside the measured seconds.
    await new Promise((r) => setTimeout(r, 2_500));
    const s0 = cpuOf(proc.pid);
    const l0 = cpuOf(load.pid!);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, (seconds - 1) * 1000));
    const s1 = cpuOf(proc.pid);
    const l1 = cpuOf(load.pid!);
    const t1 = performance.now();
    await exited;
    const res = JSON.parse(out.trim()) as {
      rps: number;
      non2xx: number;
      errors: number;
      mismatches?: number;
    };
    if (res.non2xx || res.errors || res.mismatches)
      throw new Error(`${server}: bad responses: ${out.trim()}`);
    const n = (res.rps * (t1 - t0)) / 1000;
    const user = (s1.user - s0.user) / n;
    const sys = (s1.sys - s0.sys) / n;
    const main = (s1.main - s0.main) / n;
    return {
      main,
      others: user + sys - main,
      server,
      rps: res.rps,
      serverUs: user + sys,
      userUs: user,
      sysUs: sys,
      loadUs: (l1.user + l1.sys - l0.user - l0.sys) / n,
    };
  } finally {
    await proc.stop();
  }
}

const work = mkdtempSync(join(tmpdir(), 'clavis-cpu-'));
const runs: Run[] = [];
const fmt = (x: number) => x.toFixed(1).padStart(6);
try {
  for (let round = 1; round <= rounds; round++)
    for (const server of servers) {
      const r =
        server === 'pg'
          ? await withPgDatabase((url) => measure(server, url, work))
          : await measure(server, null, work);
      runs.push(r);
      process.stdout.write(
        `round ${round} ${server.padEnd(6)} ${r.rps.toFixed(0).padStart(6)} req/s  server ${fmt(r.serverUs)} µs/req (user ${fmt(r.userUs)}, sys ${fmt(r.sysUs)})  load generator ${fmt(r.loadUs)} µs/req\n` +
          `        main thread ${fmt(r.main)}, other threads ${fmt(r.others)}\n`,
      );
    }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write(`\n${scenario}, medians of ${rounds} round(s) × ${seconds} s at 32 connections:\n`);
for (const server of servers) {
  const mine = runs.filter((r) => r.server === server);
  const m = (k: keyof Omit<Run, 'server'>) => median(mine.map((r) => r[k]));
  process.stdout.write(
    `${server.padEnd(6)} ${m('rps').toFixed(0).padStart(6)} req/s  server ${fmt(m('serverUs'))} µs/req (user ${fmt(m('userUs'))}, sys ${fmt(m('sysUs'))})  load generator ${fmt(m('loadUs'))} µs/req\n` +
      `       main thread ${fmt(m('main'))}, other threads ${fmt(m('others'))}\n`,
  );
}
