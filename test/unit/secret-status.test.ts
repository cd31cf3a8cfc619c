import { describe, expect, it } from 'vitest';
import { SECRET_EXPIRING_WITHIN_MS, secretStatus, secretUsable } from '../../src/domain/secret-status.js';

const NOW = Date.UTC(2026, 5, 1);
const DAY = 86_400_000;
const live = { revoked_at: null, replaced_by: null };

describe('secretStatus', () => {
  it('one word per state', () => {
    expect(secretStatus({ ...live, expires_at: null }, NOW)).toBe('active');
    expect(secretStatus({ ...live, expires_at: NOW + 90 * DAY }, NOW)).toBe('active');
    expect(secretStatus({ ...live, expires_at: NOW + SECRET_EXPIRING_WITHIN_MS }, NOW)).toBe('expiring');
    expect(secretStatus({ ...live, expires_at: NOW + DAY }, NOW)).toBe('expiring');
    expect(secretStatus({ ...live, expires_at: NOW }, NOW)).toBe('expired');
    expect(secretStatus({ revoked_at: NOW - DAY, replaced_by: 'next', expires_at: null }, NOW)).toBe(
      'replaced',
    );
    expect(secretStatus({ revoked_at: NOW - DAY, replaced_by: null, expires_at: null }, NOW)).toBe('revoked');
  });

  it('a deactivated secret says why it stopped, even after its expiry has passed', () => {
    expect(secretStatus({ revoked_at: NOW - 9 * DAY, replaced_by: 'x', expires_at: NOW - DAY }, NOW)).toBe(
      'replaced',
    );
    expect(secretStatus({ revoked_at: NOW - 9 * DAY, replaced_by: null, expires_at: NOW - DAY }, NOW)).toBe(
      'revoked',
    );
  });

  it('only active and expiring secrets authenticate', () => {
    expect(
      ['active', 'expiring', 'replaced', 'revoked', 'expired'].map((s) => secretUsable(s as never)),
    ).toEqual([true, true, false, false, false]);
  });
});
