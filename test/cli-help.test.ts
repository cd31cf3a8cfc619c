import { describe, expect, it } from 'vitest';
import { callbackUrlProblem } from '../src/domain/callback-url.js';
import { runCli } from './helpers/cli.js';

describe('CLI help', () => {
  it('shows only callback URLs the server accepts in its examples', async () => {
    const r = await runCli(['apps', 'create', '--help']);
    expect(r.code).toBe(0);
    const examples = [...r.stdout.matchAll(/--callback-url (\S+)/g)]
      .map((m) => m[1]!)
      .filter((u) => u !== '<url>');
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const url of examples) expect(callbackUrlProblem(url), url).toBeNull();
  });
});
