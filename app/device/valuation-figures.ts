/**
 * What a category's measured quantities mean to a person, in familiar units ("8 cores · 2,000 MIPS",
 * "1.5 GB offered", "12.5 Mbit/s · 40 ms"): never the coordinator's keys such as "cpuSecondsPerHour".
 */
import type { Category } from '@/server/valuation/categories';

const whole = (n: number) => Math.round(n).toLocaleString();
const oneDecimal = (n: number) => n.toLocaleString(undefined, { maximumFractionDigits: 1 });

/** Megabytes as MB below a gigabyte, GB above ("512 MB", "1.5 GB"). */
export function sizeText(mb: number): string {
  return mb >= 1024 ? `${oneDecimal(mb / 1024)} GB` : `${whole(mb)} MB`;
}

const count = (n: number, one: string, many: string) => `${whole(n)} ${n === 1 ? one : many}`;

export function categoryFigure(category: Category, q: Record<string, number>): string {
  const has = (k: string) => typeof q[k] === 'number' && q[k]! > 0;
  switch (category) {
    case 'COMPUTE': {
      const parts = [count(q.cores ?? 1, 'core', 'cores')];
      if (has('mips')) parts.push(`${whole(q.mips!)} MIPS`);
      if (has('gflopPerHour')) parts.push(`${whole(q.gflopPerHour!)} GFLOP/h`);
      return parts.join(' · ');
    }
    case 'MEMORY':
      return has('offeredMb') ? `${sizeText(q.offeredMb!)} of ${sizeText(q.totalMb ?? 0)} offered` : 'Not measured';
    case 'STORAGE':
      return has('offeredMb') ? `${sizeText(q.offeredMb!)} offered` : 'No free space measured';
    case 'PERIPHERAL': {
      const parts: string[] = [];
      if (has('widthPx') && has('heightPx')) parts.push(`screen ${whole(q.widthPx!)}×${whole(q.heightPx!)}`);
      if (has('cameras')) parts.push(count(q.cameras!, 'camera', 'cameras'));
      if (has('microphones')) parts.push(count(q.microphones!, 'microphone', 'microphones'));
      if (has('touchPoints')) parts.push('touch');
      return parts.length > 0 ? parts.join(' · ') : 'None found';
    }
    case 'FILE':
      return has('servedMbPerHour') ? `${sizeText(q.servedMbPerHour!)}/h of files served` : 'Nothing to serve files from';
    case 'NETWORK': {
      if (!has('throughputKbps')) return 'Not measured';
      const parts = [`${oneDecimal(q.throughputKbps! / 1000)} Mbit/s`];
      if (has('rttMs')) parts.push(`${whole(q.rttMs!)} ms round trip`);
      return parts.join(' · ');
    }
    case 'MONEY':
      return has('cashCentsPerCredit') ? `1 credit = ${whole(q.cashCentsPerCredit!)} cents` : 'Credits earn nothing by the hour';
  }
}

/** Per-hour figures to a thousandth of a credit: enough to compare, without six decimals of noise. */
export const roundForDisplay = (micro: number) => Math.round(micro / 1000) * 1000;
