import type { Command } from 'commander';
import { ApiClient, type RemoteOptions, remoteOptions } from '../api-client.js';
import { resolveApp } from '../apps-resolve.js';
import { printSecretBox } from '../format.js';
import { CliError, printTable } from '../output.js';

interface ApiSecret {
  id: string;
  hint: string;
  description: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}
type CreatedSecret = ApiSecret & { value: string };

interface ExpiryOptions {
  description?: string;
  expiresInMonths?: string;
  expiresAt?: string;
  neverExpires?: boolean;
}

function status(s: ApiSecret): string {
  if (s.revoked_at) return 'revoked';
  if (s.expires_at && Date.parse(s.expires_at) <= Date.now()) return 'expired';
  return 'active';
}

function expiryBody(opts: ExpiryOptions): Record<string, unknown> | undefined {
  const given = [opts.expiresInMonths, opts.expiresAt, opts.neverExpires].filter((v) => v !== undefined);
  if (given.length > 1)
    throw new CliError('give at most one of --expires-in-months, --expires-at and --never-expires.');
  const body: Record<string, unknown> = {};
  if (opts.description !== undefined) body.description = opts.description;
  if (opts.expiresInMonths !== undefined) {
    const n = Number(opts.expiresInMonths);
    if (!Number.isInteger(n) || n < 1 || n > 120) throw new CliError('--expires-in-months must be 1-120.');
    body.expires_in_months = n;
  }
  if (opts.expiresAt !== undefined) {
    const t = Date.parse(opts.expiresAt);
    if (Number.isNaN(t))
      throw new CliError('--expires-at must be a date, e.g. 2026-12-31 or 2026-12-31T00:00:00Z.');
    body.expires_at = new Date(t).toISOString();
  }
  if (opts.neverExpires) body.never_expires = true;
  return Object.keys(body).length ? body : undefined;
}

function withExpiryOptions(cmd: Command): Command {
  return cmd
    .option('--description <text>', 'what the secret is for (e.g. where it is deployed)')
    .option('--expires-in-months <n>', 'lifetime in months (default 6)')
    .option('--expires-at <date>', 'explicit expiry date')
    .option('--never-expires', "no expiry (only if the tenant's policy allows it)");
}

function printCreated(secret: CreatedSecret, json: boolean | undefined, what: string): void {
  if (json) {
    console.log(JSON.stringify(secret, null, 2));
    return;
  }
  console.log(what);
  console.log('');
  printSecretBox(secret.value);
  console.log(
    `Secret id ${secret.id}${secret.expires_at ? `, expires ${secret.expires_at}` : ', never expires'}.`,
  );
}

export function registerSecretsCommands(program: Command): void {
  const secrets = program
    .command('secrets')
    .description("Manage an app's client secrets (a new value is shown once)")
    .addHelpText(
      'after',
      '\nAPP is an app id or a client_id.\n\nExamples:\n  $ clavis secrets list orders-service\n  $ clavis secrets add orders-service --description "k8s prod" --expires-in-months 12\n  $ clavis secrets refresh orders-service\n  $ clavis secrets revoke orders-service SECRET_ID --yes',
    );

  remoteOptions(secrets.command('list <app>').description("List an app's secrets (values are never shown)"))
    .addHelpText('after', '\nExample:\n  $ clavis secrets list orders-service')
    .action(async (ref: string, opts: RemoteOptions) => {
      const api = ApiClient.from(opts);
      const app = await resolveApp(api, ref);
      const page = await api.request<{ items: ApiSecret[] }>(
        'GET',
        `/apps/${encodeURIComponent(app.id)}/secrets`,
      );
      if (opts.json) return console.log(JSON.stringify(page, null, 2));
      printTable(
        page.items.map((s) => ({
          ...s,
          hint: `${s.hint}…`,
          status: status(s),
          expires_at: s.expires_at ?? 'never',
        })),
        ['id', 'hint', 'status', 'description', 'created_at', 'expires_at', 'last_used_at'],
      );
    });

  withExpiryOptions(
    remoteOptions(
      secrets.command('add <app>').description('Add a secret beside the current ones (for rotation)'),
    ),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  $ clavis secrets add orders-service --expires-in-months 12\n  $ clavis secrets add orders-service --json | jq -r .value > secret.txt',
    )
    .action(async (ref: string, opts: RemoteOptions & ExpiryOptions) => {
      const body = expiryBody(opts);
      const api = ApiClient.from(opts);
      const app = await resolveApp(api, ref);
      const s = await api.request<CreatedSecret>('POST', `/apps/${encodeURIComponent(app.id)}/secrets`, body);
      printCreated(s, opts.json, `Added a secret to ${app.client_id}.`);
    });

  withExpiryOptions(
    remoteOptions(
      secrets
        .command('refresh <app> [secret-id]')
        .description('Replace a secret with a new one (the old one stops working at once)'),
    ),
  )
    .addHelpText(
      'after',
      '\nWithout SECRET-ID, the only active secret is refreshed.\n\nExamples:\n  $ clavis secrets refresh orders-service\n  $ clavis secrets refresh orders-service 01J9Z... --expires-in-months 24',
    )
    .action(async (ref: string, secretId: string | undefined, opts: RemoteOptions & ExpiryOptions) => {
      const body = expiryBody(opts);
      const api = ApiClient.from(opts);
      const app = await resolveApp(api, ref);
      let id = secretId;
      if (!id) {
        const page = await api.request<{ items: ApiSecret[] }>(
          'GET',
          `/apps/${encodeURIComponent(app.id)}/secrets`,
        );
        const active = page.items.filter((s) => status(s) === 'active');
        if (active.length !== 1)
          throw new CliError(
            `${app.client_id} has ${active.length} active secrets: name the one to refresh (see \`clavis secrets list ${app.client_id}\`).`,
          );
        id = active[0]!.id;
      }
      const s = await api.request<CreatedSecret>(
        'POST',
        `/apps/${encodeURIComponent(app.id)}/secrets/${encodeURIComponent(id)}/refresh`,
        body,
      );
      printCreated(
        s,
        opts.json,
        `Refreshed secret ${id} of ${app.client_id}: the old value no longer works.`,
      );
    });

  remoteOptions(
    secrets
      .command('revoke <app> <secret-id>')
      .description('Revoke a secret: it fails at once, like a wrong one'),
  )
    .option('--yes', 'confirm (revocation cannot be undone)')
    .addHelpText('after', '\nExample:\n  $ clavis secrets revoke orders-service 01J9Z... --yes')
    .action(async (ref: string, secretId: string, opts: RemoteOptions & { yes?: boolean }) => {
      if (!opts.yes)
        throw new CliError(`revoking secret ${secretId} cannot be undone: add --yes to confirm.`);
      const api = ApiClient.from(opts);
      const app = await resolveApp(api, ref);
      const s = await api.request<ApiSecret>(
        'DELETE',
        `/apps/${encodeURIComponent(app.id)}/secrets/${encodeURIComponent(secretId)}`,
      );
      if (opts.json) return console.log(JSON.stringify(s, null, 2));
      console.log(`Revoked secret ${s.id} (${s.hint}…) of ${app.client_id}.`);
    });
}
