import type { Config } from '../config/config.js';
import { KeyedHasher } from '../crypto/keyed-hash.js';
import type { DomainContext } from '../domain/context.js';
import { SignupThrottle } from './signup-throttle.js';
import { LoginThrottle } from './throttle.js';

/** The browser sign-in state of one server: cookie names, the CSRF key, the sign-in and sign-up throttles. */
export interface AuthState {
  readonly secure: boolean;
  readonly sessionCookie: string;
  readonly preCookie: string;
  readonly csrfHasher: KeyedHasher;
  readonly throttle: LoginThrottle;
  /** This node's sign-up limiter (`CLAVIS_SIGNUP_RATE`). */
  readonly signupThrottle: SignupThrottle;
}

/** Builds the sign-in state for a server; `createServices` holds it as `services.auth`. */
export function createAuthState(config: Config, ctx: DomainContext): AuthState {
  const secure = config.issuer.startsWith('https:');
  return {
    secure,
    // `__Host-` cookies must be Secure, host-only and Path=/ (RFC 6265bis §4.1.3.2).
    sessionCookie: secure ? '__Host-clavis_session' : 'clavis_session',
    preCookie: secure ? '__Host-clavis_pre' : 'clavis_pre',
    csrfHasher: new KeyedHasher(config.secretKey, 'csrf'),
    throttle: new LoginThrottle(ctx),
    signupThrottle: new SignupThrottle(config.signupRate, () => ctx.now()),
  };
}
