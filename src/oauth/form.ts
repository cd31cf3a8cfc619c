import { InvalidRequest } from './errors.js';

/** A C0 control, raw or percent-encoded (`%00`–`%1F`). `%2500` is the text "%00", and does not match. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
export const CONTROL_CHARACTER = /[\x00-\x1f]|%[01][0-9a-f]/i;

/** The refusal of a request that has a control character where none is allowed. */
export const CONTROL_CHARACTER_MESSAGE =
  'The request contains a control character (such as a NUL byte) where none is allowed.';

/**
 * Parameters of an `application/x-www-form-urlencoded` body (or query string), parsed strictly.
 *
 * RFC 6749 §3.1/§3.2: parameters sent without a value are treated as omitted, and parameters must not be
 * included more than once: a repeated one is an `invalid_request`.
 */
export class Params {
  readonly #map: Map<string, string>;
  readonly #repeated: Map<string, string[]>;

  constructor(map: Map<string, string>, repeated: Map<string, string[]> = new Map()) {
    this.#map = map;
    this.#repeated = repeated;
  }

  get(name: string): string | undefined {
    return this.#map.get(name);
  }

  /** Every value of a parameter that may be repeated ({@link REPEATABLE}); others give at most one. */
  getAll(name: string): string[] {
    const all = this.#repeated.get(name);
    if (all) return all;
    const one = this.#map.get(name);
    return one === undefined ? [] : [one];
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
 * Parameters that may be sent more than once: RFC 8707 §2 lets a request name several resources (and
 * `audience` is read as its alias); whether several are allowed is the endpoint's rule.
 */
const REPEATABLE = new Set(['resource', 'audience']);

/**
 * Parses a form body or query string.
 *
 * @throws {InvalidRequest} on broken percent-encoding, invalid UTF-8, or a repeated parameter.
 */
export function parseParams(raw: string): Params {
  const map = new Map<string, string>();
  const seen = new Set<string>();
  const repeated = new Map<string, string[]>();
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
    if (REPEATABLE.has(name)) {
      if (value === '') continue;
      const all = repeated.get(name) ?? [];
      all.push(value);
      repeated.set(name, all);
      if (!map.has(name)) map.set(name, value);
      continue;
    }
    // An empty and a non-empty copy of one name still count as a repeat.
    if (seen.has(name))
      throw new InvalidRequest(`The "${safeName(name)}" parameter is included more than once.`);
    seen.add(name);
    if (value !== '') map.set(name, value);
  }
  return new Params(map, repeated);
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
