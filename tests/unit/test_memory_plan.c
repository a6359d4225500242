/* memory_plan: on random lifetimes and sizes, no two buffers alive at the same step overlap,
 * offsets are aligned, the arena holds every buffer, and it is no larger than the sum of all
 * buffers and no smaller than the most bytes alive at one step; memory is reused once buffers
 * die (a chain of short-lived buffers needs two slots, not n). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "runtime/memory_plan.h"

enum { N = 300 };

static size_t round_up(size_t x) { return (x + 63) & ~(size_t)63; }

static void check_plan(const size_t *bytes, const uint32_t *last_use, uint32_t n) {
  size_t offsets[N], total = 0, sum = 0, peak = 0;
  cr_assert(memory_plan(n, bytes, last_use, 64, offsets, &total));
  for (uint32_t i = 0; i < n; i++) {
    sum += round_up(bytes[i]);
    cr_assert_eq(offsets[i] % 64, 0, "buffer %u at %zu", i, offsets[i]);
    cr_assert_leq(offsets[i] + bytes[i], total, "buffer %u outside the arena", i);
  }
  for (uint32_t step = 0; step < n; step++) {
    size_t live = 0;
    for (uint32_t i = 0; i <= step; i++) {
      if (!bytes[i] || last_use[i] < step)
        continue;
      live += round_up(bytes[i]);
      for (uint32_t j = i + 1; j <= step; j++) {
        if (!bytes[j] || last_use[j] < step)
          continue;
        bool apart = offsets[i] + bytes[i] <= offsets[j] || offsets[j] + bytes[j] <= offsets[i];
        cr_assert(apart, "buffers %u and %u overlap at step %u", i, j, step);
      }
    }
    peak = live > peak ? live : peak;
  }
  cr_assert_leq(total, sum);
  cr_assert_geq(total, peak);
}

Test(memory_plan, random_lifetimes_never_overlap) {
  size_t bytes[N];
  uint32_t last_use[N];
  uint32_t seed = 7;
  for (int round = 0; round < 20; round++) {
    for (uint32_t i = 0; i < N; i++) {
      seed = seed * 1664525u + 1013904223u;
      bytes[i] = (seed >> 8) % 5 == 0 ? 0 : 1 + (seed >> 12) % 4096;
      uint32_t span = (seed >> 20) % (round % 2 ? 8 : 64);
      last_use[i] = (seed & 255) == 0 ? UINT32_MAX : (i + span < N ? i + span : N - 1);
    }
    check_plan(bytes, last_use, N);
  }
}

Test(memory_plan, a_chain_reuses_memory) {
  size_t bytes[N], offsets[N], total;
  uint32_t last_use[N];
  for (uint32_t i = 0; i < N; i++) {
    bytes[i] = 1000;
    last_use[i] = i + 1 < N ? i + 1 : UINT32_MAX; /* each used by the next only */
  }
  cr_assert(memory_plan(N, bytes, last_use, 64, offsets, &total));
  cr_assert_eq(total, 2 * round_up(1000), "a chain needs two slots, got %zu bytes", total);
  check_plan(bytes, last_use, N);
}

Test(memory_plan, nothing_to_plan) {
  size_t offsets[1], total = 1;
  cr_assert(memory_plan(0, NULL, NULL, 64, offsets, &total));
  cr_assert_eq(total, 0);
}
