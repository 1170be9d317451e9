export { formatCredits, MICRO_PER_CREDIT } from '@/server/money';
import { MICRO_PER_CREDIT } from '@/server/money';

/** Parses what a person typed as credits ("12", "0.5") into micro-credits; null when it is not a number. */
export function parseCredits(text: string): number | null {
  const trimmed = text.trim();
  if (!/^\d+(\.\d{1,6})?$/.test(trimmed)) return null;
  const [whole = '0', frac = ''] = trimmed.split('.');
  return Number(whole) * MICRO_PER_CREDIT + Number(frac.padEnd(6, '0'));
}
