import type { Services } from './services.js';

/**
 * Wires optional protocol features into the services (extra grants, introspectors, revokers). Kept apart
 * from the core so each feature lives in its own module.
 */
export async function installFeatures(_services: Services): Promise<void> {}
