/**
 * The little of IndexedDB the app uses: one object store per database, opened once (a failed open is
 * tried again next time), and requests as promises. Device keys and kept swap receipts live here.
 */
export function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

/** A function that opens database `name` (version 1, one store `store` keyed by `keyPath`) on first use. */
export function singleStore(name: string, store: string, keyPath: string): () => Promise<IDBDatabase> {
  let opened: Promise<IDBDatabase> | null = null;
  return () => {
    opened ??= new Promise((resolve, reject) => {
      const req = indexedDB.open(name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(store, { keyPath });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => {
        opened = null;
        reject(req.error ?? new Error('IndexedDB is not available'));
      };
    });
    return opened;
  };
}
