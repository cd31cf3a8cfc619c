import type { ApiClient } from './api-client.js';
import type { ApiPage, ApiResourceServer } from './api-types.js';
import { CliError, EXIT_USER } from './output.js';

/** What API means, for every command that takes one. */
export const API_HELP =
  "API is the API's identifier (its audience URI, e.g. https://orders.example.com) or its id (a UUID); `clavis apis list` shows both.";

/** Every API the caller can see (the list is one page: tenants have few APIs). */
export async function listApis(api: ApiClient): Promise<ApiResourceServer[]> {
  return (await api.request<ApiPage<ApiResourceServer>>('GET', '/apis')).items;
}

/** Finds an API the caller can see by its object id or its identifier. */
export async function resolveApi(api: ApiClient, ref: string): Promise<ApiResourceServer> {
  if (!ref.trim()) throw new CliError('give the API as its identifier or id.');
  const found = (await listApis(api)).find((a) => a.id === ref || a.identifier === ref);
  if (found) return found;
  throw new CliError(
    `no API "${ref}" (neither the identifier nor the id of an API you can see). Run \`clavis apis list\` to see them.`,
    EXIT_USER,
    'not_found',
  );
}
