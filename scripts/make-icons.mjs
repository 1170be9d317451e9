// Draws the Swapmesh mark as SVG and renders the PNG icons with headless Chromium.
// The PNGs are committed, so the build never runs this; rerun it after changing the design:
//   node scripts/make-icons.mjs            (CHROMIUM_PATH overrides /usr/bin/chromium)
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';

const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'public', 'icons');

const TEAL_LIGHT = '#14b8a6';
const TEAL = '#0f766e';
const INK = '#ffffff';

const round = (n) => Math.round(n * 10) / 10;

/** Point on the circle of radius r around (256, 256); degrees, clockwise from 3 o'clock. */
function polar(r, deg) {
  const a = (deg * Math.PI) / 180;
  return [256 + r * Math.cos(a), 256 + r * Math.sin(a)];
}

/** A clockwise arc from `from` to `to` degrees, ending in an arrowhead that points along the arc. */
function arrow(r, from, to, stroke) {
  const [x0, y0] = polar(r, from);
  const [x1, y1] = polar(r, to);
  const a = (to * Math.PI) / 180;
  const [tx, ty] = [-Math.sin(a), Math.cos(a)]; // tangent, clockwise
  const [nx, ny] = [Math.cos(a), Math.sin(a)]; // outward normal
  const head = stroke * 1.05;
  const tip = [x1 + tx * head * 1.15, y1 + ty * head * 1.15];
  const left = [x1 + nx * head - tx * head * 0.2, y1 + ny * head - ty * head * 0.2];
  const right = [x1 - nx * head - tx * head * 0.2, y1 - ny * head - ty * head * 0.2];
  const arc = `M${round(x0)} ${round(y0)} A${r} ${r} 0 0 1 ${round(x1)} ${round(y1)}`;
  const tri = `M${round(tip[0])} ${round(tip[1])} L${round(left[0])} ${round(left[1])} L${round(right[0])} ${round(right[1])} Z`;
  return (
    `<path d="${arc}" fill="none" stroke="${INK}" stroke-width="${stroke}" stroke-linecap="round"/>` +
    `<path d="${tri}" fill="${INK}" stroke="${INK}" stroke-width="${stroke * 0.35}" stroke-linejoin="round"/>`
  );
}

/**
 * Two peers (the dots) swapping: each arrow leaves one peer and points at the other, and a thin
 * line through the middle ties them into a mesh. `maskable` fills the whole square and shrinks the
 * mark into the safe zone (a circle of 40% of the size).
 */
export function swapmeshSvg({ maskable = false } = {}) {
  const scale = maskable ? 0.9 : 1;
  const r = 124;
  const stroke = 34;
  const node = 30;
  const [ax, ay] = polar(r, 180);
  const [bx, by] = polar(r, 0);
  const mark = [
    `<line x1="${round(ax)}" y1="${round(ay)}" x2="${round(bx)}" y2="${round(by)}" stroke="${INK}" stroke-opacity="0.45" stroke-width="12" stroke-linecap="round"/>`,
    arrow(r, 204, 318, stroke),
    arrow(r, 24, 138, stroke),
    `<circle cx="${round(ax)}" cy="${round(ay)}" r="${node}" fill="${INK}"/>`,
    `<circle cx="${round(bx)}" cy="${round(by)}" r="${node}" fill="${INK}"/>`,
    `<circle cx="256" cy="256" r="14" fill="${INK}"/>`,
  ].join('');
  const background = maskable
    ? `<rect width="512" height="512" fill="url(#bg)"/>`
    : `<rect x="16" y="16" width="480" height="480" rx="112" fill="url(#bg)"/>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512" width="512" height="512">`,
    `<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">`,
    `<stop offset="0" stop-color="${TEAL_LIGHT}"/><stop offset="0.55" stop-color="${TEAL}"/><stop offset="1" stop-color="#115e59"/>`,
    `</linearGradient></defs>`,
    background,
    `<g transform="translate(256 256) scale(${scale}) translate(-256 -256)">${mark}</g>`,
    `</svg>`,
  ].join('');
}

const outputs = [
  { file: 'icon-192.png', size: 192, maskable: false },
  { file: 'icon-512.png', size: 512, maskable: false },
  { file: 'maskable-512.png', size: 512, maskable: true },
  { file: 'maskable-192.png', size: 192, maskable: true },
  // iOS draws its own rounded corners and ignores transparency, so it gets the full-bleed square.
  { file: 'apple-touch-icon.png', size: 180, maskable: true },
];

async function main() {
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'icon.svg'), swapmeshSvg() + '\n');

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ deviceScaleFactor: 1 });
    for (const { file, size, maskable } of outputs) {
      await page.setViewportSize({ width: size, height: size });
      const svg = swapmeshSvg({ maskable }).replace('width="512" height="512"', `width="${size}" height="${size}"`);
      await page.setContent(
        `<!doctype html><html><body style="margin:0;background:transparent">${svg}</body></html>`,
      );
      await page.screenshot({
        path: path.join(outDir, file),
        omitBackground: true,
        clip: { x: 0, y: 0, width: size, height: size },
      });
      console.log(`wrote public/icons/${file} (${size}x${size})`);
    }
  } finally {
    await browser.close();
  }
}

await main();
