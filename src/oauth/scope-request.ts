import type { App } from '../domain/apps.js';
import { appAllowsScope } from '../domain/oidc.js';
import { parseScope } from '../domain/scopes.js';
import { InvalidScope } from './errors.js';

/**
 * Resolves the `scope` parameter of a request against what the app may have (RFC 6749 §3.3): omitted gives
 * the app's default scopes; anything outside the app's allowed scopes (and the OIDC standard scopes, which
 * every app may ask for) is `invalid_scope`.
 */
export function resolveRequestedScope(app: App, raw: string | undefined): string[] {
  if (raw === undefined) return app.default_scopes;
  const requested = parseScope(raw);
  if (requested === null) throw new InvalidScope('The scope parameter is malformed.');
  if (requested.length === 0) return app.default_scopes;
  if (requested.some((s) => !appAllowsScope(app, s)))
    throw new InvalidScope('The requested scope exceeds the scopes this client is allowed.');
  return requested;
}
