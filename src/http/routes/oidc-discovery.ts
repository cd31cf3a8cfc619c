import { SCOPE_CLAIMS } from '../../domain/oidc.js';
import { ID_TOKEN_ALGS } from '../../oauth/oidc/id-token.js';
import { ACR_PASSWORD } from '../../oauth/oidc/request.js';
import type { Services } from '../../services.js';
import { END_SESSION_PATH } from './end-session.js';
import { USERINFO_PATH } from './userinfo.js';

/**
 * OpenID Provider metadata (OpenID Connect Discovery 1.0 §3): the OAuth metadata plus what an OpenID
 * Connect client needs, all of it true of this server: the UserInfo and end-session endpoints, ID token
 * algorithms, public subjects, the claims the standard scopes release, and no `claims` or request objects.
 */
export function openIdMetadata(services: Services, oauth: Record<string, unknown>): Record<string, unknown> {
  if (!services.features.authorizationEndpoint) return oauth;
  const issuer = services.config.issuer;
  return {
    ...oauth,
    userinfo_endpoint: `${issuer}${USERINFO_PATH}`,
    end_session_endpoint: `${issuer}${END_SESSION_PATH}`,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...ID_TOKEN_ALGS],
    claims_supported: [
      'sub',
      'iss',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'nonce',
      'at_hash',
      'sid',
      'amr',
      'acr',
      ...Object.values(SCOPE_CLAIMS).flat(),
    ],
    acr_values_supported: [ACR_PASSWORD],
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
  };
}
