import type { Static } from '@sinclair/typebox';
import type { ApiSchema, AppPermissionSchema } from '../http/api/apis-schemas.js';
import type { AppSchema, CreatedAppSchema, CreatedSecretSchema, SecretSchema } from '../http/api/schemas.js';

// The management API's shapes as the CLI reads them, derived from the TypeBox schemas that validate and
// document the API (src/http/api/schemas.ts), so the two cannot drift. Type-only: nothing of the server is
// bundled into the CLI.

/** An app, as `GET /api/v1/apps/:id` returns it. */
export type ApiApp = Static<typeof AppSchema>;
/** A new app with its first secret (confidential apps), as `POST /api/v1/apps` returns it. */
export type ApiCreatedApp = Static<typeof CreatedAppSchema>;
/** A client secret's metadata (never its value). */
export type ApiSecret = Static<typeof SecretSchema>;
/** A new or refreshed secret, with the value shown this once. */
export type ApiCreatedSecret = Static<typeof CreatedSecretSchema>;
/** An API (resource server), as `GET /api/v1/apis/:id` returns it. */
export type ApiResourceServer = Static<typeof ApiSchema>;
/** An app's permission for one API, as `GET /api/v1/apps/:id/permissions` lists it. */
export type ApiAppPermission = Static<typeof AppPermissionSchema>;
/** One page of a keyset-paginated list. */
export interface ApiPage<T> {
  items: T[];
  next_cursor: string | null;
}
