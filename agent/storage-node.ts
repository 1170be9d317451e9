/**
 * The agent as an always-on storage node: the browser's storage agent (app/_lib/storage/agent.ts: fetch the
 * copies it is given and verify them, answer each challenge from the kept bytes, serve copies the
 * coordinator allows, delete released ones) with the shards in a folder on disk (DiskShards) and WebRTC
 * links from Node (NodeLinks over node-datachannel). With no live stream of its own it reads its storage
 * work every few seconds.
 */
import { StorageAgent, trpcStorageApi } from '../app/_lib/storage/agent';
import type { AppClient } from '../app/_lib/trpc-client';
import { DiskShards } from './disk-shards';
import { NodeLinks, nodeWrtc } from './node-links';

/** How often the node reads its storage work (the browser is also woken by the live stream). */
const POLL_MS = 2_000;

export type StorageNode = {
  agent: StorageAgent;
  shards: DiskShards;
  links: NodeLinks;
  counts(): { answered: number; fetched: number; served: number; shards: number };
  /** fetching or serving a shard now */
  busy(): boolean;
  stop(): Promise<void>;
};

export async function startStorageNode(options: {
  client: AppClient;
  deviceId: string;
  dir: string;
  capacityBytes: number;
  log?: (...args: unknown[]) => void;
  warn?: (...args: unknown[]) => void;
  /** called whenever the node did something (for --idle-exit) */
  onWork?: () => void;
  pollMs?: number;
}): Promise<StorageNode> {
  const { client, deviceId } = options;
  const warn = options.warn ?? (() => undefined);
  const log = options.log ?? (() => undefined);
  const wrtc = await nodeWrtc();
  const shards = new DiskShards(options.dir, options.capacityBytes);
  const links = new NodeLinks(deviceId, client, wrtc, (message) => warn(message));
  const agent = new StorageAgent(deviceId, {
    store: shards,
    links,
    api: trpcStorageApi(client),
    watch: (onChange) => {
      const timer = setInterval(onChange, options.pollMs ?? POLL_MS);
      return () => clearInterval(timer);
    },
  });
  let shardCount = await shards.count();
  let last = agent.getSnapshot();
  agent.subscribe(() => {
    const now = agent.getSnapshot();
    if (now.answered > last.answered) log(`answered a storage challenge (${now.answered} so far)`);
    if (now.fetched > last.fetched) log(`keeping a new shard on disk (${now.fetched} fetched so far)`);
    if (now.served > last.served) log(`served a shard to another device (${now.served} so far)`);
    if (now.lastError && now.lastError !== last.lastError) warn(`storage: ${now.lastError}`);
    if (now.answered !== last.answered || now.fetched !== last.fetched || now.served !== last.served || now.activity.length) options.onWork?.();
    last = now;
    void shards.count().then((n) => (shardCount = n), () => undefined);
  });
  agent.start();
  return {
    agent,
    shards,
    links,
    counts: () => ({ answered: last.answered, fetched: last.fetched, served: last.served, shards: shardCount }),
    busy: () => agent.getSnapshot().activity.length > 0,
    async stop() {
      agent.stop();
      links.stop();
    },
  };
}
