import type { Queryable } from './client';

/**
 * One `T` per database client (tests open many), made by `make` on first use and kept on globalThis under
 * `name`: Next.js may load the server modules more than once in one thread (`next dev`: route handlers,
 * instrumentation), and every copy must see the same one.
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
