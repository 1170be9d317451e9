/* Primes in [0, upTo] by the segmented odd-only sieve of workers/kernels/prime-sieve.ts
 * (sieveRange): count, sum mod 2^32 and largest prime.
 * usage: prime-sieve upTo segmentSize runs */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"

typedef struct { uint32_t count, checksum, last; } result_t;

static result_t sieve_range(uint32_t lo, uint32_t hi, uint32_t segmentSize) {
  result_t r = {0, 0, 0};
  if (lo <= 2 && hi > 2) { r.count = 1; r.checksum = 2; r.last = 2; }
  if (hi <= 3) return r;
  uint32_t limit = (uint32_t)sqrt((double)(hi - 1));
  while ((uint64_t)limit * limit > hi - 1) limit--;
  while ((uint64_t)(limit + 1) * (limit + 1) <= hi - 1) limit++;
  uint8_t *small = calloc(limit / 2 + 1, 1);
  uint32_t *primes = malloc((limit / 2 + 1) * sizeof(uint32_t));
  uint32_t *next = malloc((limit / 2 + 1) * sizeof(uint32_t));
  uint32_t n = 0;
  for (uint32_t k = 1; 2 * k + 1 <= limit; k++) {
    if (small[k]) continue;
    const uint32_t p = 2 * k + 1;
    primes[n++] = p;
    for (uint32_t j = (p * p - 1) / 2; 2 * j + 1 <= limit; j += p) small[j] = 1;
  }
  const uint32_t kLo = lo / 2 > 1 ? lo / 2 : 1, kHi = hi / 2, vLo = 2 * kLo + 1;
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t p = primes[i];
    uint32_t m = (vLo + p - 1) / p * p;
    if (m < p * p) m = p * p;
    if ((m & 1) == 0) m += p;
    next[i] = (m - 1) / 2;
  }
  uint8_t *seg = malloc(segmentSize);
  for (uint32_t kS = kLo; kS < kHi; kS += segmentSize) {
    const uint32_t kE = kHi - kS < segmentSize ? kHi : kS + segmentSize, len = kE - kS;
    memset(seg, 0, len);
    for (uint32_t i = 0; i < n; i++) {
      const uint32_t p = primes[i];
      uint32_t j = next[i] - kS;
      for (; j < len; j += p) seg[j] = 1;
      next[i] = j + kS;
    }
    for (uint32_t i = 0; i < len; i++) {
      if (!seg[i]) {
        const uint32_t v = 2 * (kS + i) + 1;
        r.count++;
        r.checksum += v;
        r.last = v;
      }
    }
  }
  free(seg); free(next); free(primes); free(small);
  return r;
}

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  const uint32_t upTo = (uint32_t)strtoul(argv[1], NULL, 10), segmentSize = (uint32_t)strtoul(argv[2], NULL, 10);
  const int runs = atoi(argv[3]);
  double best = 1e30, bestCpu = 1e30;
  result_t r = {0, 0, 0};
  for (int i = 0; i < runs; i++) {
    const double c0 = cpu_seconds();
    const double t0 = now_seconds();
    r = sieve_range(0, upTo + 1, segmentSize);
    const double t = now_seconds() - t0;
    const double c = cpu_seconds() - c0;
    if (c < bestCpu) bestCpu = c;
    if (t < best) best = t;
  }
  printf("{\"seconds\":%.6f,\"cpuSeconds\":%.6f,\"count\":%u,\"checksum\":%u,\"largest\":%u}\n", best, bestCpu, r.count, r.checksum, r.last);
  return 0;
}
