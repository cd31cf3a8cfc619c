import type { Command } from 'commander';
import { ApiClient, type RemoteOptions, remoteOptions } from '../api-client.js';
import type { ApiApp, ApiAppPermission, ApiCreatedApp, ApiPage } from '../api-types.js';
import { API_HELP, resolveApi } from '../apis-resolve.js';
import { APP_HELP, resolveApp } from '../apps-resolve.js';
import { printFields, printSecretBox, splitList } from '../format.js';
import { CliError, printTable, shellQuote } from '../output.js';

const SHOW_FIELDS = [
  'id',
  'client_id',
  'name',
  'description',
  'status',
  'visibility',
  'client_type',
  'callback_url',
  'scopes',
  'default_scopes',
  'grant_types',
  'review_note',
  'tenant_id',
  'owner_user_id',
  'created_at',
  'updated_at',
];

function printApp(app: ApiApp): void {
  printFields(app as unknown as Record<string, unknown>, SHOW_FIELDS);
}

function oneOf(flag: string, value: string | undefined, allowed: string[]): string | undefined {
  if (value !== undefined && !allowed.includes(value))
    throw new CliError(`${flag} must be one of: ${allowed.join(', ')}.`);
  return value;
}

const GRANT_TYPES_HELP =
  'grant types the app may use, space- or comma-separated: authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code (default: the first three for confidential apps, the first two for public ones)';

const confirmNeeded = (what: string) => new CliError(`${what} cannot be undone: add --yes to confirm.`);

export function registerAppsCommands(program: Command): void {
  const apps = program
    .command('apps')
    .description('Manage apps (OAuth clients) over the management API')
    .addHelpText(
      'after',
      `\n${APP_HELP}\n\nExamples:\n  $ clavis apps list\n  $ clavis apps create --name "Orders service" --callback-url https://orders.example.com/callback\n  $ clavis apps show 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 --json`,
    );

  remoteOptions(apps.command('list').description('List the apps you may manage'))
    .option('--status <status>', 'draft, in_review, approved, rejected or disabled')
    .option('--visibility <visibility>', 'private or public')
    .option('--search <text>', 'name contains, or exact client_id')
    .option('--limit <n>', 'page size (1-200)', '50')
    .option('--cursor <cursor>', 'next_cursor of the previous page')
    .addHelpText(
      'after',
      '\nExamples:\n  $ clavis apps list\n  $ clavis apps list --status in_review\n  $ clavis apps list --json | jq -r ".items[].client_id"',
    )
    .action(
      async (
        opts: RemoteOptions & {
          status?: string;
          visibility?: string;
          search?: string;
          limit: string;
          cursor?: string;
        },
      ) => {
        oneOf('--status', opts.status, ['draft', 'in_review', 'approved', 'rejected', 'disabled']);
        oneOf('--visibility', opts.visibility, ['private', 'public']);
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 200)
          throw new CliError('--limit must be 1-200.');
        const q = new URLSearchParams({ limit: String(limit) });
        if (opts.status) q.set('status', opts.status);
        if (opts.visibility) q.set('visibility', opts.visibility);
        if (opts.search) q.set('q', opts.search);
        if (opts.cursor) q.set('cursor', opts.cursor);
        const api = ApiClient.from(opts);
        const page = await api.request<ApiPage<ApiApp>>('GET', `/apps?${q}`);
        if (opts.json) return console.log(JSON.stringify(page, null, 2));
        printTable(page.items as unknown as Array<Record<string, unknown>>, [
          'id',
          'client_id',
          'name',
          'status',
          'visibility',
          'client_type',
        ]);
        if (page.next_cursor) {
          // The next page needs the same filters, or it would be a page of a different list.
          const again: string[] = [];
          if (opts.status) again.push('--status', opts.status);
          if (opts.visibility) again.push('--visibility', opts.visibility);
          if (opts.search) again.push('--search', opts.search);
          if (opts.limit !== '50') again.push('--limit', String(limit));
          if (opts.server) again.push('--server', api.server);
          again.push('--cursor', page.next_cursor);
          console.log(`\nMore: clavis apps list ${again.map(shellQuote).join(' ')}`);
        }
      },
    );

  remoteOptions(
    apps.command('create').description('Register an app (a confidential app gets its first secret)'),
  )
    .requiredOption('--name <name>', 'app name')
    .requiredOption('--callback-url <url>', 'the OAuth callback (redirect) URL')
    .option('--description <text>', 'description')
    .option('--visibility <visibility>', 'private (default) or public', 'private')
    .option(
      '--type <type>',
      'confidential (default, has a secret) or public (PKCE, no secret)',
      'confidential',
    )
    .option('--scopes <scopes>', 'scopes the app may request, space- or comma-separated')
    .option('--default-scopes <scopes>', 'scopes granted when a request names none')
    .option('--grant-types <types>', GRANT_TYPES_HELP)
    .addHelpText(
      'after',
      '\nExamples:\n  $ clavis apps create --name "Orders service" --callback-url https://orders.example.com/callback --scopes contacts:read\n  $ clavis apps create --name "Mobile" --type public --callback-url http://127.0.0.1/callback --json',
    )
    .action(
      async (
        opts: RemoteOptions & {
          name: string;
          callbackUrl: string;
          description?: string;
          visibility: string;
          type: string;
          scopes?: string;
          defaultScopes?: string;
          grantTypes?: string;
          idTokenAlg?: string;
          postLogoutRedirectUri?: string;
          backchannelLogoutUri?: string;
        },
      ) => {
        oneOf('--visibility', opts.visibility, ['private', 'public']);
        oneOf('--id-token-alg', opts.idTokenAlg, ['RS256', 'ES256', 'EdDSA']);
        oneOf('--type', opts.type, ['confidential', 'public']);
        const body: Record<string, unknown> = {
          name: opts.name,
          visibility: opts.visibility,
          client_type: opts.type,
          callback_url: opts.callbackUrl,
        };
        if (opts.description !== undefined) body.description = opts.description;
        if (opts.scopes !== undefined) body.scopes = splitList(opts.scopes);
        if (opts.defaultScopes !== undefined) body.default_scopes = splitList(opts.defaultScopes);
        if (opts.grantTypes !== undefined) body.grant_types = splitList(opts.grantTypes);
        const api = ApiClient.from(opts);
        const app = await api.request<ApiCreatedApp>('POST', '/apps', body);
        if (opts.json) return console.log(JSON.stringify(app, null, 2));
        const { secret, ...rest } = app;
        console.log(`Created app ${rest.name}: client_id ${rest.client_id} (id ${rest.id}, ${rest.status}).`);
        if (secret) {
          console.log('');
          printSecretBox(secret.value);
          console.log(
            `Secret id ${secret.id}${secret.expires_at ? `, expires ${secret.expires_at}` : ', never expires'}.`,
          );
        }
      },
    );

  remoteOptions(apps.command('show <app>').description('Show an app'))
    .addHelpText(
      'after',
      `\n${APP_HELP}\n\nExamples:\n  $ clavis apps show 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81\n  $ clavis apps show 0b6e2f1c-3d4a-4e5f-8a9b-7c6d5e4f3a2b --json`,
    )
    .action(async (ref: string, opts: RemoteOptions) => {
      const api = ApiClient.from(opts);
      const app = await resolveApp(api, ref);
      if (opts.json) return console.log(JSON.stringify(app, null, 2));
      printApp(app);
    });

  remoteOptions(apps.command('update <app>').description('Change an app; only the fields given change'))
    .option('--name <name>', 'new name')
    .option('--description <text>', 'new description')
    .option('--visibility <visibility>', 'private or public')
    .option('--callback-url <url>', 'new callback URL (a public app in review goes back to draft)')
    .option('--scopes <scopes>', 'scopes the app may request, space- or comma-separated')
    .option('--default-scopes <scopes>', 'default scopes')
    .option('--grant-types <types>', GRANT_TYPES_HELP)
    .option('--id-token-alg <alg>', 'OpenID Connect: ID token algorithm, RS256, ES256 or EdDSA')
    .option(
      '--post-logout-redirect-uri <url>',
      'OpenID Connect: the one post-logout redirect URI ("" removes it)',
    )
    .option('--backchannel-logout-uri <url>', 'OpenID Connect: the back-channel logout URI ("" removes it)')
    .addHelpText(
      'after',
      `\n${APP_HELP}\n\nExamples:\n  $ clavis apps update 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 --name "Orders"\n  $ clavis apps update 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 --scopes "contacts:read contacts:write"\n  $ clavis apps update 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 --grant-types "authorization_code refresh_token urn:ietf:params:oauth:grant-type:device_code"`,
    )
    .action(
      async (
        ref: string,
        opts: RemoteOptions & {
          name?: string;
          description?: string;
          visibility?: string;
          callbackUrl?: string;
          scopes?: string;
          defaultScopes?: string;
          grantTypes?: string;
          idTokenAlg?: string;
          postLogoutRedirectUri?: string;
          backchannelLogoutUri?: string;
        },
      ) => {
        oneOf('--visibility', opts.visibility, ['private', 'public']);
        oneOf('--id-token-alg', opts.idTokenAlg, ['RS256', 'ES256', 'EdDSA']);
        const body: Record<string, unknown> = {};
        if (opts.name !== undefined) body.name = opts.name;
        if (opts.description !== undefined) body.description = opts.description;
        if (opts.visibility !== undefined) body.visibility = opts.visibility;
        if (opts.callbackUrl !== undefined) body.callback_url = opts.callbackUrl;
        if (opts.scopes !== undefined) body.scopes = splitList(opts.scopes);
        if (opts.defaultScopes !== undefined) body.default_scopes = splitList(opts.defaultScopes);
        if (opts.grantTypes !== undefined) body.grant_types = splitList(opts.grantTypes);
        if (opts.idTokenAlg !== undefined) body.id_token_signed_response_alg = opts.idTokenAlg;
        if (opts.postLogoutRedirectUri !== undefined)
          body.post_logout_redirect_uri = opts.postLogoutRedirectUri || null;
        if (opts.backchannelLogoutUri !== undefined)
          body.backchannel_logout_uri = opts.backchannelLogoutUri || null;
        if (Object.keys(body).length === 0)
          throw new CliError(
            'nothing to change: give at least one of --name, --description, --visibility, --callback-url, --scopes, --default-scopes, --grant-types, --id-token-alg, --post-logout-redirect-uri, --backchannel-logout-uri.',
          );
        const api = ApiClient.from(opts);
        const app = await resolveApp(api, ref);
        const updated = await api.request<ApiApp>('PATCH', `/apps/${encodeURIComponent(app.id)}`, body);
        if (opts.json) return console.log(JSON.stringify(updated, null, 2));
        console.log(`Updated ${updated.client_id}.`);
        printApp(updated);
      },
    );

  remoteOptions(apps.command('delete <app>').description('Delete an app and revoke all its secrets'))
    .option('--yes', 'confirm (deletion cannot be undone)')
    .addHelpText(
      'after',
      `\n${APP_HELP}\n\nExample:\n  $ clavis apps delete 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 --yes`,
    )
    .action(async (ref: string, opts: RemoteOptions & { yes?: boolean }) => {
      if (!opts.yes) throw confirmNeeded(`deleting ${ref}`);
      const api = ApiClient.from(opts);
      const app = await resolveApp(api, ref);
      await api.request('DELETE', `/apps/${encodeURIComponent(app.id)}`);
      if (opts.json)
        return console.log(JSON.stringify({ id: app.id, client_id: app.client_id, deleted: true }));
      console.log(`Deleted ${app.client_id} (id ${app.id}); its secrets no longer work.`);
    });

  const transition = (name: string, description: string, path: string, example: string) =>
    remoteOptions(apps.command(`${name} <app>`).description(description))
      .addHelpText('after', `\n${APP_HELP}\n\nExample:\n  $ ${example}`)
      .action(async (ref: string, opts: RemoteOptions) => {
        const api = ApiClient.from(opts);
        const app = await resolveApp(api, ref);
        const updated = await api.request<ApiApp>('POST', `/apps/${encodeURIComponent(app.id)}/${path}`);
        if (opts.json) return console.log(JSON.stringify(updated, null, 2));
        console.log(`${updated.client_id} is now ${updated.status}.`);
      });
  transition(
    'submit',
    'Submit a public app for approval',
    'submit',
    'clavis apps submit 9d41c07a5be2468f8c3e1a6b0f27d593',
  );
  transition(
    'approve',
    'Approve an app in review (platform admins, scope clavis:admin)',
    'approve',
    'clavis apps approve 9d41c07a5be2468f8c3e1a6b0f27d593',
  );

  remoteOptions(apps.command('reject <app>').description('Reject an app in review (platform admins)'))
    .requiredOption('--reason <text>', "why (shown to the app's owner)")
    .addHelpText(
      'after',
      `\n${APP_HELP}\n\nExample:\n  $ clavis apps reject 9d41c07a5be2468f8c3e1a6b0f27d593 --reason "The callback URL must be on your own domain."`,
    )
    .action(async (ref: string, opts: RemoteOptions & { reason: string }) => {
      const api = ApiClient.from(opts);
      const app = await resolveApp(api, ref);
      const updated = await api.request<ApiApp>('POST', `/apps/${encodeURIComponent(app.id)}/reject`, {
        reason: opts.reason,
      });
      if (opts.json) return console.log(JSON.stringify(updated, null, 2));
      console.log(`${updated.client_id} is now ${updated.status}: ${updated.review_note ?? opts.reason}`);
    });

  registerPermissionsCommands(apps);
}

/** Prints one permission as a line a person reads: which API, which scopes, and whether usable yet. */
function describePermission(p: ApiAppPermission): string {
  const state =
    p.status === 'granted'
      ? `granted${p.granted_at ? ` ${p.granted_at}` : ''}`
      : 'pending (waits for a tenant admin: `clavis apps permissions grant`)';
  return `${p.api_name} (${p.identifier}): ${p.scopes.join(' ') || '(no scopes)'}, ${state}`;
}

/** `clavis apps permissions list|request|grant|remove`: which scopes of which API an app holds. */
function registerPermissionsCommands(apps: Command): void {
  const permissions = apps
    .command('permissions')
    .description("Manage an app's API permissions: which scopes of which API it may use")
    .addHelpText(
      'after',
      `\n${APP_HELP}\n${API_HELP}\n\nA tenant admin's request is granted at once; a developer's waits as pending until an admin grants it.\nclient_credentials tokens carry only granted scopes.\n\nExamples:\n  $ clavis apps permissions list 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81\n  $ clavis apps permissions request 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 https://orders.example.com --scopes "orders:read orders:write"\n  $ clavis apps permissions grant 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 https://orders.example.com\n  $ clavis apps permissions remove 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 https://orders.example.com --yes`,
    );

  remoteOptions(permissions.command('list <app>').description("List an app's permissions, per API"))
    .addHelpText(
      'after',
      `\n${APP_HELP}\n\nExamples:\n  $ clavis apps permissions list 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81\n  $ clavis apps permissions list 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 --json | jq -r '.items[] | select(.status == "pending") | .identifier'`,
    )
    .action(async (ref: string, opts: RemoteOptions) => {
      const api = ApiClient.from(opts);
      const app = await resolveApp(api, ref);
      const page = await api.request<ApiPage<ApiAppPermission>>(
        'GET',
        `/apps/${encodeURIComponent(app.id)}/permissions`,
      );
      if (opts.json) return console.log(JSON.stringify(page, null, 2));
      printTable(page.items as unknown as Array<Record<string, unknown>>, [
        'identifier',
        'api_name',
        'status',
        'scopes',
        'granted_at',
      ]);
    });

  remoteOptions(
    permissions
      .command('request <app> <api>')
      .description('Ask for scopes of an API for an app (the whole set: it replaces what the app held)'),
  )
    .requiredOption('--scopes <scopes>', "the API's scopes, space- or comma-separated")
    .addHelpText(
      'after',
      `\n${APP_HELP}\n${API_HELP}\n\nExample:\n  $ clavis apps permissions request 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 https://orders.example.com --scopes "orders:read orders:write"`,
    )
    .action(async (ref: string, apiRef: string, opts: RemoteOptions & { scopes: string }) => {
      const scopes = splitList(opts.scopes) ?? [];
      if (scopes.length === 0)
        throw new CliError(
          '--scopes is empty: name at least one scope (to drop the permission, use `remove`).',
        );
      const api = ApiClient.from(opts);
      const app = await resolveApp(api, ref);
      const target = await resolveApi(api, apiRef);
      const p = await api.request<ApiAppPermission>(
        'PUT',
        `/apps/${encodeURIComponent(app.id)}/permissions/${encodeURIComponent(target.id)}`,
        { scopes },
      );
      if (opts.json) return console.log(JSON.stringify(p, null, 2));
      console.log(`${app.client_id} → ${describePermission(p)}`);
    });

  remoteOptions(
    permissions
      .command('grant <app> <api>')
      .description("Grant an app's pending permission for an API (admin consent; tenant admins)"),
  )
    .addHelpText(
      'after',
      `\n${APP_HELP}\n${API_HELP}\n\nExample:\n  $ clavis apps permissions grant 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 https://orders.example.com`,
    )
    .action(async (ref: string, apiRef: string, opts: RemoteOptions) => {
      const api = ApiClient.from(opts);
      const app = await resolveApp(api, ref);
      const target = await resolveApi(api, apiRef);
      const p = await api.request<ApiAppPermission>(
        'POST',
        `/apps/${encodeURIComponent(app.id)}/permissions/${encodeURIComponent(target.id)}/grant`,
      );
      if (opts.json) return console.log(JSON.stringify(p, null, 2));
      console.log(`${app.client_id} → ${describePermission(p)}`);
    });

  remoteOptions(
    permissions
      .command('remove <app> <api>')
      .description("Remove an app's permission for an API: no more tokens for it"),
  )
    .option('--yes', 'confirm')
    .addHelpText(
      'after',
      `\n${APP_HELP}\n${API_HELP} Tokens already issued stay valid until they expire.\n\nExample:\n  $ clavis apps permissions remove 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 https://orders.example.com --yes`,
    )
    .action(async (ref: string, apiRef: string, opts: RemoteOptions & { yes?: boolean }) => {
      if (!opts.yes)
        throw new CliError(`removing the permission of ${ref} for ${apiRef}: add --yes to confirm.`);
      const api = ApiClient.from(opts);
      const app = await resolveApp(api, ref);
      const target = await resolveApi(api, apiRef);
      await api.request(
        'DELETE',
        `/apps/${encodeURIComponent(app.id)}/permissions/${encodeURIComponent(target.id)}`,
      );
      if (opts.json)
        return console.log(
          JSON.stringify({ app_id: app.id, api_id: target.id, identifier: target.identifier, removed: true }),
        );
      console.log(`Removed the permission of ${app.client_id} for ${target.identifier}.`);
    });
}
