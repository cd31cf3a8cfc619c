import type { Command } from 'commander';
import { scanExpiryNotices } from '../../domain/expiry-notices.js';
import { MAIL_KIND, registerMailHandler } from '../../domain/mail.js';
import { drainOutbox } from '../../domain/outbox.js';
import { closeServices, createServices } from '../../services.js';
import { formatTime, printTable } from '../output.js';
import { openExistingDeployment } from '../server-config.js';

const NOTIFY_HELP = `
Runs one scan for client secrets that expire within 30, 7 or 1 days or have just expired, sends each notice
that is due (mail to the app's owner and the tenant's admins, a secret.expiring or secret.expired event) and
exits. Each notice goes out once, however often this runs and whatever the servers do meanwhile. A running
server scans by itself (CLAVIS_NOTIFY_INTERVAL); this command is for cron and for tests. Mail queued here is
sent before the command exits when CLAVIS_SMTP_URL is set; events are delivered by the servers.

Examples:
  $ clavis notify --dry-run
  $ clavis notify --json
`;

/** `clavis notify [--dry-run]`. */
export function registerNotifyCommand(program: Command): void {
  program
    .command('notify')
    .description('Send the secret expiry notices that are due (one scan), then exit')
    .option('--dry-run', 'print what would be sent; send and record nothing')
    .option('--json', 'machine-readable output')
    .addHelpText('after', NOTIFY_HELP)
    .action(async (opts: { dryRun?: boolean; json?: boolean }) => {
      const { config, handle } = await openExistingDeployment();
      const services = await createServices(config, handle);
      const closeMail = opts.dryRun ? undefined : registerMailHandler(config);
      try {
        const notices = await scanExpiryNotices(services.ctx, { dryRun: opts.dryRun });
        const mail = closeMail
          ? await drainOutbox(services.ctx, { kinds: [MAIL_KIND], maxBatches: 50 })
          : undefined;
        if (opts.json) {
          console.log(JSON.stringify({ dry_run: !!opts.dryRun, notices, mail: mail ?? null }, null, 2));
          return;
        }
        if (notices.length === 0) {
          console.log('No expiry notices are due.');
          return;
        }
        console.log(opts.dryRun ? 'Would send:' : 'Sent:');
        printTable(
          notices.map((n) => ({
            notice: n.threshold === 0 ? 'expired' : `${n.threshold} days`,
            app: `${n.app.name} (${n.app.client_id})`,
            secret: `${n.secret.hint}… ${n.secret.id}`,
            expires: formatTime(n.secret.expires_at),
            superseded: n.superseded ? 'yes' : 'no',
            recipients: n.recipients.join(', ') || (config.mail ? '(none)' : '(mail not configured)'),
          })),
          ['notice', 'app', 'secret', 'expires', 'superseded', 'recipients'],
        );
        if (mail)
          console.log(`Mail: ${mail.delivered} sent, ${mail.retried} to retry, ${mail.failed} failed.`);
      } finally {
        closeMail?.();
        await closeServices(services);
      }
    });
}
