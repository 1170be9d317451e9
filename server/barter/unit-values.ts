/**
 * Unit values: the reference value, in micro-credits (µ; 1 credit = 1,000,000 µ), of ONE unit of
 * each Category/unit, derived from a community's valuation rates (`../valuation/rates.ts`) by the
 * formulas of `../valuation/value-profile.ts` applied to a fixed reference resource. The barter
 * engine (`./engine.ts`) compares legs of different categories with them.
 *
 * Pure: plain data in and out, no I/O, no clock. Every value is an integer number of µ — the exact
 * real value rounded down once, at the end — never negative, and non-decreasing in every rate (each
 * formula only adds rates and multiplies them by positive constants or by other rates). MB means
 * 2^20 bytes, as in the valuation. `r` is the rate table, `r.x.y` one rate.
 *
 * COMPUTE   CPU_SECOND   one second of one reference core, which measures REFERENCE_CORE_MIPS (1,000)
 *                        MIPS and REFERENCE_CORE_MFLOPS (1,000) MFLOPS on one worker thread:
 *                        (1000 × r.compute.perMipsHour + 1000 × r.compute.perMflopsHour) / 3600
 *           GFLOP        10^9 floating-point operations. One MFLOPS for an hour is 3.6 GFLOP (the
 *                        valuation's gflopPerHour), so r.compute.perMflopsHour / 3.6
 *           WORK_UNIT    one leased unit of a Job, reckoned as WORK_UNIT_CPU_SECONDS (60) reference
 *                        core-seconds: 60 × (1000 × perMipsHour + 1000 × perMflopsHour) / 3600
 * MEMORY    MB_HOUR      r.memory.perMbHour — the base rate: the lender's access speed is not known,
 *                        so no speed bonus
 * STORAGE   MB_HOUR      r.storage.perMbHour (likewise, no speed bonus)
 * PERIPHERAL DEVICE_HOUR a reference device's peripherals per hour, divided by the device-hours they
 *                        make: a REFERENCE_DISPLAY_MEGAPIXELS (2) MP display at the reference colour
 *                        depth and refresh rate (factor 1), one camera, one microphone and a touch
 *                        surface = 4 device-hours:
 *                        (2 × perMegapixelHour + perCameraHour + perMicrophoneHour + touchHour) / 4
 * FILE      ITEM         a reference content item, valued as `valueFile` values a header: one of
 *                        REFERENCE_ITEM_MB (1) MB, media type "other", no descriptive field:
 *                        (r.file.perItem + min(1, r.file.maxItemMb) × r.file.perMb) × r.file.mediaTypeFactors.other
 *           MB           r.file.perMb
 * NETWORK   MB           1 Mbit/s for an hour moves MB_PER_MBPS_HOUR = 10^6 × 3600 / 8 / 2^20 ≈ 429.2 MB
 *                        (≈ 450 decimal MB), so r.network.perMbpsHour / 429.2 — the base rate: a
 *                        connection-type factor of 1 and no quality bonus
 *           PAGE_VIEW    r.network.pageViewMb × (r.network.perMbpsHour / 429.2)
 * MONEY     CREDIT       1,000,000 (a credit is the unit of account)
 */
import { MICROCREDITS_PER_CREDIT, isUnitOf, type Category } from '../valuation/categories';
import type { ValuationRates } from '../valuation/rates';

/** MIPS of one reference core (one worker thread of a modest phone). */
export const REFERENCE_CORE_MIPS = 1_000;
/** MFLOPS of one reference core. */
export const REFERENCE_CORE_MFLOPS = 1_000;
/** Reference core-seconds in one WORK_UNIT. */
export const WORK_UNIT_CPU_SECONDS = 60;
/** Physical megapixels of the reference device's display (a phone: 1000 × 2000 px). */
export const REFERENCE_DISPLAY_MEGAPIXELS = 2;
/** Peripherals of the reference device: display, camera, microphone, touch surface. */
export const REFERENCE_DEVICE_PERIPHERALS = 4;
/** Size of the reference content item, MB. */
export const REFERENCE_ITEM_MB = 1;
/** MB (2^20 bytes) moved by 1 Mbit/s in one hour, as the valuation's NETWORK quantities count them. */
export const MB_PER_MBPS_HOUR = (1e6 * 3600) / 8 / (1024 * 1024);

const SECONDS_PER_HOUR = 3600;

/** The exact (unrounded) value of one unit, or null if `unit` is not a unit of `category`. */
function exactUnitValue(category: Category, unit: string, rates: ValuationRates): number | null {
  if (!isUnitOf(category, unit)) return null;
  const coreSecond =
    (REFERENCE_CORE_MIPS * rates.compute.perMipsHour + REFERENCE_CORE_MFLOPS * rates.compute.perMflopsHour) /
    SECONDS_PER_HOUR;
  const networkMb = rates.network.perMbpsHour / MB_PER_MBPS_HOUR;
  switch (category) {
    case 'COMPUTE':
      if (unit === 'CPU_SECOND') return coreSecond;
      if (unit === 'GFLOP') return (rates.compute.perMflopsHour * 1000) / SECONDS_PER_HOUR;
      return WORK_UNIT_CPU_SECONDS * coreSecond; // WORK_UNIT
    case 'MEMORY':
      return rates.memory.perMbHour;
    case 'STORAGE':
      return rates.storage.perMbHour;
    case 'PERIPHERAL': {
      const p = rates.peripheral;
      return (
        (REFERENCE_DISPLAY_MEGAPIXELS * p.perMegapixelHour + p.perCameraHour + p.perMicrophoneHour + p.touchHour) /
        REFERENCE_DEVICE_PERIPHERALS
      );
    }
    case 'FILE': {
      const f = rates.file;
      if (unit === 'MB') return f.perMb;
      return (f.perItem + Math.min(REFERENCE_ITEM_MB, f.maxItemMb) * f.perMb) * f.mediaTypeFactors.other; // ITEM
    }
    case 'NETWORK':
      return unit === 'MB' ? networkMb : rates.network.pageViewMb * networkMb; // PAGE_VIEW
    case 'MONEY':
      return MICROCREDITS_PER_CREDIT;
  }
}

/**
 * The reference value of one `unit` of `category`, in µ: a non-negative integer (see the header for
 * each formula). Throws a RangeError when `unit` is not one of the category's units.
 */
export function unitValue(category: Category, unit: string, rates: ValuationRates): number {
  const exact = exactUnitValue(category, unit, rates);
  if (exact === null) throw new RangeError(`${unit} is not a unit of ${category}`);
  if (!Number.isFinite(exact) || exact <= 0) return 0;
  return Math.min(Number.MAX_SAFE_INTEGER, Math.floor(exact));
}

/**
 * The value of a leg: quantity × unitValue, in µ. The quantity must be a non-negative safe integer
 * and the product a safe integer, else a RangeError.
 */
export function legValue(
  leg: { readonly category: Category; readonly unit: string; readonly quantity: number },
  rates: ValuationRates,
): number {
  if (!Number.isSafeInteger(leg.quantity) || leg.quantity < 0) {
    throw new RangeError(`quantity ${leg.quantity} is not a non-negative integer`);
  }
  const value = leg.quantity * unitValue(leg.category, leg.unit, rates);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`${leg.quantity} ${leg.category} ${leg.unit} is worth more than a safe integer of µ`);
  }
  return value;
}
