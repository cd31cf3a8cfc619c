import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import type { JWK } from 'jose';
import { ConfigError } from '../config/config.js';
import { randomToken } from '../crypto/random.js';
import type { SealedBox } from '../crypto/sealed-box.js';
import type { DomainContext } from '../domain/context.js';

export type SigningAlg = 'ES256' | 'EdDSA' | 'RS256';

/**
 * The algorithms the key store always holds an active key for: access tokens use the configured one (ES256
 * or EdDSA); ID tokens use each app's `id_token_signed_response_alg`, RS256 by default (OIDC Core §15.1
 * makes RS256 mandatory to implement).
 */
export const KEY_ALGS: readonly SigningAlg[] = ['ES256', 'EdDSA', 'RS256'];

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
  /** The base64url JWS protected header for ID tokens (and logout tokens) signed with this key. */
  jwtHeader: string;
}

/** How long a retired key stays published beyond the longest token lifetime: covers nodes that switch late. */
const RETIRED_GRACE_MS = 5 * 60_000;
/** How often a node re-reads the key set, in case it missed a rotation notice. */
const RELOAD_INTERVAL_MS = 60_000;
/** Unknown-kid reloads are rate-limited to one per this interval. */
const MISS_RELOAD_MS = 1_000;

function generate(alg: SigningAlg): { publicJwk: JWK; privateJwk: JWK } {
  const pair =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : alg === 'RS256'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ed25519');
  return {
    publicJwk: pair.publicKey.export({ format: 'jwk' }) as JWK,
    privateJwk: pair.privateKey.export({ format: 'jwk' }) as JWK,
  };
}

/**
 * What `crypto.sign`/`crypto.verify` take for each algorithm: ES256 as raw r||s (JWS, RFC 7518 §3.4), RS256 as
 * RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), EdDSA as Ed25519 (no separate digest).
 */
function nodeCryptoArgs(
  alg: SigningAlg,
  key: KeyObject,
): [string | null, KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' }] {
  if (alg === 'ES256') return ['sha256', { key, dsaEncoding: 'ieee-p1363' }];
  return [alg === 'RS256' ? 'sha256' : null, key];
}

/**
 * Signs with the signer's own algorithm ({@link nodeCryptoArgs}).
 *
 * The signature is made on libuv's thread pool (`crypto.sign` with a callback), not on the event loop: it is
 * the largest piece of work a token request does (an ES256 signature about a third of a client_credentials
 * request's CPU time, an RS256 ID token's over a millisecond), and while a pool thread signs, the event loop
 * parses and answers other requests. On this 2-core machine that took client_credentials from about 13,000
 * to 18,000 req/s in a bare `node:http` server (bench/README.md, "The bare limit, stop 26").
 */
export function signWithKey(key: LoadedKey, data: string): Promise<Buffer> {
  const [digest, privateKey] = nodeCryptoArgs(key.alg, key.privateKey);
  return new Promise((resolve, reject) =>
    sign(digest, Buffer.from(data), privateKey, (err, signature) => (err ? reject(err) : resolve(signature))),
  );
}

/**
 * Checks a signature made by {@link signWithKey}, on libuv's thread pool as well. WebCrypto's verify, which
 * jose uses, took about 26 µs of the event loop per call here against 8 µs for this one (bench/README.md,
 * "The bare limit, stop 26").
 *
 * @returns whether `signature` is the key's signature of `data`; `false` for a signature of the wrong shape.
 */
export function verifyWithKey(key: LoadedKey, data: string, signature: Buffer): Promise<boolean> {
  const [digest, publicKey] = nodeCryptoArgs(key.alg, key.publicKey);
  return new Promise((resolve) => {
    try {
      verify(digest, Buffer.from(data), publicKey, signature, (err, valid) => resolve(err === null && valid));
    } catch {
      resolve(false);
    }
  });
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
  #rereading: Promise<void> | null = null;

  constructor(
    private readonly ctx: DomainContext,
    private readonly box: SealedBox,
  ) {}

  /**
   * Loads the keys, creating an active key for each of {@link KEY_ALGS} that has none (the first start, or
   * the first start after the upgrade that added ID tokens).
   */
  async init(): Promise<void> {
    await this.reload();
    const missing = KEY_ALGS.filter((alg) => !this.#keys.some((k) => k.retiredAt === null && k.alg === alg));
    if (missing.length > 0) {
      for (const alg of missing) await this.#insert(alg);
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

  /**
   * Re-reads the published keys from the database. Calls made while a read is in flight share one further
   * read that starts after it: that read began before the caller's change (a rotation on another node, a
   * retirement), so joining it would return the keys as they were.
   */
  async reload(): Promise<void> {
    if (this.#reloading) {
      this.#rereading ??= this.#reloading
        .catch(() => {})
        .then(() => {
          this.#rereading = null;
          return this.reload();
        });
      return this.#rereading;
    }
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
          jwtHeader: Buffer.from(JSON.stringify({ alg, typ: 'JWT', kid: r.kid })).toString('base64url'),
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

  /** The key new access tokens are signed with: the newest active key of the configured algorithm. */
  signingKey(): LoadedKey {
    return this.keyFor(this.ctx.config.signingAlg);
  }

  /** The newest active key of `alg` (ID tokens choose their algorithm per app). */
  keyFor(alg: SigningAlg): LoadedKey {
    const key = this.#keys.find((k) => k.retiredAt === null && k.alg === alg);
    if (!key) throw new Error(`No active ${alg} signing key is loaded.`);
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
   * Rotates: new keys (one per algorithm of {@link KEY_ALGS}, the RSA one generated here, once) sign from now
   * on; the old ones are retired but stay published until the tokens they signed have expired. Returns the
   * kid of the new access-token key (`alg`, the configured algorithm by default).
   */
  async rotate(alg: Exclude<SigningAlg, 'RS256'> = this.ctx.config.signingAlg): Promise<string> {
    const now = this.ctx.now();
    await this.ctx.db
      .updateTable('signing_keys')
      .set({ retired_at: now })
      .where('retired_at', 'is', null)
      .execute();
    let kid = '';
    for (const a of KEY_ALGS) {
      const inserted = await this.#insert(a);
      if (a === alg) kid = inserted;
    }
    await this.reload();
    await this.ctx.changes.publish('keys', kid);
    return kid;
  }
}
