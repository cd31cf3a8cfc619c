import { splitScope } from './scopes.js';

/**
 * A change to an approved public app that awaits review (the `apps.pending_change` column). While it is
 * pending the app's live fields, and so what users can authorize, stay as approved: approving applies it,
 * rejecting or withdrawing discards it.
 */

/**
 * The reviewed fields a pending change may hold, in the order they are named. Besides the callback URL,
 * the OpenID Connect URIs (a new place the browser is sent after logout, a new address Clavis POSTs to)
 * and added grant types (a new way to get tokens) widen what the app can do; the ID token algorithm does
 * not, and applies at once.
 */
export type PendingField =
  | 'name'
  | 'visibility'
  | 'callback_url'
  | 'scopes'
  | 'default_scopes'
  | 'grant_types'
  | 'post_logout_redirect_uri'
  | 'backchannel_logout_uri';
export const PENDING_FIELDS: readonly PendingField[] = [
  'name',
  'visibility',
  'callback_url',
  'scopes',
  'default_scopes',
  'grant_types',
  'post_logout_redirect_uri',
  'backchannel_logout_uri',
];

/** A change awaiting review, as the API and hub show it. */
export interface PendingChange {
  /** The fields the change sets, in a fixed order. */
  fields: PendingField[];
  /** Their new values: only the fields in `fields`. */
  values: {
    name?: string;
    visibility?: string;
    callback_url?: string;
    scopes?: string[];
    default_scopes?: string[];
    grant_types?: string[];
    post_logout_redirect_uri?: string;
    backchannel_logout_uri?: string;
  };
  /** Scopes the change adds to the live app. */
  added_scopes: string[];
  /** Grant types the change adds to the live app. */
  added_grant_types: string[];
  /** When the change was last saved (epoch ms). */
  requested_at: number;
  /** Who saved it (an actor id). */
  requested_by: string;
}

/** The stored form: column values as the `apps` table holds them (scopes space-separated). */
interface StoredPendingChange {
  values: Partial<Record<PendingField, string>>;
  requested_at: number;
  requested_by: string;
}

/** The column's text for the given column values, or `null` when there are none. */
export function pendingChangeText(
  values: Partial<Record<PendingField, string>>,
  requestedAt: number,
  requestedBy: string,
): string | null {
  const kept: Partial<Record<PendingField, string>> = {};
  for (const f of PENDING_FIELDS) if (values[f] !== undefined) kept[f] = values[f];
  if (Object.keys(kept).length === 0) return null;
  const stored: StoredPendingChange = { values: kept, requested_at: requestedAt, requested_by: requestedBy };
  return JSON.stringify(stored);
}

/** A pending change's values as the `apps` table holds them (scopes space-separated); empty for none. */
export function pendingColumnValues(change: PendingChange | null): Partial<Record<PendingField, string>> {
  const out: Partial<Record<PendingField, string>> = {};
  if (!change) return out;
  for (const f of change.fields) {
    const v = change.values[f];
    if (v !== undefined) out[f] = Array.isArray(v) ? v.join(' ') : v;
  }
  return out;
}

function readStored(text: string | null): StoredPendingChange | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as StoredPendingChange;
    return v && typeof v === 'object' && v.values && typeof v.values === 'object' ? v : null;
  } catch {
    return null;
  }
}

/**
 * The pending change stored in `text`, read against the app's live scopes and grant types; `null` when
 * there is none.
 */
export function readPendingChange(
  text: string | null,
  liveScopes: readonly string[],
  liveGrantTypes: readonly string[] = [],
): PendingChange | null {
  const stored = readStored(text);
  if (!stored) return null;
  const fields = PENDING_FIELDS.filter((f) => typeof stored.values[f] === 'string');
  if (fields.length === 0) return null;
  const values: PendingChange['values'] = {};
  for (const f of fields) {
    const raw = stored.values[f] as string;
    if (f === 'scopes' || f === 'default_scopes' || f === 'grant_types') values[f] = splitScope(raw);
    else values[f] = raw;
  }
  return {
    fields,
    values,
    added_scopes: (values.scopes ?? []).filter((s) => !liveScopes.includes(s)),
    added_grant_types: (values.grant_types ?? []).filter((g) => !liveGrantTypes.includes(g)),
    requested_at: stored.requested_at,
    requested_by: stored.requested_by,
  };
}

/** A short description of a pending change for its owner and the reviewer, e.g. "added scopes (a, b), name". */
export function describePendingChange(
  change: Pick<PendingChange, 'fields' | 'added_scopes' | 'added_grant_types' | 'values'>,
): string {
  return change.fields
    .map((f) => {
      if (f === 'scopes')
        return change.added_scopes.length
          ? `added scopes (${change.added_scopes.join(', ')})`
          : `scopes (${(change.values.scopes ?? []).join(', ')})`;
      if (f === 'grant_types')
        return change.added_grant_types.length
          ? `added grant types (${change.added_grant_types.join(', ')})`
          : `grant types (${(change.values.grant_types ?? []).join(', ')})`;
      if (f === 'default_scopes') return 'default scopes';
      return `${PENDING_FIELD_WORDS[f]} (${change.values[f]})`;
    })
    .join(', ');
}

/** How the owner and the reviewer read each reviewed field's name. */
export const PENDING_FIELD_WORDS: Readonly<Record<PendingField, string>> = {
  name: 'name',
  visibility: 'visibility',
  callback_url: 'callback URL',
  scopes: 'scopes',
  default_scopes: 'default scopes',
  grant_types: 'grant types',
  post_logout_redirect_uri: 'post-logout redirect URI',
  backchannel_logout_uri: 'back-channel logout URI',
};
