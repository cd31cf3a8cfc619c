import { describe, expect, it } from 'vitest';
import { formatAgreeing } from '../bench/format.js';

describe('bench: a measured value reads the way its verdict says', () => {
  const atLeast = (t: number) => (v: number) => v >= t;

  it('adds digits when rounding would cross the target', () => {
    // The README once showed "0.80× | no" for this PostgreSQL / SQLite ratio.
    expect(formatAgreeing(0.7958630458142034, atLeast(0.8), 2)).toBe('0.796');
    expect(formatAgreeing(0.79996, atLeast(0.8), 2)).toBe('0.79996');
    expect(formatAgreeing(19.6, (v) => v < 20, 0)).toBe('19.6');
  });

  it('keeps the usual digits when rounding does not change the verdict', () => {
    expect(formatAgreeing(0.9712, atLeast(0.75), 2)).toBe('0.97');
    expect(formatAgreeing(0.8, atLeast(0.8), 2)).toBe('0.80');
    expect(formatAgreeing(484.2, (v) => v <= 1000, 0)).toBe('484');
  });
});
