'use client';

/**
 * A peripheral rental's media connection: one simple-peer connection from the seller's device (which sends its
 * camera, microphone or screen as a media stream) to the buyer's device, signaled through the coordinator
 * (`signal.send` out, the browser's live stream in), with every message wrapped as `{ type: 'media', rentalId }`
 * so that transfer links (app/_lib/transfer/) never see it.
 *
 * The buyer's device greets (`hello`) until it is connected; the seller's device answers each greeting from the
 * rental's receiving device with a fresh offer carrying its stream, replacing whatever connection it had. Trickle
 * ICE is off (one offer, one answer), and no STUN/TURN servers are configured, as for transfers.
 */
import 'webrtc-adapter';
import SimplePeer from 'simple-peer';
import { z } from 'zod';
import { peerSignalSchema, signalMessageSchema, type SignalMessage } from '@/server/content/signal-message';
import { getLiveHub } from '../live-client';
import { PEER_CONFIG } from '../transfer/peer';

export type MediaSignal = z.infer<typeof peerSignalSchema>;
export type LinkState = 'waiting' | 'connecting' | 'connected' | 'closed';

/** The buyer greets again this often while not connected. */
export const HELLO_EVERY_MS = 6_000;
/** An attempt that has not connected after this long is given up (the buyer's next hello starts another). */
const CONNECT_TIMEOUT_MS = 20_000;

type Options = {
  selfDeviceId: string;
  rentalId: string;
  send: (toDeviceId: string, message: SignalMessage) => Promise<unknown>;
  onState: (state: LinkState, detail?: string) => void;
};

type PeerWithPc = SimplePeer.Instance & { _pc?: RTCPeerConnection };

abstract class MediaLinkBase {
  protected peer: SimplePeer.Instance | null = null;
  protected closed = false;
  private unwatch: (() => void) | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(protected readonly options: Options) {}

  protected listen() {
    this.unwatch = getLiveHub().watchSignals(this.options.selfDeviceId, (event) => {
      const parsed = signalMessageSchema.safeParse(event.message);
      if (!parsed.success || parsed.data.type !== 'media' || parsed.data.rentalId !== this.options.rentalId) return;
      this.onSignal(event.fromDeviceId, parsed.data.signal);
    });
  }

  protected abstract onSignal(fromDeviceId: string, signal: MediaSignal): void;

  protected signal(toDeviceId: string, signal: MediaSignal) {
    void this.options.send(toDeviceId, { type: 'media', rentalId: this.options.rentalId, signal }).catch(() => undefined);
  }

  protected startPeer(toDeviceId: string, initiator: boolean, stream?: MediaStream) {
    this.dropPeer();
    const peer = new SimplePeer({ initiator, trickle: false, config: PEER_CONFIG, ...(stream ? { stream } : {}) });
    this.peer = peer;
    this.options.onState('connecting');
    this.timer = setTimeout(() => {
      if (this.peer === peer && !peer.connected) this.dropPeer('The other device did not answer.');
    }, CONNECT_TIMEOUT_MS);
    peer.on('signal', (data: unknown) => {
      const parsed = peerSignalSchema.safeParse(data);
      if (this.peer === peer && parsed.success) this.signal(toDeviceId, parsed.data);
    });
    peer.on('connect', () => {
      if (this.peer !== peer) return;
      if (this.timer) clearTimeout(this.timer);
      this.options.onState('connected');
    });
    peer.on('close', () => this.peer === peer && this.dropPeer());
    peer.on('error', (error: Error) => this.peer === peer && this.dropPeer(error.message));
    return peer;
  }

  protected feed(signal: MediaSignal) {
    try {
      this.peer?.signal(signal as SimplePeer.SignalData);
    } catch (error) {
      this.dropPeer(String(error));
    }
  }

  protected dropPeer(detail?: string) {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const peer = this.peer;
    this.peer = null;
    peer?.destroy();
    if (peer && !this.closed) this.options.onState('waiting', detail);
  }

  /** The connection's WebRTC statistics, or null while there is none. */
  stats(): Promise<RTCStatsReport | null> {
    const pc = (this.peer as PeerWithPc | null)?._pc;
    return pc && this.peer?.connected ? pc.getStats() : Promise.resolve(null);
  }

  close() {
    this.closed = true;
    this.unwatch?.();
    this.dropPeer();
    this.options.onState('closed');
  }
}

/** The seller's end: offers its stream to the rental's receiving device whenever that device greets. */
export class MediaSender extends MediaLinkBase {
  constructor(
    options: Options,
    /** protected: a broadcast relay (app/_lib/broadcast/) swaps in the stream it forwards when its own parent changes */
    protected stream: MediaStream,
    /** whether a device is the rental's receiving device (the page asks the coordinator) */
    private readonly mayReceive: (deviceId: string) => Promise<boolean>,
  ) {
    super(options);
    this.listen();
    options.onState('waiting');
  }

  protected onSignal(fromDeviceId: string, signal: MediaSignal) {
    if (signal.type === 'hello') {
      void this.mayReceive(fromDeviceId).then((ok) => {
        if (ok && !this.closed) this.startPeer(fromDeviceId, true, this.stream);
      });
      return;
    }
    if (this.peer && signal.type !== 'offer') this.feed(signal);
  }
}

/** The buyer's end: greets the seller's device until connected, answers its offer, and hands on the stream. */
export class MediaReceiver extends MediaLinkBase {
  private hello: ReturnType<typeof setInterval> | null = null;

  constructor(
    options: Options,
    private readonly sellerDeviceId: string,
    private readonly onStream: (stream: MediaStream | null) => void,
    /** the connection dropped (the seller stopped, or the network): report what was received at once */
    private readonly onDisconnect: () => void = () => undefined,
  ) {
    super(options);
    this.listen();
    options.onState('waiting');
    const greet = () => {
      if (!this.peer && !this.closed) this.signal(this.sellerDeviceId, { type: 'hello' });
    };
    // the live stream needs a moment to add this device before a reply can arrive
    setTimeout(greet, 1_000);
    this.hello = setInterval(greet, HELLO_EVERY_MS);
  }

  protected onSignal(fromDeviceId: string, signal: MediaSignal) {
    if (fromDeviceId !== this.sellerDeviceId) return;
    if (signal.type === 'offer') {
      const peer = this.startPeer(fromDeviceId, false);
      peer.on('stream', (stream: MediaStream) => this.peer === peer && this.onStream(stream));
      this.feed(signal);
      return;
    }
    if (this.peer && signal.type !== 'hello') this.feed(signal);
  }

  protected override dropPeer(detail?: string) {
    const had = this.peer !== null;
    super.dropPeer(detail);
    if (had) {
      this.onStream(null);
      this.onDisconnect();
    }
  }

  override close() {
    if (this.hello) clearInterval(this.hello);
    super.close();
  }
}

/** The figures a receipt needs from one `getStats()` report: the inbound media of the rental's kind. */
export function inboundFigures(report: RTCStatsReport, kind: 'video' | 'audio') {
  let framesDecoded = 0;
  let width = 0;
  let height = 0;
  let audioSeconds = 0;
  let fps = 0;
  report.forEach((s: Record<string, unknown>) => {
    if (s.type !== 'inbound-rtp' || s.kind !== kind) return;
    if (kind === 'video') {
      framesDecoded += Number(s.framesDecoded ?? 0);
      width = Math.max(width, Number(s.frameWidth ?? 0));
      height = Math.max(height, Number(s.frameHeight ?? 0));
      fps = Math.max(fps, Number(s.framesPerSecond ?? 0));
    } else {
      audioSeconds += Number(s.totalSamplesDuration ?? 0);
    }
  });
  return { framesDecoded, width, height, audioSeconds, fps };
}
