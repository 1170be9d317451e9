/**
 * A WebRTC connection to one other device (simple-peer, objectMode, one data channel), signaled
 * through the coordinator (`signal.send` out, the `signal.inbox` subscription in). In a browser with the
 * storage worker each connection also gets a bulk channel that the worker owns (bulk.ts), for chunk bytes.
 *
 * Who calls whom: the device with the smaller id is always the initiator, so two devices never
 * offer to each other at once. The other side asks for a connection with `hello`. Every new offer
 * replaces whatever connection the answering side had (the offerer only offers when it has none).
 * Trickle ICE is off: one offer and one answer carry the candidates, so a late or stale message
 * can at worst cost one attempt, which times out and is retried by whoever still needs the link.
 *
 * No STUN/TURN servers are configured: on a LAN (or loopback) host candidates suffice.
 */
import 'webrtc-adapter';
import SimplePeer from 'simple-peer';
import { z } from 'zod';
import { signalMessageSchema, type SignalMessage } from '@/server/content/signal-message';
import { TransferError } from './protocol';
import type { BulkSender, Wire } from './session';
import { ChannelWindow, DEFAULT_WINDOW, type WindowConfig } from './window';

export { signalMessageSchema, type SignalMessage };

export const inboundSignalSchema = z.object({
  fromDeviceId: z.string().min(1).max(64),
  fromHandle: z.string().max(64),
  message: signalMessageSchema,
});
export type InboundSignal = z.infer<typeof inboundSignalSchema>;

export type SendSignal = (toDeviceId: string, message: SignalMessage) => Promise<void>;

/** Gives up on an attempt that has not connected after this long. */
export const CONNECT_TIMEOUT_MS = 20_000;

/** A hello this soon after our own offer or connection crossed it on the way, and is ignored. */
const HELLO_GRACE_MS = 4_000;

/** A WebRTC implementation given to simple-peer where there is no global one (node-datachannel's polyfill in the agent). */
export type Wrtc = { RTCPeerConnection: unknown; RTCSessionDescription: unknown; RTCIceCandidate: unknown };

export const PEER_CONFIG: RTCConfiguration = { iceServers: [] };

/** A connection's bulk channel as the link keeps it (bulk.ts). */
export type LinkBulk = BulkSender & { close(): void };
/** Adds a bulk channel to a connection being made, or null where there is none (bulk.ts `openBulk`). */
export type OpenBulk = (pc: RTCPeerConnection) => LinkBulk | null;

/** True when this device offers to `remote` (the smaller id does). */
export const isInitiator = (self: string, remote: string) => self < remote;

type PeerWithChannel = SimplePeer.Instance & { _channel?: RTCDataChannel | null };

/**
 * The data channel of a connected simple-peer, as a session Wire. Sends go straight to the
 * channel (`peer.send`), under the app's own window (`window.ts`: up to 4 MiB buffered, refilled
 * on `bufferedamountlow`), not through simple-peer's stream `write()`, which keeps only 64 KiB
 * in flight.
 */
class PeerWire implements Wire {
  private closed = false;
  private readonly flow: ChannelWindow | null;
  readonly window: WindowConfig;

  constructor(
    private readonly peer: SimplePeer.Instance,
    readonly bulk: LinkBulk | null,
    window: WindowConfig = DEFAULT_WINDOW,
  ) {
    this.window = window;
    // simple-peer does not expose its channel; it is needed for `bufferedamountlow`
    const channel = (peer as PeerWithChannel)._channel ?? null;
    // (simple-peer's own handler, for its stream, would lower the threshold back: ours wins by being set last)
    this.flow = channel ? new ChannelWindow(channel, window) : null;
  }

  get open() {
    return !this.closed && this.peer.connected;
  }
  get bufferedAmount() {
    return this.peer.bufferSize;
  }
  /** The largest message the other end takes, from its SDP (`a=max-message-size`; Chromium 256 KiB); 0 when unknown. */
  get maxMessageSize(): number {
    const size = (this.peer as SimplePeer.Instance & { _pc?: RTCPeerConnection })._pc?.sctp?.maxMessageSize;
    return typeof size === 'number' && size > 0 ? Math.min(size, 2 ** 30) : 0;
  }
  send(data: string | Uint8Array) {
    this.peer.send(data);
  }
  drained(): Promise<void> {
    if (!this.open || !this.flow) return Promise.resolve();
    return this.flow.drained();
  }
  close() {
    this.closed = true;
    this.flow?.dispose();
  }
}

export type LinkState = 'idle' | 'connecting' | 'connected';

export type LinkEvents = {
  onOpen: (link: PeerLink, wire: Wire) => void;
  onClose: (link: PeerLink, error: TransferError | null) => void;
  onData: (link: PeerLink, data: string | Uint8Array) => void;
};

/** The connection to one remote device; replaced peers are discarded, the link object stays. */
export class PeerLink {
  readonly selfDeviceId: string;
  readonly remoteDeviceId: string;
  remoteHandle: string | null = null;
  state: LinkState = 'idle';
  /** when the current connection opened, and when the current attempt started */
  connectedAt = 0;
  private attemptAt = 0;
  private peer: SimplePeer.Instance | null = null;
  private bulk: LinkBulk | null = null;
  private wire: PeerWire | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private outbox: Promise<void> = Promise.resolve();
  private readonly sendSignal: SendSignal;
  private readonly events: LinkEvents;

  /** a WebRTC implementation where the global one is missing (the agent's node-datachannel polyfill) */
  private readonly wrtc: Wrtc | undefined;
  /** adds the bulk channel to each connection (browsers with the storage worker; not the agent) */
  private readonly openBulk: OpenBulk | undefined;

  constructor(options: { selfDeviceId: string; remoteDeviceId: string; sendSignal: SendSignal; events: LinkEvents; wrtc?: Wrtc; openBulk?: OpenBulk }) {
    this.wrtc = options.wrtc;
    this.openBulk = options.openBulk;
    this.selfDeviceId = options.selfDeviceId;
    this.remoteDeviceId = options.remoteDeviceId;
    this.sendSignal = options.sendSignal;
    this.events = options.events;
  }

  get initiator() {
    return isInitiator(this.selfDeviceId, this.remoteDeviceId);
  }
  get currentWire(): Wire | null {
    return this.state === 'connected' ? this.wire : null;
  }

  /** The open connection's WebRTC statistics (its selected candidate pair says which path it took), or null. */
  stats(): Promise<RTCStatsReport | null> {
    const pc = (this.peer as (SimplePeer.Instance & { _pc?: RTCPeerConnection }) | null)?._pc;
    return this.state === 'connected' && pc ? pc.getStats() : Promise.resolve(null);
  }

  /** Starts a connection unless one is open or being made. */
  connect() {
    if (this.state !== 'idle') return;
    if (this.initiator) this.startPeer(true);
    else {
      this.state = 'connecting';
      this.armTimeout();
      this.signal({ type: 'hello' });
    }
  }

  /** Drops the connection (a test hook, or a stalled transfer) and lets whoever needs it reconnect. */
  reset(error: TransferError | null = null) {
    this.teardown(error);
  }

  /** Drops a connection on which nothing arrives any more (a stalled storage fetch); it is made anew when needed. */
  resetStalled() {
    this.teardown(new TransferError('ERR_TIMEOUT', 'Nothing arrived on the connection for a while.'));
  }

  /** A signaling message from the remote device (already validated). */
  handleSignal(message: SignalMessage) {
    switch (message.type) {
      case 'hello': {
        if (!this.initiator) return;
        // a hello that crossed our own fresh offer, or the connection that just opened, is stale
        const age = Date.now() - (this.state === 'connected' ? this.connectedAt : this.attemptAt);
        if (this.state !== 'idle' && this.peer && age < HELLO_GRACE_MS) return;
        // otherwise the other side has no connection to us: whatever we think we have is dead
        if (this.state !== 'idle') this.teardown(null);
        this.startPeer(true);
        return;
      }
      case 'offer':
        if (this.peer) this.teardown(null);
        this.startPeer(false);
        this.feed(message);
        return;
      case 'answer':
      case 'pranswer':
        if (this.peer && this.initiator && this.state === 'connecting') this.feed(message);
        return;
      case 'candidate':
      case 'renegotiate':
      case 'transceiverRequest':
        if (this.peer) this.feed(message);
        return;
      case 'rollback':
        return;
    }
  }

  close() {
    this.teardown(null);
  }

  private feed(message: SignalMessage) {
    try {
      this.peer?.signal(message as SimplePeer.SignalData);
    } catch (error) {
      this.teardown(new TransferError('ERR_CONNECTION', `Signaling failed: ${String(error)}`));
    }
  }

  private startPeer(initiator: boolean) {
    const peer = new SimplePeer({ initiator, trickle: false, objectMode: true, config: PEER_CONFIG, ...(this.wrtc ? { wrtc: this.wrtc as SimplePeer.Options['wrtc'] } : {}) });
    this.peer = peer;
    // in the task that made the connection: Chromium hands a data channel to a worker only as it is created
    const pc = (peer as SimplePeer.Instance & { _pc?: RTCPeerConnection })._pc;
    this.bulk = pc && this.openBulk ? this.openBulk(pc) : null;
    this.state = 'connecting';
    this.attemptAt = Date.now();
    this.armTimeout();
    peer.on('signal', (data: SimplePeer.SignalData) => {
      if (this.peer !== peer) return;
      const parsed = signalMessageSchema.safeParse(data);
      if (parsed.success) this.signal(parsed.data);
    });
    peer.on('connect', () => {
      if (this.peer !== peer) return;
      this.clearTimeout();
      this.state = 'connected';
      this.connectedAt = Date.now();
      this.wire = new PeerWire(peer, this.bulk);
      this.receiveDirect(peer);
      this.events.onOpen(this, this.wire);
    });
    peer.on('data', (data: unknown) => {
      if (this.peer !== peer) return;
      if (typeof data === 'string' || data instanceof Uint8Array) this.events.onData(this, data);
    });
    peer.on('close', () => {
      if (this.peer === peer) this.teardown(null);
    });
    peer.on('error', (error: Error & { code?: string }) => {
      if (this.peer === peer) this.teardown(new TransferError('ERR_CONNECTION', `${error.code ?? 'ERR'}: ${error.message}`));
    });
  }

  /**
   * From now on the channel's messages come straight from the RTCDataChannel, not through simple-peer's
   * readable stream (which wraps every message in a Buffer and passes it through the stream machinery: a
   * fifth of the receiving page's time on loopback, bench/transfer.mjs). Each binary message keeps its
   * own ArrayBuffer, which the transfer storage hands to its worker without a copy. What arrived before
   * this point still comes through simple-peer's 'data' event, in order (it was delivered already).
   */
  private receiveDirect(peer: SimplePeer.Instance) {
    const channel = (peer as PeerWithChannel)._channel;
    if (!channel) return;
    channel.onmessage = (event: MessageEvent) => {
      if (this.peer !== peer) return;
      const data: unknown = event.data;
      if (typeof data === 'string') this.events.onData(this, data);
      else if (data instanceof ArrayBuffer) this.events.onData(this, new Uint8Array(data));
      else if (ArrayBuffer.isView(data)) this.events.onData(this, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    };
  }

  private signal(message: SignalMessage) {
    // one at a time, in order: the coordinator relays them in the order it stored them
    this.outbox = this.outbox
      .then(() => this.sendSignal(this.remoteDeviceId, message))
      .catch((error: unknown) => this.teardown(new TransferError('ERR_CONNECTION', `Could not reach the other device: ${String(error)}`)));
  }

  private armTimeout() {
    this.clearTimeout();
    this.timer = setTimeout(() => this.teardown(new TransferError('ERR_TIMEOUT', 'The other device did not answer.')), CONNECT_TIMEOUT_MS);
  }
  private clearTimeout() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Ends the current attempt or connection; sessions on it are told (they resume on the next one). */
  private teardown(error: TransferError | null) {
    const wasActive = this.state !== 'idle';
    this.clearTimeout();
    const peer = this.peer;
    this.peer = null;
    this.wire?.close();
    this.wire = null;
    this.bulk?.close();
    this.bulk = null;
    this.state = 'idle';
    peer?.destroy();
    if (wasActive) this.events.onClose(this, error);
  }
}
