/**
 * Valuation rates: the community-tunable constants of the valuation formulas
 * (see the header of `value-profile.ts` for how each is used).
 *
 * Money rates are in micro-credits (µ; 1 credit = 1,000,000 µ) and may be fractional — the
 * valuation rounds its results down to whole micro-credits. A community stores only the rates it
 * overrides (`Community.valuationRates`, validated with `valuationRatesSchema`); `resolveRates`
 * lays them over `defaultValuationRates`.
 */
import { z } from 'zod';
import type { ConnectionType } from '../device/profile';

/** A money rate in micro-credits (results are capped at Number.MAX_SAFE_INTEGER by the valuation). */
const microcredits = z.number().min(0).max(1e9);
/** A dimensionless weight or multiplier. */
const factor = z.number().min(0).max(100);
/** A fraction of a device's capacity. */
const fraction = z.number().min(0).max(1);

const computeShape = {
  /** µ per hour for each MIPS of one worker thread */
  perMipsHour: microcredits,
  /** µ per hour for each MFLOPS of one worker thread */
  perMflopsHour: microcredits,
  /** how much each core beyond the first adds to the effective parallelism (0 … 1) */
  extraCoreWeight: fraction,
};

const memoryShape = {
  /** µ per offered MB per hour */
  perMbHour: microcredits,
  /** fraction of the device's memory it may lend */
  shareFraction: fraction,
  /** an access time of this many ns earns a speed bonus of 1 (faster earns more) */
  referenceAccessNs: z.number().min(0.01).max(1e6),
  /** cap on the speed bonus */
  maxSpeedBonus: factor,
};

const storageShape = {
  /** µ per offered MB per hour */
  perMbHour: microcredits,
  /** fraction of the available (quota − usage) space the device may lend */
  shareFraction: fraction,
  /** cap on the offered space, MB */
  maxOfferMb: z.number().min(0).max(1e8),
  /** reading or writing 1 MiB in this many ms earns a speed bonus of 1 */
  referenceAccessMs: z.number().min(0.01).max(1e6),
  maxSpeedBonus: factor,
};

const peripheralShape = {
  /** µ per hour for each physical megapixel of display, at the reference depth and refresh rate */
  perMegapixelHour: microcredits,
  /** colour depth worth a depth factor of 1 (bits per pixel) */
  referenceColorDepth: z.number().min(1).max(64),
  /** refresh rate worth a speed factor of 1 (Hz) */
  referenceRefreshHz: z.number().min(1).max(1000),
  perCameraHour: microcredits,
  perMicrophoneHour: microcredits,
  /** for a touch screen (any `maxTouchPoints` > 0) */
  touchHour: microcredits,
};

const connectionTypeFactorsShape = {
  bluetooth: factor,
  cellular: factor,
  ethernet: factor,
  mixed: factor,
  none: factor,
  other: factor,
  unknown: factor,
  wifi: factor,
  wimax: factor,
} satisfies Record<ConnectionType, typeof factor>;

const networkShape = {
  /** µ per hour for each Mbit/s of measured throughput */
  perMbpsHour: microcredits,
  /** a round trip of this many ms halves the quality bonus (bonus = ref / (ref + rtt)) */
  referenceRttMs: z.number().min(1).max(60_000),
  /** multiplier by `navigator.connection.type`; an unreported type counts as `unknown` */
  connectionTypeFactors: z.strictObject(connectionTypeFactorsShape),
  /** multiplier when the user asked the browser to save data */
  saveDataFactor: factor,
  /** MB of one page view, to quote the capacity in PAGE_VIEW */
  pageViewMb: z.number().min(0.01).max(1000),
};

const mediaTypeFactorsShape = {
  video: factor,
  audio: factor,
  image: factor,
  text: factor,
  application: factor,
  model: factor,
  font: factor,
  other: factor,
};

const fileShape = {
  /** µ per MB per hour a device can both host and serve (device valuation) */
  perMbServedHour: microcredits,
  /** µ for one content item, whatever its size (item valuation) */
  perItem: microcredits,
  /** µ per MB of a content item (item valuation) */
  perMb: microcredits,
  /** multiplier by the top-level media type of a content item */
  mediaTypeFactors: z.strictObject(mediaTypeFactorsShape),
  /** bonus per descriptive header field present (title, purpose, audience, environment) */
  descriptionBonusPerField: factor,
  /** size above which an item earns no more, MB */
  maxItemMb: z.number().min(0).max(1e7),
};

const moneyShape = {
  /** cash value of one credit, in whole cents of the community's currency (0 = not redeemable) */
  cashCentsPerCredit: z.number().int().min(0).max(1e6),
};

/** The complete rate table (every field present), as the formulas read it. */
export const valuationRatesFullSchema = z.strictObject({
  /** bump when a community changes its rates; reported with every valuation */
  version: z.number().int().min(1).max(1e9),
  compute: z.strictObject(computeShape),
  memory: z.strictObject(memoryShape),
  storage: z.strictObject(storageShape),
  peripheral: z.strictObject(peripheralShape),
  network: z.strictObject(networkShape),
  file: z.strictObject(fileShape),
  money: z.strictObject(moneyShape),
});

/**
 * A community's overrides: any subset of the rate table (factor tables included), every value
 * bounded, unknown keys rejected so that a misspelt rate fails loudly instead of being ignored.
 */
export const valuationRatesSchema = z.strictObject({
  version: valuationRatesFullSchema.shape.version.optional(),
  compute: z.strictObject(computeShape).partial().optional(),
  memory: z.strictObject(memoryShape).partial().optional(),
  storage: z.strictObject(storageShape).partial().optional(),
  peripheral: z.strictObject(peripheralShape).partial().optional(),
  network: z
    .strictObject({ ...networkShape, connectionTypeFactors: networkShape.connectionTypeFactors.partial() })
    .partial()
    .optional(),
  file: z
    .strictObject({ ...fileShape, mediaTypeFactors: fileShape.mediaTypeFactors.partial() })
    .partial()
    .optional(),
  money: z.strictObject(moneyShape).partial().optional(),
});

export type ValuationRates = z.infer<typeof valuationRatesFullSchema>;
export type ValuationRatesOverrides = z.infer<typeof valuationRatesSchema>;

/**
 * Defaults put a phone's COMPUTE in the order of a credit per hour — one measuring 2,000 MIPS and
 * 1,000 MFLOPS on 8 cores earns 4.5 × 300,000 µ = 1.35 credits/h — and the other categories at
 * fractions of a credit per hour.
 */
export const defaultValuationRates: ValuationRates = {
  version: 1,
  compute: { perMipsHour: 100, perMflopsHour: 100, extraCoreWeight: 0.5 },
  memory: { perMbHour: 20, shareFraction: 0.25, referenceAccessNs: 20, maxSpeedBonus: 2 },
  storage: { perMbHour: 1, shareFraction: 0.5, maxOfferMb: 16_384, referenceAccessMs: 5, maxSpeedBonus: 2 },
  peripheral: {
    perMegapixelHour: 2_000,
    referenceColorDepth: 24,
    referenceRefreshHz: 60,
    perCameraHour: 20_000,
    perMicrophoneHour: 5_000,
    touchHour: 2_000,
  },
  network: {
    perMbpsHour: 1_000,
    referenceRttMs: 100,
    connectionTypeFactors: {
      ethernet: 1.2,
      wifi: 1,
      wimax: 0.8,
      cellular: 0.5,
      bluetooth: 0.2,
      mixed: 1,
      other: 1,
      unknown: 1,
      none: 0,
    },
    saveDataFactor: 0.25,
    pageViewMb: 2,
  },
  file: {
    perMbServedHour: 5,
    perItem: 1_000,
    perMb: 100,
    mediaTypeFactors: {
      video: 1,
      audio: 1,
      image: 1,
      text: 2,
      application: 1.5,
      model: 1.5,
      font: 1,
      other: 1,
    },
    descriptionBonusPerField: 0.1,
    maxItemMb: 4_096,
  },
  money: { cashCentsPerCredit: 0 },
};

/**
 * The rate table with a community's overrides laid over the defaults.
 *
 * Takes the overrides as typed or as stored JSON (`Community.valuationRates`): they are checked
 * with `valuationRatesSchema` here; `null` / `undefined`, or JSON that does not parse (it was
 * validated when written, so this only happens after a schema change), give the defaults.
 */
export function resolveRates(overrides?: unknown): ValuationRates {
  const d = defaultValuationRates;
  const parsed = valuationRatesSchema.safeParse(overrides ?? {});
  const o: ValuationRatesOverrides = parsed.success ? parsed.data : {};
  return {
    version: o.version ?? d.version,
    compute: overlay(d.compute, o.compute),
    memory: overlay(d.memory, o.memory),
    storage: overlay(d.storage, o.storage),
    peripheral: overlay(d.peripheral, o.peripheral),
    network: {
      ...overlay(d.network, { ...o.network, connectionTypeFactors: undefined }),
      connectionTypeFactors: overlay(d.network.connectionTypeFactors, o.network?.connectionTypeFactors),
    },
    file: {
      ...overlay(d.file, { ...o.file, mediaTypeFactors: undefined }),
      mediaTypeFactors: overlay(d.file.mediaTypeFactors, o.file?.mediaTypeFactors),
    },
    money: overlay(d.money, o.money),
  };
}

/** `base` with every key of `over` that is not `undefined` replaced. */
function overlay<T extends object>(base: T, over: { [K in keyof T]?: T[K] | undefined } | undefined): T {
  const out = { ...base };
  if (!over) return out;
  for (const key of Object.keys(base) as (keyof T)[]) {
    const value = over[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
