/** Number formatting for the bench's tables. */

/**
 * `value` with `digits` decimals, or more (up to 6) when the rounded text would read as the other side of the
 * target: a 0.7959 ratio against "≥ 0.8" prints as 0.796, not as 0.80 next to "no".
 */
export function formatAgreeing(value: number, meets: (v: number) => boolean, digits: number): string {
  const verdict = meets(value);
  let d = digits;
  while (d < 6 && meets(Number(value.toFixed(d))) !== verdict) d++;
  return value.toFixed(d);
}
