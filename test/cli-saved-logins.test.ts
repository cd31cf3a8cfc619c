/**
 * The CLI's local state and output (stop 28's review): a damaged credentials file is reported, never
 * overwritten; a refresh does not change the default server; output that cannot be written fails the
 * command.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCredentials, saveLogin } from '../src/cli/credentials.js';
import { CLI, runCli, tempConfigDir } from './helpers/cli.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => ts?.close());

const login = (dir: string) =>
  runCli(['login', '--server', ts.url, '--client-id', ts.bootstrapClient.id, '--client-secret-stdin'], {
    input: `${ts.bootstrapClient.secret}\n`,
    env: { CLAVIS_CONFIG_DIR: dir },
  });

describe('saved logins', () => {
  it('a damaged credentials file is an error that names it, and is left as it was', async () => {
    const dir = tempConfigDir();
    const file = join(dir, 'credentials.json');
    const damaged = '{"default_server":"https://a.example","servers":{"https://a.example":{"access_tok';
    writeFileSync(file, damaged, { mode: 0o600 });
    const list = await runCli(['apps', 'list', '--server', ts.url], { env: { CLAVIS_CONFIG_DIR: dir } });
    expect(list.code).toBe(1);
    expect(list.stderr).toMatch(
      /saved logins in .*credentials\.json cannot be read \(it is not valid JSON\)/,
    );
    const again = await login(dir);
    expect(again.code).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe(damaged);
  });

  it('a refresh of one server keeps the default server; a login changes it', () => {
    const dir = tempConfigDir();
    const before = process.env.CLAVIS_CONFIG_DIR;
    process.env.CLAVIS_CONFIG_DIR = dir;
    try {
      const saved = (server: string) => ({
        server,
        access_token: 'at',
        expires_at: Date.now() + 60_000,
        refresh_token: 'rt',
      });
      saveLogin(saved('https://a.example') as never);
      saveLogin(saved('https://b.example') as never);
      expect(readCredentials().default_server).toBe('https://b.example');
      saveLogin(saved('https://a.example') as never, { makeDefault: false });
      expect(readCredentials().default_server).toBe('https://b.example');
      saveLogin(saved('https://a.example') as never);
      expect(readCredentials().default_server).toBe('https://a.example');
    } finally {
      if (before === undefined) delete process.env.CLAVIS_CONFIG_DIR;
      else process.env.CLAVIS_CONFIG_DIR = before;
    }
  });
});

describe('output that cannot be written', () => {
  it.skipIf(!existsSync('/dev/full'))(
    'fails the command with a message (a full disk: /dev/full)',
    async () => {
      const dir = tempConfigDir();
      expect((await login(dir)).code).toBe(0);
      const full = openSync('/dev/full', 'w');
      const child = spawn(process.execPath, [CLI, 'apps', 'list', '--server', ts.url, '--json'], {
        stdio: ['ignore', full, 'pipe'],
        env: { ...process.env, CLAVIS_CONFIG_DIR: dir },
      });
      closeSync(full);
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d));
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      expect(stderr).toMatch(/could not write the output \(ENOSPC\)/);
      expect(code).toBe(1);
    },
  );
});

describe('a configuration directory that is not one, and a timeout past what a timer holds', () => {
  it('a CLAVIS_CONFIG_DIR that is a file is named in the error, and its mode is left alone', async () => {
    const file = join(tempConfigDir(), 'not-a-dir');
    writeFileSync(file, 'mine\n', { mode: 0o644 });
    for (const run of [
      () => runCli(['apps', 'list', '--server', ts.url], { env: { CLAVIS_CONFIG_DIR: file } }),
      () => login(file),
    ]) {
      const r = await run();
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${file} is not a directory`);
      expect(r.stderr).not.toMatch(/ENOTDIR|EEXIST|at .*\.js:\d+/);
    }
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readFileSync(file, 'utf8')).toBe('mine\n');
  });

  it('login --timeout outside 1 s to a day is a usage error, before anything is started', async () => {
    for (const timeout of ['9999999999', '0', '-5', 'soon', '2e3']) {
      const r = await runCli(['login', '--server', ts.url, '--no-browser', '--timeout', timeout], {
        env: { CLAVIS_CONFIG_DIR: tempConfigDir() },
      });
      expect(r.code, timeout).toBe(1);
      expect(r.stderr, timeout).toMatch(/--timeout must be a number of seconds from 1 to 86400/);
      expect(r.stdout, timeout).not.toMatch(/Open this URL/);
    }
  });
});
