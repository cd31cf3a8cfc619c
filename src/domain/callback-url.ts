/**
 * Rules for an app's single OAuth callback URL (RFC 6749 §3.1.2, RFC 8252 §7.3, RFC 9700 §4.1.3).
 */

const LOOPBACK_IPS = new Set(['127.0.0.1', '[::1]']);

/** True for an http URL whose host is a loopback IP literal (RFC 8252 §7.3); `localhost.evil.test` is not. */
export function isLoopbackIpUrl(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK_IPS.has(url.hostname);
}

/**
 * The port exactly as written in an absolute URL's authority (`undefined` when there is none). `new URL()`
 * rewrites `:01234` to `:1234`, so a registered string and the URL a browser is sent to could differ while
 * looking alike; exact matching (RFC 9700 §4.1.3) needs one spelling per port.
 */
function rawPort(raw: string): string | undefined {
  const authority = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(raw)?.[1];
  if (authority === undefined) return undefined;
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const m = /^(?:\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort);
  return m ? m[1] : undefined;
}

/** A port written canonically: 1-65535 with no leading zero. */
const CANONICAL_PORT = /^(?:[1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$/;

/** True for a URL whose host is `localhost` or a loopback IP literal. */
export function isLocalHost(url: URL): boolean {
  return LOOPBACK_IPS.has(url.hostname) || url.hostname === 'localhost';
}

/**
 * Checks a callback URL an app wants to register.
 *
 * @returns an error message, or `null` when the URL is acceptable.
 */
export function callbackUrlProblem(raw: string): string | null {
  if (raw.length > 2000) return 'The callback URL is too long (2000 characters at most).';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'The callback URL must be an absolute URL, such as https://app.example.com/oauth/callback.';
  }
  if (raw.includes('#')) return 'The callback URL must not contain a fragment (#).';
  if (url.username || url.password) return 'The callback URL must not contain a user name or password.';
  const port = rawPort(raw);
  if (port !== undefined && !CANONICAL_PORT.test(port))
    return 'The callback URL has a port that is not written plainly (1-65535, no leading zeros).';
  if (url.protocol === 'http:') {
    if (!isLocalHost(url))
      return 'The callback URL must use https (http is allowed only for 127.0.0.1, [::1] or localhost).';
  } else if (url.protocol !== 'https:') {
    return 'The callback URL must use https.';
  }
  if (/[\s<>"{}|\\^`]/.test(raw))
    return 'The callback URL contains characters that are not allowed in a URL.';
  return null;
}

/**
 * Compares a redirect_uri from a request with the registered callback URL.
 *
 * Exact string comparison (RFC 9700 §4.1.3, OAuth 2.1 §2.3.1), with one exception: for loopback IP literal
 * callbacks only the port may differ (RFC 8252 §7.3), since native apps get an ephemeral port.
 */
export function redirectUriMatches(registered: string, requested: string): boolean {
  if (requested === registered) return true;
  let reg: URL;
  let req: URL;
  try {
    reg = new URL(registered);
    req = new URL(requested);
  } catch {
    return false;
  }
  if (!isLoopbackIpUrl(reg) || !isLoopbackIpUrl(req)) return false;
  // Split the raw strings (not the parsed URLs, which drop a default port such as :80) into host, port and
  // the rest; the host and the rest must match exactly, as strings; the port may be any real one (1-65535).
  const a = LOOPBACK.exec(registered);
  const b = LOOPBACK.exec(requested);
  if (!a || !b || a[1] !== b[1] || a[3] !== b[3]) return false;
  // A port with a leading zero (`:01234`) is refused rather than normalised: one spelling per port.
  return b[2] === undefined || CANONICAL_PORT.test(b[2]);
}

/** `http://` + a loopback IP literal, an optional port, and the rest (path, query), for RFC 8252 §7.3. */
const LOOPBACK = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?([/?].*)?$/;

/** A callback URL that can go through review: https, not local, not an example or placeholder domain. */
export function callbackUrlReviewProblem(raw: string): string | null {
  const basic = callbackUrlProblem(raw);
  if (basic) return basic;
  const url = new URL(raw);
  if (url.protocol !== 'https:') return 'The callback URL must use https before the app can be submitted.';
  // A fully qualified name's trailing dot (`localhost.`, `example.com.`) names the same host.
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (isLocalHost(url) || host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local'))
    return "The callback URL points at this computer (localhost); use your app's public https address.";
  if (/(^|\.)example\.(com|org|net)$/.test(host) || /(^|\.)(example|test|invalid)$/.test(host))
    return 'The callback URL uses an example or test domain; replace the placeholder with your real callback.';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.startsWith('['))
    return 'The callback URL must use a domain name, not an IP address.';
  if (/placeholder|changeme|your-?app|todo/i.test(raw))
    return 'The callback URL looks like a placeholder; replace it with your real callback.';
  return null;
}

/**
 * The key of the pages an app with this callback URL runs: the callback's origin (as a browser serialises
 * it: lower case, IDN in punycode, no default port), or for a loopback IP callback that address on any port
 * (`http://127.0.0.1:*`, as {@link redirectUriMatches} allows, RFC 8252 §7.3). Null for a URL that is not
 * http(s). {@link originKeys} gives the keys a page's origin matches; the two are the one rule.
 */
export function callbackOriginKey(callbackUrl: string): string | null {
  if (!URL.canParse(callbackUrl)) return null;
  const url = new URL(callbackUrl);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  const loopback = LOOPBACK.exec(callbackUrl);
  return loopback ? `http://${loopback[1]}:*` : url.origin;
}

/**
 * The keys ({@link callbackOriginKey}) a browser page at `origin` (an `Origin` header) matches: the origin
 * itself, and for a loopback IP address also that address on any port. None for anything that is not a
 * serialised http(s) origin (RFC 6454 §6.2), such as the opaque origin `null` or a URL with a path.
 */
export function originKeys(origin: string): string[] {
  if (!URL.canParse(origin)) return [];
  const url = new URL(origin);
  if (url.origin !== origin || (url.protocol !== 'https:' && url.protocol !== 'http:')) return [];
  return isLoopbackIpUrl(url) ? [origin, `http://${url.hostname}:*`] : [origin];
}

/** Whether a browser page at `origin` is where the app whose callback URL is `callbackUrl` runs. */
export function originMatchesCallback(callbackUrl: string, origin: string): boolean {
  const key = callbackOriginKey(callbackUrl);
  return key !== null && originKeys(origin).includes(key);
}
