import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

// scrypt parameters: N=2^15, r=8, p=1 (OWASP's minimum is N=2^17 with r=8 for 128 MiB, or 2^15 at 32 MiB).
const N = 32768;
const R = 8;
const P = 1;
const KEYLEN = 32;
const MAXMEM = 64 * 1024 * 1024;

/**
 * How many scrypt jobs may hold libuv's thread pool at once: half the pool (4 threads unless
 * `UV_THREADPOOL_SIZE` says otherwise), at least one. The pool also signs and verifies every token
 * (`signWithKey`, `verifyWithKey` in src/keys/key-store.ts); a burst of sign-ins, or a spray of login attempts
 * (unknown users cost an scrypt too), each holding a thread for tens of milliseconds, must not take every
 * thread and leave the token endpoint queued behind them. Further hashes wait here, in order.
 */
const SCRYPT_SLOTS = Math.max(1, Math.floor((Number(process.env.UV_THREADPOOL_SIZE) || 4) / 2));
let scryptsRunning = 0;
const scryptQueue: Array<() => void> = [];

/** The number of scrypt jobs on the thread pool right now (tests watch it). */
export function scryptsInFlight(): number {
  return scryptsRunning;
}

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  // The slot passes straight to the next waiting job, so the count never exceeds SCRYPT_SLOTS.
  const release = () => {
    const next = scryptQueue.shift();
    if (next) next();
    else scryptsRunning--;
  };
  const start = (): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      try {
        scrypt(password.normalize('NFKC'), salt, KEYLEN, { N: n, r, p, maxmem: MAXMEM }, (err, key) => {
          release();
          if (err) reject(err);
          else resolve(key);
        });
      } catch (err) {
        // Parameters scrypt refuses outright (a damaged stored hash) never reach the pool.
        release();
        reject(err);
      }
    });
  if (scryptsRunning < SCRYPT_SLOTS) {
    scryptsRunning++;
    return start();
  }
  return new Promise<void>((resolve) => scryptQueue.push(resolve)).then(start);
}

/**
 * Hashes a user password with scrypt. The result encodes its parameters:
 * `scrypt$N$r$p$salt$hash`.
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Checks a password against {@link hashPassword}'s output in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64url');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A password hash that never matches, for constant-time behaviour on unknown users. */
export const DUMMY_PASSWORD_HASH = `scrypt$${N}$${R}$${P}$${randomBytes(16).toString('base64url')}$${randomBytes(32).toString('base64url')}`;
