import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';

/** One request the receiver got, and whether its signature verified with the `standardwebhooks` package. */
export interface Received {
  /** The path without the query, which chooses the behaviour. */
  path: string;
  /** Path and query as requested (tests tell their endpoints apart by query). */
  url: string;
  headers: Record<string, string>;
  body: string;
  /** The parsed payload when some secret verified it; undefined when none did. */
  verified?: { type: string; timestamp: string; data: Record<string, any> };
  /** Which of the receiver's secrets verified it. */
  verifiedBy: string[];
}

/**
 * A real HTTP receiver for webhook tests. Each path has a behaviour: `/ok` answers 204 after verifying,
 * `/fail` 500, `/hang` never answers, `/redirect` answers 302 to `/redirect-target` (which must not be followed); any
 * other path answers with `status`. Verification uses the `standardwebhooks` npm package with every secret in
 * `secrets` (set them as endpoints are created or rotated).
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  readonly secrets: string[] = [];
  /** The answer of paths without a fixed behaviour. */
  status = 200;
  #server: Server;
  url = '';

  constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rec = this.#record(req, Buffer.concat(chunks).toString('utf8'));
        if (rec.path === '/hang') return;
        if (rec.path === '/redirect')
          return res.writeHead(302, { location: `${this.url}/redirect-target` }).end();
        if (rec.path === '/fail') return res.writeHead(500).end('nope');
        if (rec.path === '/ok') return res.writeHead(rec.verified ? 204 : 401).end();
        res.writeHead(this.status).end();
      });
    });
  }

  #record(req: IncomingMessage, body: string): Received {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const url = req.url ?? '/';
    const rec: Received = { path: url.split('?')[0] ?? '/', url, headers, body, verifiedBy: [] };
    for (const secret of this.secrets) {
      try {
        rec.verified = new Webhook(secret).verify(body, headers) as Received['verified'];
        rec.verifiedBy.push(secret);
      } catch {}
    }
    this.received.push(rec);
    return rec;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.#server.address() as { port: number }).port}`;
    return this;
  }

  /** Requests with a verified signature whose event type is `type`. */
  events(type?: string): Received[] {
    return this.received.filter((r) => r.verified && (type === undefined || r.verified.type === type));
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
