import type { AppVisibility, ClientType, IdTokenAlg } from '../db/schema.js';
import { callbackUrlProblem } from './callback-url.js';
import { FieldErrors, invalid } from './errors.js';
import { parseScope } from './scopes.js';

/**
 * The rules for an app's fields, in one place for everything that takes them: registering an app, changing
 * one, and filing an app request.
 */

export type { AppVisibility, ClientType };

export const VISIBILITIES: readonly AppVisibility[] = ['private', 'public'];
export const CLIENT_TYPES: readonly ClientType[] = ['confidential', 'public'];

/** The device authorization grant's `grant_type` (RFC 8628 §3.4). */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** The grant types an app may be given (RFC 7591 §2 `grant_types`), in the order they are shown. */
export const GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  DEVICE_CODE_GRANT,
] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/**
 * The grant types an app gets when none are given: what every app could do before `grant_types` existed.
 * The device grant is opt-in.
 */
export function defaultGrantTypes(clientType: ClientType): GrantType[] {
  return clientType === 'confidential'
    ? ['authorization_code', 'refresh_token', 'client_credentials']
    : ['authorization_code', 'refresh_token'];
}

/**
 * Checks an app's grant types against its client type: known names, no duplicates, at least one, and no
 * client_credentials for a public client (it has no secret to authenticate with, RFC 6749 §4.4).
 *
 * @returns the list in {@link GRANT_TYPES} order. @throws DomainError `app_grant_types_invalid`.
 */
export function checkGrantTypes(list: readonly string[] | undefined, clientType: ClientType): GrantType[] {
  if (list === undefined) return defaultGrantTypes(clientType);
  for (const g of list)
    if (!oneOf(GRANT_TYPES, g))
      throw invalid(
        'grant_types',
        `"${g}" is not a grant type Clavis supports (${GRANT_TYPES.join(', ')}).`,
        'app_grant_types_invalid',
      );
  if (list.length === 0)
    throw invalid('grant_types', 'Choose at least one grant type.', 'app_grant_types_invalid');
  if (clientType === 'public' && list.includes('client_credentials'))
    throw invalid(
      'grant_types',
      'A public client has no secret, so it cannot use client_credentials.',
      'app_grant_types_invalid',
    );
  return GRANT_TYPES.filter((g) => list.includes(g));
}

/** The fields a caller gives to register an app (or to ask for one). */
export interface AppInput {
  name: string;
  description?: string;
  visibility: AppVisibility;
  client_type: ClientType;
  callback_url: string;
  scopes?: string[];
  default_scopes?: string[];
  /** Defaults to {@link defaultGrantTypes} for the client type. */
  grant_types?: string[];
}

/** An {@link AppInput} that passed {@link checkAppInput}: trimmed, lists present. */
export interface CheckedAppInput {
  name: string;
  description: string;
  visibility: AppVisibility;
  client_type: ClientType;
  callback_url: string;
  /** Scope names, syntax checked only (whether each exists is the scope registry's rule). */
  scopes: string[];
  default_scopes: string[];
  grant_types: GrantType[];
}

/**
 * Characters that must not appear in names users are shown on consent and review pages: control
 * characters, and invisible or direction-changing ones (bidi overrides and isolates, zero-width
 * characters), which can make one app's name read as another's.
 */
const DECEPTIVE_CLASS =
  '[\\p{Cc}\\u00AD\\u061C\\u115F\\u1160\\u180E\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u2069\\u3164\\uFEFF\\uFFA0]';
const DECEPTIVE = new RegExp(DECEPTIVE_CLASS, 'u');
/** The same, but a description may have line breaks and tabs. */
const DECEPTIVE_TEXT = new RegExp(`(?![\\t\\n\\r])${DECEPTIVE_CLASS}`, 'u');

/**
 * Whether a text holds control, invisible or direction-changing characters (line breaks and tabs are
 * allowed in `multiline` text): the one rule for every name and description users are shown.
 */
export function hasDeceptiveCharacters(text: string, multiline = false): boolean {
  return (multiline ? DECEPTIVE_TEXT : DECEPTIVE).test(text);
}

/** @throws DomainError `app_name_invalid`. */
export function checkAppName(name: string | undefined): string {
  const n = (name ?? '').trim();
  if (!n) throw invalid('name', 'Give the app a name.', 'app_name_invalid');
  if (n.length > 100)
    throw invalid('name', 'The app name is too long (100 characters at most).', 'app_name_invalid');
  if (DECEPTIVE.test(n))
    throw invalid(
      'name',
      'The app name contains control, invisible or text-direction characters; use visible characters only.',
      'app_name_invalid',
    );
  return n;
}

/** @throws DomainError `app_description_invalid`. */
export function checkAppDescription(d: string | undefined): string {
  const v = (d ?? '').trim();
  if (v.length > 1000)
    throw invalid(
      'description',
      'The description is too long (1000 characters at most).',
      'app_description_invalid',
    );
  if (DECEPTIVE_TEXT.test(v))
    throw invalid(
      'description',
      'The description contains control, invisible or text-direction characters; use visible characters only.',
      'app_description_invalid',
    );
  return v;
}

/** @throws DomainError `app_callback_invalid`. */
export function checkAppCallback(url: string | undefined): string {
  const v = (url ?? '').trim();
  if (!v)
    throw invalid('callback_url', 'Enter the OAuth callback URL (one per app).', 'app_callback_invalid');
  const problem = callbackUrlProblem(v);
  if (problem) throw invalid('callback_url', problem, 'app_callback_invalid');
  return v;
}

const oneOf = <T extends string>(allowed: readonly T[], value: string | undefined): value is T =>
  (allowed as readonly (string | undefined)[]).includes(value);

/** @throws DomainError `app_visibility_invalid`. */
export function checkVisibility(value: string | undefined): AppVisibility {
  if (!oneOf(VISIBILITIES, value))
    throw invalid('visibility', 'Choose a visibility: private or public.', 'app_visibility_invalid');
  return value;
}

/** @throws DomainError `app_client_type_invalid`. */
export function checkClientType(value: string | undefined): ClientType {
  if (!oneOf(CLIENT_TYPES, value))
    throw invalid('client_type', 'Choose a client type: confidential or public.', 'app_client_type_invalid');
  return value;
}

/** Checks the syntax of each scope name in a list. @throws DomainError `app_scope_invalid`. */
export function checkScopeNames(field: 'scopes' | 'default_scopes', scopes: string[] | undefined): string[] {
  const list = scopes ?? [];
  for (const s of list)
    if (parseScope(s)?.length !== 1)
      throw invalid(field, `"${s}" is not a valid scope name.`, 'app_scope_invalid');
  return list;
}

/**
 * Checks every field of an app's input and refuses it once, naming every field that failed. Failures
 * already in `errors` (a caller's own fields) are refused with them.
 *
 * @throws DomainError carrying the first failure's code, with `fields` for all of them.
 */
export function checkAppInput(input: AppInput, errors = new FieldErrors()): CheckedAppInput {
  const checked: CheckedAppInput = {
    name: errors.check(() => checkAppName(input.name)) ?? '',
    description: errors.check(() => checkAppDescription(input.description)) ?? '',
    visibility: errors.check(() => checkVisibility(input.visibility)) ?? 'private',
    client_type: errors.check(() => checkClientType(input.client_type)) ?? 'confidential',
    callback_url: errors.check(() => checkAppCallback(input.callback_url)) ?? '',
    scopes: errors.check(() => checkScopeNames('scopes', input.scopes)) ?? [],
    default_scopes: errors.check(() => checkScopeNames('default_scopes', input.default_scopes)) ?? [],
    grant_types: [],
  };
  checked.grant_types = errors.check(() => checkGrantTypes(input.grant_types, checked.client_type)) ?? [];
  errors.throwIfAny();
  return checked;
}

/** The ID token algorithms an app may choose (OIDC Registration §2 `id_token_signed_response_alg`). */
export const ID_TOKEN_SIGNING_ALGS: readonly IdTokenAlg[] = ['RS256', 'ES256', 'EdDSA'];

/** @throws DomainError `app_oidc_field_invalid`. */
export function checkIdTokenAlg(value: string | undefined): IdTokenAlg {
  if (!oneOf(ID_TOKEN_SIGNING_ALGS, value))
    throw invalid(
      'id_token_signed_response_alg',
      'Choose the ID token algorithm: RS256, ES256 or EdDSA.',
      'app_oidc_field_invalid',
    );
  return value;
}

/**
 * The one address RP-initiated logout may send the user back to: the same rules as the callback URL, or
 * empty (`null`) for none. @throws DomainError `app_oidc_field_invalid`.
 */
export function checkPostLogoutRedirectUri(url: string | null): string | null {
  const v = (url ?? '').trim();
  if (!v) return null;
  const problem = callbackUrlProblem(v);
  if (problem)
    throw invalid(
      'post_logout_redirect_uri',
      problem.replace(/callback URL/gi, 'post-logout redirect URI'),
      'app_oidc_field_invalid',
    );
  return v;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Where back-channel logout tokens are POSTed (Back-Channel Logout 1.0 §2.2): an absolute https URL (http only
 * for a loopback host), with no fragment, or empty (`null`) for none. @throws DomainError
 * `app_oidc_field_invalid`.
 */
export function checkBackchannelLogoutUri(url: string | null): string | null {
  const v = (url ?? '').trim();
  if (!v) return null;
  const fail = (message: string) => invalid('backchannel_logout_uri', message, 'app_oidc_field_invalid');
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw fail('Enter an absolute URL, such as https://app.example/backchannel-logout.');
  }
  if (v.length > 2000) throw fail('The back-channel logout URI is too long (2000 characters at most).');
  if (u.hash || v.includes('#')) throw fail('The back-channel logout URI must not have a fragment (#...).');
  if (u.username || u.password)
    throw fail('The back-channel logout URI must not carry a user name or password.');
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK.has(u.hostname)))
    throw fail('The back-channel logout URI must use https (http only for localhost).');
  // Delivery refuses loopback, private and metadata addresses unless CLAVIS_WEBHOOKS_ALLOW_PRIVATE (the
  // webhooks' rule, checked after DNS at each POST); http on localhost is kept for development servers.
  return v;
}
