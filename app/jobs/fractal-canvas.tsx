'use client';

import { useEffect, useRef, useState } from 'react';
import { decodeBase64 } from '@/workers/kernels/shared';

type Tile = { x: number; y: number; w: number; h: number; counts: string };

/** Escape-time counts to colour: points inside the set are black, the rest run through a teal-to-gold ramp. */
function colour(count: number, maxIterations: number): [number, number, number] {
  if (count >= maxIterations) return [12, 10, 9];
  const t = Math.sqrt(count / maxIterations);
  return [Math.round(15 + 240 * t * t), Math.round(118 + 110 * t), Math.round(110 + 20 * (1 - t))];
}

function paint(ctx: CanvasRenderingContext2D, tile: Tile, maxIterations: number) {
  const bytes = decodeBase64(tile.counts);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const image = ctx.createImageData(tile.w, tile.h);
  for (let i = 0; i < tile.w * tile.h; i++) {
    const [r, g, b] = colour(view.getUint16(i * 2, true), maxIterations);
    image.data[i * 4] = r;
    image.data[i * 4 + 1] = g;
    image.data[i * 4 + 2] = b;
    image.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(image, tile.x, tile.y);
}

/** SHA-256 of the image's counts, hex: what the end-to-end test compares with the reference. */
async function countsHash(counts: string): Promise<string> {
  const bytes = decodeBase64(counts);
  const digest = await crypto.subtle.digest('SHA-256', bytes.slice().buffer);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The fractal as it is validated: each tile appears as soon as a quorum agrees on it. */
export function FractalCanvas({ width, height, maxIterations, tiles, result }: {
  width: number;
  height: number;
  maxIterations: number;
  tiles: Tile[];
  result: { counts: string } | null;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const drawn = useRef(new Set<string>());
  const [hash, setHash] = useState<string | null>(null);

  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    if (result) {
      paint(ctx, { x: 0, y: 0, w: width, h: height, counts: result.counts }, maxIterations);
      void countsHash(result.counts).then(setHash);
      return;
    }
    for (const tile of tiles) {
      const key = `${tile.x},${tile.y}`;
      if (drawn.current.has(key)) continue;
      paint(ctx, tile, maxIterations);
      drawn.current.add(key);
    }
  }, [tiles, result, width, height, maxIterations]);

  return (
    <div>
      <canvas
        ref={canvas}
        width={width}
        height={height}
        data-testid="fractal"
        data-complete={result ? 'true' : 'false'}
        style={{ width: '100%', height: 'auto', aspectRatio: `${width} / ${height}`, background: '#e7e5e4', borderRadius: 10, imageRendering: 'pixelated' }}
      />
      {hash ? <p className="muted small" style={{ wordBreak: 'break-all' }}>SHA-256 of the pixels: <code data-testid="pixels-hash">{hash}</code></p> : null}
    </div>
  );
}
