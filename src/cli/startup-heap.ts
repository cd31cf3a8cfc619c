import { setFlagsFromString } from 'node:v8';

/** V8's default `--semi-space-growth-factor` (Node 20's V8 11.3; `node --v8-options` prints it). */
const DEFAULT_GROWTH_FACTOR = 2;
let held = false;

/**
 * Keeps V8's young generation at its initial size while the server starts.
 *
 * Start-up is mostly module loading, and nearly everything it allocates lives as long as the process. V8 grows
 * the young generation each time most of a scavenge survives, so start-up alone grows it to its 32 MB maximum,
 * and an idle server then holds that much memory for nothing: the space is empty. Held, it stays at 2 MB until
 * {@link releaseYoungGeneration}; after that V8 sizes it as usual, and traffic grows it back.
 *
 * Does nothing when the operator passed their own semi-space flags (in `execArgv` or `NODE_OPTIONS`).
 */
export function holdYoungGeneration(): void {
  const own = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('semi-space'));
  if (own || held) return;
  setFlagsFromString('--semi-space-growth-factor=1');
  held = true;
}

/** Hands young-generation sizing back to V8 (its default growth factor). A no-op unless it was held. */
export function releaseYoungGeneration(): void {
  if (!held) return;
  setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
  held = false;
}
