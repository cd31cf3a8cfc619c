/**
 * The custom API of the bench's `client_credentials` with `resource=` scenario. The same API (identifier and
 * 20 scopes) is registered on the empty databases by run.ts and seeded among 1,000 others by seed.ts, so the
 * request is the same on both and only the database around it differs.
 */
export const BENCH_API = {
  identifier: 'https://bench-api.example.com/orders',
  name: 'Bench orders API',
  /** The scope the bench client holds (granted) and asks for. */
  scope: 'orders:read',
} as const;

/** `n` scopes as the domain stores them (apis.scopes: JSON of `{name, description, admin_consent_required}`). */
export function apiScopes(names: string[]): string {
  return JSON.stringify(
    names.map((name) => ({ name, description: `Scope ${name}`, admin_consent_required: false })),
  );
}

/** The bench API's 20 scope names: `orders:read` first. */
export const BENCH_API_SCOPES = [
  BENCH_API.scope,
  ...Array.from({ length: 19 }, (_, i) => `orders:s${String(i + 1).padStart(2, '0')}`),
];
