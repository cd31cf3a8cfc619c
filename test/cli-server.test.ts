import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lines, runCli } from './helpers/cli.js';
import { createTestDatabase } from './helpers/db.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// Server-side commands (doctor, backup, keys, migrate) as subprocesses on the test server's database.
let ts: TestServer;
let env: Record<string, string>;

beforeAll(async () => {
  ts = await startTestServer();
  env = {
    CLAVIS_DATABASE_URL: ts.db.url,
    CLAVIS_SECRET_KEY: ts.config.secretKey.toString('base64url'),
    CLAVIS_ISSUER: ts.url,
  };
});
afterAll(async () => {
  await ts?.close();
});

describe('server-side commands', () => {
  it('migrate: up to date on a served database, applies everything on a fresh one', async () => {
    const r = await runCli(['migrate'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('The database is up to date.\n');
    const fresh = await createTestDatabase();
    try {
      const m = await runCli(['migrate', '--json'], { env: { ...env, CLAVIS_DATABASE_URL: fresh.url } });
      expect(m.code).toBe(0);
      expect(JSON.parse(m.stdout).applied.length).toBeGreaterThan(0);
    } finally {
      await fresh.drop();
    }
  });

  it('doctor: all ok on the served database; a wrong secret key fails the keys check (exit 1)', async () => {
    const ok = await runCli(['doctor', '--json'], { env });
    expect(ok.code).toBe(0);
    const report = JSON.parse(ok.stdout);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining(['configuration', 'database', 'signing keys', 'clock']),
    );
    const bad = await runCli(['doctor'], {
      env: { ...env, CLAVIS_SECRET_KEY: Buffer.alloc(32, 7).toString('base64url') },
    });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^FAIL\s+signing keys\s+.*cannot be decrypted/m);
  });

  it('keys list and keys rotate', async () => {
    const before = JSON.parse((await runCli(['keys', 'list', '--json'], { env })).stdout);
    expect(before.filter((k: { status: string }) => k.status === 'signing')).toHaveLength(1);
    const rot = await runCli(['keys', 'rotate', '--json'], { env });
    expect(rot.code).toBe(0);
    const { kid } = JSON.parse(rot.stdout);
    const table = await runCli(['keys', 'list'], { env });
    expect(table.code).toBe(0);
    expect(lines(table.stdout)[0]).toMatch(/^KID\s+ALG\s+STATUS/);
    expect(table.stdout).toMatch(new RegExp(`^${kid}\\s+\\S+\\s+signing`, 'm'));
    expect(lines(table.stdout)).toHaveLength(before.length + 2);
  });

  it('a bad configuration is a user error with the variable named (exit 1)', async () => {
    const r = await runCli(['keys', 'list'], { env: { ...env, CLAVIS_SECRET_KEY: 'short' } });
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(/^clavis: CLAVIS_SECRET_KEY: must hold at least 32 bytes/),
    ]);
  });

  it.skipIf(process.env.CLAVIS_TEST_DB === 'postgres')(
    'backup writes a consistent copy; an existing target is refused (exit 1)',
    async () => {
      const out = join(mkdtempSync(join(tmpdir(), 'clavis-backup-')), 'copy.db');
      const r = await runCli(['backup', out, '--json'], { env });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ file: out });
      expect(existsSync(out)).toBe(true);
      // the copy is a working database
      const doctor = await runCli(['doctor', '--json'], {
        env: { ...env, CLAVIS_DATABASE_URL: `sqlite:${out}` },
      });
      expect(JSON.parse(doctor.stdout).ok).toBe(true);
      const again = await runCli(['backup', out], { env });
      expect(again.code).toBe(1);
      expect(lines(again.stderr)).toEqual([`clavis: ${out} exists already; choose a new file name.`]);
    },
  );
});
