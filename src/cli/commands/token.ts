import { clientCredentials } from '@clavis/client';
import type { Command } from 'commander';
import { oauthFailure, resolveServer } from '../api-client.js';
import { decodeJwt } from '../format.js';
import { resolveIssuer } from '../issuer.js';
import { CliError, EXIT_USER } from '../output.js';
import { resolveClientId, resolveClientSecret } from '../secret-input.js';

interface TokenOptions {
  issuer?: string;
  tokenEndpoint?: string;
  server?: string;
  clientId?: string;
  clientSecret?: string;
  clientSecretStdin?: boolean;
  scope?: string;
  audience?: string[];
  resource?: string[];
  authMethod?: string;
  json?: boolean;
  decode?: boolean;
}

const EXAMPLES = `
The client secret comes from CLAVIS_CLIENT_SECRET, stdin (piped, or --client-secret-stdin), or a hidden
prompt. A plain --client-secret flag works too, but the secret then lands in your shell history.

Examples:
  $ export CLAVIS_CLIENT_ID=3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81     # the client_id from \`clavis apps list\`
  $ read -rs CLAVIS_CLIENT_SECRET && export CLAVIS_CLIENT_SECRET
  $ vault read -field=secret kv/billing-worker | clavis token --scope contacts:read
  $ clavis token --server https://auth.example.com --scope contacts:read
  $ clavis token --resource https://orders.example.com --scope orders:read --decode   # a token for your own API
  $ curl -H "Authorization: Bearer $(clavis token)" https://api.example.com/contacts

  # any RFC 8414 authorization server, or one without metadata
  $ clavis token --issuer https://login.example.org/realms/acme --client-id billing-worker --client-secret-stdin < secret.txt
  $ clavis token --issuer https://acme.eu.auth0.com/ --client-id 8pQw2LrT5yVb --audience https://api.example.com
  $ clavis token --token-endpoint https://idp.example.org/oauth2/token --client-id billing-worker

  # the whole response, or the token's header and claims (decoded, not verified)
  $ clavis token --json
  $ clavis token --decode
`;

/** `clavis token`: the client credentials grant against any issuer, printing the access token. */
export function registerTokenCommand(program: Command): void {
  program
    .command('token')
    .description(
      'Get an access token with the client credentials grant (from Clavis or any OAuth 2.0 server)',
    )
    .option(
      '--issuer <url>',
      "issuer to discover the token endpoint from (RFC 8414); a trailing slash the server's issuer lacks (or has) is adjusted",
    )
    .option('--token-endpoint <url>', 'token endpoint URL, for servers without metadata')
    .option(
      '--server <url>',
      'Clavis server URL, used as the issuer when --issuer and --token-endpoint are absent',
    )
    .option('--client-id <id>', 'client id (default: $CLAVIS_CLIENT_ID)')
    .option('--client-secret-stdin', 'read the client secret from stdin')
    .option('--client-secret <secret>', 'client secret (discouraged: it lands in your shell history)')
    .option('--scope <scopes>', 'space-separated scopes to request')
    .option(
      '--resource <uri>',
      "the API to get a token for: its identifier, sent as RFC 8707 resource (default: the server's default API)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      '--audience <url>',
      'the same as --resource (the name some servers use); repeat for several',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--auth-method <method>', 'client_secret_basic (default) or client_secret_post')
    .option('--json', 'print the whole token response as JSON')
    .option('--decode', "print the JWT's header and claims (decoded only, NOT verified)")
    .addHelpText('after', EXAMPLES)
    .action(async (opts: TokenOptions) => {
      if (opts.issuer && opts.tokenEndpoint)
        throw new CliError('give either --issuer or --token-endpoint, not both.', EXIT_USER, 'usage');
      if (
        opts.authMethod &&
        opts.authMethod !== 'client_secret_basic' &&
        opts.authMethod !== 'client_secret_post'
      )
        throw new CliError('--auth-method must be client_secret_basic or client_secret_post.');
      for (const [flag, v] of [
        ['--issuer', opts.issuer],
        ['--token-endpoint', opts.tokenEndpoint],
      ] as const)
        if (v !== undefined && !/^https?:\/\//.test(v)) throw new CliError(`${flag} must be an http(s) URL.`);
      const targets = [...(opts.resource ?? []), ...(opts.audience ?? [])];
      for (const t of targets)
        if (!URL.canParse(t))
          throw new CliError(`--resource ${t} is not an absolute URI (e.g. https://orders.example.com).`);
      const clientId = resolveClientId(opts.clientId);
      const clientSecret = await resolveClientSecret({
        flag: opts.clientSecret,
        stdin: opts.clientSecretStdin,
      });
      let target:
        | { tokenEndpoint: string; issuer?: undefined }
        | { issuer: string; tokenEndpoint?: undefined };
      if (opts.tokenEndpoint) target = { tokenEndpoint: opts.tokenEndpoint };
      else {
        const issuer = opts.issuer ?? resolveServer(opts.server);
        try {
          target = {
            issuer: await resolveIssuer(issuer, (used) =>
              process.stderr.write(
                `clavis: note: the server's issuer is ${used} (RFC 8414 §3.3 compares issuers exactly); using it.\n`,
              ),
            ),
          };
        } catch (err) {
          throw oauthFailure(err, issuer, 'discovering the issuer');
        }
      }
      const source = clientCredentials({
        ...target,
        clientId,
        clientSecret,
        scope: opts.scope,
        audience: targets.length ? targets : undefined,
        authMethod: opts.authMethod as 'client_secret_basic' | 'client_secret_post' | undefined,
        retry: { retries: 2, baseDelayMs: 200, maxDelayMs: 1000 },
        timeoutMs: 15_000,
      });
      let tokens: Awaited<ReturnType<typeof source.getTokenResponse>>;
      try {
        tokens = await source.getTokenResponse();
      } catch (err) {
        throw oauthFailure(err, target.tokenEndpoint ?? target.issuer!, 'the token request');
      }
      if (opts.decode) {
        const { header, claims } = decodeJwt(tokens.access_token);
        process.stderr.write('clavis: decoded only: the signature was NOT verified.\n');
        console.log(JSON.stringify({ header, claims }, null, 2));
        return;
      }
      if (opts.json) {
        const { expiresAt: _, ...response } = tokens;
        console.log(JSON.stringify(response, null, 2));
        return;
      }
      console.log(tokens.access_token);
    });
}
