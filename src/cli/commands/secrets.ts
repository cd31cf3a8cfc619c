import type { Command } from 'commander';
import { parseRealDate } from '../../domain/dates.js';
import { secretUsable } from '../../domain/secret-status.js';
import { ApiClient, type RemoteOptions, remoteOptions } from '../api-client.js';
import type { ApiCreatedSecret, ApiSecret } from '../api-types.js';
import { APP_HELP, resolveApp } from '../apps-resolve.js';
import { printSecretBox } from '../format.js';
import { CliError, EXIT_SERVER, printTable } from '../output.js';

interface ExpiryOptions {
  description?: string;
  expiresInMonths?: string;
  expiresAt?: string;
  neverExpires?: boolean;
}

/** Every secret of an app, following `next_cursor` page by page. */
async function listSecrets(api: ApiClient, appId: string): Promise<ApiSecret[]> {
  const items: ApiSecret[] = [];
  const seen = new Set<string>();
  let cursor: string | null = null;
  do {
    const q: string = cursor ? `?${new URLSearchParams({ cursor })}` : '';
    const page: { items: ApiSecret[]; next_cursor?: string | null } = await api.request(
      'GET',
      `/apps/${encodeURIComponent(appId)}/secrets${q}`,
    );
    items.push(...page.items);
    cursor = page.next_cursor ?? null;
    if (cursor && seen.has(cursor))
      throw new CliError(
        'the server repeated a page cursor while listing secrets.',
        EXIT_SERVER,
        'server_error',
      );
    if (cursor) seen.add(cursor);
  } while (cursor);
  return items;
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
    const t = parseRealDate(opts.expiresAt);
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

function printCreated(secret: ApiCreatedSecret, json: boolean | undefined, what: string): void {
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
      `\n${APP_HELP} SECRET-ID is a secret's id from \`clavis secrets list APP\`.\n\nExamples:\n  $ clavis secrets list 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81\n  $ clavis secrets add 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 --description "k8s prod" --expires-in-months 12\n  $ clavis secrets refresh 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81\n  $ clavis secrets revoke 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 5c8e1f3a-7b2d-4e6f-9a0c-1d3e5f7a9b2c --yes`,
    );

  remoteOptions(secrets.command('list <app>').description("List an app's secrets (values are never shown)"))
    .addHelpText(
      'after',
      `\n${APP_HELP}\n\nExamples:\n  $ clavis secrets list 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81\n  $ clavis secrets list 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 --json | jq -r '.items[] | select(.revoked_at == null) | .id'`,
    )
    .action(async (ref: string, opts: RemoteOptions) => {
      const api = ApiClient.from(opts);
      const app = await resolveApp(api, ref);
      const items = await listSecrets(api, app.id);
      if (opts.json) return console.log(JSON.stringify({ items, next_cursor: null }, null, 2));
      printTable(
        items.map((s) => ({
          ...s,
          hint: `${s.hint}…`,
          status: s.status,
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
      `\n${APP_HELP}\n\nExamples:\n  $ clavis secrets add 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 --expires-in-months 12\n  $ clavis secrets add 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 --json | jq -r .value > secret.txt`,
    )
    .action(async (ref: string, opts: RemoteOptions & ExpiryOptions) => {
      const body = expiryBody(opts);
      const api = ApiClient.from(opts);
      const app = await resolveApp(api, ref);
      const s = await api.request<ApiCreatedSecret>(
        'POST',
        `/apps/${encodeURIComponent(app.id)}/secrets`,
        body,
      );
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
      `\n${APP_HELP} Without SECRET-ID (from \`clavis secrets list APP\`), the only active secret is refreshed.\n\nExamples:\n  $ clavis secrets refresh 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81\n  $ clavis secrets refresh 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 5c8e1f3a-7b2d-4e6f-9a0c-1d3e5f7a9b2c --expires-in-months 24`,
    )
    .action(async (ref: string, secretId: string | undefined, opts: RemoteOptions & ExpiryOptions) => {
      const body = expiryBody(opts);
      const api = ApiClient.from(opts);
      const app = await resolveApp(api, ref);
      let id = secretId;
      if (!id) {
        const active = (await listSecrets(api, app.id)).filter((s) => secretUsable(s.status));
        if (active.length !== 1)
          throw new CliError(
            `${app.client_id} has ${active.length} active secrets: name the one to refresh (see \`clavis secrets list ${app.client_id}\`).`,
          );
        id = active[0]!.id;
      }
      const s = await api.request<ApiCreatedSecret>(
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
    .addHelpText(
      'after',
      `\n${APP_HELP} SECRET-ID is a secret's id from \`clavis secrets list APP\`.\n\nExample:\n  $ clavis secrets revoke 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 5c8e1f3a-7b2d-4e6f-9a0c-1d3e5f7a9b2c --yes`,
    )
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
