/** The page's storage agent: shards in OPFS, on the page's TransferManager links, woken by the live stream's storage events. */
import { getLiveHub } from '../live-client';
import { getTransferManager } from '../transfer/manager';
import { StorageAgent, type ShardStore } from './agent';
import { readShard, removeShard, writeShard } from './opfs';

export const opfsShards: ShardStore = { read: readShard, write: writeShard, remove: removeShard };

let current: StorageAgent | null = null;

/** The page's storage agent for this device (a new device id replaces it). */
export function getStorageAgent(deviceId: string): StorageAgent {
  if (current && current.deviceId === deviceId) return current;
  current?.stop();
  current = new StorageAgent(deviceId, {
    store: opfsShards,
    links: getTransferManager(deviceId),
    watch: (onChange) =>
      getLiveHub().watchEvents((event) => {
        if (event.type === 'storage') onChange();
      }),
  });
  return current;
}
