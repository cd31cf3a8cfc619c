/** Exit codes: 0 success, 1 user error, 2 server error. */
export const EXIT_USER = 1;
export const EXIT_SERVER = 2;

/**
 * An error meant for the person at the terminal: one line that says what to do. `code` names the kind of
 * error for scripts (printed with `--json`): an RFC 6749 error code such as `invalid_client`, or one of
 * `not_logged_in`, `login_expired`, `unreachable`, `not_found`, `forbidden`, `conflict`, `invalid_request`,
 * `server_error`, `config`, `usage`, `user_error`.
 */
export class CliError extends Error {
  readonly code: string;
  constructor(
    message: string,
    readonly exitCode: number = EXIT_USER,
    code?: string,
  ) {
    super(message);
    this.name = 'CliError';
    this.code = code ?? (exitCode === EXIT_SERVER ? 'server_error' : 'user_error');
  }
}

/** Prints rows as an aligned table. */
export function printTable(rows: Array<Record<string, unknown>>, columns: string[]): void {
  if (rows.length === 0) {
    console.log('(none)');
    return;
  }
  const cell = (v: unknown) =>
    v === null || v === undefined ? '' : Array.isArray(v) ? v.join(' ') : String(v);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  console.log(line(columns.map((c) => c.toUpperCase())));
  for (const r of rows) console.log(line(columns.map((c) => cell(r[c]))));
}

export function formatTime(ms: number | null | undefined): string {
  return ms ? new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z') : '';
}

/** Quotes a value for a shell command line shown to the user (only when it needs quoting). */
export function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
