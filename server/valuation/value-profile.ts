/**
 * Valuation of a device Profile: category parameters × usage time → credits.
 *
 * Pure functions over plain data. Every result is an integer number of micro-credits
 * (µ; 1 credit = 1,000,000 µ) per hour of use, rounded down, never negative; every quantity is
 * an integer (rounded down) in the unit its key names. Inputs are clamped to sane ranges, and a
 * missing or non-finite measurement makes its part of a formula contribute 0 (never NaN).
 * MB means 2^20 bytes. `r` is the community's rate table (`rates.ts`), `r.x.y` one rate.
 *
 * COMPUTE  parallel = 1 + (cores − 1) × r.compute.extraCoreWeight        (unknown cores count as 1)
 *          µ/h = parallel × (MIPS × r.compute.perMipsHour + MFLOPS × r.compute.perMflopsHour)
 *          MIPS and MFLOPS are single-thread worker benchmarks, clamped to [0, 10^6].
 *          Quantities: CPU_SECOND per hour = known cores × 3600; GFLOP per hour = parallel × MFLOPS × 3.6.
 *
 * MEMORY   totalMb = deviceMemory GB × 1024, or the MB the benchmark actually exercised where the
 *          browser hides deviceMemory; offeredMb = totalMb × r.memory.shareFraction
 *          accessNs = mean of the measured read and write ns (those present)
 *          speedBonus = min(r.memory.maxSpeedBonus, r.memory.referenceAccessNs / accessNs)   (0 if unmeasured)
 *          µ/h = offeredMb × r.memory.perMbHour × (1 + speedBonus)           (faster memory earns more)
 *
 * STORAGE  availableMb = max(0, quota − usage); offeredMb = min(availableMb × r.storage.shareFraction,
 *          r.storage.maxOfferMb); msPerMiB = mean of read and write ms, scaled to 1 MiB by the tested size
 *          speedBonus = min(r.storage.maxSpeedBonus, r.storage.referenceAccessMs / msPerMiB)  (0 if unmeasured)
 *          µ/h = offeredMb × r.storage.perMbHour × (1 + speedBonus)
 *
 * PERIPHERAL  megapixels = width × height × pixelRatio² / 10^6 (physical pixels, at most 500)
 *          display = megapixels × r.peripheral.perMegapixelHour
 *                    × (colourDepth / referenceColorDepth + refreshHz / referenceRefreshHz) / 2
 *          (a missing depth or refresh rate contributes 0 to the bracket; depth ≤ 48, refresh ≤ 480)
 *          µ/h = display + cameras × perCameraHour + microphones × perMicrophoneHour
 *                + (maxTouchPoints > 0 ? touchHour : 0)          (cameras, microphones ≤ 8 each)
 *          Quantity: DEVICE_HOUR per hour = display (1) + cameras + microphones + touch (1).
 *
 * NETWORK  Mbps = measured throughput, else `navigator.connection.downlink` (≤ 10^5)
 *          rtt = measured median RTT, else `navigator.connection.rtt`
 *          quality = r.network.referenceRttMs / (referenceRttMs + rtt)  ∈ (0, 1]   (0 if unknown)
 *          type = r.network.connectionTypeFactors[connection type ?? 'unknown'],
 *                 × r.network.saveDataFactor when the user asked to save data
 *          µ/h = Mbps × r.network.perMbpsHour × type × (1 + quality)
 *          Quantities: MB per hour = Mbps × 10^6 × 3600 / 8 / 2^20; PAGE_VIEW per hour = that / pageViewMb.
 *
 * FILE     A content item is valued from its descriptive header (`valueFile`, below; the price is
 *          then settled by negotiation). The device's FILE entry is its capacity to serve items:
 *          servedMb = min(offered STORAGE MB it can host, NETWORK MB per hour it can move)
 *          µ/h = servedMb × r.file.perMbServedHour
 *
 * MONEY    Credits are the unit of account: 1 credit buys 1 credit, so the entry earns 0 µ/h and
 *          reports the exchange rates (µ per credit, cash cents per credit).
 *
 * Item:    valueFile  µ = (r.file.perItem + min(sizeMb, r.file.maxItemMb) × r.file.perMb)
 *                         × r.file.mediaTypeFactors[top-level media type, else 'other']
 *                         × (1 + descriptive fields present × r.file.descriptionBonusPerField)
 *          (descriptive fields: title, purpose, audience, environment)
 *
 * A usage of `seconds` costs `creditsForUsage(creditsPerHour, seconds)`.
 */
import type { DeviceProfile } from '../device/profile';
import { CATEGORIES, MICROCREDITS_PER_CREDIT, type Category } from './categories';
import type { ValuationRates } from './rates';

export type CategoryValuation = {
  category: Category;
  /** micro-credits per hour of use, integer */
  creditsPerHour: number;
  /** the quantified entry, integers in the units the keys name */
  quantities: Record<string, number>;
  /** one short sentence of how it was valued */
  basis: string;
};

export type DeviceValuation = {
  categories: Record<Category, CategoryValuation>;
  /** sum of the categories' creditsPerHour, micro-credits */
  totalPerHour: number;
  ratesVersion: number;
};

/**
 * What the valuation reads. Every section and field may be missing (an older or partial profile
 * stored as JSON); a `DeviceProfile` always fits.
 */
export type ValuableProfile = {
  [S in Exclude<keyof DeviceProfile, 'version' | 'measuredAt'>]?: Partial<DeviceProfile[S]> | null;
};

/** A file's descriptive header, as far as valuation reads it. */
export type FileHeaderForValuation = {
  sizeBytes: number;
  /** e.g. "video/mp4" */
  mediaType: string;
  title?: string | null;
  purpose?: string | null;
  audience?: string | null;
  environment?: string | null;
};

export type FileValuation = {
  category: 'FILE';
  /** micro-credits for the item, integer */
  credits: number;
  quantities: { items: number; mb: number; kb: number };
  basis: string;
};

const MIB = 1024 * 1024;
const SECONDS_PER_HOUR = 3600;

/** Values a device profile into one quantified, priced entry per category. */
export function valueProfile(profile: ValuableProfile, rates: ValuationRates): DeviceValuation {
  const storage = valueStorage(profile, rates);
  const network = valueNetwork(profile, rates);
  const categories: Record<Category, CategoryValuation> = {
    COMPUTE: valueCompute(profile, rates),
    MEMORY: valueMemory(profile, rates),
    STORAGE: storage.entry,
    PERIPHERAL: valuePeripheral(profile, rates),
    FILE: valueFileCapacity(storage.offeredMb, network.mbPerHour, rates),
    NETWORK: network.entry,
    MONEY: valueMoney(rates),
  };
  const totalPerHour = down(CATEGORIES.reduce((sum, c) => sum + categories[c].creditsPerHour, 0));
  return { categories, totalPerHour, ratesVersion: rates.version };
}

/** Micro-credits for `seconds` of use at `creditsPerHour`, rounded down, never negative. */
export function creditsForUsage(creditsPerHour: number, seconds: number): number {
  const perHour = finiteIn(creditsPerHour, 0, Number.MAX_SAFE_INTEGER);
  const s = finiteIn(seconds, 0, Number.MAX_SAFE_INTEGER);
  if (perHour === null || s === null) return 0;
  return down((perHour * s) / SECONDS_PER_HOUR);
}

/** Values one content item from its descriptive header; negotiation may settle another price. */
export function valueFile(header: FileHeaderForValuation, rates: ValuationRates): FileValuation {
  const r = rates.file;
  const sizeBytes = finiteIn(header.sizeBytes, 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const sizeMb = Math.min(sizeBytes / MIB, r.maxItemMb);
  const kind = mediaKind(header.mediaType);
  const typeFactor = r.mediaTypeFactors[kind];
  const described = [header.title, header.purpose, header.audience, header.environment].filter(
    (field) => typeof field === 'string' && field.trim().length > 0,
  ).length;
  const credits = down((r.perItem + sizeMb * r.perMb) * typeFactor * (1 + described * r.descriptionBonusPerField));
  return {
    category: 'FILE',
    credits,
    quantities: { items: 1, mb: down(sizeBytes / MIB), kb: down(sizeBytes / 1024) },
    basis: `One ${kind} item of ${fmt(sizeBytes / MIB)} MB with ${described} of 4 descriptive fields.`,
  };
}

function valueCompute(profile: ValuableProfile, rates: ValuationRates): CategoryValuation {
  const r = rates.compute;
  const p = profile.compute;
  const knownCores = finiteIn(p?.cores, 1, 1024);
  const cores = knownCores === null ? 1 : Math.floor(knownCores);
  const reportedCores = knownCores === null ? 0 : cores;
  const mips = finiteIn(p?.mips, 0, 1e6) ?? 0;
  const mflops = finiteIn(p?.mflops, 0, 1e6) ?? 0;
  const parallel = 1 + (cores - 1) * r.extraCoreWeight;
  const creditsPerHour = down(parallel * (mips * r.perMipsHour + mflops * r.perMflopsHour));
  const basis =
    mips === 0 && mflops === 0
      ? 'No compute benchmark: valued at 0.'
      : `${fmt(parallel)} effective of ${cores} cores${knownCores === null ? ' (unknown, counted as 1)' : ''} × ` +
        `(${fmt(mips)} MIPS + ${fmt(mflops)} MFLOPS) at the valuation rates.`;
  return {
    category: 'COMPUTE',
    creditsPerHour,
    quantities: {
      cores: reportedCores,
      mips: down(mips),
      mflops: down(mflops),
      cpuSecondsPerHour: reportedCores * SECONDS_PER_HOUR,
      gflopPerHour: down((parallel * mflops * SECONDS_PER_HOUR) / 1000),
    },
    basis,
  };
}

function valueMemory(profile: ValuableProfile, rates: ValuationRates): CategoryValuation {
  const r = rates.memory;
  const p = profile.memory;
  const deviceGb = finiteIn(p?.deviceMemoryGb, 0, 4096);
  const testedMb = finiteIn(p?.testedMb, 0, 65_536);
  const totalMb = deviceGb !== null ? deviceGb * 1024 : (testedMb ?? 0);
  const offeredMb = totalMb * r.shareFraction;
  const readNs = finiteIn(p?.readNs, 0.01, 1e6);
  const writeNs = finiteIn(p?.writeNs, 0.01, 1e6);
  const accessNs = mean(readNs, writeNs);
  const speedBonus = accessNs === null ? 0 : Math.min(r.maxSpeedBonus, r.referenceAccessNs / accessNs);
  const creditsPerHour = down(offeredMb * r.perMbHour * (1 + speedBonus));
  const source = deviceGb !== null ? 'device memory' : 'benchmarked buffer';
  const basis =
    totalMb === 0
      ? 'Memory size unknown: valued at 0.'
      : `${fmt(offeredMb)} MB offered of ${fmt(totalMb)} MB (${source}), ` +
        (accessNs === null ? 'access time unmeasured.' : `${fmt(accessNs)} ns per access, speed bonus ${fmt(speedBonus)}.`);
  return {
    category: 'MEMORY',
    creditsPerHour,
    quantities: {
      totalMb: down(totalMb),
      offeredMb: down(offeredMb),
      readPs: down((readNs ?? 0) * 1000),
      writePs: down((writeNs ?? 0) * 1000),
    },
    basis,
  };
}

function valueStorage(
  profile: ValuableProfile,
  rates: ValuationRates,
): { entry: CategoryValuation; offeredMb: number } {
  const r = rates.storage;
  const p = profile.storage;
  const quotaMb = finiteIn(p?.quotaMb, 0, 1e9);
  const usageMb = finiteIn(p?.usageMb, 0, 1e9) ?? 0;
  const availableMb = quotaMb === null ? 0 : Math.max(0, quotaMb - usageMb);
  const offeredMb = Math.min(availableMb * r.shareFraction, r.maxOfferMb);
  const testedBytes = finiteIn(p?.testedBytes, 1024, 1024 * MIB);
  const toMiB = testedBytes === null ? 1 : MIB / testedBytes;
  const readMs = finiteIn(p?.readMs, 0.001, 600_000);
  const writeMs = finiteIn(p?.writeMs, 0.001, 600_000);
  const accessMs = mean(readMs, writeMs);
  const msPerMiB = accessMs === null ? null : accessMs * toMiB;
  const speedBonus = msPerMiB === null ? 0 : Math.min(r.maxSpeedBonus, r.referenceAccessMs / msPerMiB);
  const creditsPerHour = down(offeredMb * r.perMbHour * (1 + speedBonus));
  const basis =
    quotaMb === null
      ? 'Storage quota unknown: valued at 0.'
      : `${fmt(offeredMb)} MB offered of ${fmt(availableMb)} MB free, ` +
        (msPerMiB === null ? 'access time unmeasured.' : `${fmt(msPerMiB)} ms per MiB, speed bonus ${fmt(speedBonus)}.`);
  return {
    offeredMb,
    entry: {
      category: 'STORAGE',
      creditsPerHour,
      quantities: {
        quotaMb: down(quotaMb ?? 0),
        usageMb: down(quotaMb === null ? 0 : usageMb),
        availableMb: down(availableMb),
        offeredMb: down(offeredMb),
        readUs: down((readMs ?? 0) * toMiB * 1000),
        writeUs: down((writeMs ?? 0) * toMiB * 1000),
      },
      basis,
    },
  };
}

function valuePeripheral(profile: ValuableProfile, rates: ValuationRates): CategoryValuation {
  const r = rates.peripheral;
  const p = profile.peripherals;
  const width = finiteIn(p?.screenWidth, 0, 65_536) ?? 0;
  const height = finiteIn(p?.screenHeight, 0, 65_536) ?? 0;
  const ratio = finiteIn(p?.pixelRatio, 0, 16) ?? 1;
  const megapixels = Math.min(500, (width * ratio * height * ratio) / 1e6);
  const depth = finiteIn(p?.colorDepth, 0, 48);
  const refreshHz = finiteIn(p?.refreshHz, 0, 480);
  const depthFactor = depth === null ? 0 : depth / r.referenceColorDepth;
  const refreshFactor = refreshHz === null ? 0 : refreshHz / r.referenceRefreshHz;
  const display = megapixels * r.perMegapixelHour * ((depthFactor + refreshFactor) / 2);
  const cameras = Math.floor(finiteIn(p?.cameras, 0, 8) ?? 0);
  const microphones = Math.floor(finiteIn(p?.microphones, 0, 8) ?? 0);
  const touchPoints = Math.floor(finiteIn(p?.maxTouchPoints, 0, 256) ?? 0);
  const touch = touchPoints > 0 ? 1 : 0;
  const creditsPerHour = down(
    display + cameras * r.perCameraHour + microphones * r.perMicrophoneHour + touch * r.touchHour,
  );
  const hasDisplay = megapixels > 0 ? 1 : 0;
  const basis =
    `${hasDisplay ? `${fmt(megapixels)} MP display (${depth ?? '?'}-bit, ${refreshHz === null ? '?' : fmt(refreshHz)} Hz)` : 'no display'}, ` +
    `${cameras} camera(s), ${microphones} microphone(s)${touch ? ', touch' : ''}.`;
  return {
    category: 'PERIPHERAL',
    creditsPerHour,
    quantities: {
      widthPx: down(width * ratio),
      heightPx: down(height * ratio),
      colorDepth: down(depth ?? 0),
      refreshHz: down(refreshHz ?? 0),
      cameras,
      microphones,
      touchPoints,
      devices: hasDisplay + cameras + microphones + touch,
    },
    basis,
  };
}

function valueNetwork(
  profile: ValuableProfile,
  rates: ValuationRates,
): { entry: CategoryValuation; mbPerHour: number } {
  const r = rates.network;
  const p = profile.network;
  const measuredMbps = finiteIn(p?.measuredThroughputMbps, 0, 100_000);
  const mbps = measuredMbps ?? finiteIn(p?.downlinkMbps, 0, 100_000) ?? 0;
  const measuredRtt = finiteIn(p?.measuredRttMs, 0, 60_000);
  const rtt = measuredRtt ?? finiteIn(p?.rttMs, 0, 60_000);
  const quality = rtt === null ? 0 : r.referenceRttMs / (r.referenceRttMs + rtt);
  const connectionType = p?.type ?? 'unknown';
  const typeFactor =
    (r.connectionTypeFactors[connectionType] ?? r.connectionTypeFactors.unknown) *
    (p?.saveData === true ? r.saveDataFactor : 1);
  const creditsPerHour = down(mbps * r.perMbpsHour * typeFactor * (1 + quality));
  const mbPerHour = (mbps * 1e6 * SECONDS_PER_HOUR) / 8 / MIB;
  const basis =
    mbps === 0
      ? 'No throughput measured: valued at 0.'
      : `${fmt(mbps)} Mbit/s (${measuredMbps === null ? 'reported' : 'measured'}) over ${connectionType}` +
        `${p?.saveData === true ? ' with data saver' : ''}, ` +
        (rtt === null ? 'RTT unknown.' : `${fmt(rtt)} ms RTT, quality ${fmt(quality)}.`);
  return {
    mbPerHour,
    entry: {
      category: 'NETWORK',
      creditsPerHour,
      quantities: {
        throughputKbps: down(mbps * 1000),
        rttMs: down(rtt ?? 0),
        mbPerHour: down(mbPerHour),
        pageViewsPerHour: down(mbPerHour / r.pageViewMb),
      },
      basis,
    },
  };
}

function valueFileCapacity(hostableMb: number, servableMbPerHour: number, rates: ValuationRates): CategoryValuation {
  const servedMb = Math.min(hostableMb, servableMbPerHour);
  return {
    category: 'FILE',
    creditsPerHour: down(servedMb * rates.file.perMbServedHour),
    quantities: {
      hostableMb: down(hostableMb),
      servableMbPerHour: down(servableMbPerHour),
      servedMbPerHour: down(servedMb),
    },
    basis:
      servedMb === 0
        ? 'No storage or throughput to serve files: items are valued one by one from their headers.'
        : `Can host ${fmt(hostableMb)} MB and move ${fmt(servableMbPerHour)} MB/h: ${fmt(servedMb)} MB/h of files served.`,
  };
}

function valueMoney(rates: ValuationRates): CategoryValuation {
  return {
    category: 'MONEY',
    creditsPerHour: 0,
    quantities: {
      creditsPerCredit: 1,
      microcreditsPerCredit: MICROCREDITS_PER_CREDIT,
      cashCentsPerCredit: down(rates.money.cashCentsPerCredit),
    },
    basis:
      rates.money.cashCentsPerCredit > 0
        ? `Credits are the unit of account (1:1); one credit is worth ${rates.money.cashCentsPerCredit} cents.`
        : 'Credits are the unit of account (1:1) and earn nothing per hour; not redeemable for cash.',
  };
}

/** `x` clamped to [min, max] if it is a finite number, otherwise null. */
function finiteIn(x: unknown, min: number, max: number): number | null {
  if (typeof x !== 'number' || !Number.isFinite(x)) return null;
  return Math.min(max, Math.max(min, x));
}

/** Mean of the values present, or null if none is. */
function mean(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return (a + b) / 2;
}

/** A non-negative safe integer, rounded down; anything else (NaN, negative) is 0. */
function down(x: number): number {
  if (!Number.isFinite(x) || x <= 0) return 0;
  return Math.min(Number.MAX_SAFE_INTEGER, Math.floor(x));
}

/** Whole numbers from 100 up, three significant digits below, for the basis sentences. */
function fmt(x: number): string {
  const shown = Math.abs(x) >= 100 ? Math.round(x) : Number(x.toPrecision(3));
  return shown.toLocaleString('en-US');
}

function mediaKind(mediaType: string): keyof ValuationRates['file']['mediaTypeFactors'] {
  const top = (typeof mediaType === 'string' ? mediaType : '').split('/')[0]?.trim().toLowerCase();
  switch (top) {
    case 'video':
    case 'audio':
    case 'image':
    case 'text':
    case 'application':
    case 'model':
    case 'font':
      return top;
    default:
      return 'other';
  }
}
