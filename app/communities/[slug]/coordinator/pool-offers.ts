/**
 * The coordinator's own barter offers from the community pool (issue 13: network access for compute and
 * memory; money and network for files and peripherals), as starting points the coordinator then adjusts.
 * What the pool gives is sized to be worth what it asks for at the community's rates, so a preset is a fair
 * offer as it stands. Pure.
 */
import { unitValue } from '@/server/barter/unit-values';
import type { Category } from '@/server/valuation/categories';
import type { ValuationRates } from '@/server/valuation/rates';

export type PresetLeg = { category: Category; unit: string; quantity: number };
export type PoolPreset = { id: string; title: string; give: { category: Category; unit: string }; want: PresetLeg[] };

export const POOL_PRESETS: PoolPreset[] = [
  { id: 'network-compute', title: 'Network for compute', give: { category: 'NETWORK', unit: 'MB' }, want: [{ category: 'COMPUTE', unit: 'WORK_UNIT', quantity: 10 }] },
  { id: 'network-memory', title: 'Network for memory', give: { category: 'NETWORK', unit: 'MB' }, want: [{ category: 'MEMORY', unit: 'MB_HOUR', quantity: 1024 }] },
  { id: 'credits-files', title: 'Credits for files', give: { category: 'MONEY', unit: 'CREDIT' }, want: [{ category: 'FILE', unit: 'ITEM', quantity: 1 }] },
  { id: 'network-files', title: 'Network for files', give: { category: 'NETWORK', unit: 'MB' }, want: [{ category: 'FILE', unit: 'ITEM', quantity: 1 }] },
  { id: 'credits-peripherals', title: 'Credits for peripherals', give: { category: 'MONEY', unit: 'CREDIT' }, want: [{ category: 'PERIPHERAL', unit: 'DEVICE_HOUR', quantity: 1 }] },
  { id: 'network-peripherals', title: 'Network for peripherals', give: { category: 'NETWORK', unit: 'MB' }, want: [{ category: 'PERIPHERAL', unit: 'DEVICE_HOUR', quantity: 1 }] },
];

/** What legs are worth at the rates, micro-credits. */
export const legsValue = (legs: PresetLeg[], rates: ValuationRates) => legs.reduce((sum, l) => sum + l.quantity * unitValue(l.category, l.unit, rates), 0);

/**
 * The preset's legs, balanced at the rates: what the pool gives is rounded up to be worth at least what it
 * asks for; when one unit of it is already worth more (a whole credit for one file), the pool asks for as
 * many as that unit buys instead.
 */
export function presetLegs(preset: PoolPreset, rates: ValuationRates): { give: PresetLeg[]; want: PresetLeg[] } {
  const asked = legsValue(preset.want, rates);
  const each = unitValue(preset.give.category, preset.give.unit, rates);
  const [wanted] = preset.want;
  const wantEach = wanted && preset.want.length === 1 ? unitValue(wanted.category, wanted.unit, rates) : 0;
  if (each > asked && wanted && wantEach > 0) {
    return { give: [{ ...preset.give, quantity: 1 }], want: [{ ...wanted, quantity: Math.max(1, Math.floor(each / wantEach)) }] };
  }
  const quantity = each > 0 ? Math.max(1, Math.ceil(asked / each)) : 1;
  return { give: [{ ...preset.give, quantity }], want: preset.want };
}
