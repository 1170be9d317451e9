/**
 * Mandelbrot render: the escape iteration count of every pixel of a width x height image, split
 * into square-ish tiles. Counts travel as little-endian uint16 in base64; the UI colours them.
 *
 * Reproducibility: every engine must produce the same bits. The arithmetic is IEEE 754 doubles with
 * one division per unit (`scale / width`, correctly rounded everywhere) and then only +, - and *
 * in a fixed order, with no fused multiply-add. The WebAssembly build (`wasm/mandelbrot.as.ts`)
 * and the C bench (`bench/kernels/mandelbrot.c`, gcc -O2) perform exactly the same operations.
 */
import { z } from 'zod';
import { KernelError, clampUnits, decodeBase64, encodeBase64, isBase64OfLength } from './shared';
import type { Kernel, UnitCost } from './types';

export const MIN_SIDE = 16;
export const MAX_SIDE = 2048;
export const MIN_ITERATIONS = 16;
export const MAX_ITERATIONS = 5000;
/** Tiles are at least this wide and tall (unless the image is smaller) and at most `MAX_TILE`. */
export const MIN_TILE = 32;
export const MAX_TILE = 256;
export const MAX_CENTER = 4;
export const MIN_SCALE = 1e-13;
export const MAX_SCALE = 16;

const side = z.int().min(MIN_SIDE).max(MAX_SIDE);
const iterations = z.int().min(MIN_ITERATIONS).max(MAX_ITERATIONS);
const center = z.number().min(-MAX_CENTER).max(MAX_CENTER);
const scale = z.number().min(MIN_SCALE).max(MAX_SCALE);

export const mandelbrotParamsSchema = z.strictObject({
  width: side,
  height: side,
  maxIterations: iterations,
  view: z.strictObject({
    /** The point of the complex plane at the image's centre. */
    centerX: center,
    centerY: center,
    /** The width of the view in the complex plane (3 shows the whole set); pixels are square. */
    scale,
  }),
});
export type MandelbrotParams = z.infer<typeof mandelbrotParamsSchema>;

const coordinate = z.int().min(0).max(MAX_SIDE - 1);
const tileSide = z.int().min(1).max(MAX_TILE);

export const mandelbrotUnitSchema = z
  .strictObject({
    x: coordinate,
    y: coordinate,
    w: tileSide,
    h: tileSide,
    width: side,
    height: side,
    maxIterations: iterations,
    centerX: center,
    centerY: center,
    scale,
  })
  .refine((u) => u.x + u.w <= u.width && u.y + u.h <= u.height, { message: 'tile outside the image' });
export type MandelbrotUnit = z.infer<typeof mandelbrotUnitSchema>;

export const mandelbrotOutputSchema = z
  .strictObject({
    x: coordinate,
    y: coordinate,
    w: tileSide,
    h: tileSide,
    /** w*h little-endian uint16 iteration counts, row by row, base64. */
    counts: z.string().max(Math.ceil((MAX_TILE * MAX_TILE * 2) / 3) * 4),
  })
  .refine((o) => o.x + o.w <= MAX_SIDE && o.y + o.h <= MAX_SIDE, { message: 'tile outside any image' })
  .refine((o) => isBase64OfLength(o.counts, o.w * o.h * 2), { message: 'counts must be base64 of w*h uint16' });
export type MandelbrotOutput = z.infer<typeof mandelbrotOutputSchema>;

export type MandelbrotResult = {
  width: number;
  height: number;
  maxIterations: number;
  /** width*height little-endian uint16 iteration counts, row by row, base64. */
  counts: string;
};

/**
 * Iterations before z -> z^2 + c leaves the disc of radius 2, starting from z = 0 (at most
 * `maxIterations`, which means "inside"). c = 2+2i escapes at 1; c = 0 never escapes.
 */
export function escapeCount(cr: number, ci: number, maxIterations: number): number {
  let zr = 0;
  let zi = 0;
  let n = 0;
  while (n < maxIterations) {
    const zr2 = zr * zr;
    const zi2 = zi * zi;
    if (zr2 + zi2 > 4) break;
    const t = zr * zi;
    zi = t + t + ci;
    zr = zr2 - zi2 + cr;
    n++;
  }
  return n;
}

/** The complex coordinates of pixel (px, py) of an image (y grows downwards, imaginary part upwards). */
export function pixelPoint(
  px: number,
  py: number,
  image: { width: number; height: number; centerX: number; centerY: number; scale: number },
): { cr: number; ci: number } {
  const step = image.scale / image.width;
  return {
    cr: image.centerX + (px - image.width * 0.5) * step,
    ci: image.centerY - (py - image.height * 0.5) * step,
  };
}

/** The reference renderer: a tile's counts as little-endian uint16 bytes. */
export function renderTile(u: MandelbrotUnit): Uint8Array {
  const out = new Uint8Array(u.w * u.h * 2);
  const step = u.scale / u.width;
  const halfW = u.width * 0.5;
  const halfH = u.height * 0.5;
  let k = 0;
  for (let j = 0; j < u.h; j++) {
    const ci = u.centerY - (u.y + j - halfH) * step;
    for (let i = 0; i < u.w; i++) {
      const cr = u.centerX + (u.x + i - halfW) * step;
      const n = escapeCount(cr, ci, u.maxIterations);
      out[k++] = n & 255;
      out[k++] = n >>> 8;
    }
  }
  return out;
}

/**
 * Reference CPU time per floating-point operation of this kernel, picoseconds: the JavaScript
 * reference on one core of the reference machine (see `bench/kernels.mjs`).
 */
export const REFERENCE_PS_PER_FLOP = 380;

/**
 * The floating-point operations (+, -, *, /) `renderTile` executes for a pixel whose escape count is
 * `n`: 4 for its real coordinate, then per pass of `escapeCount` 3 (zr², zi², their sum) and, when it
 * does not escape, 5 more (zr·zi, doubling, + ci, zr² - zi², + cr); a point that escapes stops after 3.
 */
export const pixelFlop = (n: number, maxIterations: number) => 4 + 8 * n + (n < maxIterations ? 3 : 0);

/**
 * What a tile cost: 3 operations for the unit (the step, half width and half height), 4 per row (its
 * imaginary coordinate) and `pixelFlop` per pixel, from the validated counts.
 */
export function tileCost(unit: { h: number; maxIterations: number }, counts: Uint16Array): UnitCost {
  let flop = 3 + 4 * unit.h;
  for (let i = 0; i < counts.length; i++) flop += pixelFlop(counts[i]!, unit.maxIterations);
  return { flop, cpuUs: Math.ceil((flop * REFERENCE_PS_PER_FLOP) / 1e6) };
}

/** Tile side for an image split into about `units` tiles. */
export function tileSideFor(width: number, height: number, units: number): number {
  const ideal = Math.ceil(Math.sqrt((width * height) / clampUnits(units, width * height)));
  return Math.min(MAX_TILE, Math.max(MIN_TILE, ideal));
}

export const mandelbrotKernel: Kernel<MandelbrotParams, MandelbrotUnit, MandelbrotOutput, MandelbrotResult> = {
  name: 'mandelbrot',
  title: 'Mandelbrot render',
  description: 'Renders the escape-time counts of a Mandelbrot view, tile by tile.',
  paramsSchema: mandelbrotParamsSchema,
  outputSchema: mandelbrotOutputSchema,

  split(params, units) {
    const ts = tileSideFor(params.width, params.height, units);
    const { centerX, centerY, scale: s } = params.view;
    const out: MandelbrotUnit[] = [];
    for (let y = 0; y < params.height; y += ts) {
      for (let x = 0; x < params.width; x += ts) {
        out.push({
          x,
          y,
          w: Math.min(ts, params.width - x),
          h: Math.min(ts, params.height - y),
          width: params.width,
          height: params.height,
          maxIterations: params.maxIterations,
          centerX,
          centerY,
          scale: s,
        });
      }
    }
    return out;
  },

  run(input) {
    const unit = mandelbrotUnitSchema.parse(input);
    return { x: unit.x, y: unit.y, w: unit.w, h: unit.h, counts: encodeBase64(renderTile(unit)) };
  },

  canonical(o) {
    return `${o.x},${o.y},${o.w},${o.h}:${o.counts}`;
  },

  cost(input, output) {
    return tileCost(input, decodeCounts(output.counts));
  },

  workingSetMb: () => 0,

  assemble(params, outputs) {
    const { width, height, maxIterations } = params;
    const image = new Uint8Array(width * height * 2);
    const covered = new Uint8Array(width * height);
    let pixels = 0;
    for (const o of outputs) {
      if (o.x + o.w > width || o.y + o.h > height) {
        throw new KernelError(`tile ${o.x},${o.y} ${o.w}x${o.h} outside the ${width}x${height} image`);
      }
      const bytes = decodeBase64(o.counts);
      if (bytes.length !== o.w * o.h * 2) throw new KernelError(`tile ${o.x},${o.y}: wrong number of counts`);
      for (let j = 0; j < o.h; j++) {
        const row = (o.y + j) * width + o.x;
        for (let i = 0; i < o.w; i++) {
          if (covered[row + i] === 1) throw new KernelError(`pixel ${o.x + i},${o.y + j} covered twice`);
          covered[row + i] = 1;
          const src = (j * o.w + i) * 2;
          if ((bytes[src]! | (bytes[src + 1]! << 8)) > maxIterations) {
            throw new KernelError(`pixel ${o.x + i},${o.y + j}: count above maxIterations`);
          }
        }
        image.set(bytes.subarray(j * o.w * 2, (j + 1) * o.w * 2), row * 2);
      }
      pixels += o.w * o.h;
    }
    if (pixels !== width * height) throw new KernelError(`tiles cover ${pixels} of ${width * height} pixels`);
    return { width, height, maxIterations, counts: encodeBase64(image) };
  },
};

/** Decodes base64 little-endian uint16 counts (a unit's or a result's) into numbers. */
export function decodeCounts(counts: string): Uint16Array {
  const bytes = decodeBase64(counts);
  const out = new Uint16Array(bytes.length >>> 1);
  for (let i = 0; i < out.length; i++) out[i] = bytes[2 * i]! | (bytes[2 * i + 1]! << 8);
  return out;
}
