/**
 * Reads a date or date-time the way a person means it: `Date.parse`, except that a calendar date that does
 * not exist (`2027-02-30`, `2026-13-01`, `2026-04-31`) is refused instead of rolled over into the next
 * month, which `Date.parse` does for ISO 8601 strings.
 *
 * @returns milliseconds since the epoch, or `NaN` for anything that is not a real date.
 */
export function parseRealDate(value: string): number {
  const t = Date.parse(value);
  if (Number.isNaN(t)) return t;
  const m = /^\s*([+-]?\d{4,6})-(\d{2})-(\d{2})(?![\d])/.exec(value);
  if (m) {
    const year = Number(m[1]);
    const month = Number(m[2]);
    const day = Number(m[3]);
    // Day 0 of the next month is the last day of this one.
    const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (month < 1 || month > 12 || day < 1 || day > last) return Number.NaN;
  }
  return t;
}
