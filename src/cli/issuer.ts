import { DiscoveryError, discover } from '@clavis/client';

const DISCOVERY = { retry: { retries: 2, baseDelayMs: 200, maxDelayMs: 1000 }, timeoutMs: 15_000 } as const;

/**
 * The issuer to use for `issuer` as the user typed it. RFC 8414 §3.3 compares issuers exactly, so
 * `https://idp.example/` and `https://idp.example` are different issuers; a user who typed one for the other
 * meant the same server. When discovery fails for the issuer as given and succeeds for it with the trailing
 * slash added or removed (the metadata then names exactly that issuer), that one is used and `onAdjusted` is
 * told. Otherwise the first failure is thrown, unchanged.
 */
export async function resolveIssuer(issuer: string, onAdjusted: (used: string) => void): Promise<string> {
  try {
    await discover(issuer, DISCOVERY);
    return issuer;
  } catch (err) {
    if (!(err instanceof DiscoveryError)) throw err;
    const other = issuer.endsWith('/') ? issuer.slice(0, -1) : `${issuer}/`;
    if (!/^https?:\/\/[^/]/.test(other)) throw err;
    try {
      await discover(other, DISCOVERY);
    } catch {
      throw err;
    }
    onAdjusted(other);
    return other;
  }
}
