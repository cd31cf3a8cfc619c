/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): the top functions by self time, and self time
 * grouped by file/package, so the costs of a hot path can be read at a glance.
 *
 *   node dist/bench/profile-summary.js PROFILE.cpuprofile [--top=25]
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SummaryLine {
  name: string;
  where: string;
  selfMs: number;
  pct: number;
}

/** Shortens a script URL to something readable: the package in node_modules, or the repo-relative path. */
export function shortUrl(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    const pkg = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    return `${pkg}:${rest.slice(rest[0]!.startsWith('@') ? 2 : 1).join('/')}`;
  }
  const d = url.indexOf('/dist/');
  if (d >= 0) return url.slice(d + 1);
  return url.replace(/^file:\/\//, '');
}

/** Groups a script URL into a "module": npm package, repo file, or node internals. */
function group(url: string): string {
  if (!url) return '(native / GC / idle)';
  const s = shortUrl(url);
  if (url.startsWith('node:'))
    return `node:${url.slice(5).split('/')[0] === 'internal' ? url.slice(5).split('/').slice(0, 2).join('/') : url.slice(5)}`;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return s.split(':')[0]!;
  return s;
}

export function summarise(
  profile: Profile,
  top = 25,
): { totalMs: number; functions: SummaryLine[]; modules: SummaryLine[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  let total = 0;
  const fn = new Map<string, SummaryLine>();
  const mod = new Map<string, SummaryLine>();
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    total += us;
    const cf = node.callFrame;
    const name = cf.functionName || '(anonymous)';
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const f = fn.get(key) ?? { name, where, selfMs: 0, pct: 0 };
    f.selfMs += us / 1000;
    fn.set(key, f);
    const g = group(cf.url);
    const m = mod.get(g) ?? { name: g, where: '', selfMs: 0, pct: 0 };
    m.selfMs += us / 1000;
    mod.set(g, m);
  }
  const totalMs = total / 1000;
  const finish = (m: Map<string, SummaryLine>) =>
    [...m.values()]
      .map((x) => ({ ...x, selfMs: +x.selfMs.toFixed(1), pct: +((100 * x.selfMs) / totalMs).toFixed(1) }))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top);
  return { totalMs, functions: finish(fn), modules: finish(mod) };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node dist/bench/profile-summary.js PROFILE.cpuprofile [--top=25]\n');
    process.exit(2);
  }
  const top = Number(process.argv.find((a) => a.startsWith('--top='))?.slice(6) ?? 25);
  const s = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, top);
  const lines = [`profile ${file}: ${s.totalMs.toFixed(0)} ms sampled`, '', 'top self time by function:', ''];
  for (const f of s.functions)
    lines.push(
      `${f.pct.toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.name}  ${f.where}`,
    );
  lines.push('', 'self time by module:', '');
  for (const m of s.modules)
    lines.push(`${m.pct.toFixed(1).padStart(5)}%  ${m.selfMs.toFixed(0).padStart(7)} ms  ${m.name}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
