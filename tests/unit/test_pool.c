/* rt_pool: every item handled exactly once in contiguous ranges by worker order, over many jobs
 * in a row on the same workers (the case it exists for), with fewer items than threads, one item
 * and none; range 0 in the caller; a NULL pool runs all in the caller. Workers only record what
 * they saw; the test's thread checks it. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/platform/pool.h"

enum { MAX_WORKERS = 16, MAX_ITEMS = 4096 };

typedef struct job_record {
  atomic_int visits[MAX_ITEMS];
  uint64_t first[MAX_WORKERS], last[MAX_WORKERS];
  int calls[MAX_WORKERS];
  pthread_t thread[MAX_WORKERS];
  atomic_int bad;
} job_record;

static void visit(void *ctx, uint64_t first, uint64_t last, int worker) {
  job_record *r = ctx;
  if (worker < 0 || worker >= MAX_WORKERS || first >= last || last > MAX_ITEMS) {
    atomic_fetch_add(&r->bad, 1);
    return;
  }
  r->first[worker] = first;
  r->last[worker] = last;
  r->calls[worker]++;
  r->thread[worker] = pthread_self();
  for (uint64_t i = first; i < last; i++)
    atomic_fetch_add(&r->visits[i], 1);
}

static void check_job(rt_pool *pool, uint64_t n_items, job_record *r) {
  memset(r, 0, sizeof *r);
  rt_pool_for(pool, n_items, visit, r);
  cr_assert_eq(atomic_load(&r->bad), 0, "a call with a bad range or worker");
  uint64_t ways = (uint64_t)rt_pool_threads(pool);
  uint64_t ranges = n_items < ways ? n_items : ways, next = 0;
  for (uint64_t w = 0; w < ranges; w++) {
    cr_assert_eq(r->calls[w], 1, "worker %llu called %d times", (unsigned long long)w, r->calls[w]);
    cr_assert_eq(r->first[w], next, "range %llu does not follow the one before",
                 (unsigned long long)w);
    uint64_t size = r->last[w] - r->first[w];
    cr_assert(size == n_items / ranges || size == n_items / ranges + 1, "unbalanced ranges");
    next = r->last[w];
  }
  for (uint64_t w = ranges; w < MAX_WORKERS; w++)
    cr_assert_eq(r->calls[w], 0, "worker %llu has no range but was called", (unsigned long long)w);
  cr_assert_eq(next, n_items);
  for (uint64_t i = 0; i < n_items; i++)
    cr_assert_eq(atomic_load(&r->visits[i]), 1, "item %llu seen %d times", (unsigned long long)i,
                 atomic_load(&r->visits[i]));
  if (ranges)
    cr_assert(pthread_equal(r->thread[0], pthread_self()), "range 0 ran on another thread");
}

Test(pool, many_jobs_in_a_row_each_item_once) {
  job_record *r = malloc(sizeof *r);
  cr_assert_not_null(r);
  for (int threads = 2; threads <= 5; threads++) {
    rt_pool *pool = rt_pool_create(threads);
    cr_assert_not_null(pool);
    cr_assert_eq(rt_pool_threads(pool), threads);
    for (int job = 0; job < 500; job++)
      check_job(pool, (uint64_t)(job * 37 % MAX_ITEMS), r);
    check_job(pool, 1, r);
    check_job(pool, (uint64_t)threads - 1, r);
    rt_pool_free(pool);
  }
  free(r);
}

Test(pool, sleeping_workers_wake_for_the_next_job) {
  job_record *r = malloc(sizeof *r);
  cr_assert_not_null(r);
  rt_pool *pool = rt_pool_create(3);
  for (int job = 0; job < 3; job++) {
    struct timespec pause = {0, 50 * 1000 * 1000}; /* past the workers' spinning */
    nanosleep(&pause, NULL);
    check_job(pool, 1000, r);
  }
  rt_pool_free(pool);
  free(r);
}

Test(pool, no_pool_runs_in_the_caller) {
  cr_assert_null(rt_pool_create(1));
  cr_assert_null(rt_pool_create(0));
  cr_assert_eq(rt_pool_threads(NULL), 1);
  job_record *r = malloc(sizeof *r);
  cr_assert_not_null(r);
  check_job(NULL, 100, r);
  check_job(NULL, 0, r);
  rt_pool_free(NULL);
  free(r);
}

/* Chunked jobs: every item once, in chunks that start at multiples of the chunk size and hold it
 * (the last one the rest), whichever threads take them; mixed with ranged jobs on the same pool. */
static void visit_chunk(void *ctx, uint64_t first, uint64_t last, int worker) {
  job_record *r = ctx;
  uint64_t chunk = (uint64_t)r->calls[MAX_WORKERS - 1]; /* set by check_chunks, read only */
  if (worker < 0 || worker >= MAX_WORKERS - 1 || first >= last || last > MAX_ITEMS ||
      first % chunk != 0 || (last - first != chunk && last != r->last[MAX_WORKERS - 1])) {
    atomic_fetch_add(&r->bad, 1);
    return;
  }
  for (uint64_t i = first; i < last; i++)
    atomic_fetch_add(&r->visits[i], 1);
}

static void check_chunks(rt_pool *pool, uint64_t n_items, uint64_t chunk, job_record *r) {
  memset(r, 0, sizeof *r);
  r->calls[MAX_WORKERS - 1] = (int)chunk;
  r->last[MAX_WORKERS - 1] = n_items;
  rt_pool_for_chunks(pool, n_items, chunk, visit_chunk, r);
  cr_assert_eq(atomic_load(&r->bad), 0, "a chunk with a bad range or thread (%llu items by %llu)",
               (unsigned long long)n_items, (unsigned long long)chunk);
  for (uint64_t i = 0; i < n_items; i++)
    cr_assert_eq(atomic_load(&r->visits[i]), 1, "item %llu seen %d times", (unsigned long long)i,
                 atomic_load(&r->visits[i]));
}

Test(pool, chunks_cover_every_item_once) {
  job_record *r = malloc(sizeof *r);
  cr_assert_not_null(r);
  static const uint64_t chunks[] = {1, 7, 64};
  for (int threads = 1; threads <= 4; threads++) {
    rt_pool *pool = rt_pool_create(threads); /* NULL for 1: all in the caller */
    for (int job = 0; job < 300; job++) {
      check_chunks(pool, (uint64_t)(job * 37 % MAX_ITEMS), chunks[job % 3], r);
      check_job(pool, (uint64_t)(job * 11 % MAX_ITEMS), r);
    }
    check_chunks(pool, 0, 8, r);
    check_chunks(pool, 5, 8, r);
    check_chunks(pool, 9, 8, r);
    rt_pool_free(pool);
  }
  free(r);
}
