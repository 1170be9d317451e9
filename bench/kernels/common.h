/* Shared by the C kernels of bench/kernels.mjs: a monotonic clock and the process's CPU time
 * (which a loaded machine does not inflate), for best-of-N timing. */
#ifndef SWAPMESH_BENCH_COMMON_H
#define SWAPMESH_BENCH_COMMON_H
#include <time.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
