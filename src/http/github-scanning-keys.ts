import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * GitHub's secret-scanning public keys, and the check of a message signed with one (GitHub "Secret
 * scanning partner program": headers `Github-Public-Key-Identifier` and `Github-Public-Key-Signature`,
 * ECDSA NIST P-256 with SHA-256 over the raw body, the DER signature in base64).
 *
 * The keys come from `CLAVIS_GITHUB_SCANNING_KEYS_URL` (GitHub's `{"public_keys": [{"key_identifier",
 * "key": PEM, "is_current"}]}` document, from an http(s) URL or a file) and are kept for an hour; an
 * unknown key identifier fetches them again (GitHub rotates keys), at most once a minute, so forged
 * identifiers cannot make Clavis hammer GitHub.
 */

/** The keys could not be read (network, file, or a document that is not GitHub's format). */
export class ScanningKeysUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScanningKeysUnavailable';
  }
}

export interface ScanningKeysOptions {
  /** How long fetched keys are used before they are fetched again. */
  ttlMs?: number;
  /** The shortest time between two fetches caused by unknown key identifiers. */
  refetchMs?: number;
  /** How long one fetch may take. */
  timeoutMs?: number;
  now?: () => number;
}

const MAX_DOCUMENT_BYTES = 256 * 1024;

/** Reads and parses a GitHub public keys document into P-256 keys by identifier. */
function parseKeys(text: string, source: string): Map<string, KeyObject> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ScanningKeysUnavailable(`${source}: not JSON`);
  }
  const list = (doc as { public_keys?: unknown })?.public_keys;
  if (!Array.isArray(list)) throw new ScanningKeysUnavailable(`${source}: no public_keys array`);
  const keys = new Map<string, KeyObject>();
  for (const entry of list) {
    const id = (entry as { key_identifier?: unknown })?.key_identifier;
    const pem = (entry as { key?: unknown })?.key;
    if (typeof id !== 'string' || typeof pem !== 'string') continue;
    try {
      const key = createPublicKey(pem);
      // Only ECDSA P-256 keys: anything else is not what GitHub signs with.
      if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')
        keys.set(id, key);
    } catch {
      // A key that does not parse is skipped; the others still work.
    }
  }
  return keys;
}

/** The keys of one source, cached; see the module comment. */
export class GitHubScanningKeys {
  #keys = new Map<string, KeyObject>();
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #loading: Promise<void> | undefined;
  readonly #ttlMs: number;
  readonly #refetchMs: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;

  constructor(
    readonly source: string,
    options: ScanningKeysOptions = {},
  ) {
    this.#ttlMs = options.ttlMs ?? 3600_000;
    this.#refetchMs = options.refetchMs ?? 60_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Whether `signature` (base64 DER ECDSA) is a signature of `body` by the key `keyId`. False for an
   * unknown key or a bad signature.
   *
   * @throws {ScanningKeysUnavailable} when no keys could be read at all.
   */
  async verify(keyId: string, signature: string, body: Buffer): Promise<boolean> {
    const key = await this.#key(keyId);
    if (!key) return false;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature) || signature.length > 200) return false;
    try {
      return verify('sha256', body, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
    } catch {
      return false;
    }
  }

  async #key(keyId: string): Promise<KeyObject | undefined> {
    const now = this.#now();
    if (now - this.#fetchedAt >= this.#ttlMs) await this.#load();
    let key = this.#keys.get(keyId);
    if (!key && this.#now() - this.#fetchedAt >= this.#refetchMs) {
      await this.#load();
      key = this.#keys.get(keyId);
    }
    return key;
  }

  /** One fetch at a time; callers waiting for it share its result. */
  #load(): Promise<void> {
    this.#loading ??= this.#fetch()
      .then((keys) => {
        this.#keys = keys;
        this.#fetchedAt = this.#now();
      })
      .catch((err) => {
        // Keys fetched before stay in use; with none at all, the caller learns it cannot check.
        if (this.#keys.size === 0) throw err;
        this.#fetchedAt = this.#now();
      })
      .finally(() => {
        this.#loading = undefined;
      });
    return this.#loading;
  }

  async #fetch(): Promise<Map<string, KeyObject>> {
    const src = this.source;
    if (!/^https?:\/\//i.test(src)) {
      const path = src.startsWith('file:') ? fileURLToPath(src) : src;
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        throw new ScanningKeysUnavailable(`${path}: ${(err as Error).message}`);
      }
      return parseKeys(text, path);
    }
    let res: Response;
    try {
      res = await fetch(src, {
        headers: { accept: 'application/json', 'user-agent': 'clavis-secret-scanning' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw new ScanningKeysUnavailable(`${src}: ${(err as Error).message}`);
    }
    if (!res.ok) throw new ScanningKeysUnavailable(`${src}: HTTP ${res.status}`);
    const text = await res.text();
    if (text.length > MAX_DOCUMENT_BYTES) throw new ScanningKeysUnavailable(`${src}: document too large`);
    return parseKeys(text, src);
  }
}
