import { describe, expect, it } from 'vitest';
import { hashPassword, scryptsInFlight, verifyPassword } from '../src/crypto/password.js';

// Token signatures and verifications run on libuv's thread pool (4 threads by default); scrypt must leave them
// room.
describe('password hashing on the thread pool', () => {
  it('holds at most half the pool at once, queues the rest in order, and every hash still comes out right', async () => {
    let most = 0;
    let watching = true;
    const watch = () => {
      most = Math.max(most, scryptsInFlight());
      if (watching) setImmediate(watch);
    };
    watch();
    const passwords = Array.from({ length: 6 }, (_, i) => `correct horse ${i}`);
    const hashes = await Promise.all(passwords.map((p) => hashPassword(p)));
    const checks = await Promise.all([
      ...passwords.map((p, i) => verifyPassword(p, hashes[i]!)),
      verifyPassword('wrong', hashes[0]!),
    ]);
    watching = false;
    expect(most).toBe(Math.max(1, Math.floor((Number(process.env.UV_THREADPOOL_SIZE) || 4) / 2)));
    expect(checks).toEqual([true, true, true, true, true, true, false]);
    expect(scryptsInFlight()).toBe(0);
  });

  it('gives a damaged stored hash a refusal and its slot back', async () => {
    await expect(verifyPassword('x', 'scrypt$3$8$1$c2FsdA$aGFzaA')).rejects.toThrow();
    expect(scryptsInFlight()).toBe(0);
    const hash = await hashPassword('still works');
    expect(await verifyPassword('still works', hash)).toBe(true);
  });
});
