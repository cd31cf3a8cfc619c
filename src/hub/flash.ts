import { FlashStore } from '../web/flash.js';

/**
 * The hub's flashes: the page a failed action rendered (the typed values and the error messages, with the
 * session's own CSRF token), bound to the signed-in session, for its form page's next GET (see route.ts).
 */
export const hubFlashes = new FlashStore<string>();
