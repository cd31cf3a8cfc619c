import { CliError } from './output.js';

/** Prints a newly created secret value inside a box, so nobody misses that it is shown only once. */
export function printSecretBox(value: string, label = 'Client secret (shown once, store it now):'): void {
  const width = Math.max(label.length, value.length);
  const bar = '─'.repeat(width + 2);
  console.log(`┌${bar}┐`);
  console.log(`│ ${label.padEnd(width)} │`);
  console.log(`│ ${value.padEnd(width)} │`);
  console.log(`└${bar}┘`);
}

/** Prints an object as aligned "key  value" lines. */
export function printFields(obj: Record<string, unknown>, keys: string[] = Object.keys(obj)): void {
  const w = Math.max(...keys.map((k) => k.length));
  for (const k of keys) {
    const v = obj[k];
    const s = v === null || v === undefined ? '' : Array.isArray(v) ? v.join(' ') : String(v);
    console.log(`${k.padEnd(w)}  ${s}`);
  }
}

/** Decodes (does NOT verify) a JWS compact serialization's header and payload. */
export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
} {
  const parts = token.split('.');
  if (parts.length !== 3)
    throw new CliError('the access token is not a JWT (it is opaque); there is nothing to decode.');
  try {
    const part = (s: string) =>
      JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>;
    return { header: part(parts[0]!), claims: part(parts[1]!) };
  } catch {
    throw new CliError('the access token looks like a JWT but its header or claims are not valid JSON.');
  }
}

/** Splits "a b,c" into ["a", "b", "c"]. */
export function splitList(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return v
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}
