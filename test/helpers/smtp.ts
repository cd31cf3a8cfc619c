import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

/** A mail as the test SMTP server received it, decoded enough to read. */
export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  headers: Record<string, string>;
  subject: string;
  messageId: string;
  text: string;
  html: string;
}

export interface TestSmtp {
  /** `smtp://127.0.0.1:<port>` for `CLAVIS_SMTP_URL`. */
  url: string;
  port: number;
  mails: ReceivedMail[];
  /** Mails to one address. */
  to(address: string): ReceivedMail[];
  close(): Promise<void>;
}

function decodeQuotedPrintable(s: string): string {
  const bytes = s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => `%${h}`);
  try {
    return decodeURIComponent(bytes.replace(/%(?![0-9A-F]{2})/gi, '%25'));
  } catch {
    return bytes;
  }
}

function decodeWords(s: string): string {
  return s.replace(/=\?([^?]+)\?([QB])\?([^?]*)\?=\s*/gi, (_, _cs: string, enc: string, text: string) =>
    enc.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : decodeQuotedPrintable(text.replace(/_/g, ' ')),
  );
}

function splitHeaders(raw: string): { headers: Record<string, string>; body: string } {
  const idx = raw.search(/\r?\n\r?\n/);
  const head = idx < 0 ? raw : raw.slice(0, idx);
  const body = idx < 0 ? '' : raw.slice(idx).replace(/^\r?\n\r?\n/, '');
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const c = line.indexOf(':');
    if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  return { headers, body };
}

function decodeBody(headers: Record<string, string>, body: string): string {
  const enc = (headers['content-transfer-encoding'] ?? '').toLowerCase();
  if (enc === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (enc === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

/** Parses what nodemailer sends: one text part, or multipart/alternative with text and HTML. */
export function parseMail(raw: string): Omit<ReceivedMail, 'from' | 'to'> {
  const { headers, body } = splitHeaders(raw);
  let text = '';
  let html = '';
  const type = headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (boundary) {
    for (const part of body.split(`--${boundary}`)) {
      const p = splitHeaders(part.replace(/^\r?\n/, ''));
      const t = p.headers['content-type'] ?? '';
      if (t.startsWith('text/plain')) text = decodeBody(p.headers, p.body);
      else if (t.startsWith('text/html')) html = decodeBody(p.headers, p.body);
    }
  } else if (type.startsWith('text/html')) html = decodeBody(headers, body);
  else text = decodeBody(headers, body);
  return {
    raw,
    headers,
    subject: decodeWords(headers.subject ?? ''),
    messageId: headers['message-id'] ?? '',
    text,
    html,
  };
}

/**
 * A real SMTP server in the test process (the `smtp-server` package) that keeps every mail it accepts.
 * `rcpt` may refuse a recipient with an SMTP code (550: a bounce, 450: try later); `onData` may hold a
 * message (to test timeouts and crashes mid-delivery).
 */
export async function startTestSmtp(
  options: {
    rcpt?: (address: string) => { code: number; message: string } | undefined;
    onData?: (mail: { to: string[] }) => Promise<void> | void;
    server?: Partial<SMTPServerOptions>;
  } = {},
): Promise<TestSmtp> {
  const mails: ReceivedMail[] = [];
  // A mail counts as accepted only if its sender is still connected to hear the 250 (RFC 5321 §6.1).
  const closed = new Set<string>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onClose(session) {
      closed.add(session.id);
    },
    onRcptTo(address, _session, cb) {
      const refusal = options.rcpt?.(address.address);
      if (refusal) {
        const err = new Error(refusal.message) as Error & { responseCode: number };
        err.responseCode = refusal.code;
        return cb(err);
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const to = session.envelope.rcptTo.map((r) => r.address);
        try {
          await options.onData?.({ to });
        } catch (err) {
          return cb(err as Error);
        }
        if ((stream as { sizeExceeded?: boolean }).sizeExceeded) return cb(new Error('too big'));
        if (closed.has(session.id)) return cb(new Error('the client is gone'));
        const raw = Buffer.concat(chunks).toString('utf8');
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        mails.push({ from, to, ...parseMail(raw) });
        cb();
      });
    },
    ...options.server,
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    mails,
    to: (address) => mails.filter((m) => m.to.includes(address)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
