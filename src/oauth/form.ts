import { InvalidRequest } from './errors.js';

/**
 * Parameters of an `application/x-www-form-urlencoded` body (or query string), parsed strictly.
 *
 * RFC 6749 §3.1/§3.2: parameters sent without a value are treated as omitted, and parameters must not be
 * included more than once: a repeated one is an `invalid_request`.
 */
export class Params {
  readonly #map: Map<string, string>;

  constructor(map: Map<string, string>) {
    this.#map = map;
  }

  get(name: string): string | undefined {
    return this.#map.get(name);
  }

  has(name: string): boolean {
    return this.#map.has(name);
  }

  /** The names present, for logging which parameters came (never their values). */
  names(): string[] {
    return [...this.#map.keys()];
  }
}

function decode(component: string): string {
  // Most names and many values have nothing to decode.
  if (component.indexOf('%') === -1 && component.indexOf('+') === -1) return component;
  // WHATWG / HTML form encoding: '+' is a space.
  return decodeURIComponent(component.replace(/\+/g, ' '));
}

/**
 * Parses a form body or query string.
 *
 * @throws {InvalidRequest} on broken percent-encoding, invalid UTF-8, or a repeated parameter.
 */
export function parseParams(raw: string): Params {
  const map = new Map<string, string>();
  const seen = new Set<string>();
  if (raw.length === 0) return new Params(map);
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decode(eq === -1 ? pair : pair.slice(0, eq));
      value = eq === -1 ? '' : decode(pair.slice(eq + 1));
    } catch {
      throw new InvalidRequest('The parameters are not valid application/x-www-form-urlencoded data.');
    }
    // An empty and a non-empty copy of one name still count as a repeat.
    if (seen.has(name))
      throw new InvalidRequest(`The "${safeName(name)}" parameter is included more than once.`);
    seen.add(name);
    if (value !== '') map.set(name, value);
  }
  return new Params(map);
}

/** A parameter name fit to echo in an error description: short, printable, and never a value. */
function safeName(name: string): string {
  return name.replace(/[^\x20-\x7e]/g, '?').slice(0, 40);
}

/** Parses the query string of a request URL with the same rules. */
export function parseQuery(url: string): Params {
  const q = url.indexOf('?');
  return parseParams(q === -1 ? '' : url.slice(q + 1));
}
