/* Mandelbrot counts of a whole image: the same operations, in the same order, as
 * workers/kernels/mandelbrot.ts (renderTile). Prints the best of `runs` times and an FNV-1a hash
 * of the little-endian uint16 counts, which the bench compares with the browser's image.
 * usage: mandelbrot width height maxIterations centerX centerY scale runs */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "common.h"

static void render(uint16_t *out, int width, int height, int maxIterations, double centerX, double centerY, double scale) {
  const double step = scale / (double)width;
  const double halfW = (double)width * 0.5;
  const double halfH = (double)height * 0.5;
  for (int py = 0; py < height; py++) {
    const double ci = centerY - ((double)py - halfH) * step;
    for (int px = 0; px < width; px++) {
      const double cr = centerX + ((double)px - halfW) * step;
      double zr = 0.0, zi = 0.0;
      int n = 0;
      while (n < maxIterations) {
        const double zr2 = zr * zr;
        const double zi2 = zi * zi;
        if (zr2 + zi2 > 4.0) break;
        const double t = zr * zi;
        zi = t + t + ci;
        zr = zr2 - zi2 + cr;
        n++;
      }
      out[py * width + px] = (uint16_t)n;
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 8) return 2;
  const int width = atoi(argv[1]), height = atoi(argv[2]), maxIterations = atoi(argv[3]);
  const double centerX = strtod(argv[4], NULL), centerY = strtod(argv[5], NULL), scale = strtod(argv[6], NULL);
  const int runs = atoi(argv[7]);
  uint16_t *out = malloc((size_t)width * height * 2);
  double best = 1e30, bestCpu = 1e30;
  for (int r = 0; r < runs; r++) {
    const double c0 = cpu_seconds();
    const double t0 = now_seconds();
    render(out, width, height, maxIterations, centerX, centerY, scale);
    const double t = now_seconds() - t0;
    const double c = cpu_seconds() - c0;
    if (c < bestCpu) bestCpu = c;
    if (t < best) best = t;
  }
  uint32_t h = 2166136261u;
  for (long i = 0; i < (long)width * height; i++) {
    h = (h ^ (out[i] & 255)) * 16777619u;
    h = (h ^ (out[i] >> 8)) * 16777619u;
  }
  printf("{\"seconds\":%.6f,\"cpuSeconds\":%.6f,\"fnv\":%u}\n", best, bestCpu, h);
  free(out);
  return 0;
}
