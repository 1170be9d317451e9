/** Shards kept in this browser's Origin Private File System, one file per shard, under `swapmesh-storage/`. */

const DIR = 'swapmesh-storage';
const fileName = (shardId: string) => `shard-${shardId.replace(/[^A-Za-z0-9_-]/g, '')}`;

async function dir(): Promise<FileSystemDirectoryHandle> {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(DIR, { create: true });
}

export async function writeShard(shardId: string, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
  const handle = await (await dir()).getFileHandle(fileName(shardId), { create: true });
  const writable = await handle.createWritable();
  await writable.write(bytes);
  await writable.close();
}

/** The bytes of a kept shard from `start` to `end` (all of it without them), or null when this browser has no copy. */
export async function readShard(shardId: string, start?: number, end?: number): Promise<Uint8Array<ArrayBuffer> | null> {
  try {
    const file = await (await (await dir()).getFileHandle(fileName(shardId))).getFile();
    const part = start === undefined ? file : file.slice(start, end);
    return new Uint8Array(await part.arrayBuffer());
  } catch {
    return null;
  }
}

export async function hasShard(shardId: string): Promise<boolean> {
  try {
    await (await dir()).getFileHandle(fileName(shardId));
    return true;
  } catch {
    return false;
  }
}

export async function removeShard(shardId: string): Promise<void> {
  await (await dir()).removeEntry(fileName(shardId)).catch(() => undefined);
}
