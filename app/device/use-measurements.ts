'use client';

import { useEffect, useMemo, useState } from 'react';
import type { CategoryValuation } from '@/server/valuation';
import { addMeasurement, averageValuation, parseHistory, type Measurement } from './valuation-average';

const key = (deviceId: string) => `swapmesh.valuations.v1.${deviceId}`;

type Valued = { device: { id: string; updatedAt: string }; valuation: Record<string, CategoryValuation> };

const toMeasurement = (shown: Valued): Measurement => ({
  at: shown.device.updatedAt,
  categories: Object.fromEntries(Object.values(shown.valuation).map((v) => [v.category, { creditsPerHour: v.creditsPerHour, quantities: v.quantities }])),
});

/**
 * This device's recent measurements, kept in localStorage (each new one the coordinator valued is added,
 * the same one seen again is not), and their medians (valuation-average.ts).
 */
export function useAveragedValuation(shown: Valued | null) {
  const [history, setHistory] = useState<Measurement[]>([]);
  const deviceId = shown?.device.id ?? null;
  const at = shown?.device.updatedAt ?? null;
  useEffect(() => {
    if (!shown) return;
    let stored: Measurement[] = [];
    try {
      stored = parseHistory(localStorage.getItem(key(shown.device.id)));
    } catch {
      // storage refused: average over this measurement alone
    }
    const next = addMeasurement(stored, toMeasurement(shown));
    try {
      localStorage.setItem(key(shown.device.id), JSON.stringify(next));
    } catch {
      // full or refused: the screen still shows the figures
    }
    setHistory(next);
  }, [deviceId, at]); // eslint-disable-line react-hooks/exhaustive-deps
  return useMemo(() => (history.length > 0 ? averageValuation(history) : null), [history]);
}
