import type { Queryable } from './client';

/**
 * A map kept per database client (tests open many), on globalThis under `name`: the production server
 * loads the server modules twice in one process (Next's bundle and the API bundle, server/http/), and
 * both copies must see the same entries.
 */
export function clientCache<V>(name: string): (db: Queryable) => Map<string, V> {
  const store = globalThis as unknown as Record<string, WeakMap<object, Map<string, V>> | undefined>;
  const caches = (store[name] ??= new WeakMap());
  return (db) => {
    let cache = caches.get(db);
    if (!cache) caches.set(db, (cache = new Map()));
    return cache;
  };
}
