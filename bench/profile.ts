/**
 * Profiles Clavis's token endpoint: starts Clavis (SQLite) under `node --cpu-prof`, drives
 * client_credentials (or introspection) load at it from a separate autocannon process, stops it so V8 writes
 * the profile, and prints the summary (bench/profile-summary.ts).
 *
 *   node dist/bench/profile.js [--seconds=10] [--scenario=cc|introspect] [--out=DIR]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { basic, benchDir, endpointLoadJob, freePort, repoRoot, startProcess } from './lib.js';
import { summarise } from './profile-summary.js';

const argv = process.argv.slice(2);
const opt = (n: string, d: string) => argv.find((a) => a.startsWith(`--${n}=`))?.slice(n.length + 3) ?? d;
const seconds = Number(opt('seconds', '10'));
const scenario = opt('scenario', 'cc');
const outDir = resolve(opt('out', join(repoRoot, 'bench', 'results')));

const work = mkdtempSync(join(tmpdir(), 'clavis-prof-'));
const profDir = join(work, 'prof');
mkdirSync(profDir);
const port = await freePort();
const secret = randomBytes(32).toString('base64url');
const env = {
  CLAVIS_ISSUER: `http://127.0.0.1:${port}`,
  CLAVIS_DATABASE_URL: `sqlite:${join(work, 'clavis.db')}`,
  CLAVIS_SECRET_KEY: randomBytes(32).toString('base64url'),
  LOG_LEVEL: 'warn',
  CLAVIS_BOOTSTRAP_CLIENT_ID: 'bench-client',
  CLAVIS_BOOTSTRAP_CLIENT_SECRET: secret,
};
const mainJs = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
// First start creates the database; the profiled one runs on it as an existing database.
await (await startProcess('clavis', [mainJs, 'serve'], env, port)).stop();
// Extra node flags for experiments (e.g. --max-semi-space-size=8).
const extra = (process.env.CLAVIS_PROFILE_NODE_ARGS ?? '').split(' ').filter(Boolean);
const proc = await startProcess(
  'clavis',
  [...extra, '--cpu-prof', `--cpu-prof-dir=${profDir}`, mainJs, 'serve'],
  env,
  port,
);
const job = await endpointLoadJob(
  proc.url,
  basic('bench-client', secret),
  scenario === 'introspect' ? 'introspect' : 'cc',
  seconds,
  'grant_type=client_credentials&scope=clavis%3Aapps',
);
const out = await new Promise<string>((res) => {
  const c = spawn(process.execPath, [join(benchDir, 'load.js'), JSON.stringify(job)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let o = '';
  c.stdout.on('data', (d: Buffer) => (o += d));
  c.on('exit', () => res(o));
});
await proc.stop();
const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error(`no profile written; server output:\n${proc.output().slice(-2000)}`);
const profile = JSON.parse(readFileSync(join(profDir, file), 'utf8'));
mkdirSync(outDir, { recursive: true });
const tag = process.env.CLAVIS_PROFILE_TAG ? `-${process.env.CLAVIS_PROFILE_TAG}` : '';
const dest = join(outDir, `clavis-${scenario}${tag}.cpuprofile`);
writeFileSync(dest, JSON.stringify(profile));
const s = summarise(profile, 30);
writeFileSync(
  join(outDir, `profile-${scenario}${tag}.json`),
  `${JSON.stringify({ date: new Date().toISOString(), load: JSON.parse(out.trim() || '{}'), ...s }, null, 2)}\n`,
);
process.stdout.write(
  `load: ${out}\nprofile: ${dest} (${s.totalMs.toFixed(0)} ms sampled)\n\ntop self time by function:\n`,
);
for (const f of s.functions)
  process.stdout.write(
    `${f.pct.toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.name}  ${f.where}\n`,
  );
process.stdout.write('\nby module:\n');
for (const m of s.modules)
  process.stdout.write(
    `${m.pct.toFixed(1).padStart(5)}%  ${m.selfMs.toFixed(0).padStart(7)} ms  ${m.name}\n`,
  );
rmSync(work, { recursive: true, force: true });
