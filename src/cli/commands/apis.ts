import type { Command } from 'commander';
import { ApiClient, type RemoteOptions, remoteOptions } from '../api-client.js';
import type { ApiResourceServer } from '../api-types.js';
import { API_HELP, listApis, resolveApi } from '../apis-resolve.js';
import { resolveApp } from '../apps-resolve.js';
import { printFields } from '../format.js';
import { CliError, printTable } from '../output.js';

interface ScopeInput {
  name: string;
  description: string;
  admin_consent_required: boolean;
}

interface ApiFieldOptions {
  name?: string;
  description?: string;
  scope?: string[];
  adminConsent?: string[];
  accessTokenTtl?: string;
  clientCredentials?: boolean;
  visibility?: string;
  resourceServerApp?: string[];
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `NAME` or `NAME=DESCRIPTION` (the description may hold `=` and spaces). */
function parseScope(spec: string): { name: string; description: string } {
  const at = spec.indexOf('=');
  const name = (at < 0 ? spec : spec.slice(0, at)).trim();
  if (!name) throw new CliError(`--scope "${spec}" has no name: give NAME or NAME=DESCRIPTION.`);
  return { name, description: at < 0 ? '' : spec.slice(at + 1).trim() };
}

/** The scopes named by --scope, with those named by --admin-consent marked; every --admin-consent must be one of them. */
function scopesFrom(specs: string[], adminConsent: string[] = []): ScopeInput[] {
  const scopes = specs.map(parseScope);
  const names = new Set(scopes.map((s) => s.name));
  for (const n of adminConsent)
    if (!names.has(n)) throw new CliError(`--admin-consent ${n} is not one of the --scope names.`);
  return scopes.map((s) => ({ ...s, admin_consent_required: adminConsent.includes(s.name) }));
}

function ttlFrom(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 60 || n > 86400)
    throw new CliError('--access-token-ttl must be a whole number of seconds from 60 to 86400.');
  return n;
}

function visibilityFrom(v: string | undefined): string | undefined {
  if (v !== undefined && v !== 'tenant' && v !== 'public')
    throw new CliError('--visibility must be tenant or public.');
  return v;
}

/** The object ids of the apps named (by client_id or id) with --resource-server-app. */
async function appIds(api: ApiClient, refs: string[] | undefined): Promise<string[] | undefined> {
  if (refs === undefined) return undefined;
  const ids: string[] = [];
  for (const ref of refs) ids.push((await resolveApp(api, ref)).id);
  return ids;
}

/** The body fields common to create and update, from the flags given. */
async function fieldsFrom(api: ApiClient, opts: ApiFieldOptions): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = {};
  if (opts.name !== undefined) body.name = opts.name;
  if (opts.description !== undefined) body.description = opts.description;
  if (opts.scope !== undefined) body.scopes = scopesFrom(opts.scope, opts.adminConsent);
  else if (opts.adminConsent !== undefined)
    throw new CliError('--admin-consent marks scopes given with --scope: give the --scope list too.');
  const ttl = ttlFrom(opts.accessTokenTtl);
  if (ttl !== undefined) body.access_token_ttl = ttl;
  if (opts.clientCredentials !== undefined) body.allow_client_credentials = opts.clientCredentials;
  const visibility = visibilityFrom(opts.visibility);
  if (visibility !== undefined) body.visibility = visibility;
  const servers = await appIds(api, opts.resourceServerApp);
  if (servers !== undefined) body.resource_server_app_ids = servers;
  return body;
}

/**
 * Commander gives `--no-client-credentials` a default of true; the API's own default (or the current value,
 * on update) applies unless the flag was typed, so the field is sent only then.
 */
function onlyGivenSwitch(cmd: Command, fields: Record<string, unknown>): void {
  if (cmd.getOptionValueSource('clientCredentials') !== 'cli') delete fields.allow_client_credentials;
}

function withFieldOptions(cmd: Command): Command {
  return cmd
    .option('--description <text>', 'what the API is')
    .option(
      '--scope <name[=description]>',
      'a scope of the API, with what it allows in plain words; repeat for each scope',
      collect,
    )
    .option('--admin-consent <name>', 'a --scope only a tenant admin may grant; repeat', collect)
    .option('--access-token-ttl <seconds>', 'lifetime of its access tokens (60-86400)')
    .option('--no-client-credentials', 'refuse tokens from the client_credentials grant')
    .option('--visibility <visibility>', 'tenant (default: apps of your tenant) or public (platform admins)')
    .option(
      '--resource-server-app <app>',
      'an app (client_id or id) that serves this API and may introspect its tokens; repeat',
      collect,
    );
}

function printApi(a: ApiResourceServer): void {
  printFields(
    {
      ...a,
      tenant_id: a.tenant_id ?? '(built-in)',
      built_in: a.built_in ?? '',
    } as Record<string, unknown>,
    [
      'id',
      'identifier',
      'name',
      'description',
      'visibility',
      'access_token_ttl',
      'allow_client_credentials',
      'resource_server_app_ids',
      'built_in',
      'tenant_id',
      'created_at',
      'updated_at',
    ],
  );
  console.log('\nScopes:');
  printTable(
    a.scopes.map((s) => ({ ...s, admin_consent_required: s.admin_consent_required ? 'yes' : 'no' })),
    ['name', 'admin_consent_required', 'description'],
  );
}

/**
 * Runs a request that the server refuses with 409 when apps hold what it removes; without --force, the
 * refusal says which flag does it anyway.
 */
async function withForceHint<T>(force: boolean | undefined, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!force && err instanceof CliError && err.code === 'conflict' && /\bforce\b/.test(err.message))
      throw new CliError(`${err.message} Add --force to do it anyway.`, err.exitCode, err.code);
    throw err;
  }
}

const ID_EXAMPLE = 'https://orders.example.com';

export function registerApisCommands(program: Command): void {
  const apis = program
    .command('apis')
    .description('Manage APIs (resource servers): the audiences tokens are issued for, and their scopes')
    .addHelpText(
      'after',
      `\n${API_HELP}\n\nExamples:\n  $ clavis apis list\n  $ clavis apis create --identifier ${ID_EXAMPLE} --name "Orders API" --scope "orders:read=Read orders" --scope "orders:write=Change orders" --admin-consent orders:write\n  $ clavis apps permissions request 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 ${ID_EXAMPLE} --scopes orders:read\n  $ clavis token --resource ${ID_EXAMPLE} --scope orders:read`,
    );

  remoteOptions(apis.command('list').description('List the APIs you can see (the built-in ones included)'))
    .addHelpText(
      'after',
      '\nExamples:\n  $ clavis apis list\n  $ clavis apis list --json | jq -r ".items[].identifier"',
    )
    .action(async (opts: RemoteOptions) => {
      const items = await listApis(ApiClient.from(opts));
      if (opts.json) return console.log(JSON.stringify({ items, next_cursor: null }, null, 2));
      printTable(
        items.map((a) => ({
          ...a,
          scopes: a.scopes.map((s) => s.name),
          built_in: a.built_in ?? '',
        })),
        ['id', 'identifier', 'name', 'visibility', 'built_in', 'scopes'],
      );
    });

  withFieldOptions(
    remoteOptions(apis.command('create').description('Register an API of your tenant (tenant admins)')),
  )
    .requiredOption(
      '--identifier <uri>',
      'its audience: an absolute https URI (http only on loopback); never changes',
    )
    .requiredOption('--name <name>', 'name shown to developers and on consent pages')
    .addHelpText(
      'after',
      `\nExamples:\n  $ clavis apis create --identifier ${ID_EXAMPLE} --name "Orders API" \\\n      --scope "orders:read=Read your orders" --scope "orders:write=Create and change orders" --admin-consent orders:write\n  $ clavis apis create --identifier http://127.0.0.1:3000 --name "Local dev API" --scope items:read --json`,
    )
    .action(
      async (opts: RemoteOptions & ApiFieldOptions & { identifier: string; name: string }, cmd: Command) => {
        const api = ApiClient.from(opts);
        const fields = await fieldsFrom(api, opts);
        onlyGivenSwitch(cmd, fields);
        const created = await api.request<ApiResourceServer>('POST', '/apis', {
          identifier: opts.identifier,
          ...fields,
        });
        if (opts.json) return console.log(JSON.stringify(created, null, 2));
        console.log(`Created API ${created.name}: identifier ${created.identifier} (id ${created.id}).`);
        console.log(`Clients ask for its tokens with resource=${created.identifier}.`);
      },
    );

  remoteOptions(apis.command('show <api>').description('Show an API and its scopes'))
    .addHelpText('after', `\n${API_HELP}\n\nExample:\n  $ clavis apis show ${ID_EXAMPLE}`)
    .action(async (ref: string, opts: RemoteOptions) => {
      const a = await resolveApi(ApiClient.from(opts), ref);
      if (opts.json) return console.log(JSON.stringify(a, null, 2));
      printApi(a);
    });

  withFieldOptions(
    remoteOptions(apis.command('update <api>').description('Change an API; only the fields given change')),
  )
    .option('--name <name>', 'new name')
    .option('--client-credentials', 'allow the client_credentials grant again')
    .option(
      '--add-scope <name[=description]>',
      'add (or redescribe) one scope, keeping the others; repeat',
      collect,
    )
    .option('--remove-scope <name>', 'remove one scope, keeping the others; repeat', collect)
    .option('--force', 'also remove scopes (or the API) from the apps that hold them')
    .addHelpText(
      'after',
      `\n${API_HELP} --scope replaces the whole list; --add-scope and --remove-scope edit it.\n\nExamples:\n  $ clavis apis update ${ID_EXAMPLE} --add-scope "orders:refund=Refund orders" --admin-consent orders:refund\n  $ clavis apis update ${ID_EXAMPLE} --remove-scope orders:refund --force\n  $ clavis apis update ${ID_EXAMPLE} --access-token-ttl 900 --no-client-credentials`,
    )
    .action(
      async (
        ref: string,
        opts: RemoteOptions &
          ApiFieldOptions & { addScope?: string[]; removeScope?: string[]; force?: boolean },
        cmd: Command,
      ) => {
        if (opts.scope && (opts.addScope || opts.removeScope))
          throw new CliError('give either --scope (the whole list) or --add-scope/--remove-scope, not both.');
        const api = ApiClient.from(opts);
        const current = await resolveApi(api, ref);
        const edit = opts.addScope || opts.removeScope;
        const fields = await fieldsFrom(api, edit ? { ...opts, adminConsent: undefined } : opts);
        onlyGivenSwitch(cmd, fields);
        if (edit) {
          const added = (opts.addScope ?? []).map(parseScope);
          const removed = new Set(opts.removeScope ?? []);
          for (const n of removed)
            if (!current.scopes.some((s) => s.name === n))
              throw new CliError(`--remove-scope ${n}: ${current.identifier} has no such scope.`);
          const consent = new Set(opts.adminConsent ?? []);
          const kept = current.scopes.filter((s) => !removed.has(s.name));
          const scopes: ScopeInput[] = kept.map((s) => ({
            ...s,
            admin_consent_required: s.admin_consent_required || consent.has(s.name),
          }));
          for (const a of added) {
            const at = scopes.findIndex((s) => s.name === a.name);
            const scope = { ...a, admin_consent_required: consent.has(a.name) };
            if (at >= 0) scopes[at] = { ...scope, description: a.description || scopes[at]!.description };
            else scopes.push(scope);
          }
          for (const n of consent)
            if (!scopes.some((s) => s.name === n))
              throw new CliError(`--admin-consent ${n} is not a scope of the API.`);
          fields.scopes = scopes;
        }
        if (Object.keys(fields).length === 0)
          throw new CliError(
            'nothing to change: give at least one of --name, --description, --scope, --add-scope, --remove-scope, --access-token-ttl, --[no-]client-credentials, --visibility, --resource-server-app.',
          );
        const q = opts.force ? '?force=true' : '';
        const updated = await withForceHint(opts.force, () =>
          api.request<ApiResourceServer>('PATCH', `/apis/${encodeURIComponent(current.id)}${q}`, fields),
        );
        if (opts.json) return console.log(JSON.stringify(updated, null, 2));
        console.log(`Updated ${updated.identifier}.`);
        printApi(updated);
      },
    );

  remoteOptions(apis.command('delete <api>').description('Delete an API of your tenant'))
    .option('--yes', 'confirm (deletion cannot be undone)')
    .option('--force', 'also remove the permissions apps hold for it')
    .addHelpText(
      'after',
      `\n${API_HELP} Tokens already issued for it stay valid until they expire.\n\nExample:\n  $ clavis apis delete ${ID_EXAMPLE} --yes --force`,
    )
    .action(async (ref: string, opts: RemoteOptions & { yes?: boolean; force?: boolean }) => {
      if (!opts.yes) throw new CliError(`deleting ${ref} cannot be undone: add --yes to confirm.`);
      const api = ApiClient.from(opts);
      const a = await resolveApi(api, ref);
      await withForceHint(opts.force, () =>
        api.request('DELETE', `/apis/${encodeURIComponent(a.id)}${opts.force ? '?force=true' : ''}`),
      );
      if (opts.json)
        return console.log(JSON.stringify({ id: a.id, identifier: a.identifier, deleted: true }));
      console.log(`Deleted API ${a.identifier} (id ${a.id}).`);
    });
}
