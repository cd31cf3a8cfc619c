import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestMatches, KeyedHasher } from '../../src/crypto/keyed-hash.js';

describe('KeyedHasher', () => {
  const hasher = new KeyedHasher(randomBytes(32));

  it('stores the base64url form of the digest', () => {
    expect(hasher.hash('secret')).toBe(hasher.digest('secret').toString('base64url'));
    expect(hasher.hash('secret')).not.toBe(new KeyedHasher(randomBytes(32)).hash('secret'));
  });

  it('verifies a value against its stored hash, and nothing else', () => {
    const stored = hasher.hash('secret');
    expect(hasher.verify('secret', stored)).toBe(true);
    expect(hasher.verify('Secret', stored)).toBe(false);
    expect(hasher.verify('secret', stored.slice(0, -2))).toBe(false);
    expect(hasher.verify('secret', '')).toBe(false);
  });

  it('digestMatches compares one digest with several stored hashes', () => {
    const digest = hasher.digest('s2');
    const stored = ['s1', 's2', 's3'].map((s) => hasher.hash(s));
    expect(stored.map((h) => digestMatches(digest, h))).toEqual([false, true, false]);
  });
});
