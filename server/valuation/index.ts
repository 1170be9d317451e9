/**
 * Valuation: pure functions from measured category parameters × usage time to credits, with
 * community-tunable rates. No I/O; see the header of `value-profile.ts` for the formulas.
 */
export {
  CATEGORIES,
  UNITS,
  UNITS_BY_CATEGORY,
  MICROCREDITS_PER_CREDIT,
  isCategory,
  isUnitOf,
  type Category,
  type Unit,
  type UnitOf,
} from './categories';
export {
  defaultValuationRates,
  resolveRates,
  valuationRatesFullSchema,
  valuationRatesSchema,
  type ValuationRates,
  type ValuationRatesOverrides,
} from './rates';
export {
  creditsForUsage,
  valueFile,
  valueProfile,
  type CategoryValuation,
  type DeviceValuation,
  type FileHeaderForValuation,
  type FileValuation,
  type ValuableProfile,
} from './value-profile';
