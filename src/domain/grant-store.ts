import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { randomToken, uuid } from '../crypto/random.js';
import type { Db } from '../db/database.js';
import { prepared, slot } from '../db/prepared.js';
import { inTransaction } from '../db/transaction.js';
import type { App } from './apps.js';
import { recordAudit } from './audit.js';
import { Coalescer } from './coalescer.js';
import type { DomainContext } from './context.js';
import { publishAppEvent } from './event-data.js';
import { joinScope, splitScope } from './scopes.js';
import type { User } from './users.js';

/*
 * The user-grant store: the one module that creates, reads, consumes, rotates, revokes and purges rows of
 * `grants`, `authorization_codes` and `refresh_tokens`. The protocol flows (`oauth/grants/*`) make the RFC
 * checks on what it returns and never touch these tables themselves.
 */

/** Authorization codes live at most this long (RFC 9700 §4.1: short-lived; OAuth 2.1: ≤ 10 min). */
export const CODE_TTL_MS = 60_000;

/** Refresh tokens longer than this were never issued here, so they are not even looked up. */
const MAX_REFRESH_TOKEN_LENGTH = 512;

const codeHash = (ctx: DomainContext, code: string) => ctx.hasher.hash(`code:${code}`);
const refreshHash = (ctx: DomainContext, token: string) => ctx.hasher.hash(`rt:${token}`);

/** The grant a code or refresh token belongs to. */
export interface StoredGrant {
  id: string;
  userId: string;
  tenantId: string;
  /** When the user signed in (epoch ms). */
  authTime: number;
  revokedAt: number | null;
  /** The API the grant is for (null: the built-in sample API). */
  apiId: string | null;
  /** The OIDC session id the grant came from (null for grants made before OIDC). */
  sid: string | null;
  /** The `acr` its ID tokens carry, when the request asked for one. */
  acr: string | null;
}

// ---- Authorization codes ----------------------------------------------------------------------------------

export interface NewCode {
  app: App;
  user: User;
  scope: string[];
  redirectUri: string;
  codeChallenge: string | null;
  /** When the user signed in (epoch ms). */
  authTime: number;
  /** The API the grant is for (null or absent: the built-in sample API). */
  apiId?: string | null;
  /** OpenID Connect: the request's nonce, the browser session's id, the acr to report (when asked for). */
  oidc?: { nonce: string | null; sid: string | null; acr: string | null };
}

/**
 * Issues an authorization code: a new grant (not yet redeemed) and the code bound to client, redirect_uri
 * and PKCE challenge. The code has 256 random bits and is stored only as a keyed hash.
 */
export async function createAuthorizationCode(ctx: DomainContext, input: NewCode): Promise<string> {
  const code = randomToken(32);
  const now = ctx.now();
  const grantId = uuid();
  await inTransaction(ctx.db, async (trx) => {
    await trx
      .insertInto('grants')
      .values({
        id: grantId,
        user_id: input.user.id,
        app_id: input.app.id,
        client_id: input.app.client_id,
        tenant_id: input.user.tenant_id,
        scope: joinScope(input.scope),
        api_id: input.apiId ?? null,
        auth_time: input.authTime,
        sid: input.oidc?.sid ?? null,
        acr: input.oidc?.acr ?? null,
        created_at: now,
        redeemed_at: null,
        revoked_at: null,
      })
      .execute();
    await trx
      .insertInto('authorization_codes')
      .values({
        code_hash: codeHash(ctx, code),
        grant_id: grantId,
        client_id: input.app.client_id,
        redirect_uri: input.redirectUri,
        code_challenge: input.codeChallenge,
        nonce: input.oidc?.nonce ?? null,
        created_at: now,
        expires_at: now + CODE_TTL_MS,
        consumed_at: null,
      })
      .execute();
  });
  return code;
}

/** The grant's user columns that {@link findAuthorizationCode} and {@link findRefreshToken} join. */
const GRANT_USER_COLUMNS = [
  'users.id as user_row_id',
  'users.tenant_id as user_tenant_id',
  'users.disabled_at as user_disabled_at',
] as const;

/** The grant's user from a row with {@link GRANT_USER_COLUMNS}; `undefined` when the user is gone. */
function grantUserOf(row: {
  user_row_id: string | null;
  user_tenant_id: string | null;
  user_disabled_at: number | null;
}): Pick<User, 'tenant_id' | 'disabled_at'> | undefined {
  return row.user_row_id === null || row.user_tenant_id === null
    ? undefined
    : { tenant_id: row.user_tenant_id, disabled_at: row.user_disabled_at };
}

/** The grant of a row that selects the grant's columns as `grant_id`, `user_id`, `tenant_id`, ... */
function storedGrantOf(row: {
  grant_id: string;
  user_id: string;
  tenant_id: string;
  auth_time: number;
  revoked_at: number | null;
  api_id: string | null;
  sid: string | null;
  acr: string | null;
}): StoredGrant {
  return {
    id: row.grant_id,
    userId: row.user_id,
    tenantId: row.tenant_id,
    authTime: row.auth_time,
    revokedAt: row.revoked_at,
    apiId: row.api_id,
    sid: row.sid,
    acr: row.acr,
  };
}

/** A stored authorization code with its grant, as {@link findAuthorizationCode} returns it. */
export interface StoredCode {
  readonly codeHash: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string | null;
  /** The authorization request's OIDC nonce, if any. */
  nonce: string | null;
  expiresAt: number;
  consumedAt: number | null;
  /** The scope the user granted. */
  scope: string[];
  grant: StoredGrant;
  /** The grant's user, read in the same query; `undefined` when the user no longer exists. */
  user: Pick<User, 'tenant_id' | 'disabled_at'> | undefined;
}

/**
 * Looks up an authorization code (consumed or not, expired or not) with its grant and the grant's user, in one
 * query; `undefined` when it was never issued.
 */
export async function findAuthorizationCode(
  ctx: DomainContext,
  code: string,
): Promise<StoredCode | undefined> {
  const hash = codeHash(ctx, code);
  const row = await ctx.db
    .selectFrom('authorization_codes')
    .innerJoin('grants', 'grants.id', 'authorization_codes.grant_id')
    .leftJoin('users', 'users.id', 'grants.user_id')
    .select([
      'authorization_codes.client_id',
      'authorization_codes.redirect_uri',
      'authorization_codes.code_challenge',
      'authorization_codes.nonce',
      'authorization_codes.expires_at',
      'authorization_codes.consumed_at',
      'grants.id as grant_id',
      'grants.user_id',
      'grants.tenant_id',
      'grants.scope',
      'grants.auth_time',
      'grants.revoked_at',
      'grants.api_id',
      'grants.sid',
      'grants.acr',
      ...GRANT_USER_COLUMNS,
    ])
    .where('authorization_codes.code_hash', '=', hash)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    codeHash: hash,
    clientId: row.client_id,
    redirectUri: row.redirect_uri,
    codeChallenge: row.code_challenge,
    nonce: row.nonce,
    expiresAt: row.expires_at,
    consumedAt: row.consumed_at,
    scope: splitScope(row.scope),
    grant: storedGrantOf(row),
    user: grantUserOf(row),
  };
}

/**
 * Consumes a code if it is unconsumed and unexpired at `now`. Single use: of any number of concurrent
 * calls for one code, exactly one (a conditional update) returns true.
 */
export async function consumeAuthorizationCode(
  ctx: DomainContext,
  code: StoredCode,
  now: number,
): Promise<boolean> {
  const res = await ctx.db
    .updateTable('authorization_codes')
    .set({ consumed_at: now })
    .where('code_hash', '=', code.codeHash)
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/**
 * Marks a grant redeemed (its code exchanged) and, when `withRefreshToken`, issues its first refresh token,
 * in one transaction.
 *
 * @returns the refresh token, if one was issued.
 */
export async function redeemGrant(
  ctx: DomainContext,
  grantId: string,
  clientId: string,
  scope: string[],
  now: number,
  withRefreshToken: boolean,
): Promise<string | undefined> {
  return inTransaction(ctx.db, async (trx) => {
    await trx.updateTable('grants').set({ redeemed_at: now }).where('id', '=', grantId).execute();
    return withRefreshToken ? insertRefreshToken(ctx, trx, grantId, clientId, scope, null) : undefined;
  });
}

/** A grant made without an authorization code (the device grant): who, for which app, what scope. */
export interface DirectGrant {
  appId: string;
  clientId: string;
  userId: string;
  /** The user's tenant (the `tid` of tokens). */
  tenantId: string;
  scope: string[];
  /** The API the grant is for (null: the built-in sample API). */
  apiId: string | null;
  /** When the user signed in (epoch ms). */
  authTime: number;
}

/**
 * Records a grant that is redeemed as it is made (the device grant, RFC 8628 §3.5, whose device code was
 * the single-use proof) and, when `withRefreshToken`, issues its first refresh token, inside the caller's
 * transaction `db`, so the
 * proof's consumption and the grant stand or fall together. The grant then shows under Connected apps and
 * is revoked like any other.
 */
export async function insertRedeemedGrant(
  ctx: DomainContext,
  db: Db,
  input: DirectGrant,
  now: number,
  withRefreshToken: boolean,
): Promise<{ grantId: string; refreshToken: string | undefined }> {
  const grantId = uuid();
  await db
    .insertInto('grants')
    .values({
      id: grantId,
      user_id: input.userId,
      app_id: input.appId,
      client_id: input.clientId,
      tenant_id: input.tenantId,
      scope: joinScope(input.scope),
      api_id: input.apiId,
      auth_time: input.authTime,
      created_at: now,
      redeemed_at: now,
      revoked_at: null,
    })
    .execute();
  const refreshToken = withRefreshToken
    ? await insertRefreshToken(ctx, db, grantId, input.clientId, input.scope, null)
    : undefined;
  return { grantId, refreshToken };
}

// ---- Refresh tokens ---------------------------------------------------------------------------------------

/** The row of a new refresh token (opaque, 256 bits, stored hashed), with a sliding lifetime. */
function refreshTokenRow(
  ctx: DomainContext,
  token: string,
  grantId: string,
  clientId: string,
  scope: string[],
  replaces: string | null,
  now: number,
) {
  return {
    token_hash: refreshHash(ctx, token),
    grant_id: grantId,
    client_id: clientId,
    scope: joinScope(scope),
    created_at: now,
    expires_at: now + ctx.config.refreshTokenTtl * 1000,
    used_at: null,
    replaces,
  };
}

/** Issues a refresh token for a grant. */
async function insertRefreshToken(
  ctx: DomainContext,
  db: Db,
  grantId: string,
  clientId: string,
  scope: string[],
  replaces: string | null,
): Promise<string> {
  const token = randomToken(32);
  await db
    .insertInto('refresh_tokens')
    .values(refreshTokenRow(ctx, token, grantId, clientId, scope, replaces, ctx.now()))
    .execute();
  return token;
}

/** A stored refresh token with its grant, as {@link findRefreshToken} returns it. */
export interface StoredRefreshToken {
  readonly tokenHash: string;
  clientId: string;
  scope: string[];
  createdAt: number;
  expiresAt: number;
  /** When it was rotated; a second use after that is reuse. */
  usedAt: number | null;
  grant: StoredGrant;
  /** The grant's user, read in the same query; `undefined` when the user no longer exists. */
  user: Pick<User, 'tenant_id' | 'disabled_at'> | undefined;
}

// The refresh grant's statements are prepared: they run on every refresh (see `prepared`).
/** A refresh token with its grant and the grant's user, by `hash`. */
const refreshTokenColumns = (db: Db) =>
  db
    .selectFrom('refresh_tokens')
    .innerJoin('grants', 'grants.id', 'refresh_tokens.grant_id')
    .leftJoin('users', 'users.id', 'grants.user_id')
    .select([
      'refresh_tokens.token_hash',
      'refresh_tokens.client_id',
      'refresh_tokens.scope',
      'refresh_tokens.created_at',
      'refresh_tokens.expires_at',
      'refresh_tokens.used_at',
      'grants.id as grant_id',
      'grants.user_id',
      'grants.tenant_id',
      'grants.auth_time',
      'grants.revoked_at',
      'grants.api_id',
      'grants.sid',
      'grants.acr',
      ...GRANT_USER_COLUMNS,
    ]);
const selectRefreshToken = (db: Db) =>
  refreshTokenColumns(db).where('refresh_tokens.token_hash', '=', slot<string>('hash'));
type RefreshTokenRow = Awaited<ReturnType<ReturnType<typeof selectRefreshToken>['executeTakeFirstOrThrow']>>;

const findRefreshTokenQuery = prepared(selectRefreshToken);

function storedRefreshTokenOf(row: RefreshTokenRow): StoredRefreshToken {
  return {
    tokenHash: row.token_hash,
    clientId: row.client_id,
    scope: splitScope(row.scope),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    usedAt: row.used_at,
    grant: storedGrantOf(row),
    user: grantUserOf(row),
  };
}

const markRefreshTokenUsed = prepared((db) =>
  db
    .updateTable('refresh_tokens')
    .set({ used_at: slot<number>('now') })
    .where('token_hash', '=', slot<string>('hash'))
    .where('used_at', 'is', null),
);

const insertRefreshTokenQuery = prepared((db) =>
  db.insertInto('refresh_tokens').values({
    token_hash: slot<string>('token_hash'),
    grant_id: slot<string>('grant_id'),
    client_id: slot<string>('client_id'),
    scope: slot<string>('scope'),
    created_at: slot<number>('created_at'),
    expires_at: slot<number>('expires_at'),
    used_at: null,
    replaces: slot<string | null>('replaces'),
  }),
);

/**
 * Looks up a refresh token (used or not, expired or not, its grant revoked or not) with its grant and the
 * grant's user, in one query; `undefined` when unknown.
 */
export async function findRefreshToken(
  ctx: DomainContext,
  token: string,
): Promise<StoredRefreshToken | undefined> {
  if (token.length > MAX_REFRESH_TOKEN_LENGTH) return undefined;
  const row = (await findRefreshTokenQuery.run(ctx.db, { hash: refreshHash(ctx, token) })).rows[0];
  return row && storedRefreshTokenOf(row);
}

// PostgreSQL: the lookup and the rotation in one statement. `t` reads the token as the statement's snapshot
// sees it; `used` marks it used only if it may rotate (unused, this client's, unexpired, grant not revoked),
// and the conditional update is the one check for reuse: a concurrent rotation waits for the row lock and
// then finds the token used, so exactly one wins (a single statement is atomic);
// `ins` inserts the successor only when `used` won.
const findAndRotateRefreshTokenPg = prepared((db) => ({
  compile: () =>
    sql<RefreshTokenRow & { rotated: number }>`
      with t as (${selectRefreshToken(db)}),
      used as (
        update refresh_tokens set used_at = ${slot<number>('now')}::int8
        where token_hash = ${slot<string>('hash')} and used_at is null
          and client_id = ${slot<string>('client_id')}::text and expires_at > ${slot<number>('now')}::int8
          and exists (select 1 from t where t.revoked_at is null)
        returning grant_id, scope
      ),
      ins as (
        insert into refresh_tokens (token_hash, grant_id, client_id, scope, created_at, expires_at, used_at, replaces)
        select ${slot<string>('token_hash')}::text, used.grant_id, ${slot<string>('client_id')}::text, used.scope,
          ${slot<number>('created_at')}::int8, ${slot<number>('expires_at')}::int8, null, ${slot<string>('hash')}::text
        from used
      )
      select t.*, (select count(*) from used)::int as rotated from t`.compile(db),
}));

// PostgreSQL, a group of rotations in one statement: the single statement above with one row of `req` per
// rotation (the group's tokens are distinct; see `rotateGroupPg`). Each rotation keeps its own client,
// time and successor, and the conditional update decides each token as the single statement does.
const findAndRotateRefreshTokensPg = prepared((db) => ({
  compile: () =>
    sql<RefreshTokenRow & { rotated: boolean }>`
      with req as (
        select * from unnest(${slot<string[]>('hashes')}::text[], ${slot<string[]>('client_ids')}::text[],
          ${slot<string[]>('successors')}::text[], ${slot<number[]>('nows')}::int8[],
          ${slot<number[]>('expiries')}::int8[]) as req(hash, client_id, successor, now, expires_at)
      ),
      t as (${refreshTokenColumns(db).where(sql<boolean>`refresh_tokens.token_hash = any(${slot<string[]>('hashes')}::text[])`)}),
      used as (
        update refresh_tokens rt set used_at = req.now
        from req
        where rt.token_hash = req.hash and rt.used_at is null and rt.client_id = req.client_id
          and rt.expires_at > req.now
          and exists (select 1 from t where t.token_hash = req.hash and t.revoked_at is null)
        returning rt.token_hash, rt.grant_id, rt.scope, req.client_id, req.successor, req.now, req.expires_at
      ),
      ins as (
        insert into refresh_tokens (token_hash, grant_id, client_id, scope, created_at, expires_at, used_at, replaces)
        select successor, grant_id, client_id, scope, now, expires_at, null, token_hash from used
      )
      select t.*, exists (select 1 from used where used.token_hash = t.token_hash) as rotated from t`.compile(
      db,
    ),
}));

/** What {@link findAndRotateRefreshToken} found, and the successor when it rotated. */
export interface FoundRefreshToken {
  /** The token as it was before this request (`usedAt` null even when this request rotated it). */
  stored: StoredRefreshToken;
  /** The successor, when this request rotated the token; `null` when it did not (see the function). */
  next: string | null;
}

/**
 * Looks up a refresh token and, when it may rotate, rotates it (RFC 9700 §4.14.2), in one round trip: the
 * refresh grant's common case (no `scope` or `resource` parameter to check first) then costs one statement on
 * PostgreSQL instead of a lookup and a rotation. It rotates only a token that is unused, issued to
 * `clientId`, unexpired and of a grant not revoked; the successor keeps the token's grant, client and scope.
 * Of any number of concurrent rotations of one token exactly one gets the successor. A caller whose later
 * checks fail calls {@link undoRotation}. Outside a transaction, rotations that arrive together are written
 * together (see `rotationsOf`), each decided as it would be alone.
 *
 * @returns `undefined` for an unknown token; else the token as it was and, when this call rotated it, the
 * successor (`next` is `null` for a token that may not rotate, and for one that another request rotated
 * first, which the caller tells apart by `usedAt`).
 */
export async function findAndRotateRefreshToken(
  ctx: DomainContext,
  token: string,
  clientId: string,
  now: number,
): Promise<FoundRefreshToken | undefined> {
  if (token.length > MAX_REFRESH_TOKEN_LENGTH) return undefined;
  const hash = refreshHash(ctx, token);
  const next = randomToken(32);
  // The successor's own values; its grant and scope are the presented token's, read by the rotation itself.
  const successor = refreshTokenRow(ctx, next, '', clientId, [], hash, now);
  const request: Rotation = { hash, clientId, now, successor, next };
  // Inside a caller's transaction the rotation is part of it; otherwise it joins the next group.
  if (ctx.db.isTransaction) return rotateOne(ctx, ctx.db, request);
  const outcome = await rotationsOf(ctx).add(request);
  if (outcome instanceof RotationFailed) throw outcome.cause;
  return outcome;
}

/** One rotation asked for: the presented token's hash, and the successor to insert if it may rotate. */
interface Rotation {
  hash: string;
  clientId: string;
  now: number;
  successor: ReturnType<typeof refreshTokenRow>;
  next: string;
}

/** A rotation of a group that failed on its own; the others of its group went on. */
class RotationFailed {
  constructor(readonly cause: unknown) {}
}

type RotationOutcome = FoundRefreshToken | undefined | RotationFailed;

/** One rotation on its own, inside `db` (a transaction on SQLite): the lookup and, when it may, the rotation. */
async function rotateOne(ctx: DomainContext, db: Db, r: Rotation): Promise<FoundRefreshToken | undefined> {
  if (ctx.config.database.kind === 'postgres') {
    const row = (await findAndRotateRefreshTokenPg.run(db, { ...r.successor, hash: r.hash, now: r.now }))
      .rows[0];
    return row && { stored: storedRefreshTokenOf(row), next: row.rotated === 1 ? r.next : null };
  }
  const row = (await findRefreshTokenQuery.run(db, { hash: r.hash })).rows[0];
  if (!row) return undefined;
  const stored = storedRefreshTokenOf(row);
  const mayRotate =
    row.used_at === null && row.client_id === r.clientId && row.expires_at > r.now && row.revoked_at === null;
  if (!mayRotate) return { stored, next: null };
  const res = await markRefreshTokenUsed.run(db, { now: r.now, hash: r.hash });
  if (Number(res.numAffectedRows ?? 0) !== 1) return { stored, next: null };
  await insertRefreshTokenQuery.run(db, { ...r.successor, grant_id: row.grant_id, scope: row.scope });
  return { stored, next: r.next };
}

const statement = (text: string) => prepared((db) => ({ compile: () => sql.raw(text).compile(db) }));
const sqliteGroupSql = {
  // IMMEDIATE takes the write lock at once (waiting up to busy_timeout for another process's writer), so a
  // group never reads a snapshot that another worker's commit then makes stale (SQLITE_BUSY_SNAPSHOT).
  begin: statement('begin immediate'),
  commit: statement('commit'),
  rollback: statement('rollback'),
  savepoint: statement('savepoint rotation'),
  undo: statement('rollback to rotation'),
  release: statement('release rotation'),
};

/** SQLite: one group as one transaction, each rotation in arrival order under its own savepoint. */
function rotateGroupSqlite(ctx: DomainContext, items: Rotation[]): Promise<RotationOutcome[]> {
  const q = sqliteGroupSql;
  return ctx.db.connection().execute(async (conn) => {
    await q.begin.run(conn, {});
    try {
      const out: RotationOutcome[] = [];
      for (const item of items) {
        await q.savepoint.run(conn, {});
        try {
          out.push(await rotateOne(ctx, conn, item));
        } catch (err) {
          await q.undo.run(conn, {});
          out.push(new RotationFailed(err));
        }
        await q.release.run(conn, {});
      }
      await q.commit.run(conn, {});
      return out;
    } catch (err) {
      await q.rollback.run(conn, {}).catch(() => {});
      throw err;
    }
  });
}

/**
 * PostgreSQL: one group as one statement. A token presented more than once in a group is decided by its
 * first presentation here and its others in a group after it, so each sees what the one before it did, as
 * it would alone. When the statement fails (it changes nothing then), each rotation runs on its own, so one
 * that cannot succeed fails only its own request.
 */
async function rotateGroupPg(ctx: DomainContext, items: Rotation[]): Promise<RotationOutcome[]> {
  const seen = new Set<string>();
  const first: number[] = [];
  const later: number[] = [];
  for (const [i, item] of items.entries()) {
    if (seen.has(item.hash)) later.push(i);
    else {
      seen.add(item.hash);
      first.push(i);
    }
  }
  const out: RotationOutcome[] = new Array(items.length);
  const batch = first.map((i) => items[i] as Rotation);
  let rows: Array<RefreshTokenRow & { rotated: boolean }> | undefined;
  if (batch.length > 1) {
    try {
      rows = (
        await findAndRotateRefreshTokensPg.run(ctx.db, {
          hashes: batch.map((r) => r.hash),
          client_ids: batch.map((r) => r.clientId),
          successors: batch.map((r) => r.successor.token_hash),
          nows: batch.map((r) => r.now),
          expiries: batch.map((r) => r.successor.expires_at),
        })
      ).rows;
    } catch {
      rows = undefined;
    }
  }
  if (rows) {
    const byHash = new Map(rows.map((row) => [row.token_hash, row]));
    for (const i of first) {
      const item = items[i] as Rotation;
      const row = byHash.get(item.hash);
      out[i] = row && { stored: storedRefreshTokenOf(row), next: row.rotated ? item.next : null };
    }
  } else {
    const alone = await Promise.allSettled(batch.map((r) => rotateOne(ctx, ctx.db, r)));
    for (const [k, i] of first.entries()) {
      const settled = alone[k] as PromiseSettledResult<FoundRefreshToken | undefined>;
      out[i] = settled.status === 'fulfilled' ? settled.value : new RotationFailed(settled.reason);
    }
  }
  if (later.length > 0) {
    const rest = await rotateGroupPg(
      ctx,
      later.map((i) => items[i] as Rotation),
    );
    for (const [k, i] of later.entries()) out[i] = rest[k];
  }
  return out;
}

/**
 * Rotations that arrive together run as one group (see {@link Coalescer}), each decided exactly as it would
 * be alone (of concurrent uses of one token exactly one rotates; a rotation that fails fails only its own
 * request):
 * - SQLite commits a group as one transaction (group commit): a commit writes each changed page to the WAL
 *   once, and a busy server's rotations share the pages they change (the table's last leaf, the expiry
 *   index's), so a group costs much less than its rotations one by one.
 * - PostgreSQL runs a group as one statement: one round trip, one plan and one commit (one WAL flush) for the
 *   group, where each rotation cost one of each.
 * One group runner per database.
 */
const rotations = new WeakMap<Db, Coalescer<Rotation, RotationOutcome>>();

function rotationsOf(ctx: DomainContext): Coalescer<Rotation, RotationOutcome> {
  let c = rotations.get(ctx.db);
  if (!c) {
    // SQLite has one writer, so one group at a time; PostgreSQL works on several statements at once.
    const pg = ctx.config.database.kind === 'postgres';
    const run = pg ? rotateGroupPg : rotateGroupSqlite;
    c = new Coalescer((items) => run(ctx, items), 64, pg ? 4 : 1);
    rotations.set(ctx.db, c);
  }
  return c;
}

/**
 * Undoes a rotation by {@link findAndRotateRefreshToken} whose request then failed a check (a scope or
 * resource it may not have, a user who may no longer use the app): the successor, still unused, is deleted
 * and the token is unused again, so a refused request never costs the client its token. Nothing changes
 * when the successor is gone or was used meanwhile.
 */
export async function undoRotation(
  ctx: DomainContext,
  stored: StoredRefreshToken,
  next: string,
): Promise<void> {
  await inTransaction(ctx.db, async (trx) => {
    const res = await trx
      .deleteFrom('refresh_tokens')
      .where('token_hash', '=', refreshHash(ctx, next))
      .where('replaces', '=', stored.tokenHash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    if (Number(res.numDeletedRows) !== 1) return;
    await trx
      .updateTable('refresh_tokens')
      .set({ used_at: null })
      .where('token_hash', '=', stored.tokenHash)
      .execute();
  });
}

/**
 * Rotates an already rotated refresh token once more (the reuse grace): its successor is deleted, if it is
 * still unused, and a new token takes its place, in one transaction. The new token replaces nothing, so the
 * same token cannot be retried a second time; the conditional delete decides between concurrent retries, and
 * between a retry and a use of the successor: exactly one of them succeeds.
 *
 * @returns the new refresh token, or `null` when the successor is gone or was used (reuse).
 */
export async function rotateRefreshTokenAgain(
  ctx: DomainContext,
  token: StoredRefreshToken,
  scope: string[],
): Promise<string | null> {
  return inTransaction(ctx.db, async (trx) => {
    const res = await trx
      .deleteFrom('refresh_tokens')
      .where('replaces', '=', token.tokenHash)
      .where('grant_id', '=', token.grant.id)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    if (Number(res.numDeletedRows) !== 1) return null;
    return insertRefreshToken(ctx, trx, token.grant.id, token.clientId, scope, null);
  });
}

// ---- Grants -----------------------------------------------------------------------------------------------

/**
 * Revokes a grant: its refresh tokens are deleted and the grant is marked revoked, so access tokens carrying
 * its `gid` are reported inactive at once. Idempotent.
 */
export async function revokeGrant(
  ctx: DomainContext,
  grantId: string,
  reason: string,
  actor = 'system',
): Promise<void> {
  await inTransaction(ctx.db, async (trx) => {
    const res = await trx
      .updateTable('grants')
      .set({ revoked_at: ctx.now() })
      .where('id', '=', grantId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    await trx.deleteFrom('refresh_tokens').where('grant_id', '=', grantId).execute();
    if (Number(res.numUpdatedRows) > 0) {
      const g = await trx
        .selectFrom('grants')
        .select(['app_id', 'tenant_id', 'user_id'])
        .where('id', '=', grantId)
        .executeTakeFirst();
      await recordAudit(ctx, trx, {
        type: 'grant.revoked',
        actor,
        tenantId: g?.tenant_id ?? null,
        appId: g?.app_id ?? null,
        data: { grant_id: grantId, user_id: g?.user_id, reason },
      });
      // A user disconnecting an app is the app's uninstall notice, sent to the app's tenant.
      const app =
        g && reason === 'user_revoked'
          ? await trx
              .selectFrom('apps')
              .select(['id', 'client_id', 'name', 'tenant_id'])
              .where('id', '=', g.app_id)
              .executeTakeFirst()
          : undefined;
      if (app && g)
        await publishAppEvent(ctx, trx, 'grant.revoked', app, actor, {
          grant_id: grantId,
          user_id: g.user_id,
          user_tenant_id: g.tenant_id,
        });
    }
  });
}

/** Whether a grant still stands: not revoked, and its user exists and is not disabled. */
export async function grantIsLive(ctx: DomainContext, grantId: string): Promise<boolean> {
  const row = await ctx.db
    .selectFrom('grants')
    .innerJoin('users', 'users.id', 'grants.user_id')
    .select(['grants.revoked_at', 'users.disabled_at'])
    .where('grants.id', '=', grantId)
    .executeTakeFirst();
  return !!row && row.revoked_at === null && row.disabled_at === null;
}

/** What the grant checks need about a grant's user; `undefined` when the user no longer exists. */
export async function grantUser(
  ctx: DomainContext,
  userId: string,
): Promise<Pick<User, 'tenant_id' | 'disabled_at'> | undefined> {
  return ctx.db
    .selectFrom('users')
    .select(['tenant_id', 'disabled_at'])
    .where('id', '=', userId)
    .executeTakeFirst();
}

/** The ids of a user's unrevoked grants for an app. */
export async function liveGrantIds(ctx: DomainContext, userId: string, appId: string): Promise<string[]> {
  const rows = await ctx.db
    .selectFrom('grants')
    .select('id')
    .where('user_id', '=', userId)
    .where('app_id', '=', appId)
    .where('revoked_at', 'is', null)
    .execute();
  return rows.map((r) => r.id);
}

/** One live, redeemed grant of a user, with its app's and tenant's names, oldest first. */
export interface RedeemedGrant {
  appId: string;
  appName: string;
  tenantName: string;
  scope: string[];
  createdAt: number;
}

/** A user's live, redeemed grants for apps that still exist, oldest first. */
export async function redeemedGrants(ctx: DomainContext, userId: string): Promise<RedeemedGrant[]> {
  const rows = await ctx.db
    .selectFrom('grants')
    .innerJoin('apps', 'apps.id', 'grants.app_id')
    .innerJoin('tenants', 'tenants.id', 'apps.tenant_id')
    .select([
      'grants.app_id',
      'grants.scope',
      'grants.created_at',
      'apps.name as app_name',
      'tenants.name as tenant_name',
    ])
    .where('grants.user_id', '=', userId)
    .where('grants.revoked_at', 'is', null)
    .where('grants.redeemed_at', 'is not', null)
    .where('apps.deleted_at', 'is', null)
    .orderBy('grants.created_at', 'asc')
    .execute();
  return rows.map((r) => ({
    appId: r.app_id,
    appName: r.app_name,
    tenantName: r.tenant_name,
    scope: splitScope(r.scope),
    createdAt: r.created_at,
  }));
}

/**
 * Rows the first statement of a purge deletes. On SQLite a statement holds the write lock, and with
 * better-sqlite3 the event loop too, for as long as it runs: one DELETE of millions of expired rows would
 * stall every request for seconds, so the purge deletes in small, paced batches ({@link deleteInPacedBatches}).
 */
export const PURGE_BATCH_ROWS = 200;

/** How a batched purge shares the database (and, on SQLite, the event loop) with requests. */
export interface PurgePace {
  /** How long one batch should take (ms): the batch size adapts to it. */
  targetMs: number;
  /** After each batch the purge rests this many times as long as the batch took. */
  restFactor: number;
  /**
   * The rest factor while the server is busy: after a rest during which the event loop worked on other things
   * (requests) more than {@link PurgePace.busyShare} of the time, the next rest is this many times the batch.
   */
  busyRestFactor: number;
  /** The share of a rest (event loop utilisation, 0–1) above which the server counts as busy. */
  busyShare: number;
  /** Bounds of the batch size (rows). */
  minRows: number;
  maxRows: number;
}

/**
 * A purge batch holds a token request up for about 2 ms, and requests get four fifths of the time while it
 * runs. At a fixed 200 rows, back to back, batches of the seeded bench's 3M-row table took 5-10 ms each and
 * the token endpoint's p50 under load went from 5 to 18 ms during the purge; paced at 3 ms with a rest of
 * twice that, the write-ahead log still grew fast enough for checkpoints to stall requests (p99 24 ms at 4
 * connections, seeded ×0.25); at this pace it is 16 ms (bench/README.md, "The purge"). While requests keep the
 * event loop busy the purge rests nine times as long as a batch, so its writes (and the disk work of the
 * checkpoints behind them) make way for traffic: p99 11–13 ms against 18–21 ms at four times, seeded ×0.25
 * (bench/README.md, "The purge yields to traffic, stop 26").
 */
export const DEFAULT_PURGE_PACE: PurgePace = {
  targetMs: 2,
  restFactor: 4,
  busyRestFactor: 9,
  busyShare: 0.1,
  minRows: 10,
  maxRows: 1000,
};

/**
 * Runs `batch(size)` until it deletes fewer rows than it was asked to, pacing it ({@link PurgePace}): each
 * batch's size is halved after a batch that took over twice the target and doubled after one that took
 * under half of it (and deleted all it was asked to), and between batches the purge waits on a timer, so
 * requests that arrived during a batch are served before the next one. How long it waits depends on whether
 * the event loop was busy with other work during the last wait: the purge yields to traffic.
 */
export async function deleteInPacedBatches(
  firstSize: number,
  batch: (size: number) => Promise<{ numDeletedRows: bigint }>,
  pace: PurgePace = DEFAULT_PURGE_PACE,
): Promise<number> {
  let total = 0;
  let size = firstSize;
  let factor = pace.restFactor;
  for (;;) {
    const started = performance.now();
    const n = Number((await batch(size)).numDeletedRows);
    const took = performance.now() - started;
    total += n;
    if (n < size) return total;
    if (took > 2 * pace.targetMs) size = Math.max(pace.minRows, Math.floor(size / 2));
    else if (took < pace.targetMs / 2) size = Math.min(pace.maxRows, size * 2);
    const before = performance.eventLoopUtilization();
    await new Promise<void>((resolve) => setTimeout(resolve, took * factor));
    const busy = performance.eventLoopUtilization(before).utilization > pace.busyShare;
    factor = busy ? pace.busyRestFactor : pace.restFactor;
  }
}

/**
 * Purges expired codes, expired refresh tokens, and unredeemed grants whose code has expired, in paced
 * batches starting at `batchSize` rows ({@link deleteInPacedBatches}).
 */
export async function purgeGrantData(
  ctx: DomainContext,
  batchSize = PURGE_BATCH_ROWS,
  pace: PurgePace = DEFAULT_PURGE_PACE,
): Promise<number> {
  const now = ctx.now();
  const codes = await deleteInPacedBatches(
    batchSize,
    (size) =>
      ctx.db
        .deleteFrom('authorization_codes')
        .where('code_hash', 'in', (eb) =>
          eb.selectFrom('authorization_codes').select('code_hash').where('expires_at', '<', now).limit(size),
        )
        .executeTakeFirst(),
    pace,
  );
  const rts = await deleteInPacedBatches(
    batchSize,
    (size) =>
      ctx.db
        .deleteFrom('refresh_tokens')
        .where('token_hash', 'in', (eb) =>
          eb.selectFrom('refresh_tokens').select('token_hash').where('expires_at', '<', now).limit(size),
        )
        .executeTakeFirst(),
    pace,
  );
  const stale = await deleteInPacedBatches(
    batchSize,
    (size) =>
      ctx.db
        .deleteFrom('grants')
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('grants')
            .select('id')
            .where('redeemed_at', 'is', null)
            .where('created_at', '<', now - CODE_TTL_MS * 2)
            .limit(size),
        )
        .executeTakeFirst(),
    pace,
  );
  return codes + rts + stale;
}
