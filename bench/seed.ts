/**
 * Seeds a migrated, bootstrapped Clavis database (start Clavis on it once first) in bulk, with rows shaped
 * exactly as the domain writes them (src/domain/apps.ts, app-permission-store.ts, apis.ts, grant-store.ts):
 *
 * - issue 17: 100,000 apps (confidential, approved, one live secret each, `contacts:read` mirrored as a granted
 *   permission on the built-in sample API, as `syncBuiltInPermissions` writes it), owned by 10,000 users;
 *   1,000,000 redeemed grants of those users to those apps, each with a rotation chain of three refresh
 *   tokens: two rotated (used) ones that have expired and the live one, so 1,000,000 live and 2,000,000
 *   expired refresh tokens, which the purge job must clear;
 * - issue 14: 1,000 APIs of 20 scopes each, and 10,000 of the apps holding a granted permission on one of
 *   them (5 scopes). With `--bench-client=ID` the first API is the bench's own (bench/bench-api.ts) and that
 *   client holds `orders:read` on it, so the `resource=` scenario asks for a seeded API.
 *
 * Rows are generated inside the database: `INSERT … SELECT` over `WITH RECURSIVE` (SQLite) or
 * `generate_series` (PostgreSQL), a few statements of up to 1,000,000 rows each, with foreign keys checked.
 * IDs are UUID-shaped and unique (`5eedKKKK-0000-4000-8000-<n>`), hashes 43 random characters like the
 * domain's base64url HMACs.
 *
 *   node dist/bench/seed.js --db=sqlite:PATH|postgres://… [--scale=1] [--apps=100000] [--users=10000]
 *        [--apis=1000] [--permission-apps=10000] [--grants=1000000] [--bench-client=CLIENT_ID]
 *
 * `--scale=F` multiplies every count (the output says so). Prints one JSON line: counts and seconds per step.
 */
import { apiScopes, BENCH_API, BENCH_API_SCOPES } from './bench-api.js';

const argv = process.argv.slice(2);
const opt = (n: string, d: string) => argv.find((a) => a.startsWith(`--${n}=`))?.slice(n.length + 3) ?? d;
const dbUrl = opt('db', process.env.CLAVIS_DATABASE_URL ?? '');
const scale = Number(opt('scale', '1'));
const count = (name: string, def: number) => Math.max(1, Math.round(Number(opt(name, String(def))) * scale));
const N = {
  apps: count('apps', 100_000),
  users: count('users', 10_000),
  apis: count('apis', 1_000),
  permissionApps: count('permission-apps', 10_000),
  grants: count('grants', 1_000_000),
};
const SCOPES_PER_API = 20;
const PERMISSION_SCOPES = 5;
const benchClient = opt('bench-client', '');
const SAMPLE_API_ID = '00000000-0000-4000-8000-00000000a002';
const DAY = 86_400_000;
/** CLAVIS_REFRESH_TOKEN_TTL's default, in ms: a token expires this long after it was issued. */
const RT_TTL = 60 * DAY;

interface Sql {
  kind: 'sqlite' | 'postgres';
  /** Runs a statement with `?` placeholders; returns the rows changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
  one<T>(sql: string, params?: unknown[]): Promise<T | undefined>;
  close(): Promise<void>;
}

async function sqlite(path: string): Promise<Sql> {
  const { default: SQLite } = await import('better-sqlite3');
  const db = new SQLite(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('foreign_keys = ON');
  db.pragma('cache_size = -262144'); // 256 MB: the index builds of a million-row insert stay in memory
  return {
    kind: 'sqlite',
    async run(sql, params = []) {
      return db.prepare(sql).run(...params).changes;
    },
    async one<T>(sql: string, params: unknown[] = []) {
      return db.prepare(sql).get(...params) as T | undefined;
    },
    async close() {
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    },
  };
}

async function postgres(url: string): Promise<Sql> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('set synchronous_commit = off');
  await client.query(`set maintenance_work_mem = '256MB'`);
  const numbered = (sql: string) => {
    let i = 0;
    return sql.replace(/\?/g, () => `$${++i}`);
  };
  return {
    kind: 'postgres',
    async run(sql, params = []) {
      return (await client.query(numbered(sql), params)).rowCount ?? 0;
    },
    async one<T>(sql: string, params: unknown[] = []) {
      return (await client.query(numbered(sql), params)).rows[0] as T | undefined;
    },
    async close() {
      await client.end();
    },
  };
}

/** The dialect's pieces: a numbers source `seq(n)` from 0 to count-1, UUID-shaped ids, random hashes. */
function dialect(kind: Sql['kind']) {
  const pg = kind === 'postgres';
  return {
    /** `[prefix, from]`: the statement starts with prefix, and selects `FROM <from>` giving column `n`. */
    seq: (count: number): [string, string] =>
      pg
        ? ['', `generate_series(0::bigint, ${count - 1}) as seq(n)`]
        : [
            `with recursive seq(n) as (select 0 union all select n + 1 from seq where n < ${count - 1}) `,
            'seq',
          ],
    /** A unique UUID-shaped id for row `expr` of kind `k`. */
    id: (k: number, expr: string) =>
      pg
        ? `'5eed${k.toString(16).padStart(4, '0')}-0000-4000-8000-' || lpad(to_hex((${expr})::bigint), 12, '0')`
        : `printf('5eed%04x-0000-4000-8000-%012x', ${k}, ${expr})`,
    /** 43 random characters (the length of a base64url SHA-256 HMAC). */
    hash: () =>
      pg
        ? `md5(random()::text) || substr(md5(random()::text), 1, 11)`
        : `lower(substr(hex(randomblob(22)), 1, 43))`,
    cat: (...parts: string[]) => parts.join(' || '),
  };
}

const KIND = { app: 1, secret: 2, user: 3, api: 4, grant: 5 } as const;

async function main() {
  if (!dbUrl) throw new Error('--db=sqlite:PATH or --db=postgres://… is required');
  const db = dbUrl.startsWith('sqlite:') ? await sqlite(dbUrl.slice(7)) : await postgres(dbUrl);
  const d = dialect(db.kind);
  const steps: Record<string, { rows: number; seconds: number }> = {};
  const t0 = performance.now();
  const step = async (name: string, fn: () => Promise<number>) => {
    const s = performance.now();
    const rows = await fn();
    steps[name] = { rows, seconds: +((performance.now() - s) / 1000).toFixed(1) };
    process.stderr.write(`  seed ${name}: ${rows} rows in ${steps[name]!.seconds} s\n`);
  };

  const tenant = await db.one<{ id: string }>('select id from tenants order by created_at limit 1');
  const admin = await db.one<{ id: string; password_hash: string }>(
    `select id, password_hash from users where role = 'admin' order by created_at limit 1`,
  );
  if (!tenant || !admin)
    throw new Error('no tenant or admin: start Clavis once on this database first (migrations + bootstrap)');
  const seeded = await db.one<{ n: number }>(
    `select count(*) as n from apps where client_id like 'seed-app-%'`,
  );
  if (Number(seeded?.n ?? 0) > 0) throw new Error('this database is already seeded');
  const now = Date.now();

  // Users (developers, in the bootstrap tenant). The password hash is the admin's: a real hash, never used.
  await step('users', async () => {
    const [pre, from] = d.seq(N.users);
    return db.run(
      `${pre}insert into users (id, tenant_id, email, display_name, password_hash, role, is_test_user,
         failed_logins, locked_until, disabled_at, email_verified_at, created_at, updated_at)
       select ${d.id(KIND.user, 'n')}, ?, ${d.cat(`'seed-user-'`, 'n', `'@example.com'`)},
         ${d.cat(`'Seed user '`, 'n')}, ?, 'developer', 0, 0, null, null, ?, ${now} - n, ${now} - n from ${from}`,
      [tenant.id, admin.password_hash, now],
    );
  });

  // Apps: confidential, approved, the default grant types, owned by the users.
  await step('apps', async () => {
    const [pre, from] = d.seq(N.apps);
    return db.run(
      `${pre}insert into apps (id, client_id, tenant_id, owner_user_id, name, description, visibility,
         client_type, callback_url, scopes, default_scopes, status, review_note, pending_change, grant_types,
         created_at, updated_at, deleted_at, id_token_signed_response_alg, post_logout_redirect_uri,
         backchannel_logout_uri)
       select ${d.id(KIND.app, 'n')}, ${d.cat(`'seed-app-'`, 'n')}, ?, ${d.id(KIND.user, `n % ${N.users}`)},
         ${d.cat(`'Seeded app '`, 'n')}, '', 'private', 'confidential', 'https://app.example/cb',
         'contacts:read', 'contacts:read', 'approved', null, null,
         'authorization_code refresh_token client_credentials', ${now} - n, ${now} - n, null, 'RS256', null, null
       from ${from}`,
      [tenant.id],
    );
  });

  await step('client_secrets', async () => {
    const [pre, from] = d.seq(N.apps);
    return db.run(
      `${pre}insert into client_secrets (id, app_id, hash, hint, description, created_at, expires_at,
         last_used_at, revoked_at, replaced_by)
       select ${d.id(KIND.secret, 'n')}, ${d.id(KIND.app, 'n')}, ${d.hash()}, 'sd_', '', ${now} - n, ?, null, null, null
       from ${from}`,
      [now + 180 * DAY],
    );
  });

  // apps.scopes mirrors a granted permission on the built-in sample API (syncBuiltInPermissions).
  await step('app_permissions (sample API)', () =>
    db.run(
      `insert into app_permissions (app_id, api_id, scopes, granted_scopes, requested_by, granted_by,
         granted_at, created_at, updated_at)
       select id, ?, 'contacts:read', 'contacts:read', ?, ?, created_at, created_at, created_at
       from apps where client_id like 'seed-app-%'`,
      [SAMPLE_API_ID, admin.id, admin.id],
    ),
  );

  // APIs (issue 14): 1,000 × 20 scopes; the first is the bench's own when a bench client is named.
  await step('apis', async () => {
    let rows = 0;
    for (let i = 0; i < N.apis; i++) {
      const bench = benchClient && i === 0;
      const names = bench
        ? BENCH_API_SCOPES
        : Array.from({ length: SCOPES_PER_API }, (_, k) => `seed${i}:s${String(k + 1).padStart(2, '0')}`);
      rows += await db.run(
        `insert into apis (id, tenant_id, identifier, name, description, scopes, access_token_ttl,
           allow_client_credentials, visibility, resource_server_app_ids, built_in, created_at, updated_at)
         values (${d.id(KIND.api, '?')}, ?, ?, ?, '', ?, null, 1, 'tenant', '', null, ?, ?)`,
        [
          i,
          tenant.id,
          bench ? BENCH_API.identifier : `https://seed-api-${i}.example.com/v1`,
          bench ? BENCH_API.name : `Seeded API ${i}`,
          apiScopes(names),
          now - i,
          now - i,
        ],
      );
    }
    return rows;
  });

  // 10,000 apps hold 5 granted scopes of one seeded API each (not the bench API).
  await step('app_permissions (seeded APIs)', async () => {
    const [pre, from] = d.seq(N.permissionApps);
    const first = N.apis > 1 && benchClient ? 1 : 0;
    const api = `(${first} + n % ${Math.max(1, N.apis - first)})`;
    const scopes = d.cat(
      ...Array.from({ length: PERMISSION_SCOPES }, (_, k) =>
        d.cat(`'${k ? ' ' : ''}seed'`, api, `':s${String(k + 1).padStart(2, '0')}'`),
      ),
    );
    return db.run(
      `${pre}insert into app_permissions (app_id, api_id, scopes, granted_scopes, requested_by, granted_by,
         granted_at, created_at, updated_at)
       select ${d.id(KIND.app, `n % ${N.apps}`)}, ${d.id(KIND.api, api)}, ${scopes}, ${scopes}, ?, ?, ?, ?, ?
       from ${from}`,
      [admin.id, admin.id, now, now, now],
    );
  });

  if (benchClient)
    await step('app_permissions (bench client on the bench API)', async () => {
      const app = await db.one<{ id: string }>('select id from apps where client_id = ?', [benchClient]);
      if (!app) throw new Error(`no app with client_id ${benchClient}`);
      return db.run(
        `insert into app_permissions (app_id, api_id, scopes, granted_scopes, requested_by, granted_by,
           granted_at, created_at, updated_at)
         values (?, ${d.id(KIND.api, '0')}, ?, ?, ?, ?, ?, ?, ?)`,
        [app.id, BENCH_API.scope, BENCH_API.scope, admin.id, admin.id, now, now, now],
      );
    });

  // Grants: redeemed (code exchanged at T0), one per (user, app) pair spread over all apps and users.
  // T0 = now − 75 days − v, v < 4 days, so the chain below has two expired tokens and one live one.
  const T0 = (n: string) => `(${now - 75 * DAY} - (${n} * 7919) % ${4 * DAY})`;
  await step('grants', async () => {
    const [pre, from] = d.seq(N.grants);
    return db.run(
      `${pre}insert into grants (id, user_id, app_id, client_id, tenant_id, scope, api_id, auth_time, sid, acr,
         created_at, redeemed_at, revoked_at)
       select ${d.id(KIND.grant, 'n')}, ${d.id(KIND.user, `n % ${N.users}`)}, ${d.id(KIND.app, `n % ${N.apps}`)},
         ${d.cat(`'seed-app-'`, `n % ${N.apps}`)}, ?, 'offline_access contacts:read', null, ${T0('n')}, null, null,
         ${T0('n')}, ${T0('n')}, null
       from ${from}`,
      [tenant.id],
    );
  });

  // Each grant's rotation chain (grant-store's insertRefreshToken/rotation: `replaces` is the token before,
  // `used_at` when it was rotated, expiry 60 days after issue):
  //   1st: issued T0, rotated T0+1d, expired T0+60d (< now);   2nd: issued T0+1d, rotated T0+20d, expired T0+61d;
  //   3rd (live): issued T0+20d, expires T0+80d (> now + 1 day).
  await step('refresh_tokens (expired, 1st of each chain)', () =>
    db.run(
      `insert into refresh_tokens (token_hash, grant_id, client_id, scope, created_at, expires_at, used_at, replaces)
       select ${d.hash()}, id, client_id, scope, created_at, created_at + ${RT_TTL}, created_at + ${DAY}, null
       from grants where id like '5eed0005-%'`,
    ),
  );
  await step('refresh_tokens (expired, 2nd of each chain)', () =>
    db.run(
      `insert into refresh_tokens (token_hash, grant_id, client_id, scope, created_at, expires_at, used_at, replaces)
       select ${d.hash()}, grant_id, client_id, scope, used_at, used_at + ${RT_TTL}, created_at + ${20 * DAY}, token_hash
       from refresh_tokens where replaces is null and used_at = created_at + ${DAY} and grant_id like '5eed0005-%'`,
    ),
  );
  await step('refresh_tokens (live)', () =>
    db.run(
      `insert into refresh_tokens (token_hash, grant_id, client_id, scope, created_at, expires_at, used_at, replaces)
       select ${d.hash()}, grant_id, client_id, scope, used_at, used_at + ${RT_TTL}, null, token_hash
       from refresh_tokens where replaces is not null and used_at = created_at + ${19 * DAY} and grant_id like '5eed0005-%'`,
    ),
  );
  // Running nodes drop their caches on a version bump, as the domain's changes do.
  await db.run('update change_version set version = ? where id = 1', [now]);
  if (db.kind === 'postgres')
    await step('vacuum analyze', async () => {
      for (const t of [
        'users',
        'apps',
        'client_secrets',
        'apis',
        'app_permissions',
        'grants',
        'refresh_tokens',
      ])
        await db.run(`vacuum analyze ${t}`);
      return 0;
    });

  const left = await db.one<{ live: number; expired: number }>(
    `select sum(case when expires_at >= ? then 1 else 0 end) as live, sum(case when expires_at < ? then 1 else 0 end) as expired from refresh_tokens`,
    [now, now],
  );
  await db.close();
  process.stdout.write(
    `${JSON.stringify({
      scale,
      scaled: scale !== 1,
      counts: {
        ...N,
        apiScopes: N.apis * SCOPES_PER_API,
        liveRefreshTokens: Number(left?.live ?? 0),
        expiredRefreshTokens: Number(left?.expired ?? 0),
      },
      seconds: +((performance.now() - t0) / 1000).toFixed(1),
      steps,
    })}\n`,
  );
}

await main();
