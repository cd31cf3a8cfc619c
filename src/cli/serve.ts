import type { Config } from '../config/config.js';
import { startServer } from '../start.js';

/** Starts the server in this process and prints how to reach it. Stops cleanly on SIGINT/SIGTERM. */
export async function runServe(config: Config): Promise<void> {
  const server = await startServer(config);
  const log = server.app.log;
  if (config.secretKeySource === 'generated')
    log.warn(
      { file: config.secretKeyFile },
      'CLAVIS_SECRET_KEY is not set: GENERATED a new secret key and saved it in the data directory. Back it up: without it, client secrets and signing keys cannot be used. Set CLAVIS_SECRET_KEY in production.',
    );
  else if (config.secretKeySource === 'file')
    log.info({ file: config.secretKeyFile }, 'using the secret key kept in the data directory');
  const b = server.bootstrap;
  const lines = [
    '',
    `  Clavis is running at ${config.issuer}  (listening on ${server.url}, ${config.database.kind})`,
    `  Developer hub:   ${config.issuer}/`,
    `  Discovery:       ${config.issuer}/.well-known/oauth-authorization-server`,
    `  Token endpoint:  ${config.issuer}/oauth/token`,
  ];
  if (b.adminEmail) {
    lines.push(`  Log in as ${b.adminEmail}`);
    if (b.generatedPassword)
      lines.push(`  Generated admin password (shown once, change it after logging in): ${b.generatedPassword}`);
    else lines.push('  with the password from CLAVIS_BOOTSTRAP_ADMIN_PASSWORD.');
  } else {
    lines.push('  Log in with your admin account, or sign up for a developer sandbox at the hub.');
  }
  if (b.createdClientId) lines.push(`  Bootstrap client created: ${b.createdClientId} (scopes clavis:apps clavis:admin)`);
  process.stdout.write(`${lines.join('\n')}\n\n`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await server.close().catch((err) => log.error({ err }, 'error while shutting down'));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
