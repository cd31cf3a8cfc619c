/**
 * Dates as pages show them: "Dec 1, 2026" or "Dec 1, 2026, 8:45 PM", always in UTC.
 *
 * The formatters are made on first use, not at import: creating an `Intl.DateTimeFormat` pages in the locale
 * data that Node carries inside its binary (about 8 MB of resident memory), which a node that only serves the
 * token endpoint never needs.
 */
let date: Intl.DateTimeFormat | undefined;
let dateTime: Intl.DateTimeFormat | undefined;

/** A day, e.g. "Dec 1, 2026" (UTC). */
export function formatDate(at: number | Date): string {
  date ??= new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeZone: 'UTC' });
  return date.format(at);
}

/** A day and minute, e.g. "Dec 1, 2026, 8:45 PM" (UTC). */
export function formatDateTime(at: number | Date): string {
  dateTime ??= new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
  return dateTime.format(at);
}

/** A wait, for "try again in …": "N seconds" up to two minutes, then "N minutes". */
export function duration(seconds: number): string {
  if (seconds === 1) return '1 second';
  if (seconds <= 120) return `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}
