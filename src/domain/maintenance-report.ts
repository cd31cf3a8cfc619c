import { sql } from 'kysely';
import { SealedBox } from '../crypto/sealed-box.js';
import type { Db } from '../db/database.js';

/**
 * Read-only facts about a database for `clavis doctor`: whether the signing keys can be decrypted with
 * the configured secret key, and what the stored clocks say. Nothing here writes.
 */

/** The signing keys: how many, how many active, and how many open with the secret key (null: no key). */
export interface SigningKeyReport {
  total: number;
  active: number;
  readable: number | null;
}

export async function signingKeyReport(db: Db, secretKey: Buffer | null): Promise<SigningKeyReport> {
  const keys = await db.selectFrom('signing_keys').select(['kid', 'private_key_enc', 'retired_at']).execute();
  const active = keys.filter((k) => k.retired_at === null).length;
  if (secretKey === null) return { total: keys.length, active, readable: null };
  const box = new SealedBox(secretKey);
  let readable = 0;
  for (const k of keys) {
    try {
      // The same associated data the key store seals each private key with (src/keys/key-store.ts).
      box.open(k.private_key_enc, `signing-key:${k.kid}`);
      readable++;
    } catch {}
  }
  return { total: keys.length, active, readable };
}

/** The PostgreSQL server's clock, in epoch milliseconds. */
export async function databaseClock(db: Db): Promise<number> {
  const { rows } = await sql<{
    ms: string | number;
  }>`select (extract(epoch from now()) * 1000)::bigint as ms`.execute(db);
  return Number(rows[0]!.ms);
}

/** The newest timestamp written to the tables that record time (0 when they are empty). */
export async function newestStoredTimestamp(db: Db): Promise<number> {
  const newest = async (table: 'audit_events' | 'signing_keys' | 'refresh_tokens') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.max('created_at').as('at'))
          .executeTakeFirst()
      )?.at ?? 0,
    );
  return Math.max(await newest('audit_events'), await newest('signing_keys'), await newest('refresh_tokens'));
}
