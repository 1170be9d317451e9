// @ts-nocheck: AssemblyScript (i32, f64, store<T>), compiled by scripts/build-wasm.mjs, not by tsc.
/**
 * Mandelbrot escape counts, the same IEEE 754 operations in the same order as `renderTile` in
 * `../mandelbrot.ts` (one division, then only +, -, *), so the results are bit-identical.
 */
import { scratch } from './scratch.as';

/** A scratch buffer of at least `bytes` bytes (0 when memory cannot grow). */
export function buffer(bytes: i32): usize {
  return scratch(<usize>bytes);
}

/** Writes the counts of pixels x..x+w-1 of row py as little-endian u16 at `ptr`. */
export function renderRow(
  ptr: usize,
  x: i32,
  py: i32,
  w: i32,
  width: i32,
  height: i32,
  maxIterations: i32,
  centerX: f64,
  centerY: f64,
  scale: f64,
): void {
  const step = scale / <f64>width;
  const halfW = <f64>width * 0.5;
  const halfH = <f64>height * 0.5;
  const ci = centerY - (<f64>py - halfH) * step;
  for (let i = 0; i < w; i++) {
    const cr = centerX + (<f64>(x + i) - halfW) * step;
    let zr = 0.0;
    let zi = 0.0;
    let n = 0;
    while (n < maxIterations) {
      const zr2 = zr * zr;
      const zi2 = zi * zi;
      if (zr2 + zi2 > 4.0) break;
      const t = zr * zi;
      zi = t + t + ci;
      zr = zr2 - zi2 + cr;
      n++;
    }
    store<u16>(ptr + ((<usize>i) << 1), <u16>n);
  }
}
