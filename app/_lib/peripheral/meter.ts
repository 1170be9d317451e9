/**
 * Counts the media a receiving device got at the agreed quality or better, from successive WebRTC statistics
 * samples (`inbound-rtp`: framesDecoded, frameWidth, frameHeight for video; totalSamplesDuration for audio).
 * Pure: the page feeds it samples and takes a receipt's worth at each interval.
 */
export type MediaSample = {
  /** milliseconds on a monotonic clock (performance.now) */
  at: number;
  framesDecoded: number;
  width: number;
  height: number;
  /** seconds of audio played out so far */
  audioSeconds: number;
};

export type Floor = { kind: 'CAMERA' | 'MICROPHONE' | 'SCREEN'; minWidth: number; minHeight: number; minFps: number };

export type Measured = { mediaMs: number; frames: number; width: number; height: number };

/** A gap between two samples longer than this counts nothing (the page was frozen, the tab hidden…). */
export const MAX_SAMPLE_GAP_MS = 3_000;

export class QualityMeter {
  private last: MediaSample | null = null;
  private pending: Measured = { mediaMs: 0, frames: 0, width: 0, height: 0 };
  /** all media counted since the meter started, milliseconds */
  totalMs = 0;
  /** the frame rate and size over the last sample pair, for the screen */
  recent = { fps: 0, width: 0, height: 0, counted: false };

  constructor(private readonly floor: Floor) {}

  sample(s: MediaSample): void {
    const prev = this.last;
    this.last = s;
    if (!prev) return;
    const dt = Math.round(s.at - prev.at);
    if (dt <= 0) return;
    // counters go back when the connection is replaced: start over from this sample
    if (s.framesDecoded < prev.framesDecoded || s.audioSeconds < prev.audioSeconds) return;
    let counted = 0;
    if (this.floor.kind === 'MICROPHONE') {
      const audioMs = Math.floor((s.audioSeconds - prev.audioSeconds) * 1000);
      counted = dt > MAX_SAMPLE_GAP_MS ? 0 : Math.max(0, Math.min(audioMs, dt));
      this.recent = { fps: 0, width: 0, height: 0, counted: counted > 0 };
    } else {
      const frames = s.framesDecoded - prev.framesDecoded;
      const fps = (frames * 1000) / dt;
      const ok = dt <= MAX_SAMPLE_GAP_MS && s.width >= this.floor.minWidth && s.height >= this.floor.minHeight && frames > 0 && frames * 1000 >= this.floor.minFps * dt;
      this.recent = { fps, width: s.width, height: s.height, counted: ok };
      if (ok) {
        counted = dt;
        const p = this.pending;
        p.width = p.mediaMs === 0 ? s.width : Math.min(p.width, s.width);
        p.height = p.mediaMs === 0 ? s.height : Math.min(p.height, s.height);
        p.frames += frames;
      }
    }
    this.pending.mediaMs += counted;
    this.totalMs += counted;
  }

  /** What was counted since the last take (the next receipt's figures), and starts a new interval. */
  take(): Measured {
    const out = this.pending;
    this.pending = { mediaMs: 0, frames: 0, width: 0, height: 0 };
    return out;
  }

  /** Puts back a taken interval that could not be sent, so the next receipt carries it. */
  giveBack(m: Measured): void {
    const p = this.pending;
    if (m.mediaMs === 0) return;
    const empty = p.mediaMs === 0;
    this.pending = {
      mediaMs: p.mediaMs + m.mediaMs,
      frames: p.frames + m.frames,
      width: empty ? m.width : Math.min(p.width, m.width),
      height: empty ? m.height : Math.min(p.height, m.height),
    };
  }
}
