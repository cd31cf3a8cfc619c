/**
 * `npm run bench` — Clavis side by side with node-oidc-provider (the peer) and a bare node:http + node:crypto
 * server (the limit). See bench/README.md for the method.
 *
 * Flags:
 *   --quick            one round, ~3 s per server, client_credentials + introspection only; exits non-zero
 *                      on any failure or any bad response. For CI.
 *   --seeded           also seed a second database per kind (SQLite, PostgreSQL; bench/seed.ts: 100k apps, 1M live +
 *                      2M expired refresh tokens, 1,000 APIs × 20 scopes, 10k apps with permissions), measure the
 *                      token endpoint while the purge clears the expired tokens, then every scenario seeded vs empty.
 *   --seed-scale=F     seed F × those amounts (flagged as SCALED in every line it affects).
 *   --rounds=N         rounds (default 3); --duration=S seconds per run (default 8); --connections=N (32).
 *   --no-pg            skip Clavis on PostgreSQL.  --pg-url=URL  admin URL (default postgres://postgres@127.0.0.1:5432/postgres).
 *   --out=PATH         results file (default bench/results/latest.json; --quick writes quick.json and a
 *                      partial run (--only, --servers, --base) partial.json, beside it).
 *   --cpu-prof=DIR     start Clavis (SQLite and PostgreSQL) under `node --cpu-prof --cpu-prof-dir=DIR`.
 *   --only=A,B         only these scenarios (cc, cc-resource, introspect, refresh); --servers=A,B only these
 *                      servers (sqlite, pg, peer, limit). Skips start-up, verifier, scaling, seeded; no README.
 *                      --seeded --only=purge: just the seeding and the purge under load.
 *   --base=DIR         also the Clavis servers of another built tree, in the same rounds (an A/B of builds).
 *   --readme           (full runs) write the tables into README.md's Performance section.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { type AuthCodeTarget, authCodeRoundTrip, type Jar } from './authcode.js';
import { apiScopes, BENCH_API, BENCH_API_SCOPES } from './bench-api.js';
import { formatAgreeing } from './format.js';
import {
  basic,
  benchDir,
  cpuModel,
  freePort,
  median,
  percentile,
  postForm,
  processTree,
  repoRoot,
  rssSampler,
  type ServerProc,
  sleep,
  startProcess,
  treeHwm,
  treeRss,
} from './lib.js';
import type { LoadJob, LoadResult } from './load.js';

// ---------------------------------------------------------------------------------------------- options
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const opt = (name: string, def: string) => {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : def;
};
const quick = flag('quick');
const seeded = flag('seeded');
const rounds = Number(opt('rounds', quick ? '1' : '3'));
const duration = Number(opt('duration', quick ? '2' : '8'));
const connections = Number(opt('connections', '32'));
const usePg = !flag('no-pg');
const pgAdminUrl = opt('pg-url', process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const cpuProfDir = opt('cpu-prof', '');
const writeReadme = flag('readme');
const seedScale = Number(opt('seed-scale', '1'));
/**
 * `--only=cc,refresh` runs just those scenarios (cc, cc-resource, introspect, refresh) and
 * `--servers=sqlite,peer` just those servers (sqlite, pg, peer, limit): a focused A/B while working on one
 * path. Such a run skips the start-up, verifier, scaling and seeded parts and never writes the README;
 * `--seeded --only=purge` (with `--servers=` and `--seed-scale=` as wanted) runs just the seeding and the
 * purge under load. `--base=DIR` adds the Clavis servers of another built tree to the same rounds.
 */
const only = opt('only', '').split(',').filter(Boolean);
const servers = opt('servers', '').split(',').filter(Boolean);
const baseDir = opt('base', '');
const partial = only.length > 0 || servers.length > 0 || baseDir !== '';
// A partial run writes partial.json, so a focused A/B never overwrites the full run that the README shows.
const outPath = resolve(
  opt(
    'out',
    join(repoRoot, 'bench', 'results', quick ? 'quick.json' : partial ? 'partial.json' : 'latest.json'),
  ),
);
const runs = (scenario: string) => only.length === 0 || only.includes(scenario);
const wanted = (server: string) => servers.length === 0 || servers.includes(server);
const log = (...a: unknown[]) => process.stderr.write(`${a.join(' ')}\n`);

// --------------------------------------------------------------------------------------------- targets
type Role = 'clavis' | 'peer' | 'limit';
interface Target {
  key: string;
  label: string;
  role: Role;
  proc: ServerProc;
  clientId: string;
  secret: string;
  scope: string;
  /** Why a scenario does not apply to this target. */
  na: Record<string, string>;
  /** Refresh tokens to start the rotation chains with. */
  mintRefresh?: (n: number) => Promise<string[]>;
  refreshClient?: { clientId: string; secret: string };
}

const mainJs = join(repoRoot, 'dist', 'bin', 'clavis.js');
const cleanups: Array<() => Promise<void> | void> = [];
const secretKey = randomBytes(32).toString('base64url');
const adminEmail = 'bench-admin@example.com';
const adminPassword = `Bench-${randomBytes(12).toString('base64url')}`;

function clavisEnv(port: number, dbUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CLAVIS_ISSUER: `http://127.0.0.1:${port}`,
    CLAVIS_DATABASE_URL: dbUrl,
    CLAVIS_SECRET_KEY: secretKey,
    LOG_LEVEL: 'warn',
    CLAVIS_BOOTSTRAP_CLIENT_ID: 'bench-client',
    CLAVIS_BOOTSTRAP_CLIENT_SECRET: benchSecret,
    CLAVIS_BOOTSTRAP_ADMIN_EMAIL: adminEmail,
    CLAVIS_BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
    ...extra,
  };
}
const benchSecret = randomBytes(32).toString('base64url');

async function startClavis(
  name: string,
  dbUrl: string,
  extra: Record<string, string> = {},
  nodeArgs: string[] = [],
  port?: number,
) {
  port ??= await freePort();
  return startProcess(name, [...nodeArgs, mainJs, 'serve'], clavisEnv(port, dbUrl, extra), port);
}

/** Starts Clavis on a database, stops it, starts it again: the second start is "start to ready on an existing DB". */
async function startClavisMeasured(name: string, dbUrl: string, times: number) {
  const profile =
    cpuProfDir && name.startsWith('clavis-') ? [`--cpu-prof`, `--cpu-prof-dir=${cpuProfDir}`] : [];
  const first = await startClavis(name, dbUrl, {}, times === 0 ? profile : []);
  const firstMs = first.readyMs;
  const readyMs: number[] = [];
  let proc: ServerProc | undefined = first;
  for (let i = 0; i < times; i++) {
    if (proc) await proc.stop();
    proc = await startClavis(name, dbUrl, {}, i === times - 1 ? profile : []);
    readyMs.push(proc.readyMs);
  }
  await sleep(quick ? 300 : 1000);
  const idleRss = treeRss(proc!.pid);
  return { proc: proc!, firstStartMs: firstMs, readyMs, idleRss };
}

async function discovery(url: string): Promise<Record<string, unknown>> {
  const r = await fetch(`${url}/.well-known/oauth-authorization-server`);
  return (await r.json()) as Record<string, unknown>;
}

async function mintViaEndpoint(url: string, n: number): Promise<string[]> {
  const r = await fetch(`${url}/bench/mint-refresh?n=${n}`, { method: 'POST' });
  const j = (await r.json()) as { refresh_tokens?: string[]; error?: string };
  if (!j.refresh_tokens) throw new Error(j.error ?? `mint gave ${r.status}`);
  return j.refresh_tokens;
}

// ---------------------------------------------------------------------------------- Clavis auth code
/**
 * Registers a confidential app with a loopback callback straight in Clavis's database (the schema of
 * src/db/schema.ts), with a secret hashed the way Clavis does (HMAC keyed from CLAVIS_SECRET_KEY).
 */
async function registerAuthCodeApp(
  dbUrl: string,
  redirectUri: string,
  scope: string,
): Promise<{ clientId: string; secret: string }> {
  const { openDatabase } = (await import('../src/db/database.js')) as typeof import('../src/db/database.js');
  const { KeyedHasher } = (await import(
    '../src/crypto/keyed-hash.js'
  )) as typeof import('../src/crypto/keyed-hash.js');
  const cfg = dbUrl.startsWith('sqlite:')
    ? { kind: 'sqlite' as const, path: dbUrl.slice(7) }
    : { kind: 'postgres' as const, url: dbUrl };
  const handle = openDatabase(cfg as Parameters<typeof openDatabase>[0]);
  try {
    const tenant = await handle.db
      .selectFrom('tenants')
      .select('id')
      .orderBy('created_at')
      .executeTakeFirstOrThrow();
    const clientId = `bench-ac-${randomBytes(6).toString('hex')}`;
    const secret = randomBytes(32).toString('base64url');
    const appId = randomUUID();
    const now = Date.now();
    await handle.db
      .insertInto('apps')
      .values({
        id: appId,
        client_id: clientId,
        tenant_id: tenant.id,
        owner_user_id: null,
        name: 'bench auth-code app',
        description: '',
        visibility: 'private',
        client_type: 'confidential',
        callback_url: redirectUri,
        scopes: scope,
        default_scopes: scope,
        grant_types: 'authorization_code refresh_token client_credentials',
        status: 'approved',
        review_note: null,
        created_at: now,
        updated_at: now,
        deleted_at: null,
        id_token_signed_response_alg: 'RS256',
        post_logout_redirect_uri: null,
        backchannel_logout_uri: null,
      })
      .execute();
    await handle.db
      .insertInto('client_secrets')
      .values({
        id: randomUUID(),
        app_id: appId,
        hash: new KeyedHasher(Buffer.from(secretKey, 'base64url')).hash(secret),
        hint: secret.slice(0, 3),
        description: 'bench',
        created_at: now,
        expires_at: null,
        last_used_at: null,
        revoked_at: null,
      })
      .execute();
    // The app's scopes are a granted permission on the built-in sample API: app_permissions is what the
    // authorization endpoint reads (apps.scopes only mirrors it).
    const { BUILT_IN_API_IDS } = (await import(
      '../src/domain/app-permission-store.js'
    )) as typeof import('../src/domain/app-permission-store.js');
    if (scope)
      await handle.db
        .insertInto('app_permissions')
        .values({
          app_id: appId,
          api_id: BUILT_IN_API_IDS.sample,
          scopes: scope,
          granted_scopes: scope,
          requested_by: 'system',
          granted_by: 'system',
          granted_at: now,
          created_at: now,
          updated_at: now,
        })
        .execute();
    return { clientId, secret };
  } finally {
    await handle.close();
  }
}

/**
 * Registers {@link BENCH_API} straight in Clavis's database (the schema of src/db/migrations/0008_apis.ts)
 * and grants the bench client its scope, then bumps the change version so running nodes drop their caches,
 * as the domain's changes do.
 */
async function registerBenchApi(dbUrl: string): Promise<void> {
  const { openDatabase } = (await import('../src/db/database.js')) as typeof import('../src/db/database.js');
  const cfg = dbUrl.startsWith('sqlite:')
    ? { kind: 'sqlite' as const, path: dbUrl.slice(7) }
    : { kind: 'postgres' as const, url: dbUrl };
  const handle = openDatabase(cfg as Parameters<typeof openDatabase>[0]);
  try {
    const app = await handle.db
      .selectFrom('apps')
      .select(['id', 'tenant_id'])
      .where('client_id', '=', 'bench-client')
      .executeTakeFirstOrThrow();
    const now = Date.now();
    const apiId = randomUUID();
    await handle.db
      .insertInto('apis')
      .values({
        id: apiId,
        tenant_id: app.tenant_id,
        identifier: BENCH_API.identifier,
        name: BENCH_API.name,
        description: '',
        scopes: apiScopes(BENCH_API_SCOPES),
        access_token_ttl: null,
        allow_client_credentials: 1,
        visibility: 'tenant',
        resource_server_app_ids: '',
        built_in: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await handle.db
      .insertInto('app_permissions')
      .values({
        app_id: app.id,
        api_id: apiId,
        scopes: BENCH_API.scope,
        granted_scopes: BENCH_API.scope,
        requested_by: 'system',
        granted_by: 'system',
        granted_at: now,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await handle.db.updateTable('change_version').set({ version: now }).where('id', '=', 1).execute();
  } finally {
    await handle.close();
  }
}

/**
 * `client_credentials` for a custom API: the same request with `resource=` (Clavis only). One token is checked
 * first: its `aud` must be the API's identifier and its `scope` the asked scope, else the scenario fails.
 */
async function ccResourceJob(t: Target, seconds = duration): Promise<LoadJob> {
  const job = {
    ...ccJob(t, seconds),
    body: `grant_type=client_credentials&resource=${encodeURIComponent(BENCH_API.identifier)}&scope=${encodeURIComponent(BENCH_API.scope)}`,
  };
  const r = await postForm(
    `${t.proc.url}/oauth/token`,
    { grant_type: 'client_credentials', resource: BENCH_API.identifier, scope: BENCH_API.scope },
    { authorization: basic(t.clientId, t.secret) },
  );
  const token = r.json?.access_token;
  if (typeof token !== 'string')
    throw new Error(`resource= token request gave ${r.status} ${r.text.slice(0, 160)}`);
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
    aud?: unknown;
    scope?: unknown;
  };
  if (claims.aud !== BENCH_API.identifier || claims.scope !== BENCH_API.scope)
    throw new Error(
      `resource= token has aud ${JSON.stringify(claims.aud)} scope ${JSON.stringify(claims.scope)}`,
    );
  return job;
}

async function setupAuthCode(t: Target, dbUrl: string): Promise<AuthCodeTarget> {
  const d = await discovery(t.proc.url);
  const grants = (d.grant_types_supported as string[] | undefined) ?? [];
  if (!grants.includes('authorization_code') || typeof d.authorization_endpoint !== 'string')
    throw new Error('n/a: grant not supported (authorization_code not in discovery)');
  const supported = (d.scopes_supported as string[] | undefined) ?? [];
  const scope = ['offline_access', 'contacts:read'].filter((s) => supported.includes(s)).join(' ');
  const redirectUri = `http://127.0.0.1:${t.proc.port + 1}/bench-callback`;
  const client = await registerAuthCodeApp(dbUrl, redirectUri, scope);
  return {
    issuer: String(d.issuer),
    authorizationEndpoint: d.authorization_endpoint,
    tokenEndpoint: String(d.token_endpoint),
    email: adminEmail,
    password: adminPassword,
    client: { ...client, redirectUri, scope },
  };
}

/**
 * Sets up the authorization-code client on a Clavis target and makes it the target's refresh token source
 * (`mintRefresh`). With `measure`, also times round trips and the code exchange with and without `openid`;
 * returns what was measured, or "n/a: …".
 */
async function setupRefreshSource(t: Target, dbUrl: string, measure: boolean): Promise<unknown> {
  try {
    const ac = await setupAuthCode(t, dbUrl);
    // First trip gives consent when asked; it is not timed.
    const firstJar: Jar = new Map();
    const first = await authCodeRoundTrip(ac, firstJar);
    let measured: Record<string, unknown> = { firstTripSteps: first.steps };
    if (measure) {
      const timed = async (n: number, fresh: boolean) => {
        const lat: number[] = [];
        const jar: Jar = new Map(firstJar);
        for (let i = 0; i < n; i++) {
          const j: Jar = fresh ? new Map() : jar;
          const s = performance.now();
          await authCodeRoundTrip(ac, j);
          lat.push(performance.now() - s);
        }
        return {
          n,
          p50: +percentile(lat, 50).toFixed(2),
          p99: +percentile(lat, 99).toFixed(2),
          mean: +(lat.reduce((a, b) => a + b, 0) / n).toFixed(2),
        };
      };
      // The code exchange alone, without and with `openid` (an ID token: one more signature), same user.
      const exchange = async (scope: string, n: number) => {
        const jar: Jar = new Map(firstJar);
        const warm = await authCodeRoundTrip(ac, jar, { scope }); // gives consent to a new scope
        if (scope.includes('openid') && !warm.idToken) throw new Error('no id_token with openid');
        const lat: number[] = [];
        for (let i = 0; i < n; i++) lat.push((await authCodeRoundTrip(ac, jar, { scope })).exchangeMs);
        return percentile(lat, 50);
      };
      const plainScope = ac.client.scope;
      const plain = await exchange(plainScope, 200);
      const openid = await exchange(`${plainScope} openid`.trim(), 200);
      measured = {
        ...measured,
        withLogin: await timed(50, true),
        loggedIn: await timed(200, false),
        exchangeP50: {
          plain: +plain.toFixed(3),
          openid: +openid.toFixed(3),
          openidOverPlain: openid / plain,
        },
      };
    }
    if (first.refreshToken) {
      t.refreshClient = { clientId: ac.client.clientId, secret: ac.client.secret };
      t.mintRefresh = async (n) => {
        const out: string[] = [];
        const jar: Jar = new Map(firstJar);
        for (let i = 0; i < n; i++) {
          const rt = (await authCodeRoundTrip(ac, jar)).refreshToken;
          if (!rt) throw new Error('n/a: no refresh_token issued with the authorization code');
          out.push(rt);
        }
        return out;
      };
    } else t.na.refresh = `n/a: no refresh_token issued (scope "${ac.client.scope}")`;
    return measured;
  } catch (e) {
    const msg = (e as Error).message;
    t.na.refresh ??= (await discovery(t.proc.url)).grant_types_supported?.toString().includes('refresh_token')
      ? `n/a: no refresh token source (${msg.slice(0, 100)})`
      : 'n/a: grant not supported (refresh_token not in discovery)';
    return msg.startsWith('n/a') ? msg : `n/a: ${msg}`;
  }
}

// ------------------------------------------------------------------------------------------ npm start
/**
 * `npm start` as a user runs it, on a built tree and an existing SQLite database: spawn of `npm start` (in its
 * own process group) to the first 200 from /readyz, `times` times; median. The whole group is stopped after
 * each start.
 */
async function measureNpmStart(dbUrl: string, times: number): Promise<Record<string, unknown>> {
  const readyMs: number[] = [];
  for (let i = 0; i < times + 1; i++) {
    const port = await freePort();
    const t0 = performance.now();
    const child = spawn('npm', ['start'], {
      cwd: repoRoot,
      env: { ...process.env, ...clavisEnv(port, dbUrl), PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    let exited = false;
    let spawnError: Error | undefined;
    child.on('exit', () => (exited = true));
    child.on('error', (e) => (spawnError = e));
    let ms = -1;
    while (performance.now() - t0 < 60_000 && !exited && !spawnError) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`);
        await r.arrayBuffer();
        if (r.status === 200) {
          ms = performance.now() - t0;
          break;
        }
      } catch {}
      await sleep(5);
    }
    const gone = new Promise<void>((res) => (exited ? res() : child.once('exit', () => res())));
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {}
    const killer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }, 5000);
    await gone;
    clearTimeout(killer);
    if (spawnError) return { note: `n/a: npm start could not run: ${(spawnError as Error).message}` };
    if (ms < 0) return { note: `failed: npm start not ready: ${out.slice(-300)}` };
    // The first start creates the database (migrations, bootstrap); the timed ones find it existing.
    if (i > 0) readyMs.push(ms);
    else log(`npm start (creates the database): ready in ${ms.toFixed(0)} ms`);
  }
  log(`npm start on the existing database: ${readyMs.map((x) => x.toFixed(0)).join(', ')} ms`);
  return { readyMs: readyMs.map((x) => +x.toFixed(0)), medianReadyMs: median(readyMs) };
}

/** Creates a fresh PostgreSQL database (dropped at the end of the run); returns its URL. */
async function createPgDatabase(suffix: string): Promise<string> {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: pgAdminUrl, connectionTimeoutMillis: 2000 });
  await admin.connect();
  const pgDb = `clavis_bench_${process.pid}_${Date.now().toString(36)}${suffix}`;
  await admin.query(`CREATE DATABASE ${pgDb}`);
  await admin.end();
  cleanups.push(async () => {
    const a = new pg.Client({ connectionString: pgAdminUrl });
    await a.connect();
    await a
      .query(`DROP DATABASE IF EXISTS ${pgDb} WITH (FORCE)`)
      .catch(() => a.query(`DROP DATABASE IF EXISTS ${pgDb}`));
    await a.end();
  });
  const u = new URL(pgAdminUrl);
  u.pathname = `/${pgDb}`;
  return u.href;
}

/** Opens Clavis's database from the bench (src/db/database.ts). */
async function openBenchDb(dbUrl: string) {
  const { openDatabase } = (await import('../src/db/database.js')) as typeof import('../src/db/database.js');
  const cfg = dbUrl.startsWith('sqlite:')
    ? { kind: 'sqlite' as const, path: dbUrl.slice(7) }
    : { kind: 'postgres' as const, url: dbUrl };
  return openDatabase(cfg as Parameters<typeof openDatabase>[0]);
}

// ------------------------------------------------------------------------------------- seeded databases
/** Seconds between purges on the seeded server while the purge is measured. */
const PURGE_INTERVAL_S = 2;

/** Connections of the load the purge's target is measured under (then 32, reported). */
const PURGE_LIGHT_CONNECTIONS = 4;

/** The longest wait for autovacuum before the seeded comparison on PostgreSQL. */
const AUTOVACUUM_WAIT_CAP_S = 300;

/**
 * Waits until no autovacuum worker runs in the database (seen idle twice, 1 s apart), at most `capS`
 * seconds; reports how long it waited, whether one ran, and whether the cap cut the wait short.
 */
async function waitForAutovacuum(dbUrl: string, capS: number) {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  const t0 = Date.now();
  let sawWorker = false;
  let idle = 0;
  try {
    while (Date.now() - t0 < capS * 1000) {
      const { rows } = await c.query<{ n: string }>(
        `select count(*) as n from pg_stat_activity where backend_type = 'autovacuum worker' and datname = current_database()`,
      );
      if (Number(rows[0]?.n) > 0) {
        sawWorker = true;
        idle = 0;
      } else if (++idle >= 2) break;
      await sleep(1000);
    }
  } finally {
    await c.end();
  }
  return { seconds: Math.round((Date.now() - t0) / 1000), sawWorker, capped: idle < 2 };
}

/** Runs bench/seed.js on a database; resolves with its JSON line and the wall time. */
function runSeed(dbUrl: string): Promise<Record<string, unknown>> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [join(benchDir, 'seed.js'), `--db=${dbUrl}`, '--bench-client=bench-client', `--scale=${seedScale}`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.on('exit', (code) => {
      if (code !== 0) return rej(new Error(`seed.js exited ${code}`));
      try {
        const r = JSON.parse(out.trim().split('\n').pop() ?? '') as Record<string, unknown>;
        res({ ...r, wallSeconds: +((performance.now() - t0) / 1000).toFixed(1) });
      } catch (e) {
        rej(e);
      }
    });
  });
}

/** A scenario on the empty and the seeded database side by side: rows, and seeded/empty (median of rounds). */
interface SeededScenario {
  rows: ScenarioRow[];
  seededOverEmpty: number | null;
}

/**
 * One database kind, seeded: a fresh database, migrated and bootstrapped by a first start, then seed.js.
 * Then three starts of Clavis on the same port (so the auth-code client's redirect and the issuer stay):
 * 1. purge off (interval one day): the authorization-code client is set up and refresh tokens minted;
 * 2. purge every PURGE_INTERVAL_S with LOG_LEVEL=info: refresh rotations (or client_credentials when there is
 *    no refresh source) run from the start through the first max(10 s, 2 runs) of the first purge, every
 *    response's time and latency recorded, and the token endpoint's p50/p99/max inside the purge window are
 *    reported; the purge then finishes unloaded (it logs "purged expired rows") and the rows left are counted;
 * 3. default purge interval: every scenario, alternating rounds with the empty database's server.
 */
async function seededDb(work: string, empty: Target, db: 'SQLite' | 'PostgreSQL') {
  const url = db === 'SQLite' ? `sqlite:${join(work, 'seeded.db')}` : await createPgDatabase('_seeded');
  const name = `${empty.key}-seeded`;
  const port = await freePort();
  const first = await startClavis(name, url, {}, [], port);
  await first.stop();
  log(`\n== seeding ${db}${seedScale !== 1 ? ` (SCALED ×${seedScale})` : ''}`);
  const seed = await runSeed(url);
  log(`  seeded ${db} in ${seed.wallSeconds} s: ${JSON.stringify(seed.counts)}`);

  const seededT: Target = {
    ...empty,
    key: name,
    label: `Clavis (${db}, seeded)`,
    proc: await startClavis(name, url, { CLAVIS_PURGE_INTERVAL: '86400' }, [], port),
    na: {},
    mintRefresh: undefined,
    refreshClient: undefined,
  };
  cleanups.push(() => seededT.proc.stop());
  if (!quick) await setupRefreshSource(seededT, url, false);
  // Two chains of refresh tokens: one for the light load, one for the saturating load after it.
  const pool = seededT.mintRefresh ? await seededT.mintRefresh(connections * 2) : undefined;
  const pool2 = seededT.mintRefresh ? await seededT.mintRefresh(connections * 2) : undefined;
  await seededT.proc.stop();

  // 2. The purge under load.
  const handle = await openBenchDb(url);
  const countAt = Date.now();
  const expired = async () =>
    Number(
      (
        await handle.db
          .selectFrom('refresh_tokens')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('expires_at', '<', countAt)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const purge: Record<string, unknown> = {};
  try {
    const before = await expired();
    purge.expiredBefore = before;
    const spawnAt = Date.now();
    const p = await startClavis(
      name,
      url,
      { CLAVIS_PURGE_INTERVAL: String(PURGE_INTERVAL_S), LOG_LEVEL: 'info' },
      [],
      port,
    );
    seededT.proc = p;
    const jobFor = async (refreshTokens: string[] | undefined) =>
      refreshTokens
        ? { ...(await refreshJob({ ...seededT, mintRefresh: async () => refreshTokens })), refreshTokens }
        : ccJob(seededT);
    // A few connections: each request finds at most a few others ahead of it, so its latency is what the
    // purge holds it up for. With 32 connections latency is mostly queueing (the refresh p99 is 20-35 ms at
    // saturation with no purge at all); that load follows, and is reported.
    const light = PURGE_LIGHT_CONNECTIONS;
    const loadSeconds = Math.max(10, 2 * duration);
    const cap = quick ? 120 : 900;
    const fixed = startLoad(
      { ...(await jobFor(pool)), connections: light, duration: cap, timeline: true, stopOnStdin: true },
      p.pid,
    );
    let lastFull = spawnAt;
    let startedAt: number | undefined;
    let doneAt: number | undefined;
    let fixedStoppedAt: number | undefined;
    let saturated: ReturnType<typeof startLoad> | undefined;
    let saturatedFrom: number | undefined;
    let saturatedStoppedAt: number | undefined;
    const t0 = Date.now();
    while (Date.now() - t0 < cap * 1000) {
      const line = p
        .output()
        .split('\n')
        .find((l) => l.includes('purged expired rows'));
      if (line) {
        doneAt = Number((JSON.parse(line) as { time?: number }).time ?? Date.now());
        break;
      }
      if (p.exitCode() !== null) break;
      if (startedAt === undefined) {
        const n = await expired();
        if (n >= before) lastFull = Date.now();
        else startedAt = Math.max(lastFull, spawnAt + PURGE_INTERVAL_S * 1000);
      }
      // The light load through the first `loadSeconds` of the purge, then the saturating load as long again.
      if (
        startedAt !== undefined &&
        fixedStoppedAt === undefined &&
        Date.now() - startedAt > loadSeconds * 1000
      ) {
        fixed.stop();
        await fixed.done.catch(() => {});
        fixedStoppedAt = Date.now();
        saturated = startLoad(
          { ...(await jobFor(pool2)), duration: cap, timeline: true, stopOnStdin: true },
          p.pid,
        );
        saturatedFrom = Date.now();
      }
      if (
        saturatedFrom !== undefined &&
        saturatedStoppedAt === undefined &&
        Date.now() - saturatedFrom > loadSeconds * 1000
      ) {
        saturated!.stop();
        saturatedStoppedAt = Date.now();
      }
      await sleep(startedAt !== undefined ? 100 : 500);
    }
    if (fixedStoppedAt === undefined) {
      await sleep(300);
      fixed.stop();
      fixedStoppedAt = Date.now();
    }
    if (saturated && saturatedStoppedAt === undefined) {
      saturated.stop();
      saturatedStoppedAt = Date.now();
    }
    const res = await fixed.done;
    const sat = saturated ? await saturated.done : undefined;
    const from = startedAt ?? Math.max(lastFull, spawnAt + PURGE_INTERVAL_S * 1000);
    const to = Math.min(doneAt ?? Date.now(), fixedStoppedAt);
    const within = (r: RunResult, a: number, b: number) =>
      (r.latency ?? []).filter((_, i) => r.at![i]! >= a && r.at![i]! <= b);
    const inWindow = within(res, from, to);
    // The same load before the purge began (the server's first seconds, after a second of warm-up).
    const beforeWindow = within(res, spawnAt + 1000, from - 1);
    const satWindow =
      sat && saturatedFrom !== undefined
        ? within(sat, saturatedFrom + 1000, Math.min(doneAt ?? Date.now(), saturatedStoppedAt!))
        : [];
    const left = await expired();
    const pct = (xs: number[], q: number) => (xs.length ? percentile(xs, q) : null);
    const ok = res.ok && (sat?.ok ?? true);
    Object.assign(purge, {
      load: pool ? 'refresh_token rotation' : 'client_credentials',
      connections: light,
      finished: doneAt !== undefined,
      purgeSeconds: +(((doneAt ?? Date.now()) - from) / 1000).toFixed(1),
      loadedSeconds: +((to - from) / 1000).toFixed(1),
      expiredLeft: left,
      requestsInWindow: inWindow.length,
      p50InWindowMs: pct(inWindow, 50),
      p99InWindowMs: pct(inWindow, 99),
      maxInWindowMs: inWindow.length ? Math.max(...inWindow) : null,
      beforePurge: { requests: beforeWindow.length, p50: pct(beforeWindow, 50), p99: pct(beforeWindow, 99) },
      saturated: {
        requests: satWindow.length,
        seconds:
          saturatedFrom !== undefined
            ? +((Math.min(doneAt ?? Date.now(), saturatedStoppedAt!) - saturatedFrom - 1000) / 1000).toFixed(
                1,
              )
            : 0,
        p50: pct(satWindow, 50),
        p99: pct(satWindow, 99),
        max: satWindow.length ? Math.max(...satWindow) : null,
      },
      wholeRun: { requests: res.requests, rps: +res.rps.toFixed(0), p99: res.p99, ok: res.ok },
      ok,
      note: ok
        ? undefined
        : [res, sat]
            .filter((r): r is RunResult => !!r && !r.ok)
            .map(
              (r) =>
                `non2xx=${r.non2xx} errors=${r.errors} timeouts=${r.timeouts} bad=${r.mismatches} ${r.sample ?? ''}`,
            )
            .join('; '),
    });
    log(
      `  purge on ${db}: ${purge.finished ? 'finished' : 'NOT finished'} in ${purge.purgeSeconds} s, ${left} expired left; token p99 during purge at ${light} connections ${purge.p99InWindowMs} ms (before ${JSON.stringify(purge.beforePurge)}; max ${purge.maxInWindowMs} ms, ${inWindow.length} requests); saturated ${JSON.stringify(purge.saturated)}`,
    );
    await p.stop();
  } finally {
    await handle.close();
  }

  // `--seeded --only=purge`: the seeding and the purge under load, without the comparison.
  if (partial) return { seed, purge, scenarios: {} as Record<string, SeededScenario> };

  // 3. Every scenario, seeded against empty. On PostgreSQL, after autovacuum has cleaned up after the purge's
  // 2M deleted rows (a one-time cost of the mass purge, not the steady state the comparison is about).
  if (db === 'PostgreSQL') {
    purge.autovacuumWait = await waitForAutovacuum(url, AUTOVACUUM_WAIT_CAP_S);
    log(`  autovacuum after the purge: ${JSON.stringify(purge.autovacuumWait)}`);
  }
  seededT.proc = await startClavis(name, url, {}, [], port);
  const emptyT: Target = { ...empty, label: `Clavis (${db}, empty)` };
  const scenarios: Record<string, SeededScenario> = {};
  const list: Array<[string, string, (t: Target, seconds?: number) => LoadJob | Promise<LoadJob>]> = [
    ['client_credentials', 'cc', ccJob],
    ['client_credentials_resource', 'cc-resource', ccResourceJob],
    ['introspection', 'introspect', introspectJob],
  ];
  if (!quick) list.push(['refresh_token', 'refresh', refreshJob]);
  for (const [key, scenario, job] of list) {
    log(`\n== ${key}: ${db} seeded vs empty`);
    const rows = await loadScenario(scenario, [emptyT, seededT], job);
    scenarios[key] = { rows, seededOverEmpty: roundRatio(rows[1], rows[0]) };
  }
  await seededT.proc.stop();
  return { seed, purge, scenarios };
}

/** Median over rounds of a.rps / b.rps (same round, same drift); null when either has no runs. */
function roundRatio(a?: ScenarioRow, b?: ScenarioRow): number | null {
  const n = Math.min(a?.runs.length ?? 0, b?.runs.length ?? 0);
  if (!n || a?.status !== 'ok' || b?.status !== 'ok') return null;
  return median(Array.from({ length: n }, (_, i) => a.runs[i]!.rps / b.runs[i]!.rps));
}

// ------------------------------------------------------------------------------------------ load runs
interface RunResult extends LoadResult {
  peakRss: number;
  ok: boolean;
}

function runLoad(job: LoadJob, pid: number): Promise<RunResult> {
  return startLoad(job, pid).done;
}

/** Starts a load process; `stop()` ends a `stopOnStdin` job early. */
function startLoad(job: LoadJob, pid: number): { done: Promise<RunResult>; stop(): void } {
  let stop = () => {};
  const done = new Promise<RunResult>((res, rej) => {
    const sampler = rssSampler(pid);
    const child = spawn(process.execPath, [join(benchDir, 'load.js'), JSON.stringify(job)], {
      stdio: [job.stopOnStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    stop = () => {
      if (child.exitCode === null) child.stdin?.end('stop\n');
    };
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (err += d));
    child.on('exit', (code) => {
      const peakRss = sampler.stop();
      try {
        const r = JSON.parse(out.trim().split('\n').pop() ?? '') as LoadResult;
        const ok =
          r.requests > 0 && r.non2xx === 0 && r.errors === 0 && r.timeouts === 0 && r.mismatches === 0;
        res({ ...r, peakRss, ok });
      } catch {
        rej(new Error(`load generator failed (exit ${code}): ${err.slice(-1000)}`));
      }
    });
  });
  return { done, stop: () => stop() };
}

function ccJob(t: Target, seconds = duration): LoadJob {
  return {
    url: t.proc.url,
    path: '/oauth/token',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(t.clientId, t.secret),
    },
    body: `grant_type=client_credentials&scope=${encodeURIComponent(t.scope)}`,
    connections,
    duration: seconds,
    kind: 'token',
  };
}

async function introspectJob(t: Target, seconds = duration): Promise<LoadJob> {
  const r = await postForm(
    `${t.proc.url}/oauth/token`,
    { grant_type: 'client_credentials', scope: t.scope },
    { authorization: basic(t.clientId, t.secret) },
  );
  const token = r.json?.access_token;
  if (typeof token !== 'string')
    throw new Error(`could not get a token to introspect: ${r.status} ${r.text.slice(0, 200)}`);
  const check = await postForm(
    `${t.proc.url}/oauth/introspect`,
    { token },
    { authorization: basic(t.clientId, t.secret) },
  );
  if (check.status !== 200 || check.json?.active !== true)
    throw new Error(`n/a: introspection of its JWT gives ${check.status} ${check.text.slice(0, 160)}`);
  return {
    url: t.proc.url,
    path: '/oauth/introspect',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(t.clientId, t.secret),
    },
    body: `token=${encodeURIComponent(token)}`,
    connections,
    duration: seconds,
    kind: 'introspect',
  };
}

async function refreshJob(t: Target, seconds = duration): Promise<LoadJob> {
  if (!t.mintRefresh || !t.refreshClient) throw new Error(t.na.refresh ?? 'n/a: grant not supported');
  const pool = await t.mintRefresh(connections * 2);
  return {
    url: t.proc.url,
    path: '/oauth/token',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(t.refreshClient.clientId, t.refreshClient.secret),
    },
    body: 'grant_type=refresh_token',
    connections,
    duration: seconds,
    kind: 'refresh',
    refreshTokens: pool,
  };
}

interface ScenarioRow {
  target: string;
  role: Role;
  status: 'ok' | 'failed' | 'n/a';
  note?: string;
  runs: RunResult[];
  rps?: number;
  p50?: number;
  p99?: number;
  peakRssMB?: number;
  vsPeer?: number;
  vsLimit?: number;
}

async function loadScenario(
  name: string,
  targets: Target[],
  makeJob: (t: Target, seconds?: number) => LoadJob | Promise<LoadJob>,
  nRounds = rounds,
): Promise<ScenarioRow[]> {
  const rows = new Map<string, ScenarioRow>(
    targets.map((t) => [t.key, { target: t.label, role: t.role, status: 'ok', runs: [] }]),
  );
  const jobs = new Map<string, LoadJob>();
  for (const t of targets) {
    const row = rows.get(t.key)!;
    if (t.na[name]) {
      row.status = 'n/a';
      row.note = t.na[name]!.replace(/^n\/a: /, '');
      continue;
    }
    try {
      jobs.set(t.key, await makeJob(t));
    } catch (e) {
      const msg = (e as Error).message;
      row.status = msg.startsWith('n/a') ? 'n/a' : 'failed';
      row.note = msg + died(t);
    }
  }
  for (let r = 0; r < nRounds; r++) {
    for (const t of targets) {
      const row = rows.get(t.key)!;
      const base = jobs.get(t.key);
      if (!base || row.status !== 'ok') continue;
      const job = name === 'refresh' && r > 0 ? await makeJob(t) : base;
      // Round 1 warms each server up (JIT, pools, caches) inside the same load process, unrecorded.
      const res = await runLoad(r === 0 ? { ...job, warmup: quick ? 0.5 : 2 } : job, t.proc.pid);
      row.runs.push(res);
      log(
        `  ${name} round ${r + 1} ${t.label}: ${res.rps.toFixed(0)} req/s p50 ${res.p50} ms p99 ${res.p99} ms${res.ok ? '' : ` FAILED non2xx=${res.non2xx} errors=${res.errors} timeouts=${res.timeouts} mismatches=${res.mismatches} ${res.sample ?? ''}`}`,
      );
      if (!res.ok) {
        row.status = 'failed';
        row.note =
          died(t) +
          `non2xx=${res.non2xx} errors=${res.errors} timeouts=${res.timeouts} bad=${res.mismatches} ${res.sample ?? ''}`.trim();
      }
    }
  }
  for (const row of rows.values()) {
    if (row.runs.length === 0) continue;
    row.rps = median(row.runs.map((x) => x.rps));
    row.p50 = median(row.runs.map((x) => x.p50));
    row.p99 = median(row.runs.map((x) => x.p99));
    row.peakRssMB = Math.max(...row.runs.map((x) => x.peakRss)) / 2 ** 20;
  }
  // Ratios: medians over rounds of the per-round ratio (same round = same drift).
  const peer = targets.find((t) => t.role === 'peer');
  const limit = targets.find((t) => t.role === 'limit');
  for (const t of targets) {
    if (t.role !== 'clavis') continue;
    const row = rows.get(t.key)!;
    const ratio = (other?: Target) => {
      const o = other && rows.get(other.key);
      if (!o || o.runs.length === 0 || row.runs.length === 0 || o.status !== 'ok') return undefined;
      const n = Math.min(o.runs.length, row.runs.length);
      return median(Array.from({ length: n }, (_, i) => row.runs[i]!.rps / o.runs[i]!.rps));
    };
    row.vsPeer = ratio(peer);
    row.vsLimit = ratio(limit);
  }
  return [...rows.values()];
}

/** When a server process has died, says so with the tail of its output (also logged in full). */
function died(t: Target): string {
  const code = t.proc.exitCode();
  if (code === null) return '';
  log(`${t.label} EXITED with code ${code}; its output:\n${t.proc.output().slice(-4000)}`);
  return ` [server exited ${code}: ${t.proc.output().trim().split('\n').slice(-2).join(' / ').slice(0, 300)}] `;
}

// ------------------------------------------------------------------------------------------ targets
interface Goal {
  target: string;
  goal: string;
  measured: string;
  met: boolean | null;
}

type SeededResult = Awaited<ReturnType<typeof seededDb>>;

/** The seeded databases' section: seeding, the purge under load, and each scenario seeded against empty. */
function seededMarkdown(seeded: Record<string, unknown>): string {
  const out: string[] = [];
  const scaled = seeded.scaled
    ? ` — **SCALED ×${seeded.scale}: not the issue's amounts (100k apps, 1M live + 2M expired refresh tokens)**`
    : '';
  for (const db of ['SQLite', 'PostgreSQL']) {
    const r = seeded[db] as SeededResult | string | undefined;
    if (r === undefined) continue;
    out.push(`### seeded ${db} database${scaled}`, '');
    if (typeof r === 'string') {
      out.push(r, '');
      continue;
    }
    const c = r.seed.counts as Record<string, number>;
    out.push(
      `- seeded in ${r.seed.wallSeconds} s: ${c.apps} apps (one secret each), ${c.users} users, ${c.apis} APIs × 20 scopes, ${c.permissionApps} apps with a permission on one, ${c.grants} grants, ${c.liveRefreshTokens} live + ${c.expiredRefreshTokens} expired refresh tokens`,
    );
    const pu = r.purge as Record<string, unknown> & {
      beforePurge?: Record<string, number | null>;
      saturated?: Record<string, number | null>;
    };
    out.push(
      `- purge under load (${pu.load}): ${pu.finished ? 'finished' : '**not finished**'} in ${pu.purgeSeconds} s, ${pu.expiredBefore} expired rows before, ${pu.expiredLeft} left; token endpoint at ${pu.connections} connections during the first ${pu.loadedSeconds} s of the purge: p50 ${pu.p50InWindowMs} ms, p99 ${pu.p99InWindowMs} ms, max ${pu.maxInWindowMs} ms over ${pu.requestsInWindow} requests (the same load before the purge: p50 ${pu.beforePurge?.p50} ms, p99 ${pu.beforePurge?.p99} ms over ${pu.beforePurge?.requests}); then at ${connections} connections for ${pu.saturated?.seconds} s: p50 ${pu.saturated?.p50} ms, p99 ${pu.saturated?.p99} ms, max ${pu.saturated?.max} ms over ${pu.saturated?.requests} requests${pu.ok === false ? ` — **FAILED: ${pu.note}**` : ''}${pu.autovacuumWait ? `; then waited ${JSON.stringify(pu.autovacuumWait)} for autovacuum before the comparison` : ''}`,
      '',
      '| scenario | empty req/s | seeded req/s | empty p99 ms | seeded p99 ms | seeded / empty | status |',
      '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    );
    for (const [k, v] of Object.entries(r.scenarios)) {
      const [e, sd] = v.rows;
      const status = v.rows
        .filter((x) => x.status !== 'ok')
        .map((x) => `${x.target}: ${x.status}${x.note ? ` ${x.note.replace(/\|/g, '/').slice(0, 100)}` : ''}`)
        .join('; ');
      out.push(
        `| ${k} | ${fmt(e?.rps)} | ${fmt(sd?.rps)} | ${fmt(e?.p99, 1)} | ${fmt(sd?.p99, 1)} | ${v.seededOverEmpty === null ? '—' : `${formatAgreeing(v.seededOverEmpty, (x) => x >= 0.9, 3)}×`} | ${status || 'ok'} |`,
      );
    }
    out.push('');
  }
  return out.join('\n').trimEnd();
}

/** The issues' targets against this run's medians (null: not measured in this run). */
function targetTable(
  results: Record<string, unknown>,
  scenarios: Record<string, ScenarioRow[]>,
): { rows: Goal[]; markdown: string } {
  const rows: Goal[] = [];
  /** A target row; without `ok` it is a figure reported beside the targets, and its "met" column says "—". */
  const add = (
    target: string,
    goal: string,
    value: number | undefined | null,
    ok: ((v: number) => boolean) | null,
    d = 2,
    unit = '×',
  ) => {
    const measured = value !== undefined && value !== null && !Number.isNaN(value);
    rows.push({
      target,
      goal,
      measured: measured ? `${formatAgreeing(value, ok ?? (() => true), d)}${unit}` : 'not measured',
      met: measured && ok ? ok(value) : null,
    });
  };
  const report = (target: string, value: number | undefined | null, d = 2, unit = '×') =>
    add(target, '—', value, null, d, unit);
  const row = (scenario: string, db: string) =>
    (scenarios[scenario] ?? []).find((r) => r.target === `Clavis (${db})`);
  const DBS = ['SQLite', 'PostgreSQL'] as const;
  const cc = {
    SQLite: row('client_credentials', 'SQLite'),
    PostgreSQL: row('client_credentials', 'PostgreSQL'),
  };

  // Issue 17.
  add(
    'refresh_token with rotation, SQLite / node-oidc-provider',
    '≥ 1.5×',
    row('refresh_token', 'SQLite')?.vsPeer,
    (v) => v >= 1.5,
  );
  add(
    'refresh_token with rotation, PostgreSQL / node-oidc-provider',
    '≥ 1.0×',
    row('refresh_token', 'PostgreSQL')?.vsPeer,
    (v) => v >= 1.0,
  );
  add(
    'client_credentials, PostgreSQL / SQLite',
    '≥ 0.95×',
    roundRatio(cc.PostgreSQL, cc.SQLite),
    (v) => v >= 0.95,
  );
  for (const db of DBS)
    add(`introspection, ${db} / bare limit`, '≥ 0.9×', row('introspection', db)?.vsLimit, (v) => v >= 0.9);
  const startup = results.startup as
    | {
        npmStart?: { medianReadyMs?: number };
        sqlite?: { medianExistingDbReadyMs?: number; idleRssMB?: number };
        postgres?: { idleRssMB?: number };
      }
    | undefined;
  add(
    '`npm start` on a built tree to ready (median)',
    '≤ 1500 ms',
    startup?.npmStart?.medianReadyMs,
    (v) => v <= 1500,
    0,
    ' ms',
  );
  add('idle RSS (SQLite)', '≤ 60 MB', startup?.sqlite?.idleRssMB, (v) => v <= 60, 0, ' MB');
  add('idle RSS (PostgreSQL)', '≤ 60 MB', startup?.postgres?.idleRssMB, (v) => v <= 60, 0, ' MB');
  const seeded = results.seeded as Record<string, SeededResult | string | boolean | number> | undefined;
  const scaled = seeded?.scaled ? ` [SCALED ×${seeded.scale}]` : '';
  const SEEDED_LABEL: Record<string, string> = {
    client_credentials: 'client_credentials',
    client_credentials_resource:
      'client_credentials resource= (issue 14: 1,000 APIs × 20 scopes, 10,000 apps with permissions)',
    introspection: 'introspection',
    refresh_token: 'refresh_token with rotation',
  };
  for (const db of DBS) {
    const r = seeded?.[db];
    const sr = typeof r === 'object' ? r : undefined;
    for (const [key, label] of Object.entries(SEEDED_LABEL))
      add(
        `seeded / empty, ${label}, ${db}${scaled}`,
        '≥ 0.90×',
        sr?.scenarios[key]?.seededOverEmpty,
        (v) => v >= 0.9,
        3,
      );
    const pu = sr?.purge as
      | {
          p99InWindowMs?: number | null;
          finished?: boolean;
          expiredLeft?: number;
          saturated?: { p99?: number | null };
        }
      | undefined;
    add(
      `token endpoint p99 during the purge of expired refresh tokens, ${PURGE_LIGHT_CONNECTIONS} connections, ${db}${scaled}`,
      '≤ 20 ms',
      pu?.p99InWindowMs,
      (v) => v <= 20,
      0,
      ' ms',
    );
    report(
      `token endpoint p99 during the purge, ${connections} connections (reported: queueing makes it 20-35 ms with no purge), ${db}${scaled}`,
      pu?.saturated?.p99,
      0,
      ' ms',
    );
    add(
      `purge finished during the run: expired refresh tokens left, ${db}${scaled}`,
      '0',
      pu ? (pu.finished ? pu.expiredLeft : (pu.expiredLeft ?? null)) : null,
      (v) => v === 0 && pu?.finished === true,
      0,
      '',
    );
  }
  add(
    'refresh_token p99 at 32 connections, PostgreSQL',
    '< 50 ms',
    connections === 32 ? row('refresh_token', 'PostgreSQL')?.p99 : null,
    (v) => v < 50,
    0,
    ' ms',
  );

  // Issue 14.
  for (const db of DBS)
    add(
      `client_credentials with resource= / without (${db})`,
      '≥ 0.95×',
      roundRatio(row('client_credentials_resource', db), cc[db]),
      (v) => v >= 0.95,
    );

  // Issue 15.
  const authCode = results.authorizationCode as
    | Record<string, { exchangeP50?: { openidOverPlain?: number } } | string>
    | undefined;
  for (const [db, key] of [
    ['SQLite', 'clavis-sqlite'],
    ['PostgreSQL', 'clavis-pg'],
  ] as const) {
    const a = authCode?.[key];
    add(
      `code exchange with openid / without (${db})`,
      '≤ 1.25×',
      typeof a === 'object' ? a.exchangeP50?.openidOverPlain : null,
      (v) => v <= 1.25,
    );
  }

  // Earlier targets that still apply.
  add('client_credentials, SQLite / bare limit', '≥ 0.75×', cc.SQLite?.vsLimit, (v) => v >= 0.75);
  add('client_credentials, SQLite / node-oidc-provider', '≥ 2×', cc.SQLite?.vsPeer, (v) => v >= 2);
  add(
    'client_credentials p99 at 32 connections (SQLite)',
    '< 20 ms',
    connections === 32 ? cc.SQLite?.p99 : null,
    (v) => v < 20,
    0,
    ' ms',
  );
  const verifier = results.verifier as { sdkVsRaw?: number } | undefined;
  add(
    'SDK verifier / jose.jwtVerify',
    '≥ 0.9×',
    typeof verifier === 'object' ? verifier?.sdkVsRaw : null,
    (v) => v >= 0.9,
  );
  add(
    '`clavis serve` to ready, existing SQLite database',
    '≤ 1000 ms',
    startup?.sqlite?.medianExistingDbReadyMs,
    (v) => v <= 1000,
    0,
    ' ms',
  );
  const scaling = results.scaling as { w2OverW1?: number } | string | undefined;
  report(
    'cluster: 2 workers / 1 worker (reported, no target)',
    typeof scaling === 'object' ? scaling?.w2OverW1 : null,
  );
  const markdown = [
    '### targets',
    '',
    '| target | goal | measured | met |',
    '| --- | --- | ---: | --- |',
    ...rows.map(
      (g) =>
        `| ${g.target} | ${g.goal} | ${g.measured} | ${g.met === null ? '—' : g.met ? 'yes' : '**no**'} |`,
    ),
  ].join('\n');
  return { rows, markdown };
}

/** Replaces the README's Performance block (between the bench markers) with this run's tables. */
function updateReadme(markdown: string): void {
  const path = join(repoRoot, 'README.md');
  const readme = readFileSync(path, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a === -1 || b < a) {
    log('README.md has no bench markers; not updated');
    return;
  }
  const body = markdown.replace(/^### /gm, '#### ');
  writeFileSync(path, `${readme.slice(0, a + start.length)}\n${body}\n${readme.slice(b)}`);
  // Biome (npm run lint) checks Markdown too: align the tables as it would, so the README passes as written.
  const biome = join(repoRoot, 'node_modules', '.bin', 'biome');
  const formatted = spawnSync(biome, ['format', '--write', path], { cwd: repoRoot, encoding: 'utf8' });
  if (formatted.status !== 0) log(`biome format README.md failed: ${formatted.stderr || formatted.error}`);
  log('README.md Performance section updated');
}

// ------------------------------------------------------------------------------------- output helpers
const fmt = (n: number | undefined, d = 0) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(d));
/** A ratio column: "0.97×", or "—" when there is nothing to compare with. */
const ratioCell = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '—' : `${n.toFixed(2)}×`);

function table(title: string, rows: ScenarioRow[]): string {
  const lines = [
    `### ${title}`,
    '',
    '| server | req/s | p50 ms | p99 ms | peak RSS MB | Clavis/peer | Clavis/limit | status |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of rows)
    lines.push(
      `| ${r.target} | ${fmt(r.rps)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${fmt(r.peakRssMB)} | ${r.role === 'clavis' ? ratioCell(r.vsPeer) : ''} | ${r.role === 'clavis' ? ratioCell(r.vsLimit) : ''} | ${r.status}${r.note ? `: ${r.note.replace(/\|/g, '/').replace(/\s+/g, ' ').slice(0, 140)}` : ''} |`,
    );
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------- verifier
async function verifierScenario(t: Target): Promise<Record<string, unknown>> {
  const jose = await import('jose');
  const d = await discovery(t.proc.url);
  const r = await postForm(
    `${t.proc.url}/oauth/token`,
    { grant_type: 'client_credentials', scope: t.scope },
    { authorization: basic(t.clientId, t.secret) },
  );
  const token = String(r.json?.access_token);
  const claims = jose.decodeJwt(token);
  const jwks = (await (await fetch(String(d.jwks_uri))).json()) as { keys: unknown[] };
  const keySet = jose.createLocalJWKSet(jwks as Parameters<typeof jose.createLocalJWKSet>[0]);
  const issuer = String(d.issuer);
  const audience = String(Array.isArray(claims.aud) ? claims.aud[0] : claims.aud);
  const raw = async () => {
    await jose.jwtVerify(token, keySet, { issuer, audience, typ: 'at+jwt', algorithms: ['ES256'] });
  };
  let sdk: (() => Promise<unknown>) | null = null;
  let sdkNote = '';
  try {
    const mod = (await import('@clavis/client' as string)) as Record<string, unknown>;
    const create = mod.createVerifier as ((o: Record<string, unknown>) => unknown) | undefined;
    if (typeof create !== 'function') throw new Error('@clavis/client has no createVerifier export');
    const v = (await create({ issuer, audience, jwksUri: d.jwks_uri, jwks_uri: d.jwks_uri })) as
      | ((tok: string) => Promise<unknown>)
      | { verify: (tok: string) => Promise<unknown> };
    const call = typeof v === 'function' ? () => v(token) : () => v.verify(token);
    await call();
    sdk = call;
  } catch (e) {
    sdkNote = `n/a: SDK verifier not usable: ${(e as Error).message.slice(0, 160)}`;
  }
  const bench = async (fn: () => Promise<unknown>, ms: number) => {
    const end = performance.now() + ms;
    let n = 0;
    while (performance.now() < end) {
      for (let i = 0; i < 100; i++) await fn();
      n += 100;
    }
    return (n / ms) * 1000;
  };
  const ms = quick ? 500 : 2000;
  await bench(raw, 300);
  if (sdk) await bench(sdk, 300);
  const rawOps: number[] = [];
  const sdkOps: number[] = [];
  for (let i = 0; i < rounds; i++) {
    rawOps.push(await bench(raw, ms));
    if (sdk) sdkOps.push(await bench(sdk, ms));
  }
  return {
    rawJoseOpsPerSec: median(rawOps),
    sdkOpsPerSec: sdk ? median(sdkOps) : null,
    sdkVsRaw: sdk ? median(sdkOps.map((s, i) => s / rawOps[i]!)) : null,
    note: sdkNote || undefined,
  };
}

// ------------------------------------------------------------------------------------------- main
async function main(): Promise<number> {
  const t0 = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'clavis-bench-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    machine: {
      cpu: cpuModel(),
      cores: cpus().length,
      memoryGB: +(totalmem() / 2 ** 30).toFixed(1),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
    },
    settings: { connections, duration, rounds, loadGenerator: 'autocannon 8 (own process)' },
    loadAverageAtStart: loadavg(),
  };
  let failed = false;
  const targets: Target[] = [];
  const dbUrls = new Map<string, string>();

  const startup: Record<string, unknown> = {};
  results.startup = startup;
  // `npm start` as a user runs it, before any server runs (its own database).
  if (!quick && !partial) startup.npmStart = await measureNpmStart(`sqlite:${join(work, 'npm-start.db')}`, 5);
  const restarts = quick || partial ? 0 : 3;
  const slots: Array<Target | undefined> = [];

  // Clavis on SQLite.
  const sqliteUrl = `sqlite:${join(work, 'clavis.db')}`;
  const startSqlite = async () => {
    const sq = await startClavisMeasured('clavis-sqlite', sqliteUrl, restarts);
    cleanups.push(() => sq.proc.stop());
    dbUrls.set('clavis-sqlite', sqliteUrl);
    startup.sqlite = {
      firstStartMs: +sq.firstStartMs.toFixed(0),
      existingDbReadyMs: sq.readyMs.map((x) => +x.toFixed(0)),
      medianExistingDbReadyMs: sq.readyMs.length ? +median(sq.readyMs).toFixed(0) : null,
      idleRssMB: +(sq.idleRss / 2 ** 20).toFixed(1),
    };
    slots[0] = {
      key: 'clavis-sqlite',
      label: 'Clavis (SQLite)',
      role: 'clavis',
      proc: sq.proc,
      clientId: 'bench-client',
      secret: benchSecret,
      scope: 'clavis:apps',
      na: {},
    };
  };

  // Clavis on PostgreSQL, when reachable (a fresh database, dropped at the end).
  const startPg = async () => {
    if (!usePg) return;
    try {
      const pgUrl = await createPgDatabase('');
      const p = await startClavisMeasured('clavis-pg', pgUrl, restarts);
      cleanups.push(() => p.proc.stop());
      dbUrls.set('clavis-pg', pgUrl);
      startup.postgres = {
        firstStartMs: +p.firstStartMs.toFixed(0),
        existingDbReadyMs: p.readyMs.map((x) => +x.toFixed(0)),
        medianExistingDbReadyMs: p.readyMs.length ? +median(p.readyMs).toFixed(0) : null,
        idleRssMB: +(p.idleRss / 2 ** 20).toFixed(1),
      };
      slots[1] = {
        key: 'clavis-pg',
        label: 'Clavis (PostgreSQL)',
        role: 'clavis',
        proc: p.proc,
        clientId: 'bench-client',
        secret: benchSecret,
        scope: 'clavis:apps',
        na: {},
      };
    } catch (e) {
      log(`PostgreSQL not used: ${(e as Error).message}`);
      results.postgres = `n/a: ${(e as Error).message}`;
    }
  };

  // Peer and limit.
  const startPeer = async () => {
    const peer = await startProcess(
      'peer',
      [join(benchDir, 'peer-oidc-provider.js')],
      { BENCH_CLIENT_ID: 'bench-client', BENCH_CLIENT_SECRET: benchSecret },
      await freePort(),
    );
    cleanups.push(() => peer.stop());
    slots[2] = {
      key: 'peer',
      label: 'node-oidc-provider 9',
      role: 'peer',
      proc: peer,
      clientId: 'bench-client',
      secret: benchSecret,
      scope: 'api:read',
      na: { introspect: 'n/a: node-oidc-provider refuses to introspect structured (JWT) access tokens' },
      mintRefresh: (n) => mintViaEndpoint(peer.url, n),
      refreshClient: { clientId: 'bench-client', secret: benchSecret },
    };
  };
  const startLimit = async () => {
    const lim = await startProcess(
      'limit',
      [join(benchDir, 'bare-limit.js')],
      { BENCH_CLIENT_ID: 'bench-client', BENCH_CLIENT_SECRET: benchSecret },
      await freePort(),
    );
    cleanups.push(() => lim.stop());
    slots[3] = {
      key: 'limit',
      label: 'bare limit (node:http+crypto)',
      role: 'limit',
      proc: lim,
      clientId: 'bench-client',
      secret: benchSecret,
      scope: 'api:read',
      na: {},
      mintRefresh: (n) => mintViaEndpoint(lim.url, n),
      refreshClient: { clientId: 'bench-client', secret: benchSecret },
    };
  };
  const starters = (
    [
      ['sqlite', startSqlite],
      ['pg', startPg],
      ['peer', startPeer],
      ['limit', startLimit],
    ] as const
  )
    .filter(([name]) => wanted(name))
    .map(([, start]) => start);
  // Quick mode starts all four at once to fit its time budget; the full run starts them one by one so the
  // start-to-ready times are not inflated by each other.
  if (quick) await Promise.all(starters.map((f) => f()));
  else for (const f of starters) await f();
  for (const t of slots) if (t) targets.push(t);
  // `--base=DIR`: the same Clavis servers from another built tree (say a worktree of the last commit), each
  // on a database of its own, measured in the same rounds: an interleaved A/B of two builds.
  if (baseDir) {
    const baseMain = join(resolve(baseDir), 'dist', 'bin', 'clavis.js');
    for (const t of targets.filter((x) => x.role === 'clavis')) {
      const url =
        t.key === 'clavis-pg' ? await createPgDatabase('_base') : `sqlite:${join(work, 'clavis-base.db')}`;
      const port = await freePort();
      const proc = await startProcess(`${t.key}-base`, [baseMain, 'serve'], clavisEnv(port, url), port);
      cleanups.push(() => proc.stop());
      dbUrls.set(`${t.key}-base`, url);
      targets.push({ ...t, key: `${t.key}-base`, label: `${t.label} [base]`, proc, na: {} });
    }
  }
  for (const t of targets)
    log(`${t.label}: pid ${t.proc.pid}, ${t.proc.url}, ready in ${t.proc.readyMs.toFixed(0)} ms`);

  const scenarios: Record<string, ScenarioRow[]> = {};
  const md: string[] = [];

  // Authorization code (Clavis only): set up first, since the refresh scenario needs its refresh tokens.
  const authCode: Record<string, unknown> = {};
  if (!quick && runs('refresh')) {
    for (const t of targets.filter((x) => x.role === 'clavis'))
      authCode[t.key] = await setupRefreshSource(t, dbUrls.get(t.key)!, !partial);
    results.authorizationCode = authCode;
  }

  if (runs('cc')) {
    log('\n== client_credentials');
    scenarios.client_credentials = await loadScenario('cc', targets, ccJob);
  }
  if (runs('cc-resource')) log('\n== client_credentials with resource= (a custom API)');
  for (const t of runs('cc-resource') ? targets : []) {
    if (t.role !== 'clavis') {
      t.na['cc-resource'] = 'n/a: Clavis only (needs an API registered in Clavis)';
      continue;
    }
    try {
      await registerBenchApi(dbUrls.get(t.key)!);
    } catch (e) {
      t.na['cc-resource'] = `n/a: ${(e as Error).message.slice(0, 120)}`;
    }
  }
  if (runs('cc-resource'))
    scenarios.client_credentials_resource = await loadScenario('cc-resource', targets, ccResourceJob);
  if (runs('introspect')) {
    log('\n== introspection');
    scenarios.introspection = await loadScenario('introspect', targets, introspectJob);
  }
  if (!quick && runs('refresh')) {
    log('\n== refresh_token (rotation)');
    scenarios.refresh_token = await loadScenario('refresh', targets, refreshJob);
  }
  for (const rows of Object.values(scenarios)) if (rows.some((r) => r.status === 'failed')) failed = true;

  // Idle RSS after load, and peak (VmHWM) for the record.
  const memory: Record<string, unknown> = {};
  await sleep(500);
  for (const t of targets) {
    const hwm = treeHwm(t.proc.pid);
    memory[t.key] = {
      rssAfterLoadMB: +(treeRss(t.proc.pid) / 2 ** 20).toFixed(1),
      vmHwmMB: +(hwm / 2 ** 20).toFixed(1),
    };
  }
  results.memory = memory;

  // SDK verifier vs raw jose (in this process, while the servers are idle).
  if (!quick && !partial) {
    try {
      results.verifier = await verifierScenario(targets[0]!);
    } catch (e) {
      results.verifier = `failed: ${(e as Error).message}`;
    }
  }

  // Cluster scaling: only when the server really runs workers.
  if (!quick && !partial && wanted('sqlite')) {
    const w2 = await startClavis('clavis-sqlite-w2', sqliteUrl, { CLAVIS_WORKERS: '2' }).catch(
      (e: Error) => e,
    );
    if (w2 instanceof Error)
      results.scaling = `n/a: CLAVIS_WORKERS=2 did not start: ${w2.message.slice(0, 200)}`;
    else {
      await sleep(1500);
      const tree = processTree(w2.pid);
      if (tree.length < 3) {
        results.scaling = `n/a: CLAVIS_WORKERS not supported (CLAVIS_WORKERS=2 ran ${tree.length} process)`;
        await w2.stop();
      } else {
        const w1t = targets[0]!;
        const w2t: Target = { ...w1t, key: 'clavis-sqlite-w2', label: 'Clavis (SQLite) 2 workers', proc: w2 };
        const rows = await loadScenario('cc', [{ ...w1t, label: 'Clavis (SQLite) 1 worker' }, w2t], ccJob);
        await w2.stop();
        results.scaling = { rows, w2OverW1: rows[0]?.rps && rows[1]?.rps ? rows[1].rps / rows[0].rps : null };
      }
    }
  }

  // Seeded databases vs empty, and the purge under load.
  if (seeded && (!partial || runs('purge'))) {
    const seededResults: Record<string, unknown> = { scale: seedScale, scaled: seedScale !== 1 };
    for (const t of targets.filter((x) => x.role === 'clavis' && !x.key.endsWith('-base'))) {
      const db = t.key === 'clavis-pg' ? 'PostgreSQL' : 'SQLite';
      try {
        const r = await seededDb(work, t, db);
        seededResults[db] = r;
        const bad =
          r.purge.ok === false ||
          Object.values(r.scenarios).some((x) => x.rows.some((row) => row.status === 'failed'));
        if (bad) failed = true;
      } catch (e) {
        seededResults[db] = `failed: ${(e as Error).message}`;
        log(`seeded ${db} failed: ${(e as Error).stack}`);
        failed = true;
      }
    }
    results.seeded = seededResults;
  }

  results.scenarios = scenarios;
  results.failed = failed;
  results.loadAverageAtEnd = loadavg();
  results.elapsedSeconds = Math.round((Date.now() - t0) / 1000);

  md.push(
    `Clavis benchmark — ${results.date} — ${(results.machine as { cpu: string }).cpu}, ${cpus().length} cores, Node ${process.version}; ${connections} connections, ${duration} s per run, ${rounds} round(s), medians.`,
    '',
  );
  if (scenarios.client_credentials) md.push(table('client_credentials', scenarios.client_credentials), '');
  if (scenarios.client_credentials_resource)
    md.push(
      table('client_credentials with resource= (custom API)', scenarios.client_credentials_resource),
      '',
    );
  if (scenarios.introspection)
    md.push(table('introspection (JWT access token)', scenarios.introspection), '');
  if (scenarios.refresh_token) md.push(table('refresh_token with rotation', scenarios.refresh_token), '');
  if (!quick && !partial) {
    md.push('### authorization code round trip (sequential latency, ms)', '');
    for (const [k, v] of Object.entries(authCode))
      md.push(`- ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    md.push('', `### SDK verifier vs jose.jwtVerify: ${JSON.stringify(results.verifier)}`, '');
    md.push(
      `### cluster scaling: ${typeof results.scaling === 'string' ? results.scaling : `2 workers / 1 worker = ${fmt((results.scaling as { w2OverW1: number }).w2OverW1, 2)}×`}`,
      '',
    );
  }
  md.push(`### start to ready / idle RSS: ${JSON.stringify(results.startup)}`, '');
  if (results.seeded) md.push(seededMarkdown(results.seeded as Record<string, unknown>), '');
  const goals = targetTable(results, scenarios);
  results.targets = goals.rows;
  md.push(goals.markdown, '');
  md.push(
    failed
      ? '**RESULT: FAILED (errors or bad responses during a run)**'
      : 'RESULT: ok (every response checked)',
  );
  results.markdown = md.join('\n');
  if (writeReadme && !quick && !partial) updateReadme(results.markdown as string);

  mkdirSync(resolve(outPath, '..'), { recursive: true });
  writeFileSync(outPath, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${md.join('\n')}\n\nwritten ${outPath} in ${results.elapsedSeconds} s\n`);
  return failed ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  log(`bench failed: ${(e as Error).stack ?? e}`);
  code = 1;
} finally {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
}
process.exit(code);
