/* The platform layer for threads: one parallel-for over a range of items. */
#ifndef CHORD_RUNTIME_PARALLEL_H
#define CHORD_RUNTIME_PARALLEL_H

#include <stdint.h>

/* Handles items [first, last) as worker `worker`. */
typedef void (*rt_parallel_fn)(void *ctx, uint64_t first, uint64_t last, int worker);

/* Splits [0, n_items) into min(n_threads, n_items) contiguous ranges of nearly equal size, in
 * order (range i is worker i), and calls fn once for each: range 0 in the calling thread, the
 * others on threads of their own. A range whose thread cannot start runs in the caller instead,
 * so the ranges and worker numbers never depend on how many threads started. Returns when every
 * range is done. fn is never called with an empty range (so never for n_items == 0); n_threads
 * below 1 counts as 1. Errors are fn's to record in ctx, one slot per worker or atomically. */
void rt_parallel_for(int n_threads, uint64_t n_items, rt_parallel_fn fn, void *ctx);

#endif
