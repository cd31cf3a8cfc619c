import type { Transporter } from 'nodemailer';
import type { MailConfig } from '../config/config.js';

/** A mail ready to send: both bodies are already rendered (and escaped) by the templates. */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** A stable Message-ID (the outbox message's id), so a receiver can drop a duplicate. */
  messageId: string;
}

/** Sends mail over SMTP. */
export interface MailTransport {
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** How an SMTP failure should be treated: a 5xx answer is final (a bounce), anything else may pass later. */
export type SmtpFailure = 'permanent' | 'temporary';

/**
 * Classifies a failed send: an SMTP 5xx reply (RFC 5321 §4.2.1, "permanent negative completion") to the
 * message's own commands (MAIL FROM, RCPT TO, DATA) is permanent; 4xx replies, refused connections and
 * timeouts are temporary. So is a 5xx to the session's set-up (the greeting, EHLO, STARTTLS, AUTH): a wrong
 * password or a server without the required STARTTLS is the server's configuration, not the message's, and
 * the mail waits in the outbox for it to be put right instead of each one failing for good.
 */
export function smtpFailure(err: unknown): SmtpFailure {
  const { responseCode: code, command } = err as { responseCode?: unknown; command?: unknown };
  if (typeof command === 'string' && /^(CONN|EHLO|HELO|LHLO|STARTTLS|AUTH)\b/i.test(command))
    return 'temporary';
  return typeof code === 'number' && code >= 500 && code < 600 ? 'permanent' : 'temporary';
}

/**
 * An SMTP transport for `CLAVIS_SMTP_URL`. `smtp://` upgrades with STARTTLS (certificates are verified) and,
 * unless `CLAVIS_SMTP_REQUIRE_TLS=false` or the host is a loopback one, sends nothing to a server that does not
 * offer it; `smtps://` speaks TLS from the start. Connections are
 * pooled, so a burst of mail does not open one connection per message.
 *
 * nodemailer (and the TLS, DNS and zlib modules it pulls in) is loaded on the first send, not at start-up:
 * it is about half a megabyte of code that an idle server, or one that never mails, has no use for. Its
 * pooled transport opens no connection before the first mail either, so nothing else changes.
 */
export function createSmtpTransport(config: MailConfig): MailTransport {
  const timeoutMs = config.timeoutMs;
  const url = new URL(config.smtpUrl);
  const options = {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : url.protocol === 'smtps:' ? 465 : 587,
    secure: url.protocol === 'smtps:',
    // STARTTLS or nothing (nodemailer fails the send, and the outbox retries it) unless the operator allowed
    // plaintext or the relay is on this machine (MailConfig.requireTls).
    requireTLS: config.requireTls && url.protocol === 'smtp:',
    auth: url.username
      ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
      : undefined,
    pool: true as const,
    maxConnections: 5,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  };
  let transport: Promise<Transporter> | undefined;
  const open = () =>
    (transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport(options),
    ));
  return {
    async send(mail) {
      await (await open()).sendMail({
        from: config.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
      });
    },
    // Nothing to close before the first send; a close while nodemailer loads closes it once loaded.
    close: () => void transport?.then((t) => t.close()),
  };
}
