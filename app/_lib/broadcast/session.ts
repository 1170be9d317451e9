'use client';

/**
 * This device's part in a broadcast (server/broadcast/): the broadcaster's page sends its camera to its children;
 * a viewer's page receives over its link from its parent and, relaying, forwards the tracks it receives to its own
 * children over their own connections. Each parent → child connection is a peripheral media link
 * (app/_lib/peripheral/media-link.ts) keyed by the link's id, signaled through `signal.*`.
 *
 * The page beats every BROADCAST_HEARTBEAT_MS and learns its place from the answer (and at once from a live
 * `broadcast` event): a new parent closes the old receiving link and opens the new one; children come and go. A
 * viewer measures what it receives (`inbound-rtp` bytes, and the milliseconds in which media arrived) and every
 * BROADCAST_RECEIPT_INTERVAL_MS signs a cumulative receipt for its link with its device key: that is what pays its
 * parent, when the parent is a relay.
 */
import { TRPCClientError } from '@trpc/client';
import {
  BROADCAST_HEARTBEAT_MS,
  BROADCAST_RECEIPT_INTERVAL_MS,
  broadcastReceiptBytes,
  type BroadcastReceipt,
} from '@/server/broadcast/receipt-format';
import type { BroadcastNode } from '@/server/broadcast/broadcasts';
import { ensureDeviceKey, signWithDeviceKey } from '../device-keys';
import { getLiveHub } from '../live-client';
import { inboundFigures, MediaReceiver, MediaSender, type LinkState, type MediaSignal } from '../peripheral/media-link';
import { trpcClient } from '../trpc-client';

const SAMPLE_EVERY_MS = 1_000;
/** How long an offer to a child is left to connect before a greeting from it starts another. */
const OFFER_GRACE_MS = 8_000;

/** A media link's sending end whose stream can be swapped (a relay's parent changed) without a new connection. */
class ForwardingSender extends MediaSender {
  private offeredAt = -Infinity;

  /** Offers at once rather than wait for the child's next greeting (it may have greeted before this device knew of it). */
  offer(toDeviceId: string) {
    if (!this.peer) this.startPeer(toDeviceId, true, this.stream);
  }

  protected override startPeer(toDeviceId: string, initiator: boolean, stream?: MediaStream) {
    this.offeredAt = performance.now();
    return super.startPeer(toDeviceId, initiator, stream);
  }

  /**
   * A greeting that crosses an offer just made is not answered with another offer: the child would answer the first,
   * this end would be waiting for the answer to the second, and both would sit until the connection timeout.
   */
  protected override onSignal(fromDeviceId: string, signal: MediaSignal) {
    if (signal.type === 'hello' && this.peer && !this.peer.connected && performance.now() - this.offeredAt < OFFER_GRACE_MS) return;
    super.onSignal(fromDeviceId, signal);
  }

  useStream(stream: MediaStream) {
    if (stream === this.stream) return;
    this.stream = stream;
    const pc = (this.peer as (NonNullable<typeof this.peer> & { _pc?: RTCPeerConnection }) | null)?._pc;
    if (!pc) return;
    for (const sender of pc.getSenders()) {
      const track = sender.track ? stream.getTracks().find((t) => t.kind === sender.track!.kind) : undefined;
      if (track) void sender.replaceTrack(track).catch(() => undefined);
    }
  }
}

export type CastSnapshot = {
  node: BroadcastNode | null;
  /** the camera (broadcaster) */
  local: MediaStream | null;
  /** what this viewer receives */
  incoming: MediaStream | null;
  link: LinkState;
  /** children this device sends to, with their connection's state */
  children: { linkId: string; handle: string; state: LinkState }[];
  /** what the current link carried, as last counted by the coordinator */
  countedBytes: number;
  receipts: number;
  video: { width: number; height: number; fps: number };
  problem: string | null;
  ended: boolean;
};

type Measure = { linkId: string; seq: number; base: number; last: number; mediaMs: number; lastAt: number };

export class CastSession {
  private receiver: MediaReceiver | null = null;
  private receiverLinkId: string | null = null;
  private senders = new Map<string, { sender: ForwardingSender; handle: string; status: { state: LinkState } }>();
  private timers: ReturnType<typeof setInterval>[] = [];
  private unwatch: (() => void) | null = null;
  private measure: Measure | null = null;
  private sending = false;
  private closed = false;
  private readonly onPageHide = () => this.leaveNow();
  snapshot: CastSnapshot = { node: null, local: null, incoming: null, link: 'waiting', children: [], countedBytes: 0, receipts: 0, video: { width: 0, height: 0, fps: 0 }, problem: null, ended: false };

  constructor(
    private readonly broadcastId: string,
    private readonly deviceId: string,
    private readonly role: 'BROADCASTER' | 'VIEWER',
    private readonly onChange: (snapshot: CastSnapshot) => void,
  ) {}

  private update(patch: Partial<CastSnapshot>) {
    this.snapshot = { ...this.snapshot, ...patch };
    if (!this.closed) this.onChange(this.snapshot);
  }

  async start(options: { relay: boolean; fanOut: number }) {
    const api = trpcClient();
    let node: BroadcastNode;
    if (this.role === 'BROADCASTER') {
      const local = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 320 }, height: { ideal: 240 }, frameRate: { ideal: 15 } }, audio: true });
      if (this.closed) {
        for (const t of local.getTracks()) t.stop();
        return;
      }
      this.update({ local });
      node = await api.broadcast.heartbeat.mutate({ broadcastId: this.broadcastId, deviceId: this.deviceId });
    } else {
      await ensureDeviceKey(this.deviceId, (input) => api.device.setKey.mutate(input));
      node = await api.broadcast.join.mutate({ broadcastId: this.broadcastId, deviceId: this.deviceId, ...options });
      addEventListener('pagehide', this.onPageHide);
    }
    if (this.closed) return;
    this.apply(node);
    this.unwatch = getLiveHub().watchEvents((event) => {
      if (event.type === 'broadcast' && event.broadcastId === this.broadcastId) void this.beat();
    });
    this.timers.push(setInterval(() => void this.beat(), BROADCAST_HEARTBEAT_MS));
    if (this.role === 'VIEWER') {
      this.timers.push(setInterval(() => void this.sample(), SAMPLE_EVERY_MS));
      this.timers.push(setInterval(() => void this.sendReceipt(), BROADCAST_RECEIPT_INTERVAL_MS));
    }
  }

  private beating = false;
  private async beat() {
    if (this.closed || this.beating) return;
    this.beating = true;
    try {
      const node = await trpcClient().broadcast.heartbeat.mutate({ broadcastId: this.broadcastId, deviceId: this.deviceId });
      if (node.viewer?.state === 'LEFT' && node.broadcast.state === 'LIVE' && this.role === 'VIEWER') {
        // taken out (the page slept past the timeout): join again
        this.apply(await trpcClient().broadcast.join.mutate({ broadcastId: this.broadcastId, deviceId: this.deviceId, relay: node.viewer.relay, fanOut: node.viewer.fanOut || 2 }));
      } else {
        this.apply(node);
      }
      if (this.snapshot.problem) this.update({ problem: null });
    } catch (error) {
      if (error instanceof TRPCClientError) this.update({ problem: error.message });
    } finally {
      this.beating = false;
    }
  }

  /** The stream this device sends to its children: the camera, or what it receives. */
  private outgoing(): MediaStream | null {
    return this.role === 'BROADCASTER' ? this.snapshot.local : this.snapshot.incoming;
  }

  private apply(node: BroadcastNode) {
    if (this.closed) return;
    if (node.broadcast.state === 'ENDED') {
      this.update({ node, ended: true });
      this.teardown();
      return;
    }
    // the link this viewer receives over
    const link = node.link;
    if ((link?.id ?? null) !== this.receiverLinkId) {
      this.receiver?.close();
      this.receiver = null;
      this.receiverLinkId = link?.id ?? null;
      this.measure = link ? { linkId: link.id, seq: link.seq, base: link.bytes, last: 0, mediaMs: link.mediaMs, lastAt: performance.now() } : null;
      if (link) {
        const api = trpcClient();
        // the constructor reports its first state before it returns: `receiver` is still null then
        let receiver: MediaReceiver | null = null;
        receiver = new MediaReceiver(
          {
            selfDeviceId: this.deviceId,
            rentalId: link.id,
            send: (toDeviceId, message) => api.signal.send.mutate({ fromDeviceId: this.deviceId, toDeviceId, message }),
            onState: (state) => {
              if (receiver === null || this.receiver === receiver) this.update({ link: state });
            },
          },
          link.parentDeviceId,
          (stream) => {
            if (this.receiver !== receiver) return;
            this.update({ incoming: stream });
            if (stream) {
              for (const s of this.senders.values()) s.sender.useStream(stream);
              this.syncChildren();
            }
          },
        );
        this.receiver = receiver;
      } else {
        this.update({ link: 'waiting' });
      }
    }
    this.update({ node, countedBytes: link?.bytes ?? 0 });
    this.syncChildren();
  }

  /** One sending link per child of this device (once it has a stream to send); links of children gone are closed. */
  private syncChildren() {
    const node = this.snapshot.node;
    const wanted = new Map((node?.children ?? []).map((c) => [c.linkId, c]));
    for (const [linkId, s] of this.senders) {
      if (!wanted.has(linkId)) {
        s.sender.close();
        this.senders.delete(linkId);
      }
    }
    const stream = this.outgoing();
    if (stream) {
      const api = trpcClient();
      for (const [linkId, child] of wanted) {
        if (this.senders.has(linkId)) continue;
        const status = { state: 'waiting' as LinkState };
        const sender = new ForwardingSender(
          {
            selfDeviceId: this.deviceId,
            rentalId: linkId,
            send: (toDeviceId, message) => api.signal.send.mutate({ fromDeviceId: this.deviceId, toDeviceId, message }),
            onState: (state) => {
              status.state = state;
              this.publishChildren();
            },
          },
          stream,
          async (deviceId) => deviceId === child.deviceId,
        );
        this.senders.set(linkId, { sender, handle: child.handle, status });
        sender.offer(child.deviceId);
      }
    }
    this.publishChildren();
  }

  private publishChildren() {
    this.update({ children: [...this.senders.entries()].map(([linkId, s]) => ({ linkId, handle: s.handle, state: s.status.state })) });
  }

  /** Counts what arrived over the current link since the last sample. */
  private async sample() {
    const m = this.measure;
    const report = await this.receiver?.stats();
    if (!m || !report || m !== this.measure) return;
    let bytes = 0;
    report.forEach((s: Record<string, unknown>) => {
      if (s.type === 'inbound-rtp') bytes += Number(s.bytesReceived ?? 0);
    });
    const now = performance.now();
    // a new connection on the same link starts counting from zero again: keep what the old one carried
    if (bytes < m.last) m.base += m.last;
    const grew = bytes !== m.last;
    m.last = bytes;
    if (grew) m.mediaMs += Math.min(now - m.lastAt, 2 * SAMPLE_EVERY_MS);
    m.lastAt = now;
    const figures = inboundFigures(report, 'video');
    this.update({ video: { width: figures.width, height: figures.height, fps: figures.fps } });
  }

  /** Signs and sends the cumulative receipt of the current link. */
  private async sendReceipt() {
    const m = this.measure;
    if (this.closed || this.sending || !m) return;
    const bytes = Math.floor(m.base + m.last);
    if (bytes === 0) return;
    const body: BroadcastReceipt = { version: 1, broadcastId: this.broadcastId, linkId: m.linkId, deviceId: this.deviceId, seq: m.seq + 1, bytes, mediaMs: Math.floor(m.mediaMs), at: Date.now() };
    this.sending = true;
    const api = trpcClient();
    try {
      const signature = await signWithDeviceKey(this.deviceId, broadcastReceiptBytes(body));
      const counted = await api.broadcast.receipt.mutate({ body, signature });
      if (this.measure === m) m.seq = counted.seq;
      this.update({ countedBytes: counted.bytes, receipts: this.snapshot.receipts + 1 });
    } catch (error) {
      const code = error instanceof TRPCClientError ? (error.data as { code?: string } | undefined)?.code : undefined;
      if (code === 'CONFLICT') {
        // another tab counted this number: go on from the coordinator's
        const node = await api.broadcast.node.query({ broadcastId: this.broadcastId, deviceId: this.deviceId }).catch(() => null);
        if (node?.link && node.link.id === m.linkId) m.seq = node.link.seq;
      } else if (code && code !== 'PRECONDITION_FAILED') {
        this.update({ problem: error instanceof Error ? error.message : String(error) });
      }
    } finally {
      this.sending = false;
    }
  }

  /** Relay for others (or stop), serving up to `fanOut` children. */
  async setRelay(relay: boolean, fanOut: number) {
    this.apply(await trpcClient().broadcast.relay.mutate({ broadcastId: this.broadcastId, deviceId: this.deviceId, relay, fanOut }));
  }

  /** The page is going away: tell the coordinator at once so that the children move now (best effort). */
  private leaveNow() {
    if (this.role !== 'VIEWER' || this.snapshot.ended) return;
    try {
      void fetch('/api/trpc/broadcast.leave', {
        method: 'POST',
        keepalive: true,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ broadcastId: this.broadcastId, deviceId: this.deviceId }),
      }).catch(() => undefined);
    } catch {
      // the page is unloading: the heartbeat timeout takes over
    }
  }

  private teardown() {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.unwatch?.();
    this.unwatch = null;
    this.receiver?.close();
    this.receiver = null;
    for (const s of this.senders.values()) s.sender.close();
    this.senders.clear();
  }

  /** Leaves the broadcast (a viewer) and stops everything; the broadcaster's camera stops too. */
  close() {
    if (this.closed) return;
    this.leaveNow();
    this.closed = true;
    removeEventListener('pagehide', this.onPageHide);
    this.teardown();
    for (const t of this.snapshot.local?.getTracks() ?? []) t.stop();
  }
}
