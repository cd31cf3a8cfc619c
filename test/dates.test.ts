import { describe, expect, it } from 'vitest';
import { parseRealDate } from '../src/domain/dates.js';

describe('parseRealDate', () => {
  it.each(['2027-02-28', '2028-02-29', '2027-12-31T23:59:59Z', '2027-04-30T10:00:00+02:00', '2027-01-31'])(
    'reads %s as Date.parse does',
    (v) => expect(parseRealDate(v)).toBe(Date.parse(v)),
  );
  it.each([
    '2027-02-29',
    '2027-02-30',
    '2027-04-31T00:00:00Z',
    '2027-13-01',
    '2027-00-10',
    '2027-01-00',
    'soon',
  ])('refuses %s', (v) => expect(parseRealDate(v)).toBeNaN());
});
