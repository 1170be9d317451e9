/**
 * The sending half of the transfer manager: a `want` on a link is honoured only for a transfer the coordinator
 * lists with this device as sender and the link's device as receiver (the remote device id comes from the
 * coordinator's signaling, never from the peer), and only while this device still holds the file. Each
 * receiver has its own session on its own link, so one file (or bundle) goes to several devices at once,
 * each at its own pace, all read from the one copy this device keeps.
 */
import { isOpen, type ManagerHost } from './entry';
import type { PeerLink } from './peer';
import { encodeControl, type ControlMessage, type ErrorCode } from './protocol';
import { SendSession } from './session';
import { offerSource } from './storage';

/** Sends a control message on the link if it is open. */
export function tell(link: PeerLink, message: ControlMessage) {
  const wire = link.currentWire;
  if (wire?.open) wire.send(encodeControl(message));
}

export class Sending {
  /** debug: the next chunk sent has one byte flipped, once */
  corruptNext = false;
  /** debug: chunks corrupted so far, as `transferId:index` */
  readonly corrupted: string[] = [];

  constructor(private readonly host: ManagerHost) {}

  async onWant(link: PeerLink, want: Extract<ControlMessage, { type: 'want' }>): Promise<void> {
    let entry = this.host.entries.get(want.transferId);
    // a session that ended here (failed, or done while the receiver lost its copy) starts afresh
    if (entry?.send && !entry.send.active && entry.server.receiverDeviceId === link.remoteDeviceId) entry.send = null;
    if (entry?.send) {
      if (entry.server.receiverDeviceId !== link.remoteDeviceId) return;
      const wire = link.currentWire;
      if (wire) entry.send.attach(wire);
      if (entry.send.active) entry.phase = 'transferring';
      entry.send.handleControl(want);
      this.host.emit(true);
      return;
    }
    if (!entry || entry.role !== 'send' || !isOpen(entry.server.status)) {
      await this.host.refresh();
      entry = this.host.entries.get(want.transferId);
    }
    const refuse = (code: ErrorCode, message: string) => tell(link, { type: 'error', transferId: want.transferId, code, message });
    if (!entry || entry.role !== 'send') return refuse('ERR_NOT_FOUND', 'This device has no such transfer to send.');
    if (entry.server.receiverDeviceId !== link.remoteDeviceId) return refuse('ERR_FORBIDDEN', 'This transfer is for another device.');
    if (!isOpen(entry.server.status)) return refuse(entry.server.status === 'CANCELLED' ? 'ERR_CANCELLED' : 'ERR_NOT_FOUND', `This transfer is ${entry.server.status.toLowerCase()}.`);
    if (entry.send) return this.onWant(link, want); // created meanwhile by another want
    const item = entry.server.item;
    const source = await offerSource(item.sha256, item.chunkSize, item.sizeBytes).catch(() => null);
    if (!source) return refuse('ERR_NOT_FOUND', 'The file is no longer on the sending device.');
    if (entry.send) return this.onWant(link, want);
    const owner = entry;
    const session = new SendSession({
      transferId: entry.server.id,
      sizeBytes: item.sizeBytes,
      chunkSize: item.chunkSize,
      source,
      events: {
        onProgress: (_chunks, bytes) => {
          owner.bytesDone = bytes;
          owner.meter.add(Date.now(), bytes);
          this.host.emit();
        },
        onComplete: () => {
          owner.phase = 'completed';
          owner.bytesDone = item.sizeBytes;
          this.host.emit(true);
          setTimeout(() => void this.host.refresh(), 1_000);
        },
        onFailure: (error) => {
          owner.phase = error.code === 'ERR_CANCELLED' ? 'cancelled' : 'failed';
          owner.error = { code: error.code, message: error.message };
          this.host.emit(true);
          void this.host.refresh();
        },
      },
    });
    session.damage = (index) => {
      if (!this.corruptNext) return false;
      this.corruptNext = false;
      this.corrupted.push(`${owner.server.id}:${index}`);
      return true;
    };
    entry.send = session;
    entry.meter.reset();
    return this.onWant(link, want);
  }
}
