/* Nonce search: SHA-256(prefix + decimal nonce) with at least `difficulty` leading zero bits,
 * with the midstate and in-place digit increment of workers/kernels/sha256-nonce.ts.
 * usage: sha256-nonce prefix difficulty start count runs */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"

static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress(uint32_t *state, const uint8_t *block) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 | (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    const uint32_t x = w[i - 15], y = w[i - 2];
    w[i] = w[i - 16] + (ROTR(x, 7) ^ ROTR(x, 18) ^ (x >> 3)) + w[i - 7] + (ROTR(y, 17) ^ ROTR(y, 19) ^ (y >> 10));
  }
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
  for (int i = 0; i < 64; i++) {
    const uint32_t t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    const uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  state[0] += a; state[1] += b; state[2] += c; state[3] += d; state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

static int pad_tail(uint8_t *tail, int used, uint64_t total) {
  const int length = used + 9 <= 64 ? 64 : 128;
  tail[used] = 0x80;
  memset(tail + used + 1, 0, (size_t)(length - 8 - used - 1));
  const uint64_t bits = total * 8;
  for (int i = 0; i < 8; i++) tail[length - 1 - i] = (uint8_t)(bits >> (8 * i));
  return length;
}

/* Returns how many nonces qualify; stores the first `max_out` in `out`. */
static long search(const uint8_t *prefix, int prefix_length, int difficulty, uint64_t start, uint64_t count, uint64_t *out, long max_out) {
  uint32_t mid[8], state[8];
  memcpy(mid, H0, sizeof mid);
  const int full = prefix_length - prefix_length % 64, rem = prefix_length - full;
  for (int off = 0; off < full; off += 64) compress(mid, prefix + off);
  uint8_t tail[128];
  memcpy(tail, prefix + full, (size_t)rem);
  char text[24];
  int digits = snprintf(text, sizeof text, "%llu", (unsigned long long)start);
  memcpy(tail + rem, text, (size_t)digits);
  int tail_length = pad_tail(tail, rem + digits, (uint64_t)(prefix_length + digits));
  const int shift = 32 - difficulty;
  long found = 0;
  for (uint64_t k = 0; k < count; k++) {
    memcpy(state, mid, sizeof state);
    compress(state, tail);
    if (tail_length == 128) compress(state, tail + 64);
    if ((state[0] >> shift) == 0) {
      if (found < max_out) out[found] = start + k;
      found++;
    }
    int i = rem + digits - 1;
    while (i >= rem && tail[i] == '9') tail[i--] = '0';
    if (i >= rem) tail[i]++;
    else {
      digits++;
      tail[rem] = '1';
      memset(tail + rem + 1, '0', (size_t)(digits - 1));
      tail_length = pad_tail(tail, rem + digits, (uint64_t)(prefix_length + digits));
    }
  }
  return found;
}

int main(int argc, char **argv) {
  if (argc != 6) return 2;
  const char *prefix = argv[1];
  const int difficulty = atoi(argv[2]);
  const uint64_t start = strtoull(argv[3], NULL, 10), count = strtoull(argv[4], NULL, 10);
  const int runs = atoi(argv[5]);
  uint64_t nonces[1000];
  long found = 0;
  double best = 1e30, bestCpu = 1e30;
  for (int r = 0; r < runs; r++) {
    const double c0 = cpu_seconds();
    const double t0 = now_seconds();
    found = search((const uint8_t *)prefix, (int)strlen(prefix), difficulty, start, count, nonces, 1000);
    const double t = now_seconds() - t0;
    const double c = cpu_seconds() - c0;
    if (c < bestCpu) bestCpu = c;
    if (t < best) best = t;
  }
  printf("{\"seconds\":%.6f,\"cpuSeconds\":%.6f,\"found\":%ld,\"nonces\":[", best, bestCpu, found);
  for (long i = 0; i < found && i < 1000; i++) printf("%s%llu", i ? "," : "", (unsigned long long)nonces[i]);
  printf("]}\n");
  return 0;
}
