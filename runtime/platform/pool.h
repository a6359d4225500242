/* A pool of worker threads that stay alive between calls, for work split many times a second
 * (a model's matmuls: over a hundred per generated token), where starting threads per call
 * (rt_parallel_for) would cost as much as the work. Workers spin a little while after a job, then
 * sleep on a condition variable until the next. */
#ifndef CHORD_RUNTIME_POOL_H
#define CHORD_RUNTIME_POOL_H

#include <stdint.h>

#include "runtime/platform/parallel.h"

typedef struct rt_pool rt_pool;

/* A pool for n_threads-way work: n_threads - 1 workers besides the calling thread. NULL when
 * n_threads is below 2 or nothing could be allocated; the first thread that fails to start leaves
 * a smaller pool (rt_pool_threads says how many). */
rt_pool *rt_pool_create(int n_threads);
void rt_pool_free(rt_pool *pool);
/* The ways the pool splits work (1 for NULL). */
int rt_pool_threads(const rt_pool *pool);

/* As rt_parallel_for with rt_pool_threads(pool) threads: [0, n_items) in contiguous ranges of
 * nearly equal size, range 0 in the caller, range i on worker i; returns when all are done. A NULL
 * pool runs everything in the caller. One call at a time per pool. */
void rt_pool_for(rt_pool *pool, uint64_t n_items, rt_parallel_fn fn, void *ctx);

/* [0, n_items) in chunks of chunk items (the last may be shorter), each thread taking the next
 * chunk not yet taken until none is left, so that a thread slowed down (another process on its
 * core) takes fewer: fn runs once per chunk, with the number of the thread that runs it (0 the
 * caller). For work whose items are independent and whose result does not depend on who computes
 * what (matmul columns). A NULL pool runs every chunk in the caller, in order. */
void rt_pool_for_chunks(rt_pool *pool, uint64_t n_items, uint64_t chunk, rt_parallel_fn fn,
                        void *ctx);

#endif
