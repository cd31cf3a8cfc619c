import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { hostAddress, isPublicAddress } from './webhook-address.js';

/** What one delivery attempt got: the status code (null when none came), how long it took, and why it failed. */
export interface WebhookAttemptResult {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

export interface PostOptions {
  /** `CLAVIS_WEBHOOKS_ALLOW_PRIVATE`: allow http and private, loopback and link-local addresses. */
  allowPrivate: boolean;
  /** The whole attempt (connect, send, answer) must be over within this; default 10 s. */
  timeoutMs?: number;
}

/** A refusal to call a URL (SSRF rules); not retried differently from other failures, but named clearly. */
export class WebhookAddressRefused extends Error {
  override name = 'WebhookAddressRefused';
}

/** Checks a URL's scheme and, for IP literals, its address; names are checked when they are resolved. */
export function checkWebhookUrl(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookAddressRefused('The URL is not an absolute URL.');
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:'))
    throw new WebhookAddressRefused('The URL must use https.');
  if (url.username || url.password) throw new WebhookAddressRefused('The URL must not contain credentials.');
  const literal = hostAddress(url.hostname);
  if (literal && !allowPrivate && !isPublicAddress(literal))
    throw new WebhookAddressRefused(
      'The URL points to a loopback, private, link-local or reserved address, which webhooks may not reach.',
    );
  if (!allowPrivate && /^(localhost|.*\.localhost|.*\.local|.*\.internal)$/i.test(url.hostname))
    throw new WebhookAddressRefused('The URL names a local host, which webhooks may not reach.');
  return url;
}

/**
 * A DNS lookup that refuses a name when any of its addresses is not public, and otherwise hands the
 * connection exactly the addresses it checked (so a second resolution cannot swap in another address).
 */
function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const bad = allowPrivate ? undefined : addresses.find((a) => !isPublicAddress(a.address));
      if (bad || addresses.length === 0) {
        const e = new WebhookAddressRefused(
          // The address itself stays out: this text reaches tenant admins in the delivery log, and would tell
          // them what the server's internal names resolve to.
          bad
            ? `${hostname} resolves to a loopback, private, link-local or reserved address, which webhooks may not reach.`
            : `${hostname} resolves to no address.`,
        );
        return callback(Object.assign(e, { code: 'EWEBHOOKADDR' }), '', 0);
      }
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}

/** How much of an answer is read (and thrown away) before the connection is closed. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Connections open to one URL at most (further requests to it wait for one of them). */
export const MAX_SOCKETS_PER_URL = 16;
/** An idle kept-alive connection is closed after this long (below the 5 s common receivers keep one). */
const IDLE_SOCKET_MS = 4_000;
/** Agents kept (one per URL); past this the least recently used is closed, so the map stays bounded. */
const MAX_AGENTS = 1_000;

const agents = new Map<string, HttpAgent>();

/**
 * The keep-alive agent of a URL (of an endpoint: two endpoints on one host do not share connections, so one
 * that hangs cannot hold up the other). A connection is opened through the guarded lookup, so every socket
 * the agent holds is connected to an address checked after DNS; reusing it reuses that pinned address, and
 * a new connection resolves and checks again. The key includes `allowPrivate`, so a socket opened under one
 * rule is never handed to a request under the other. Idle connections are unreferenced by the agent, so they
 * never keep a stopping process alive.
 */
function agentFor(url: URL, allowPrivate: boolean): HttpAgent {
  const key = `${allowPrivate ? 'private' : 'public'} ${url.href}`;
  let agent = agents.get(key);
  if (agent) {
    // Most recently used last, so the first entry is the one to close when the map is full.
    agents.delete(key);
    agents.set(key, agent);
    return agent;
  }
  const options = {
    keepAlive: true,
    maxSockets: MAX_SOCKETS_PER_URL,
    maxFreeSockets: MAX_SOCKETS_PER_URL,
    timeout: IDLE_SOCKET_MS,
    scheduling: 'lifo' as const,
    lookup: guardedLookup(allowPrivate),
  };
  agent = url.protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
  if (agents.size >= MAX_AGENTS) {
    const [oldestKey, oldest] = agents.entries().next().value as [string, HttpAgent];
    agents.delete(oldestKey);
    oldest.destroy();
  }
  agents.set(key, agent);
  return agent;
}

/**
 * POSTs one webhook on a kept-alive connection of its URL (at most {@link MAX_SOCKETS_PER_URL} per URL), to
 * an address checked after DNS, redirects not followed (a 3xx is a failure), everything over within
 * `timeoutMs` (10 s, counted from the call, so waiting for a free connection counts too). A request
 * that times out or whose answer is too long destroys its connection: a slow receiver ties up one connection
 * for at most its 10 s, and never gets it back half-read.
 */
export function postWebhook(
  rawUrl: string,
  headers: Record<string, string>,
  body: string,
  opts: PostOptions,
): Promise<WebhookAttemptResult> {
  const started = performance.now();
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const done = (statusCode: number | null, error: string | null): WebhookAttemptResult => ({
    ok: error === null && statusCode !== null && statusCode >= 200 && statusCode < 300,
    statusCode,
    durationMs: Math.round(performance.now() - started),
    error:
      error ??
      (statusCode !== null && (statusCode < 200 || statusCode >= 300)
        ? statusCode >= 300 && statusCode < 400
          ? `Answered ${statusCode} (redirects are not followed).`
          : `Answered ${statusCode}.`
        : null),
  });
  let url: URL;
  try {
    url = checkWebhookUrl(rawUrl, opts.allowPrivate);
  } catch (err) {
    return Promise.resolve(done(null, (err as Error).message));
  }
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: WebhookAttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(
      url,
      {
        method: 'POST',
        agent: agentFor(url, opts.allowPrivate),
        headers: {
          'content-type': 'application/json',
          ...headers,
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Clavis-Webhooks/1',
        },
      },
      (res: IncomingMessage) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) {
            res.destroy();
            req.destroy();
            finish(done(res.statusCode ?? null, null));
          }
        });
        res.on('end', () => finish(done(res.statusCode ?? null, null)));
        res.on('error', () => finish(done(res.statusCode ?? null, null)));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish(done(null, `No answer within ${Math.round(timeoutMs / 1000)} s.`));
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      const message =
        err instanceof WebhookAddressRefused ? err.message : `Could not connect: ${err.code ?? err.message}.`;
      finish(done(null, message));
    });
    req.end(body);
  });
}
