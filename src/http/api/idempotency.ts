import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { SealedBox } from '../../crypto/sealed-box.js';
import type { Actor } from '../../domain/context.js';
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  findIdempotencyRecord,
  purgeIdempotencyRecords,
  releaseIdempotencyKey,
} from '../../domain/idempotency-store.js';
import type { Services } from '../../services.js';
import { ApiProblem } from './errors.js';

/**
 * `Idempotency-Key` for POST creates (apps, secrets, secret refresh): the same key from the same actor on
 * the same route returns the first response and creates nothing new; the same key with another body is a
 * 422 problem. Entries live 24 hours.
 *
 * Why the stored response is encrypted rather than hashed: these responses carry a client secret value.
 * Storing only a hash and refusing replays would be safest at rest, but it defeats the point of the key:
 * a client that lost the first response (the network failed) could never learn the value, and could only
 * create another secret, which is exactly the duplicate idempotency exists to avoid. So the response is
 * sealed with AES-256-GCM under a key derived from the server key for this purpose alone, bound (as AAD)
 * to the actor, route and key. The database alone reveals nothing; the replay goes only to the same
 * authenticated actor who created the secret, with the same request body; and the row is purged after
 * 24 hours. The plaintext is never logged.
 */

export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * The sealing key for stored responses, derived from the secret key on use: one HKDF per idempotent request
 * (microseconds, and only on the POSTs that carry an Idempotency-Key), so no per-server cache is needed.
 */
function box(services: Services): SealedBox {
  return new SealedBox(services.config.secretKey, 'idempotency');
}

/** A stable JSON encoding (sorted keys) so equal bodies hash equally. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v ?? null);
}

interface Envelope {
  /** SHA-256 of the canonical request body. */
  fp: string;
  /** The sealed `{status, body}`; absent while the first request is still running. */
  sealed?: string;
}

export interface IdempotentResult {
  status: number;
  body: unknown;
  /** True when this is a replay of an earlier response. */
  replayed: boolean;
}

/**
 * Runs `create` at most once per `Idempotency-Key`. Without the header it just runs. Only successful
 * responses are kept; a failed attempt frees the key so the client can retry.
 */
export async function idempotent(
  services: Services,
  request: FastifyRequest,
  actor: Actor,
  create: () => Promise<{ status: number; body: unknown }>,
): Promise<IdempotentResult> {
  const raw = request.headers['idempotency-key'];
  if (raw === undefined) return { ...(await create()), replayed: false };
  const key = Array.isArray(raw) ? raw.join(',') : raw;
  if (!KEY_PATTERN.test(key))
    throw ApiProblem.badField(
      'Idempotency-Key',
      'The Idempotency-Key header must be 1 to 255 visible ASCII characters.',
    );
  const ctx = services.ctx;
  const scope = `${actor.id} ${request.method} ${request.url.split('?')[0]}`;
  const aad = `${scope}\n${key}`;
  const fp = createHash('sha256')
    .update(canonical(request.body ?? {}))
    .digest('base64url');

  // Claim the key first (the primary key makes this atomic across nodes), then do the work.
  const staleBefore = ctx.now() - IDEMPOTENCY_TTL_MS;
  if (!(await claimIdempotencyKey(ctx, scope, key, JSON.stringify({ fp } satisfies Envelope), staleBefore))) {
    const row = await findIdempotencyRecord(ctx, scope, key);
    if (!row)
      throw ApiProblem.of(409, 'A request with this Idempotency-Key just finished or failed; retry it.');
    const env = JSON.parse(row.body) as Envelope;
    if (env.fp !== fp)
      throw ApiProblem.of(422, 'This Idempotency-Key was already used with a different request body.', {
        errors: { 'Idempotency-Key': 'Already used with a different request body.' },
      });
    if (!env.sealed || row.status === 0)
      throw ApiProblem.of(
        409,
        'A request with this Idempotency-Key is still being processed; retry shortly.',
      );
    const stored = JSON.parse(box(services).open(env.sealed, aad)) as { status: number; body: unknown };
    return { ...stored, replayed: true };
  }
  let result: { status: number; body: unknown };
  try {
    result = await create();
  } catch (err) {
    await releaseIdempotencyKey(ctx, scope, key);
    throw err;
  }
  const sealed = box(services).seal(JSON.stringify(result), aad);
  await completeIdempotencyKey(ctx, scope, key, {
    status: result.status,
    body: JSON.stringify({ fp, sealed } satisfies Envelope),
  });
  return { ...result, replayed: false };
}

/** Purge step: drops idempotency entries older than 24 hours. */
export async function purgeIdempotencyKeys(services: Services): Promise<number> {
  return purgeIdempotencyRecords(services.ctx, services.ctx.now() - IDEMPOTENCY_TTL_MS);
}
