/**
 * Seeds a migrated Clavis database with 100,000 apps (each with one client secret) and 1,000,000 refresh
 * tokens, quickly: batched multi-row inserts in raw SQL (better-sqlite3 in one transaction per batch on
 * SQLite, multi-row INSERT … VALUES on PostgreSQL).
 *
 * The refresh token table is being built alongside this bench, so its shape is read from the database
 * (column names, types, nullability, foreign keys) and each column is filled by its name: ids and hashes
 * random and unique, `*_id` columns pointing at seeded apps / the bootstrap tenant and user, `expires_at`
 * in the future, other timestamps in the past or null. When no refresh token table exists, only apps are
 * seeded and the output says so.
 *
 *   node dist/bench/seed.js --db=sqlite:/path/clavis.db | --db=postgres://… [--apps=100000] [--refresh=1000000]
 *
 * Prints one JSON line: counts and seconds.
 */
import { randomBytes, randomUUID } from 'node:crypto';

const argv = process.argv.slice(2);
const opt = (n: string, d: string) => argv.find((a) => a.startsWith(`--${n}=`))?.slice(n.length + 3) ?? d;
const dbUrl = opt('db', process.env.CLAVIS_DATABASE_URL ?? '');
const nApps = Number(opt('apps', '100000'));
const nRefresh = Number(opt('refresh', '1000000'));
const REFRESH_TABLES = ['refresh_tokens', 'refresh_token', 'oauth_refresh_tokens'];

interface Column {
  name: string;
  type: string;
  notNull: boolean;
  hasDefault: boolean;
  fkTable?: string;
}

interface Sink {
  tables(): Promise<string[]>;
  columns(table: string): Promise<Column[]>;
  one<T>(sql: string): Promise<T | undefined>;
  insert(table: string, cols: string[], rows: unknown[][]): Promise<void>;
  close(): Promise<void>;
}

async function sqliteSink(path: string): Promise<Sink> {
  const { default: SQLite } = await import('better-sqlite3');
  const db = new SQLite(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('foreign_keys = OFF');
  const stmts = new Map<string, ReturnType<typeof db.prepare>>();
  return {
    async tables() {
      return (
        db.prepare(`select name from sqlite_master where type='table'`).all() as Array<{ name: string }>
      ).map((r) => r.name);
    },
    async columns(table) {
      const fks = db.prepare(`pragma foreign_key_list(${table})`).all() as Array<{
        from: string;
        table: string;
      }>;
      return (
        db.prepare(`pragma table_info(${table})`).all() as Array<{
          name: string;
          type: string;
          notnull: number;
          dflt_value: unknown;
          pk: number;
        }>
      ).map((c) => ({
        name: c.name,
        type: c.type.toLowerCase(),
        notNull: c.notnull === 1 || c.pk === 1,
        hasDefault: c.dflt_value !== null,
        fkTable: fks.find((f) => f.from === c.name)?.table,
      }));
    },
    async one<T>(sql: string) {
      return db.prepare(sql).get() as T | undefined;
    },
    async insert(table, cols, rows) {
      const key = `${table}:${cols.length}:${rows.length}`;
      let st = stmts.get(key);
      if (!st) {
        const tuple = `(${cols.map(() => '?').join(',')})`;
        st = db.prepare(`insert into ${table} (${cols.join(',')}) values ${rows.map(() => tuple).join(',')}`);
        stmts.set(key, st);
      }
      st.run(rows.flat());
    },
    async close() {
      db.close();
    },
  };
}

async function pgSink(url: string): Promise<Sink> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // Foreign keys to rows this seed does not make (e.g. user grants) are not checked while seeding.
  await client.query(`set session_replication_role = replica`).catch(() => {});
  await client.query('set synchronous_commit = off');
  return {
    async tables() {
      return (
        await client.query(
          `select table_name from information_schema.tables where table_schema = current_schema()`,
        )
      ).rows.map((r) => r.table_name as string);
    },
    async columns(table) {
      const fk = await client.query(
        `select kcu.column_name, ccu.table_name as ref from information_schema.table_constraints tc
         join information_schema.key_column_usage kcu on tc.constraint_name = kcu.constraint_name
         join information_schema.constraint_column_usage ccu on tc.constraint_name = ccu.constraint_name
         where tc.constraint_type = 'FOREIGN KEY' and tc.table_name = $1`,
        [table],
      );
      const cols = await client.query(
        `select column_name, data_type, is_nullable, column_default from information_schema.columns where table_name = $1 and table_schema = current_schema() order by ordinal_position`,
        [table],
      );
      return cols.rows.map((c) => ({
        name: c.column_name as string,
        type: String(c.data_type).toLowerCase(),
        notNull: c.is_nullable === 'NO',
        hasDefault: c.column_default !== null,
        fkTable: fk.rows.find((f) => f.column_name === c.column_name)?.ref as string | undefined,
      }));
    },
    async one<T>(sql: string) {
      return (await client.query(sql)).rows[0] as T | undefined;
    },
    async insert(table, cols, rows) {
      const params: unknown[] = [];
      const tuples = rows.map((r) => `(${r.map((v) => `$${params.push(v)}`).join(',')})`);
      await client.query(`insert into ${table} (${cols.join(',')}) values ${tuples.join(',')}`, params);
    },
    async close() {
      await client.end();
    },
  };
}

const rand = (bytes = 32) => randomBytes(bytes).toString('base64url');

async function main() {
  if (!dbUrl) throw new Error('--db=sqlite:PATH or --db=postgres://… is required');
  const sink = dbUrl.startsWith('sqlite:') ? await sqliteSink(dbUrl.slice(7)) : await pgSink(dbUrl);
  const t0 = performance.now();
  const tenant = await sink.one<{ id: string }>('select id from tenants order by created_at limit 1');
  if (!tenant)
    throw new Error('no tenant: start Clavis once on this database first (migrations + bootstrap)');
  const user = await sink.one<{ id: string }>('select id from users order by created_at limit 1');
  const now = Date.now();

  // Apps, each with one active secret.
  const appCols = [
    'id',
    'client_id',
    'tenant_id',
    'owner_user_id',
    'name',
    'description',
    'visibility',
    'client_type',
    'callback_url',
    'scopes',
    'default_scopes',
    'status',
    'review_note',
    'created_at',
    'updated_at',
    'deleted_at',
  ];
  const secretCols = [
    'id',
    'app_id',
    'hash',
    'hint',
    'description',
    'created_at',
    'expires_at',
    'last_used_at',
    'revoked_at',
  ];
  const appIds: string[] = [];
  const clientIds: string[] = [];
  const batch = dbUrl.startsWith('sqlite:') ? 500 : 1000;
  for (let i = 0; i < nApps; i += batch) {
    const apps: unknown[][] = [];
    const secrets: unknown[][] = [];
    for (let j = i; j < Math.min(nApps, i + batch); j++) {
      const id = randomUUID();
      const cid = `seed-${j}-${rand(6)}`;
      appIds.push(id);
      clientIds.push(cid);
      apps.push([
        id,
        cid,
        tenant.id,
        user?.id ?? null,
        `Seeded app ${j}`,
        '',
        'private',
        'confidential',
        'https://app.example/cb',
        'contacts:read',
        'contacts:read',
        'approved',
        null,
        now - j,
        now - j,
        null,
      ]);
      secrets.push([randomUUID(), id, rand(32), 'abc', 'seed', now - j, now + 180 * 86400_000, null, null]);
    }
    await sink.insert('apps', appCols, apps);
    await sink.insert('client_secrets', secretCols, secrets);
  }
  const appsSeconds = (performance.now() - t0) / 1000;

  // Refresh tokens, when the table exists.
  const tables = await sink.tables();
  const rtTable = REFRESH_TABLES.find((t) => tables.includes(t));
  let refreshSeeded = 0;
  let refreshNote: string | undefined;
  const t1 = performance.now();
  if (!rtTable) refreshNote = `no refresh token table (looked for ${REFRESH_TABLES.join(', ')}): not seeded`;
  else {
    const cols = await sink.columns(rtTable);
    const fill = (c: Column, k: number): unknown => {
      const n = c.name.toLowerCase();
      const app = k % appIds.length;
      const isInt = /int|numeric|real|double/.test(c.type);
      if (c.fkTable === 'apps' || n === 'app_id') return appIds[app];
      if (c.fkTable === 'tenants' || n === 'tenant_id') return tenant.id;
      if (c.fkTable === 'users' || n === 'user_id') return user?.id ?? randomUUID();
      if (n === 'client_id') return clientIds[app];
      if (n === 'id' || n.endsWith('_id') || n === 'jti' || n === 'family') return randomUUID();
      if (n.includes('hash') || n === 'token' || n.includes('lookup')) return rand(32);
      if (n === 'expires_at' || n.endsWith('expires_at')) return now + 30 * 86400_000;
      if (n.endsWith('_at') || n.endsWith('_time')) return c.notNull ? now - (k % 86400_000) : null;
      if (n.includes('scope')) return 'offline_access contacts:read';
      if (n.includes('resource') || n.includes('audience')) return c.notNull ? 'https://api.example' : null;
      if (!c.notNull) return null;
      if (/bool/.test(c.type)) return false;
      return isInt ? 0 : 'seed';
    };
    const use = cols.filter((c) => c.notNull || !c.hasDefault);
    const names = use.map((c) => c.name);
    const rtBatch =
      Math.max(1, Math.floor((dbUrl.startsWith('sqlite:') ? 30000 : 60000) / names.length / 10)) * 10;
    for (let i = 0; i < nRefresh; i += rtBatch) {
      const rows: unknown[][] = [];
      for (let k = i; k < Math.min(nRefresh, i + rtBatch); k++) rows.push(use.map((c) => fill(c, k)));
      await sink.insert(rtTable, names, rows);
      refreshSeeded += rows.length;
    }
  }
  await sink.close();
  process.stdout.write(
    `${JSON.stringify({ apps: nApps, secrets: nApps, appsSeconds: +appsSeconds.toFixed(1), refreshTable: rtTable ?? null, refreshTokens: refreshSeeded, refreshSeconds: +((performance.now() - t1) / 1000).toFixed(1), note: refreshNote })}\n`,
  );
}

await main();
