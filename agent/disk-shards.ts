/**
 * Shards kept in a folder on disk (the agent's --storage-dir), one file per shard as in the browser's OPFS
 * (app/_lib/storage/opfs.ts): written to a temporary file and renamed, so a crash never leaves half a shard
 * under its name; refused when the folder would hold more than the room the agent lends.
 */
import { open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ShardStore } from '../app/_lib/storage/agent';

const PREFIX = 'shard-';
export const shardFileName = (shardId: string) => `${PREFIX}${shardId.replace(/[^A-Za-z0-9_-]/g, '')}`;

export class DiskShards implements ShardStore {
  constructor(
    readonly dir: string,
    private readonly capacityBytes: number,
  ) {}

  path(shardId: string): string {
    return join(this.dir, shardFileName(shardId));
  }

  /** Bytes the kept shards take. */
  async used(except?: string): Promise<number> {
    let total = 0;
    for (const name of await readdir(this.dir)) {
      if (!name.startsWith(PREFIX) || name === except) continue;
      total += (await stat(join(this.dir, name)).catch(() => ({ size: 0 }))).size;
    }
    return total;
  }

  async count(): Promise<number> {
    return (await readdir(this.dir)).filter((n) => n.startsWith(PREFIX)).length;
  }

  async read(shardId: string, start?: number, end?: number): Promise<Uint8Array<ArrayBuffer> | null> {
    let handle;
    try {
      handle = await open(this.path(shardId), 'r');
    } catch {
      return null;
    }
    try {
      const size = (await handle.stat()).size;
      const from = Math.min(size, Math.max(0, start ?? 0));
      const to = Math.min(size, Math.max(from, end ?? size));
      const out = new Uint8Array(to - from);
      let at = 0;
      while (at < out.length) {
        const { bytesRead } = await handle.read(out, at, out.length - at, from + at);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
      return at === out.length ? out : out.slice(0, at);
    } finally {
      await handle.close();
    }
  }

  async write(shardId: string, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
    const name = shardFileName(shardId);
    if ((await this.used(name)) + bytes.length > this.capacityBytes) {
      throw new Error(`No room left in ${this.dir}: lending ${Math.round(this.capacityBytes / 2 ** 20)} MB, and this shard would pass it.`);
    }
    const temp = join(this.dir, `.${name}.${process.pid}.tmp`);
    await writeFile(temp, bytes, { flush: true });
    await rename(temp, this.path(shardId));
  }

  async remove(shardId: string): Promise<void> {
    await rm(this.path(shardId), { force: true });
  }
}
