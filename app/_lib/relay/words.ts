import { BYTES_PER_MB } from '@/server/relay/receipt-format';

/** Bytes as megabytes (1 MB = 1,000,000 bytes, as NETWORK/MB contracts count them), two decimals at most. */
export const mbText = (bytes: number) => `${(bytes / BYTES_PER_MB).toLocaleString(undefined, { maximumFractionDigits: 2 })} MB`;

export const ENDED_BY: Record<string, string> = { SENDER: 'the sender ended it', RECEIVER: 'the receiver ended it', RELAY: 'the relay stopped', WINDOW: 'the window closed' };
