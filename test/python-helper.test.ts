import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findPythonWithRequests } from './helpers/python.js';

// The one check the Python-running tests use: missing python3-requests is a skip outside CI, an error in CI.
describe('findPythonWithRequests', () => {
  const ci = process.env.CI;
  afterEach(() => {
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
  });

  it('is null (the tests skip) when no candidate can import requests, outside CI', () => {
    delete process.env.CI;
    expect(findPythonWithRequests(['/nonexistent/python3', 'false'])).toBeNull();
  });

  it('throws under CI=true, so a CI image without python3-requests fails instead of skipping', () => {
    process.env.CI = 'true';
    expect(() => findPythonWithRequests(['/nonexistent/python3'])).toThrow(/python3-requests/);
  });

  it('no test runs a hard-coded interpreter instead of the helper', () => {
    const dir = import.meta.dirname;
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.test.ts') && n !== 'python-helper.test.ts'))
      expect(readFileSync(join(dir, f), 'utf8'), f).not.toMatch(/['"`]\/usr\/bin\/python3?['"`]/);
  });
});
