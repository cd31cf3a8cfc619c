/**
 * Express / Connect / plain `node:http` integration, typed structurally: this module does not import `express`.
 * It only uses the Node.js `ServerResponse` API (`statusCode`, `setHeader`, `end`), which Express responses extend.
 *
 * @packageDocumentation
 */

import { authenticateBearer, type BearerAuthOptions } from '../bearer.js';
import type { AccessTokenClaims, Verifier } from '../verifier.js';

/**
 * The parts of an Express / `IncomingMessage` request the middleware uses. `auth` is set on success.
 *
 * @example
 * ```ts
 * // Express: declare the claims on the request type once.
 * declare global {
 *   namespace Express {
 *     interface Request { auth?: AccessTokenClaims }
 *   }
 * }
 * ```
 */
export interface NodeRequestLike {
  headers: Record<string, string | string[] | undefined>;
  auth?: AccessTokenClaims;
}

/**
 * The parts of an Express / `ServerResponse` response the middleware uses.
 *
 * @example
 * ```ts
 * import http from 'node:http';
 * // A plain node:http ServerResponse satisfies NodeResponseLike:
 * http.createServer((req, res) => expressBearerAuth(verifier)(req, res, () => res.end('ok')));
 * ```
 */
export interface NodeResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(chunk?: string): unknown;
}

/**
 * An Express-style middleware.
 *
 * @example
 * ```ts
 * const requireOrdersRead: ExpressBearerMiddleware = expressBearerAuth(verifier, { requiredScopes: ['orders:read'] });
 * app.use('/orders', requireOrdersRead);
 * ```
 */
export type ExpressBearerMiddleware = (
  req: NodeRequestLike,
  res: NodeResponseLike,
  next: (err?: unknown) => void,
) => void;

/**
 * Creates an Express (or Connect / `node:http`) middleware that requires a valid bearer access token. On success
 * the claims are put on `req.auth` and `next()` is called; otherwise it answers 401/403 with the RFC 6750
 * `WWW-Authenticate` challenge and a JSON body `{ error, error_description }`. Unexpected failures of the
 * verification (such as a JWKS outage) are passed to `next(err)`. An exception thrown by the downstream handlers
 * is not caught here: it propagates as from synchronous middleware (never as an unhandled promise rejection).
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { createVerifier, expressBearerAuth } from '@clavis/client';
 *
 * const verifier = createVerifier({ issuer: 'https://auth.example.com', audience: 'https://api.example.com' });
 * const app = express();
 *
 * app.get('/orders', expressBearerAuth(verifier, { requiredScopes: ['orders:read'] }), (req, res) => {
 *   res.json({ owner: (req as typeof req & { auth?: { sub?: string } }).auth?.sub });
 * });
 * ```
 */
export function expressBearerAuth(
  verifier: Verifier,
  options: BearerAuthOptions = {},
): ExpressBearerMiddleware {
  return (req, res, next) => {
    authenticateBearer(verifier, req.headers.authorization, options).then(
      (result) => {
        if (result.ok) {
          req.auth = result.claims;
          callOutside(next);
          return;
        }
        res.statusCode = result.status;
        res.setHeader('www-authenticate', result.wwwAuthenticate);
        res.setHeader('cache-control', 'no-store');
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.end(JSON.stringify(result.body));
      },
      // Only a failure of the verification itself (e.g. a JWKS outage) goes to next(err).
      (err: unknown) => callOutside(() => next(err)),
    );
  };
}

/**
 * Calls `fn` (the downstream handlers) outside the promise chain: if it throws, the error surfaces as it
 * would from synchronous middleware (Express and Connect catch it in their own `next`; on plain `node:http` it
 * is an uncaught exception), never as an unhandled promise rejection, and `next` is never called a second
 * time with it.
 */
function callOutside(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}
