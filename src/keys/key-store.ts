import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import type { JWK } from 'jose';
import { ConfigError } from '../config/config.js';
import { randomToken } from '../crypto/random.js';
import type { SealedBox } from '../crypto/sealed-box.js';
import type { DomainContext } from '../domain/context.js';

export type SigningAlg = 'ES256' | 'EdDSA';

/** A signing key, parsed once when loaded. */
export interface LoadedKey {
  kid: string;
  alg: SigningAlg;
  publicJwk: JWK;
  publicKey: KeyObject;
  privateKey: KeyObject;
  createdAt: number;
  retiredAt: number | null;
  /** The base64url JWS protected header for access tokens signed with this key (RFC 9068 §2.1). */
  atHeader: string;
}

/** How long a retired key stays published beyond the longest token lifetime: covers nodes that switch late. */
const RETIRED_GRACE_MS = 5 * 60_000;
/** How often a node re-reads the key set, in case it missed a rotation notice. */
const RELOAD_INTERVAL_MS = 60_000;
/** Unknown-kid reloads are rate-limited to one per this interval. */
const MISS_RELOAD_MS = 1_000;

function generate(alg: SigningAlg): { publicJwk: JWK; privateJwk: JWK } {
  const pair =
    alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  return {
    publicJwk: pair.publicKey.export({ format: 'jwk' }) as JWK,
    privateJwk: pair.privateKey.export({ format: 'jwk' }) as JWK,
  };
}

/**
 * Signs with the signer's own algorithm: ES256 as raw r||s (JWS, RFC 7518 §3.4), EdDSA as Ed25519.
 */
export function signWithKey(key: LoadedKey, data: string): Buffer {
  return key.alg === 'ES256'
    ? sign('sha256', Buffer.from(data), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
    : sign(null, Buffer.from(data), key.privateKey);
}

/**
 * The server's signing keys: stored in the database with the private half encrypted at rest, parsed once
 * into `KeyObject`s, and rotated with no downtime (the previous key stays published until every token it
 * signed has expired).
 */
export class KeyStore {
  #keys: LoadedKey[] = [];
  #loadedAt = 0;
  #lastMissReload = 0;
  #reloading: Promise<void> | null = null;

  constructor(
    private readonly ctx: DomainContext,
    private readonly box: SealedBox,
  ) {}

  /** Loads the keys, creating the first one when there is none. */
  async init(): Promise<void> {
    await this.reload();
    if (!this.#keys.some((k) => k.retiredAt === null && k.alg === this.ctx.config.signingAlg)) {
      await this.#insert(this.ctx.config.signingAlg);
      await this.reload();
    }
  }

  async #insert(alg: SigningAlg): Promise<string> {
    const kid = randomToken(12);
    const { publicJwk, privateJwk } = generate(alg);
    await this.ctx.db
      .insertInto('signing_keys')
      .values({
        kid,
        alg,
        public_jwk: JSON.stringify({ ...publicJwk, kid, alg, use: 'sig' }),
        private_key_enc: this.box.seal(JSON.stringify(privateJwk), `signing-key:${kid}`),
        created_at: this.ctx.now(),
        retired_at: null,
      })
      .execute();
    return kid;
  }

  /** Re-reads the published keys from the database. */
  async reload(): Promise<void> {
    if (this.#reloading) return this.#reloading;
    this.#reloading = (async () => {
      const now = this.ctx.now();
      const keep = now - this.ctx.config.accessTokenTtl * 1000 - RETIRED_GRACE_MS;
      const rows = await this.ctx.db
        .selectFrom('signing_keys')
        .selectAll()
        .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', keep)]))
        .orderBy('created_at', 'desc')
        .orderBy('kid', 'desc')
        .execute();
      const byKid = new Map(this.#keys.map((k) => [k.kid, k]));
      this.#keys = rows.map((r) => {
        const known = byKid.get(r.kid);
        if (known) return { ...known, retiredAt: r.retired_at };
        const publicJwk = JSON.parse(r.public_jwk) as JWK;
        let privateJwk: JWK;
        try {
          privateJwk = JSON.parse(this.box.open(r.private_key_enc, `signing-key:${r.kid}`)) as JWK;
        } catch {
          throw new ConfigError(
            'CLAVIS_SECRET_KEY',
            `cannot decrypt signing key ${r.kid}: the database was set up with a different secret key. Use the key it was created with (check CLAVIS_SECRET_KEY and secret.key in the data directory).`,
          );
        }
        const alg = r.alg as SigningAlg;
        return {
          kid: r.kid,
          alg,
          publicJwk,
          publicKey: createPublicKey({ key: publicJwk as never, format: 'jwk' }),
          privateKey: createPrivateKey({ key: privateJwk as never, format: 'jwk' }),
          createdAt: r.created_at,
          retiredAt: r.retired_at,
          atHeader: Buffer.from(JSON.stringify({ alg, typ: 'at+jwt', kid: r.kid })).toString('base64url'),
        };
      });
      this.#loadedAt = now;
    })().finally(() => {
      this.#reloading = null;
    });
    return this.#reloading;
  }

  /** Re-reads the keys when the last read is older than the reload interval. */
  async refreshIfStale(): Promise<void> {
    if (this.ctx.now() - this.#loadedAt > RELOAD_INTERVAL_MS) await this.reload();
  }

  /** The key new tokens are signed with: the newest active key of the configured algorithm. */
  signingKey(): LoadedKey {
    const key =
      this.#keys.find((k) => k.retiredAt === null && k.alg === this.ctx.config.signingAlg) ??
      this.#keys.find((k) => k.retiredAt === null);
    if (!key) throw new Error('No active signing key is loaded.');
    return key;
  }

  /** Every key a token may still be verified with (published in the JWKS). */
  publishedKeys(): LoadedKey[] {
    return this.#keys;
  }

  /** The JWK Set for `jwks_uri`. */
  jwks(): { keys: JWK[] } {
    return { keys: this.#keys.map((k) => k.publicJwk) };
  }

  /**
   * Finds a verification key by `kid`; an unknown kid triggers one rate-limited reload (another node may
   * have rotated).
   */
  async verificationKey(kid: string): Promise<LoadedKey | undefined> {
    const hit = this.#keys.find((k) => k.kid === kid);
    if (hit) return hit;
    const now = this.ctx.now();
    if (now - this.#lastMissReload < MISS_RELOAD_MS) return undefined;
    this.#lastMissReload = now;
    await this.reload();
    return this.#keys.find((k) => k.kid === kid);
  }

  /**
   * Rotates: a new key signs from now on; the old one is retired but stays published until the tokens it
   * signed have expired. Returns the new kid.
   */
  async rotate(alg: SigningAlg = this.ctx.config.signingAlg): Promise<string> {
    const now = this.ctx.now();
    await this.ctx.db
      .updateTable('signing_keys')
      .set({ retired_at: now })
      .where('retired_at', 'is', null)
      .execute();
    const kid = await this.#insert(alg);
    await this.reload();
    await this.ctx.changes.publish('keys', kid);
    return kid;
  }
}
