/**
 * The coordinator's own barter offers from the community pool (issue 13: network access for compute and
 * memory; money and network for files and peripherals), as starting points the coordinator then adjusts.
 */
import type { Category } from '@/server/valuation/categories';

export type PresetLeg = { category: Category; unit: string; quantity: number };
export type PoolPreset = { id: string; title: string; give: PresetLeg[]; want: PresetLeg[] };

export const POOL_PRESETS: PoolPreset[] = [
  { id: 'network-compute', title: 'Network for compute', give: [{ category: 'NETWORK', unit: 'MB', quantity: 1000 }], want: [{ category: 'COMPUTE', unit: 'WORK_UNIT', quantity: 10 }] },
  { id: 'network-memory', title: 'Network for memory', give: [{ category: 'NETWORK', unit: 'MB', quantity: 1000 }], want: [{ category: 'MEMORY', unit: 'MB_HOUR', quantity: 1024 }] },
  { id: 'credits-files', title: 'Credits for files', give: [{ category: 'MONEY', unit: 'CREDIT', quantity: 2 }], want: [{ category: 'FILE', unit: 'ITEM', quantity: 1 }] },
  { id: 'network-files', title: 'Network for files', give: [{ category: 'NETWORK', unit: 'MB', quantity: 500 }], want: [{ category: 'FILE', unit: 'ITEM', quantity: 1 }] },
  { id: 'credits-peripherals', title: 'Credits for peripherals', give: [{ category: 'MONEY', unit: 'CREDIT', quantity: 1 }], want: [{ category: 'PERIPHERAL', unit: 'DEVICE_HOUR', quantity: 1 }] },
  { id: 'network-peripherals', title: 'Network for peripherals', give: [{ category: 'NETWORK', unit: 'MB', quantity: 500 }], want: [{ category: 'PERIPHERAL', unit: 'DEVICE_HOUR', quantity: 1 }] },
];
