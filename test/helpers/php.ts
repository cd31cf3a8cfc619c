import { execFileSync } from 'node:child_process';

/**
 * A PHP CLI with the curl extension (the seeds' PHP code uses it), or null. Tests that run PHP code skip with
 * `it.skipIf(!php)` when it is missing; under `CI=true` a missing interpreter is an error instead, since
 * `.ci/run` installs php-cli and php-curl and a skip there would hide a broken CI image.
 */
export function findPhpWithCurl(candidates: readonly string[] = ['php']): string | null {
  for (const php of candidates) {
    try {
      execFileSync(php, ['-r', 'exit(function_exists("curl_init") ? 0 : 1);'], {
        stdio: 'ignore',
        timeout: 10_000,
      });
      return php;
    } catch {}
  }
  if (process.env.CI === 'true')
    throw new Error(
      `CI needs PHP with curl (apt-get install php-cli php-curl); tried ${candidates.join(', ')}`,
    );
  return null;
}
