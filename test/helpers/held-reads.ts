import type { Kysely } from 'kysely';

/**
 * A view of `db` whose reads (`selectFrom(...).execute()`) run at once but hand back their rows only once
 * `release()` is called, while `holding` is on: a test can then change the database while a read that began
 * before the change is still in flight. The connection is given back before the rows are held, so the change
 * is not queued behind the read (SQLite has one connection).
 */
export function heldReads<DB>(db: Kysely<DB>): {
  db: Kysely<DB>;
  hold: () => void;
  /** Resolves once a read has its rows and is being held. */
  reading: () => Promise<void>;
  release: () => void;
} {
  let gate: Promise<void> | null = null;
  let open = () => {};
  let readDone = () => {};
  let read = Promise.resolve();
  const held = <T extends object>(qb: T): T =>
    new Proxy(qb, {
      get(target, prop) {
        const value = Reflect.get(target, prop);
        if (typeof value !== 'function') return value;
        if (prop === 'execute')
          return async () => {
            const rows = await value.apply(target);
            if (gate) {
              readDone();
              await gate;
            }
            return rows;
          };
        return (...args: unknown[]) => {
          const next = value.apply(target, args);
          return next && typeof next === 'object' && 'execute' in next ? held(next) : next;
        };
      },
    });
  const view = new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (prop === 'selectFrom') return (...args: unknown[]) => held(value.apply(target, args));
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    db: view,
    hold: () => {
      gate = new Promise((r) => {
        open = r;
      });
      read = new Promise((r) => {
        readDone = r;
      });
    },
    reading: () => read,
    release: () => {
      gate = null;
      open();
    },
  };
}
