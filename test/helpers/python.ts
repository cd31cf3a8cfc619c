import { execFileSync } from 'node:child_process';

/** The interpreters tried, in order: the system's (Debian's python3-requests installs for it), then PATH's. */
const CANDIDATES = ['/usr/bin/python3', 'python3'];

/**
 * A Python 3 that can `import requests`, or null. Tests that run Python code skip with `it.skipIf(!python)`
 * when it is missing; under `CI=true` a missing interpreter is an error instead, since `.ci/run` installs
 * python3-requests and a skip there would hide a broken CI image.
 */
export function findPythonWithRequests(candidates: readonly string[] = CANDIDATES): string | null {
  for (const py of candidates) {
    try {
      execFileSync(py, ['-c', 'import requests'], { stdio: 'ignore', timeout: 10_000 });
      return py;
    } catch {}
  }
  if (process.env.CI === 'true')
    throw new Error(
      `CI needs a python3 with requests (apt-get install python3-requests); tried ${candidates.join(', ')}`,
    );
  return null;
}
