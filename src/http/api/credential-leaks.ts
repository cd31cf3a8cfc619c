import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from '@sinclair/typebox';
import { SignupThrottle } from '../../auth/signup-throttle.js';
import {
  isRealSecret,
  LEAK_URL_MAX,
  type LeakOutcome,
  reportLeakedCredential,
} from '../../domain/credential-leaks.js';
import type { Services } from '../../services.js';
import { GitHubScanningKeys, ScanningKeysUnavailable } from '../github-scanning-keys.js';
import type { ApiInstance } from './context.js';
import { ApiProblem } from './errors.js';
import { problems } from './schemas.js';

/**
 * Leaked-secret reports, both public (no credentials: whoever finds a secret reports it):
 *
 * - `POST /api/v1/credential-leaks` `{"credential", "url"}`: always 202 with the same body, whether the value
 *   was a live secret, a dead one or nothing, and not sooner than {@link REPORT_MIN_MS} after it arrived, so
 *   neither the answer nor (as far as practical) its timing tells a guesser anything. Throttled per source
 *   address (`CLAVIS_LEAK_REPORT_RATE`).
 * - `POST /api/v1/credential-leaks/github`: GitHub's secret-scanning partner protocol; the body is checked
 *   against GitHub's signature before anything else, and each match is labelled `true_positive` (a Clavis
 *   secret, live or not) or `false_positive`.
 *
 * What a report does is the domain's (src/domain/credential-leaks.ts).
 */

/** The least time a public report takes to answer: covers the lookup and the revocation's transaction. */
export const REPORT_MIN_MS = 300;
/** The one answer of the public endpoint. */
const RECEIVED = {
  message:
    'Thank you. If this is a Clavis client secret that still works, it is handled now, and its owners are told.',
};
/** Any C0 control or DEL: a reported URL or GitHub field holding one is refused. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\x00-\x1f\x7f]/;
/** GitHub sends matches in batches; this many per request at most. */
const GITHUB_MAX_MATCHES = 5000;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A management API route that anyone may call: the API's authentication hook skips it. */
    publicRoute?: boolean;
  }
}

/** Checks a reported URL: absolute http(s), no control characters. */
function checkUrl(field: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw ApiProblem.badField(field, 'Give the absolute http(s) URL where the secret was found.');
  }
  if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || CONTROL.test(url))
    throw ApiProblem.badField(field, 'Give the absolute http(s) URL where the secret was found.');
  return url;
}

interface GitHubMatch {
  token: string;
  type: string;
  url: string;
  source: string;
}

/** Reads GitHub's body: an array of `{token, type, url, source}`. */
function parseGitHubMatches(raw: Buffer): GitHubMatch[] {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw ApiProblem.of(400, 'The body is not JSON.');
  }
  if (!Array.isArray(body)) throw ApiProblem.badField('body', 'Expected an array of matches.');
  if (body.length > GITHUB_MAX_MATCHES)
    throw ApiProblem.badField('body', `At most ${GITHUB_MAX_MATCHES} matches per request.`);
  return body.map((m, i) => {
    const item = (m ?? {}) as Record<string, unknown>;
    const text = (name: string, max: number, required: boolean): string => {
      const v = item[name];
      if (v === undefined && !required) return '';
      if (typeof v !== 'string' || v.length > max || (required && v === '') || CONTROL.test(v))
        throw ApiProblem.badField(`/${i}/${name}`, `Expected a string of at most ${max} characters.`);
      return v;
    };
    return {
      token: text('token', 1000, true),
      type: text('type', 200, false),
      url: text('url', LEAK_URL_MAX, false),
      source: text('source', 100, false),
    };
  });
}

export async function credentialLeakRoutes(api: ApiInstance, services: Services): Promise<void> {
  const ctx = services.ctx;
  const tags = ['credential leaks'];
  // The sign-up limiter's sliding hourly window, with the leak reports' own rate.
  const throttle = new SignupThrottle(services.config.leakReportRate, () => ctx.now());

  api.post(
    '/v1/credential-leaks',
    {
      config: { publicRoute: true },
      schema: {
        tags,
        summary: 'Report a leaked client secret',
        operationId: 'reportCredentialLeak',
        description:
          "No authentication. Found a Clavis client secret in public? Send it with where you found it. A live secret is revoked at once (or its owners only told, by the tenant's policy), the app's owner and the tenant's admins are mailed, and a `secret.leaked` event is sent. The answer is always 202, whatever the value was. Throttled per address (429 with Retry-After).",
        security: [],
        body: Type.Object(
          {
            credential: Type.String({ minLength: 1, maxLength: 1000, description: 'The value found.' }),
            url: Type.String({ minLength: 1, maxLength: LEAK_URL_MAX, description: 'Where it was found.' }),
          },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({ message: Type.String() }, { description: 'Received (always).' }),
          ...problems(400, 429),
        },
      },
    },
    async (request, reply) => {
      const started = performance.now();
      const url = checkUrl('url', request.body.url);
      const decision = throttle.take(request.ip);
      if (decision.kind === 'wait') {
        const seconds = Math.max(1, Math.ceil((decision.until - ctx.now()) / 1000));
        throw ApiProblem.of(
          429,
          `Too many leak reports from your address; try again in ${seconds} s.`,
          {},
          { 'retry-after': String(seconds) },
        );
      }
      let outcome: LeakOutcome['kind'] = 'unknown';
      try {
        outcome = (
          await reportLeakedCredential(ctx, { credential: request.body.credential, url, source: 'report' })
        ).kind;
      } catch (err) {
        // Even a failure answers 202 like everything else (and is logged, never with the value).
        request.log.error({ err }, 'leak report failed');
      }
      request.log.info({ outcome }, 'credential leak report');
      const wait = REPORT_MIN_MS - (performance.now() - started);
      if (wait > 0) await sleep(wait);
      return reply.code(202).send(RECEIVED);
    },
  );

  const keys = new GitHubScanningKeys(services.config.githubScanningKeysUrl);
  await api.register(async (gh) => {
    // The signature covers the raw body: keep it as bytes, parse only after the check.
    gh.removeContentTypeParser('application/json');
    gh.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, body),
    );
    gh.post(
      '/v1/credential-leaks/github',
      {
        config: { publicRoute: true },
        bodyLimit: 1024 * 1024,
        schema: {
          tags,
          summary: 'GitHub secret scanning (partner program)',
          operationId: 'githubSecretScanning',
          description:
            "GitHub's secret-scanning partner protocol. The body, an array of `{token, type, url, source}`, must be signed: `Github-Public-Key-Identifier` names one of the keys at `CLAVIS_GITHUB_SCANNING_KEYS_URL` and `Github-Public-Key-Signature` is the base64 DER ECDSA P-256 SHA-256 signature of the raw body (401 otherwise). Each match is handled as a public report, and the answer labels each token `true_positive` (a Clavis secret) or `false_positive`.",
          security: [],
          response: {
            200: Type.Array(
              Type.Object({
                token_raw: Type.String(),
                token_type: Type.String(),
                label: Type.Union([Type.Literal('true_positive'), Type.Literal('false_positive')]),
              }),
            ),
            ...problems(400, 401, 503),
          },
        },
      },
      async (request, reply) => {
        const keyId = request.headers['github-public-key-identifier'];
        const signature = request.headers['github-public-key-signature'];
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        if (typeof keyId !== 'string' || typeof signature !== 'string' || keyId === '' || signature === '')
          throw ApiProblem.of(
            401,
            'Sign the body: Github-Public-Key-Identifier and Github-Public-Key-Signature are required.',
          );
        let valid: boolean;
        try {
          valid = await keys.verify(keyId, signature, raw);
        } catch (err) {
          if (!(err instanceof ScanningKeysUnavailable)) throw err;
          request.log.error({ err: err.message }, 'GitHub secret-scanning keys unavailable');
          throw ApiProblem.of(
            503,
            "GitHub's secret-scanning keys cannot be read now; try again later.",
            {},
            { 'retry-after': '60' },
          );
        }
        if (!valid) throw ApiProblem.of(401, 'The signature does not match the body or a GitHub key.');
        const matches = parseGitHubMatches(raw);
        const answers = [];
        for (const m of matches) {
          const outcome = await reportLeakedCredential(ctx, {
            credential: m.token,
            url: m.url,
            source: 'github',
            location: m.source || undefined,
          });
          answers.push({
            token_raw: m.token,
            token_type: m.type,
            label: isRealSecret(outcome) ? 'true_positive' : 'false_positive',
          });
        }
        request.log.info(
          {
            matches: matches.length,
            true_positives: answers.filter((a) => a.label === 'true_positive').length,
          },
          'GitHub secret scanning report',
        );
        return reply.code(200).send(answers);
      },
    );
  });
}
