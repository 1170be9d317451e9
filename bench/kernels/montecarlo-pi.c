/* Monte Carlo pi hits: SplitMix64 at counter seed + (i + 1) * gamma and the same integer inside
 * test as workers/kernels/montecarlo-pi.ts.
 * usage: montecarlo-pi seed samples runs */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "common.h"

static uint64_t count_hits(uint64_t seed, uint64_t offset, uint64_t count) {
  const uint64_t gamma = 0x9e3779b97f4a7c15ull;
  uint64_t s = seed + offset * gamma, hits = 0;
  for (uint64_t k = 0; k < count; k++) {
    s += gamma;
    uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    const uint64_t x = z >> 38, y = (z & 0xffffffffull) >> 6;
    if (x * x + y * y < (1ull << 52)) hits++;
  }
  return hits;
}

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  const uint64_t seed = strtoull(argv[1], NULL, 10), samples = strtoull(argv[2], NULL, 10);
  const int runs = atoi(argv[3]);
  double best = 1e30, bestCpu = 1e30;
  uint64_t hits = 0;
  for (int r = 0; r < runs; r++) {
    const double c0 = cpu_seconds();
    const double t0 = now_seconds();
    hits = count_hits(seed, 0, samples);
    const double t = now_seconds() - t0;
    const double c = cpu_seconds() - c0;
    if (c < bestCpu) bestCpu = c;
    if (t < best) best = t;
  }
  printf("{\"seconds\":%.6f,\"cpuSeconds\":%.6f,\"hits\":%llu}\n", best, bestCpu, (unsigned long long)hits);
  return 0;
}
