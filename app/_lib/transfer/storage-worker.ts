/**
 * The page's handle on the transfer storage worker (`storage.worker.ts`), shared by the storage (storage.ts) and
 * the bulk channels (bulk.ts). It holds the open files of the transfers in progress and the connections' bulk
 * channels, so it is never ended for idling: only `stopStorageWorker()` ends it (a crash rejects the calls in
 * flight, and the next call starts anew).
 */
import { wrap, type Remote } from 'comlink';
import { browserWorker, WorkerLifetime } from '../worker-lifetime';
import type { StorageWorkerApi } from './storage.worker';

const worker = new WorkerLifetime(
  browserWorker(() => new Worker(new URL('./storage.worker.ts', import.meta.url), { type: 'module', name: 'swapmesh-storage' }), (raw) => wrap<StorageWorkerApi>(raw)),
  { name: 'The storage worker', idleMs: null },
);

/** The running storage worker (started when there is none); a new object after a crash or a stop. */
export function storageWorker(): Remote<StorageWorkerApi> {
  return worker.remote();
}

/** Stops the storage worker (its open files are released). */
export function stopStorageWorker() {
  worker.stop();
}
