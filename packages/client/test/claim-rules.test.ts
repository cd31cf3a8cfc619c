import fc from 'fast-check';
import { generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AccessTokenClaimRules, accessTokenClaimsPass, accessTokenVerifyOptions } from '../src/index.js';

// The Clavis server checks its own tokens' claims with accessTokenClaimsPass (it verifies the signature
// itself, on the thread pool); resource servers using the SDK or jose directly use accessTokenVerifyOptions
// with jose's jwtVerify. These tests hold the two to the same answer on every claims set.

const ISSUER = 'https://as.example';
const AUDIENCE = 'https://api.example';
const NOW = 1_800_000_000;

type Key = Awaited<ReturnType<typeof generateKeyPair>>;
let key: Key;

beforeAll(async () => {
  key = await generateKeyPair('ES256');
});

/** jose's verdict on a token with this header `typ` and these claims, under `rules`. */
async function joseAccepts(
  typ: string | undefined,
  claims: Record<string, unknown>,
  rules: AccessTokenClaimRules,
) {
  const header: { alg: string; typ?: string } = { alg: 'ES256' };
  if (typ !== undefined) header.typ = typ;
  const token = await new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey);
  const options = accessTokenVerifyOptions({
    ...rules,
    audience: rules.audience ?? [],
    algorithms: ['ES256'],
  });
  if (rules.audience === undefined) delete options.audience;
  try {
    await jwtVerify(token, key.publicKey, options);
    return true;
  } catch {
    return false;
  }
}

const around = (spread: number) => fc.integer({ min: NOW - spread, max: NOW + spread });
/** Mostly `good`, so that about half the generated sets pass; otherwise one of the ways a claim goes wrong. */
const mostly = <T>(good: fc.Arbitrary<T>, ...bad: fc.Arbitrary<unknown>[]) =>
  fc.oneof(
    { arbitrary: good as fc.Arbitrary<unknown>, weight: 3 * bad.length },
    ...bad.map((arbitrary) => ({ arbitrary, weight: 1 })),
  );
const wrongTypes = [fc.constant(undefined), fc.constant('1800000000'), fc.constant(null)];

const claimsArb = fc.record({
  iss: mostly(
    fc.constant(ISSUER),
    fc.constant('https://other.example'),
    fc.constant(42),
    fc.constant(undefined),
  ),
  aud: mostly(
    fc.oneof(fc.constant(AUDIENCE), fc.constant([AUDIENCE, 'https://other.example'])),
    fc.constant('https://other.example'),
    fc.constant(['https://other.example']),
    fc.constant([]),
    fc.constant(7),
    fc.constant(undefined),
  ),
  iat: mostly(around(120), around(7200), ...wrongTypes),
  nbf: mostly(fc.constant(undefined), around(120), fc.constant('1800000000')),
  exp: mostly(fc.integer({ min: NOW - 60, max: NOW + 7200 }), around(7200), ...wrongTypes),
  sub: fc.constant('user-1'),
});

const rulesArb = fc.record({
  audience: fc.oneof(
    fc.constant(AUDIENCE),
    fc.constant([AUDIENCE, 'https://b.example']),
    fc.constant(undefined),
  ),
  clockToleranceSeconds: fc.oneof(fc.constant(0), fc.constant(30), fc.constant(undefined)),
  maxTokenAgeSeconds: fc.oneof(fc.constant(3600), fc.constant(60), fc.constant(undefined)),
});

const typArb = mostly(
  fc.oneof(fc.constant('at+jwt'), fc.constant('application/at+jwt'), fc.constant('AT+JWT')),
  fc.constant('JWT'),
  fc.constant('application/jwt'),
  fc.constant(undefined),
) as fc.Arbitrary<string | undefined>;

describe('accessTokenClaimsPass', () => {
  it('gives the same answer as jwtVerify with accessTokenVerifyOptions on generated claims', async () => {
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(typArb, claimsArb, rulesArb, async (typ, raw, r) => {
        const claims = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
        const rules: AccessTokenClaimRules = {
          issuer: ISSUER,
          audience: r.audience,
          clockToleranceSeconds: r.clockToleranceSeconds,
          maxTokenAgeSeconds: r.maxTokenAgeSeconds,
          currentDate: new Date(NOW * 1000),
        };
        const direct = accessTokenClaimsPass(typ === undefined ? {} : { typ }, claims, rules);
        expect(direct).toBe(await joseAccepts(typ, claims, rules));
        if (direct) accepted++;
        else refused++;
      }),
      { numRuns: 600, seed: 17 },
    );
    // The generated sets must exercise both answers, or the comparison proves nothing.
    expect(accepted).toBeGreaterThan(60);
    expect(refused).toBeGreaterThan(60);
  });

  it('refuses claims that are not a JSON object', () => {
    const rules = { issuer: ISSUER, audience: AUDIENCE, currentDate: new Date(NOW * 1000) };
    for (const claims of [null, [], 'x', 1, true])
      expect(accessTokenClaimsPass({ typ: 'at+jwt' }, claims, rules)).toBe(false);
  });

  it('applies each rule at its edge, with the tolerance', () => {
    const rules = {
      issuer: ISSUER,
      audience: AUDIENCE,
      clockToleranceSeconds: 30,
      maxTokenAgeSeconds: 600,
      currentDate: new Date(NOW * 1000),
    };
    const ok = { iss: ISSUER, aud: AUDIENCE, iat: NOW - 10, exp: NOW + 300 };
    const pass = (c: Record<string, unknown>) => accessTokenClaimsPass({ typ: 'at+jwt' }, c, rules);
    expect(pass(ok)).toBe(true);
    expect(pass({ ...ok, exp: NOW - 29 })).toBe(true);
    expect(pass({ ...ok, exp: NOW - 30 })).toBe(false);
    expect(pass({ ...ok, nbf: NOW + 30 })).toBe(true);
    expect(pass({ ...ok, nbf: NOW + 31 })).toBe(false);
    expect(pass({ ...ok, iat: NOW - 630 })).toBe(true);
    expect(pass({ ...ok, iat: NOW - 631 })).toBe(false);
    expect(pass({ ...ok, iat: NOW + 30 })).toBe(true);
    expect(pass({ ...ok, iat: NOW + 31 })).toBe(false);
    expect(pass({ iss: ISSUER, aud: AUDIENCE, exp: NOW + 300 })).toBe(false);
  });
});
