import { InvalidTarget } from './errors.js';
import type { Params } from './form.js';

/**
 * Checks the resource a request names (RFC 8707 §2: `resource`; `audience`, as Auth0-style clients send it,
 * is read the same way). Clavis issues tokens for one resource, its API audience: naming it is allowed,
 * naming anything else is `invalid_target`, never a token silently issued for the default audience.
 *
 * @throws {InvalidTarget}
 */
export function checkResource(params: Params, audience: string): void {
  for (const name of ['resource', 'audience']) {
    const value = params.get(name);
    if (value !== undefined && value !== audience)
      throw new InvalidTarget(`This server issues tokens only for the resource ${audience}.`);
  }
}
