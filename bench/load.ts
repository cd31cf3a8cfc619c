/**
 * The load generator, run by run.ts in a child process of its own so it never shares an event loop with a
 * server or with the harness. Reads one job (JSON) from argv[2], runs autocannon, prints one JSON line.
 *
 * Every response is checked, not just its status: a token response must carry an `access_token`, an
 * introspection response must say `"active":true`, and a refresh response must carry a new `refresh_token`.
 * A response that fails the check counts as a mismatch; a run with any non-2xx, error, timeout or mismatch is
 * reported as failed by run.ts.
 *
 * Refresh-token rotation (kind "refresh"): each request needs a token never used before. The job brings a
 * pool of refresh tokens (at least 2 per connection); each request takes one from the pool and each response
 * puts the rotated token it returns back, so every connection walks its own chain of rotations and no token
 * is ever presented twice.
 */
import autocannon from 'autocannon';

export interface LoadJob {
  url: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration: number;
  kind: 'token' | 'introspect' | 'refresh';
  refreshTokens?: string[];
  /** Seconds of unrecorded load first (JIT, pools, caches), in the same process. */
  warmup?: number;
  /** Record every response's time (epoch ms) and latency (ms), for latency within a time window. */
  timeline?: boolean;
  /** Stop early when a line arrives on stdin (the run then lasts at most `duration`). */
  stopOnStdin?: boolean;
  /** Requests per second over all connections (autocannon's overallRate); unset: as fast as answered. */
  rate?: number;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  /** First bad response body seen (truncated), for the report. */
  sample?: string;
  /** With `timeline`: when each response arrived (epoch ms) and its latency (ms), in the same order. */
  at?: number[];
  latency?: number[];
}

const job = JSON.parse(process.argv[2] ?? '{}') as LoadJob;
let sample: string | undefined;
let badChain = 0;

const check =
  job.kind === 'introspect'
    ? (b: string) => b.includes('"active":true')
    : (b: string) => b.includes('"access_token"');

const opts: autocannon.Options = {
  url: job.url + job.path,
  method: 'POST',
  headers: job.headers,
  connections: job.connections,
  duration: job.duration,
  timeout: 10,
  ...(job.rate ? { overallRate: job.rate } : {}),
};

if (job.kind === 'refresh') {
  const pool = [...(job.refreshTokens ?? [])];
  const base = job.body;
  opts.requests = [
    {
      method: 'POST',
      path: job.path,
      setupRequest: (req: autocannon.Request) => {
        const rt = pool.pop() ?? 'pool-exhausted';
        return { ...req, body: `${base}&refresh_token=${encodeURIComponent(rt)}` };
      },
      onResponse: (status: number, body: string) => {
        if (status === 200) {
          const m = /"refresh_token"\s*:\s*"([^"]+)"/.exec(body);
          if (m && body.includes('"access_token"')) {
            pool.push(m[1]!);
            return;
          }
        }
        badChain++;
        if (!sample) sample = `${status} ${body.slice(0, 200)}`;
      },
    },
  ];
} else {
  opts.body = job.body;
  opts.verifyBody = (body) => {
    const ok = check(String(body ?? ''));
    if (!ok && !sample) sample = String(body ?? '').slice(0, 200);
    return ok;
  };
}

if (job.warmup && job.warmup > 0) {
  await autocannon({ ...opts, duration: job.warmup });
  sample = undefined;
  badChain = 0;
}
const run = autocannon(opts) as unknown as autocannon.Instance & Promise<autocannon.Result>;
const at: number[] = [];
const latency: number[] = [];
if (job.timeline)
  run.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
    at.push(Date.now());
    latency.push(+responseTime.toFixed(2));
  });
if (job.stopOnStdin) {
  process.stdin.once('data', () => run.stop());
  process.stdin.resume();
}
const result = await run;
if (job.stopOnStdin) process.stdin.pause();
const out: LoadResult = {
  requests: result.requests.total,
  rps: result.requests.average,
  p50: result.latency.p50,
  p99: result.latency.p99,
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  mismatches: result.mismatches + badChain,
  sample,
  ...(job.timeline ? { at, latency } : {}),
};
process.stdout.write(`${JSON.stringify(out)}\n`);
