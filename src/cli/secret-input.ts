import { CliError } from './output.js';

/** Reads all of stdin and trims one trailing newline (as `echo` or a here-string adds). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Prompts on stderr and reads a line from the terminal without echoing it. */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let value = '';
    // Echo goes off before the prompt appears, so nothing typed after the prompt is ever echoed.
    stdin.setRawMode(true);
    process.stderr.write(question);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (data: string) => {
      for (const ch of data) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new CliError('cancelled.'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export interface SecretSources {
  /** The plain `--client-secret` flag (works, but warns). */
  flag?: string | undefined;
  /** `--client-secret-stdin`. */
  stdin?: boolean | undefined;
}

/**
 * The client secret from, in order: `--client-secret-stdin` (a hidden prompt when stdin is a terminal),
 * `--client-secret` (with a warning about shell history), `CLAVIS_CLIENT_SECRET`, then stdin itself: a hidden
 * prompt when it is a terminal, else whatever is piped in (`echo "$S" | clavis token`).
 */
export async function resolveClientSecret(src: SecretSources): Promise<string> {
  const secret = await findClientSecret(src);
  if (!secret)
    throw new CliError(
      'no client secret. Set CLAVIS_CLIENT_SECRET, pipe it in (--client-secret-stdin), or run in a terminal to be prompted.',
    );
  return secret;
}

/** Like {@link resolveClientSecret}, but undefined when no source gives a secret. */
export async function findClientSecret(src: SecretSources): Promise<string | undefined> {
  let secret: string | undefined;
  if (src.stdin) {
    if (src.flag !== undefined)
      throw new CliError('give the secret either with --client-secret-stdin or --client-secret, not both.');
    // On a terminal, reading stdin would echo the secret as it is typed: prompt without echo instead.
    secret = process.stdin.isTTY ? await promptHidden('Client secret: ') : await readStdin();
    if (!secret) throw new CliError('--client-secret-stdin: stdin was empty. Pipe the secret in.');
  } else if (src.flag !== undefined) {
    process.stderr.write(
      'clavis: warning: --client-secret puts the secret in your shell history and the process list; ' +
        'use CLAVIS_CLIENT_SECRET or --client-secret-stdin instead.\n',
    );
    secret = src.flag;
  } else if (process.env.CLAVIS_CLIENT_SECRET) {
    secret = process.env.CLAVIS_CLIENT_SECRET;
  } else if (process.stdin.isTTY) {
    secret = await promptHidden('Client secret: ');
  } else {
    // Piped or redirected stdin with no other source: the secret is what was piped (empty: none given).
    secret = await readStdin();
  }
  return secret || undefined;
}

export function resolveClientId(flag: string | undefined): string {
  const id = flag ?? process.env.CLAVIS_CLIENT_ID;
  if (!id) throw new CliError('no client id. Pass --client-id ID or set CLAVIS_CLIENT_ID.');
  return id;
}
