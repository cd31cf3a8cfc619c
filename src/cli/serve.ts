import cluster from 'node:cluster';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import type { Config } from '../config/config.js';
import { migrateToLatest, openDatabase } from '../db/database.js';
import { type BootstrapResult, bootstrap } from '../domain/bootstrap.js';
import { closeServices, createServices } from '../services.js';
import { startServer } from '../start.js';
import { CliError, EXIT_USER } from './output.js';
import { releaseYoungGeneration } from './startup-heap.js';

export interface ServeOptions {
  /** Print the start-up banner as one JSON object. */
  json?: boolean | undefined;
}

/** Turns a listen error (port in use, privileged port) into a user error that says what to do. */
export function listenFailure(err: unknown, config: Config): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE')
    return new CliError(
      `port ${config.port} on ${config.host} is already in use: stop the other process or set PORT to a free port (e.g. PORT=${config.port === 8080 ? 8081 : 8080}).`,
      EXIT_USER,
      'port_in_use',
    );
  if (code === 'EACCES')
    return new CliError(
      `no permission to listen on port ${config.port}: set PORT to a port above 1023 (e.g. PORT=8080).`,
      EXIT_USER,
      'port_not_permitted',
    );
  if (code === 'EADDRNOTAVAIL')
    return new CliError(
      `HOST ${config.host} is not an address of this machine: check HOST.`,
      EXIT_USER,
      'bad_host',
    );
  return err;
}

/** Fails fast, before migrating anything, when the port cannot be bound. */
async function probePort(config: Config): Promise<void> {
  if (config.port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err) => reject(listenFailure(err, config)));
    probe.listen({ port: config.port, host: config.host, exclusive: true }, () =>
      probe.close(() => resolve()),
    );
  });
}

/**
 * `clavis serve`: one process, or with `CLAVIS_WORKERS=N` (`auto`: one per core) a cluster whose primary
 * migrates and bootstraps once, then forks N workers sharing the port. Stops cleanly on SIGINT/SIGTERM.
 */
export async function runServe(config: Config, options: ServeOptions = {}): Promise<void> {
  const workers = config.workers === 0 ? availableParallelism() : config.workers;
  if (cluster.isWorker) return runWorker(config);
  await probePort(config);
  if (workers > 1) return runPrimary(config, workers, options);
  return runSingle(config, options);
}

async function runPrimary(config: Config, workers: number, options: ServeOptions): Promise<void> {
  // Migrate, bootstrap and create the first signing key once, before any worker starts.
  const db = openDatabase(config.database);
  let boot: BootstrapResult;
  try {
    await migrateToLatest(db);
    const services = await createServices(config, db);
    boot = await bootstrap(services.ctx, db.kind);
    await closeServices(services);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  let stopping = false;
  const fork = () => cluster.fork({ CLAVIS_WORKER_OF: String(process.pid) });
  for (let i = 0; i < workers; i++) fork();
  let ready = 0;
  cluster.on('message', (_w, msg: { type?: string; url?: string }) => {
    if (msg?.type === 'listening' && ++ready === workers)
      printBanner(config, boot, `${msg.url}, ${workers} workers`, msg.url ?? '', options);
  });
  cluster.on('exit', (worker, code) => {
    if (stopping) return;
    console.error(
      JSON.stringify({ level: 50, msg: 'worker exited; starting another', pid: worker.process.pid, code }),
    );
    setTimeout(fork, 500).unref();
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    setTimeout(() => process.exit(0), 5000).unref();
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function runWorker(config: Config): Promise<void> {
  const server = await startServer(config);
  releaseYoungGeneration();
  process.send?.({ type: 'listening', url: server.url });
  handleSignals(server);
}

function handleSignals(server: Awaited<ReturnType<typeof startServer>>): void {
  const log = server.app.log;
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

async function runSingle(config: Config, options: ServeOptions): Promise<void> {
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config);
  } catch (err) {
    throw listenFailure(err, config);
  }
  releaseYoungGeneration();
  printBanner(config, server.bootstrap, `${server.url}, ${config.database.kind}`, server.url, options);
  handleSignals(server);
}

function printBanner(
  config: Config,
  b: BootstrapResult,
  where: string,
  url: string,
  options: ServeOptions = {},
): void {
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({
        issuer: config.issuer,
        listening: url,
        database: config.database.kind,
        workers: config.workers === 0 ? availableParallelism() : config.workers,
        developer_hub: `${config.issuer}/`,
        discovery: `${config.issuer}/.well-known/oauth-authorization-server`,
        token_endpoint: `${config.issuer}/oauth/token`,
        admin_email: b.adminEmail ?? null,
        generated_admin_password: b.generatedPassword ?? null,
        bootstrap_client_id: b.createdClientId ?? null,
        secret_key_generated: config.secretKeySource === 'generated' ? config.secretKeyFile : null,
      })}\n`,
    );
  } else printBannerText(config, b, where);
  if (config.secretKeySource === 'generated')
    console.error(
      JSON.stringify({
        level: 40,
        time: Date.now(),
        msg: 'CLAVIS_SECRET_KEY is not set: generated a new secret key and saved it in the data directory',
        file: config.secretKeyFile,
      }),
    );
}

function printBannerText(config: Config, b: BootstrapResult, where: string): void {
  const lines = [''];
  if (config.secretKeySource === 'generated')
    lines.push(
      `  WARNING: CLAVIS_SECRET_KEY is not set. A new secret key was GENERATED and saved to ${config.secretKeyFile}.`,
      '  Back it up: without it, client secrets and signing keys cannot be used. Set CLAVIS_SECRET_KEY in production.',
      '',
    );
  lines.push(
    `  Clavis is running at ${config.issuer}  (listening on ${where})`,
    `  Developer hub:   ${config.issuer}/`,
    `  Discovery:       ${config.issuer}/.well-known/oauth-authorization-server`,
    `  Token endpoint:  ${config.issuer}/oauth/token`,
  );
  if (b.adminEmail) {
    lines.push(`  Log in as ${b.adminEmail}`);
    if (b.generatedPassword)
      lines.push(
        `  Generated admin password (shown once, change it after logging in): ${b.generatedPassword}`,
      );
    else lines.push('  with the password from CLAVIS_BOOTSTRAP_ADMIN_PASSWORD.');
  } else {
    lines.push('  Log in with your admin account, or sign up for a developer sandbox at the hub.');
  }
  if (b.createdClientId)
    lines.push(`  Bootstrap client created: ${b.createdClientId} (scopes clavis:apps clavis:admin)`);
  process.stdout.write(`${lines.join('\n')}\n\n`);
}
