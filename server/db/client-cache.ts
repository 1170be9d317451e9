import type { Queryable } from './client';

/**
 * One `T` per database client (tests open many), made by `make` on first use and kept on globalThis under
 * `name`: the production server loads the server modules twice in one process (Next's bundle and the API
 * bundle, server/http/), and both copies must see the same one.
 */
export function perClient<T extends object>(name: string, make: () => T): (db: Queryable) => T {
  const store = globalThis as unknown as Record<string, WeakMap<object, T> | undefined>;
  const items = (store[name] ??= new WeakMap());
  return (db) => {
    let item = items.get(db);
    if (!item) items.set(db, (item = make()));
    return item;
  };
}
