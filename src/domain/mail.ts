import type { Config } from '../config/config.js';
import { SealedBox } from '../crypto/sealed-box.js';
import type { Db } from '../db/database.js';
import { createSmtpTransport, type MailTransport, smtpFailure } from '../mail/smtp.js';
import type { DomainContext } from './context.js';
import type { MailContent } from './mail-templates.js';
import { enqueue, PermanentFailure, registerOutboxHandler, unregisterOutboxHandler } from './outbox.js';

/**
 * Mail goes through the outbox (kind `mail`): it is written in the transaction of whatever causes it and
 * sent by the outbox worker, with retries. Its content (which may hold a single-use link) is sealed at rest
 * with a key derived from the server's secret key. Without `CLAVIS_SMTP_URL` nothing is queued or sent.
 */

export const MAIL_KIND = 'mail';

interface SealedMail {
  sealed: string;
}

interface MailBody extends MailContent {
  to: string;
}

const AAD = 'clavis-outbox-mail';

function box(config: Config): SealedBox {
  return new SealedBox(config.secretKey, 'outbox-mail');
}

/** Whether this server sends mail (`CLAVIS_SMTP_URL` is set). */
export function mailEnabled(ctx: Pick<DomainContext, 'config'>): boolean {
  return ctx.config.mail !== undefined;
}

/**
 * Queues a mail in `trx` (the caller's transaction). Returns the outbox id, or null when mail is not
 * configured (nothing is queued then, and nothing fails).
 */
export async function queueMail(
  ctx: DomainContext,
  trx: Db,
  mail: { to: string; content: MailContent; dedupe_key?: string },
): Promise<string | null> {
  if (!mailEnabled(ctx)) return null;
  const body: MailBody = { to: mail.to, ...mail.content };
  const payload: SealedMail = { sealed: box(ctx.config).seal(JSON.stringify(body), AAD) };
  return enqueue(trx, { kind: MAIL_KIND, payload, dedupe_key: mail.dedupe_key }, ctx.now());
}

/** Reads a queued mail back (the worker; tests). */
export function openQueuedMail(config: Config, payload: unknown): MailBody {
  const sealed = (payload as Partial<SealedMail> | null)?.sealed;
  if (typeof sealed !== 'string') throw new PermanentFailure('mail payload has no sealed content');
  return JSON.parse(box(config).open(sealed, AAD)) as MailBody;
}

/** `a***@example.com`: enough to tell recipients apart in logs without writing addresses out. */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  return at <= 0 ? '***' : `${address[0]}***${address.slice(at)}`;
}

/**
 * Registers the `mail` outbox handler for this configuration. An SMTP 5xx answer (a bounce, RFC 5321
 * §4.2.1) is logged and marks the mail failed; anything else is retried with backoff for up to 24 hours.
 * Returns a function that unregisters it and closes the SMTP connections (undefined without mail).
 */
export function registerMailHandler(
  config: Config,
  transport: MailTransport | undefined = config.mail ? createSmtpTransport(config.mail) : undefined,
): (() => void) | undefined {
  const mail = config.mail;
  if (!mail || !transport) return undefined;
  const host = new URL(config.issuer).hostname;
  registerOutboxHandler(
    MAIL_KIND,
    async (msg, dctx) => {
      const body = openQueuedMail(config, msg.payload);
      try {
        await transport.send({ ...body, messageId: `<${msg.id}@${host}>` });
      } catch (err) {
        const response = (err as { response?: unknown }).response;
        const detail =
          typeof response === 'string' ? response : err instanceof Error ? err.message : String(err);
        if (smtpFailure(err) === 'permanent') {
          dctx.log.warn({ outbox_id: msg.id, to: maskAddress(body.to), smtp: detail }, 'mail bounced');
          throw new PermanentFailure(`bounced: ${detail}`);
        }
        const command = (err as { command?: unknown }).command;
        if (command === 'STARTTLS')
          throw new Error(
            `mail not sent: the SMTP server refused STARTTLS (${detail}), and TLS is required (CLAVIS_SMTP_REQUIRE_TLS)`,
          );
        throw new Error(`mail not sent${typeof command === 'string' ? ` (${command})` : ''}: ${detail}`);
      }
    },
    // The SMTP timeouts bound one attempt; the outbox adds a margin before another node may retry it.
    { timeoutMs: mail.timeoutMs * 2 + 1_000 },
  );
  return () => {
    unregisterOutboxHandler(MAIL_KIND);
    transport.close();
  };
}
