/* rt_parallel_for on POSIX threads: one thread per range, started and joined per call. The work
 * it serves (encoding a tensor) takes far longer than starting a thread, so there is no pool. */
#include "runtime/platform/parallel.h"

#include <pthread.h>
#include <stdbool.h>

#include "runtime/support/alloc.h"

typedef struct parallel_range {
  rt_parallel_fn fn;
  void *ctx;
  uint64_t first, last;
  int worker;
  bool started; /* on a thread of its own, to be joined */
  pthread_t thread;
} parallel_range;

static void *range_run(void *arg) {
  const parallel_range *r = arg;
  r->fn(r->ctx, r->first, r->last, r->worker);
  return NULL;
}

/* Where range i of n_ranges starts: the first n_items % n_ranges ranges hold one item more.
 * Computed without n_items * i, which could overflow. */
static uint64_t range_start(uint64_t n_items, uint64_t n_ranges, uint64_t i) {
  const uint64_t extra = n_items % n_ranges;
  return i * (n_items / n_ranges) + (i < extra ? i : extra);
}

void rt_parallel_for(int n_threads, uint64_t n_items, rt_parallel_fn fn, void *ctx) {
  if (n_items == 0)
    return;
  uint64_t n_ranges = n_threads < 1 ? 1 : (uint64_t)n_threads;
  if (n_ranges > n_items)
    n_ranges = n_items;
  if (n_ranges == 1) {
    fn(ctx, 0, n_items, 0);
    return;
  }
  parallel_range *ranges = rt_calloc((size_t)n_ranges, sizeof *ranges);
  if (!ranges) {
    /* No memory to describe the threads: the same ranges, one after another, here. */
    for (uint64_t i = 0; i < n_ranges; i++)
      fn(ctx, range_start(n_items, n_ranges, i), range_start(n_items, n_ranges, i + 1), (int)i);
    return;
  }
  for (uint64_t i = 0; i < n_ranges; i++) {
    ranges[i].fn = fn;
    ranges[i].ctx = ctx;
    ranges[i].first = range_start(n_items, n_ranges, i);
    ranges[i].last = range_start(n_items, n_ranges, i + 1);
    ranges[i].worker = (int)i;
  }
  for (uint64_t i = 1; i < n_ranges; i++)
    ranges[i].started = pthread_create(&ranges[i].thread, NULL, range_run, &ranges[i]) == 0;
  for (uint64_t i = 1; i < n_ranges; i++)
    if (!ranges[i].started)
      range_run(&ranges[i]);
  range_run(&ranges[0]);
  for (uint64_t i = 1; i < n_ranges; i++)
    if (ranges[i].started)
      pthread_join(ranges[i].thread, NULL);
  rt_free(ranges);
}
