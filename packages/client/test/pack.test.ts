import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'clavis-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Packs the SDK as `npm pack` does for a release (from the build the test run starts with; `prepack` builds
 * it on a real pack) and installs the tarball into a project outside this repository: unpacked into its
 * node_modules, with its one dependency (jose) beside it, so nothing is fetched.
 */
function packAndInstall(): { files: string[]; app: string } {
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: pkgDir,
    encoding: 'utf8',
  });
  const [packed] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const app = join(work, 'app');
  const target = join(app, 'node_modules', '@clavis', 'client');
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-xzf', join(work, packed!.filename), '-C', target, '--strip-components=1']);
  const jose = dirname(createRequire(join(pkgDir, 'package.json')).resolve('jose/package.json'));
  symlinkSync(jose, join(app, 'node_modules', 'jose'), 'dir');
  writeFileSync(join(app, 'package.json'), '{"type":"module","private":true}\n');
  return { files: packed!.files.map((f) => f.path), app };
}

describe('npm pack', () => {
  it('produces a tarball that installs and imports outside the repository, with the public API only', () => {
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    expect(manifest.scripts.prepack).toBe('npm run build');
    const { files, app } = packAndInstall();
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('README.md');
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);

    writeFileSync(
      join(app, 'check.mjs'),
      `import * as root from '@clavis/client';
import { expressBearerAuth } from '@clavis/client/express';
import { fastifyBearerAuth } from '@clavis/client/fastify';
let internals = 'exported';
try { await import('@clavis/client/dist/backoff.js'); } catch (e) { internals = e.code; }
console.log(JSON.stringify({
  root: Object.keys(root).sort(),
  express: typeof expressBearerAuth,
  fastify: typeof fastifyBearerAuth,
  same: expressBearerAuth === root.expressBearerAuth && fastifyBearerAuth === root.fastifyBearerAuth,
  internals,
}));
`,
    );
    const result = JSON.parse(execFileSync(process.execPath, ['check.mjs'], { cwd: app, encoding: 'utf8' }));
    expect(result.root).toEqual(
      expect.arrayContaining(['clientCredentials', 'authorizedFetch', 'createVerifier', 'OAuthError']),
    );
    for (const internal of [
      'sleep',
      'backoffDelay',
      'fetchWithRetry',
      'resolveRetry',
      'tokenEndpointResolver',
    ])
      expect(result.root).not.toContain(internal);
    expect(result).toMatchObject({
      express: 'function',
      fastify: 'function',
      same: true,
      internals: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  });
});
