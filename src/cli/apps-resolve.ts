import type { ApiClient } from './api-client.js';
import type { ApiApp, ApiPage } from './api-types.js';
import { CliError, EXIT_USER } from './output.js';

/** What APP means, for every command that takes one. */
export const APP_HELP =
  "APP is the app's client_id (32 hex characters) or its id (a UUID); `clavis apps list` shows both.";

/**
 * Finds an app by object id or by client_id. A client_id is looked up with the list filter `q` (which
 * matches the exact client_id); otherwise the argument is taken as the object id.
 */
export async function resolveApp(api: ApiClient, ref: string): Promise<ApiApp> {
  if (!ref.trim()) throw new CliError('give the app as its id or client_id.');
  const page = await api.request<ApiPage<ApiApp>>(
    'GET',
    `/apps?${new URLSearchParams({ q: ref, limit: '200' })}`,
  );
  const byClientId = page.items.find((a) => a.client_id === ref || a.id === ref);
  if (byClientId) return byClientId;
  try {
    return await api.request<ApiApp>('GET', `/apps/${encodeURIComponent(ref)}`);
  } catch (err) {
    if (err instanceof CliError && err.exitCode === 1)
      throw new CliError(
        `no app "${ref}" (neither an app id nor a client_id you can manage). Run \`clavis apps list\` to see yours.`,
        EXIT_USER,
        'not_found',
      );
    throw err;
  }
}
