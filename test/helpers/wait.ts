import type { ChildProcess } from 'node:child_process';

/**
 * Polls `check` until it returns a truthy value and returns that value; throws, naming `what`, when
 * `timeoutMs` passes first. For the effects of work a request starts and does not await (usage stamps,
 * audit events): the test waits exactly as long as the effect takes.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: { what?: string; timeoutMs?: number; intervalMs?: number } = {},
): Promise<Exclude<T, false | 0 | '' | null | undefined>> {
  const { what = 'the condition', timeoutMs = 10_000, intervalMs = 10 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as Exclude<T, false | 0 | '' | null | undefined>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Resolves once a child process has exited (at once when it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
