/**
 * The agent's data channels to other devices, for the storage agent (the browser's TransferManager plays
 * this part in a page): one PeerLink per remote device (app/_lib/transfer/peer.ts, the browser's own
 * connection logic: who offers, hello, timeouts), WebRTC from node-datachannel's polyfill, signaling through
 * the coordinator (`signal.send` out, the `signal.inbox` subscription in).
 */
import type { AppClient } from '../app/_lib/trpc-client';
import type { ShardLinks } from '../app/_lib/storage/agent';
import type { ChannelHandler } from '../app/_lib/transfer/manager';
import { inboundSignalSchema, PeerLink, type Wrtc } from '../app/_lib/transfer/peer';
import type { Wire } from '../app/_lib/transfer/session';

/**
 * node-datachannel's WebRTC for simple-peer. Its session descriptions are read-only objects, and simple-peer
 * rewrites `sdp` before setting it: offers and answers are handed over as plain `{ type, sdp }`.
 */
export async function nodeWrtc(): Promise<Wrtc> {
  const polyfill = await import('node-datachannel/polyfill');
  class PeerConnection extends polyfill.RTCPeerConnection {
    override async createOffer(...args: Parameters<InstanceType<typeof polyfill.RTCPeerConnection>['createOffer']>) {
      const { type, sdp } = await super.createOffer(...args);
      return { type, sdp };
    }
    override async createAnswer(...args: Parameters<InstanceType<typeof polyfill.RTCPeerConnection>['createAnswer']>) {
      const { type, sdp } = await super.createAnswer(...args);
      return { type, sdp };
    }
  }
  return { RTCPeerConnection: PeerConnection, RTCSessionDescription: polyfill.RTCSessionDescription, RTCIceCandidate: polyfill.RTCIceCandidate };
}

/** A broken signaling stream is opened again after this long. */
const RESUBSCRIBE_MS = 2_000;

export class NodeLinks implements ShardLinks {
  private readonly links = new Map<string, PeerLink>();
  private readonly handlers = new Set<ChannelHandler>();
  private inbox: { unsubscribe(): void } | null = null;
  private lastEventId: string | null = null;
  private stopped = false;
  private retry: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly deviceId: string,
    private readonly client: AppClient,
    private readonly wrtc: Wrtc,
    private readonly warn: (message: string) => void = () => undefined,
  ) {}

  start() {
    if (this.inbox || this.stopped) return;
    this.inbox = this.client.signal.inbox.subscribe(
      { deviceId: this.deviceId, lastEventId: this.lastEventId },
      {
        onData: (event) => {
          this.lastEventId = event.id;
          this.onSignal(event.data);
        },
        onError: (error) => this.reopen(`Signaling: ${error.message}`),
        onComplete: () => this.reopen(null),
      },
    );
  }

  stop() {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.inbox?.unsubscribe();
    this.inbox = null;
    for (const link of this.links.values()) link.close();
    this.links.clear();
  }

  addChannelHandler(handler: ChannelHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  wireTo(remoteDeviceId: string): Wire | null {
    const link = this.linkFor(remoteDeviceId);
    const wire = link.currentWire;
    if (wire?.open) return wire;
    link.connect();
    return null;
  }

  resetLink(remoteDeviceId: string) {
    this.links.get(remoteDeviceId)?.resetStalled();
  }

  private reopen(message: string | null) {
    if (message) this.warn(message);
    this.inbox?.unsubscribe();
    this.inbox = null;
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.start();
    }, RESUBSCRIBE_MS);
  }

  private linkFor(remoteDeviceId: string): PeerLink {
    let link = this.links.get(remoteDeviceId);
    if (!link) {
      link = new PeerLink({
        selfDeviceId: this.deviceId,
        remoteDeviceId,
        wrtc: this.wrtc,
        sendSignal: async (to, message) => {
          await this.client.signal.send.mutate({ fromDeviceId: this.deviceId, toDeviceId: to, message });
        },
        events: {
          onOpen: (l) => this.handlers.forEach((h) => h.onOpen?.(l.remoteDeviceId)),
          onClose: (l, error) => {
            if (error) this.warn(`Connection to another device: ${error.message}`);
            this.handlers.forEach((h) => h.onClose?.(l.remoteDeviceId));
          },
          onData: (l, data) => {
            for (const h of this.handlers) if (h.onData(l.remoteDeviceId, data)) return;
          },
        },
      });
      this.links.set(remoteDeviceId, link);
    }
    return link;
  }

  private onSignal(raw: unknown) {
    const parsed = inboundSignalSchema.safeParse(raw);
    if (!parsed.success) return this.warn('A malformed signaling message was ignored.');
    const { fromDeviceId, message } = parsed.data;
    if (fromDeviceId === this.deviceId || message.type === 'media') return;
    this.linkFor(fromDeviceId).handleSignal(message);
  }
}
