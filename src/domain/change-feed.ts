/**
 * The change feed the domain announces on. Its home is the storage layer (`src/db/change-feed.ts`), beside
 * the PostgreSQL LISTEN/NOTIFY feed that implements it; domain modules import it from here.
 */
export { type ChangeFeed, type ChangeTopic, LocalChangeFeed } from '../db/change-feed.js';
