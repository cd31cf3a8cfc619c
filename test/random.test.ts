import { describe, expect, it } from 'vitest';
import { randomToken } from '../src/crypto/random.js';

describe('randomToken', () => {
  it('gives base64url strings of the right length, never the same twice', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const t = randomToken(16);
      expect(t).toMatch(/^[A-Za-z0-9_-]{22}$/);
      seen.add(t);
    }
    expect(seen.size).toBe(5000);
    expect(randomToken(32)).toHaveLength(43);
    expect(randomToken(300)).toHaveLength(400);
  });

  it('looks uniform: every base64url character turns up', () => {
    const chars = new Set(Array.from({ length: 2000 }, () => randomToken(16)).join(''));
    expect(chars.size).toBe(64);
  });
});
