/** Sizes in decimal units, as phones show them (1 MB = 1,000,000 bytes). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1000;
    unit++;
  } while (value >= 1000 && unit < units.length - 1);
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

export function formatSpeed(bytesPerSecond: number): string {
  return bytesPerSecond > 0 ? `${formatBytes(bytesPerSecond)}/s` : '—';
}

/** "45 s", "3 min 5 s", "1 h 2 min" */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** What the picker says a file is, as the coordinator accepts it ("video/mp4"). */
export function normalizeMediaType(type: string): string {
  const bare = type.split(';')[0]?.trim().toLowerCase() ?? '';
  return /^[a-z]+\/[a-z0-9.+\-]+$/.test(bare) && bare.length <= 100 ? bare : 'application/octet-stream';
}

export const MEDIA_KINDS = [
  { value: '', label: 'All' },
  { value: 'video/', label: 'Video' },
  { value: 'audio/', label: 'Audio' },
  { value: 'image/', label: 'Images' },
  { value: 'text/', label: 'Text' },
  { value: 'application/', label: 'Apps & docs' },
] as const;

export function mediaLabel(mediaType: string): string {
  const kind = mediaType.split('/')[0];
  return kind === 'video' ? 'Video' : kind === 'audio' ? 'Audio' : kind === 'image' ? 'Image' : kind === 'text' ? 'Text' : 'File';
}

/** A title from a file name: the name without its extension. */
export function titleFromName(name: string): string {
  const dot = name.lastIndexOf('.');
  return (dot > 0 ? name.slice(0, dot) : name).slice(0, 120) || 'Untitled';
}
