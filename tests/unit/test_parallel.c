/* rt_parallel_for: every item is handled exactly once, by contiguous ranges in worker order, for
 * any number of threads and items (fewer items than threads and none at all included); range 0
 * runs in the caller, and without memory for threads every range runs there. Workers only record
 * what they saw (Criterion's asserts belong to the test's own thread); the test checks it after. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "runtime/platform/parallel.h"
#include "runtime/support/alloc.h"

enum { MAX_WORKERS = 64 };

typedef struct seen_range {
  uint64_t first, last;
  int calls;
  pthread_t thread;
} seen_range;

typedef struct record {
  atomic_int *visits; /* per item; NULL: ranges only (too many items to count) */
  seen_range workers[MAX_WORKERS];
  atomic_int calls, bad_worker;
} record;

static void visit(void *ctx, uint64_t first, uint64_t last, int worker) {
  record *r = ctx;
  atomic_fetch_add(&r->calls, 1);
  if (worker < 0 || worker >= MAX_WORKERS) {
    atomic_fetch_add(&r->bad_worker, 1);
    return;
  }
  seen_range *w = &r->workers[worker];
  w->first = first;
  w->last = last;
  w->thread = pthread_self();
  w->calls++; /* each worker is called once, so no other thread writes this slot */
  for (uint64_t i = first; r->visits && i < last; i++)
    atomic_fetch_add(&r->visits[i], 1);
}

/* Runs one parallel-for and checks everything it promises; returns the record for more checks. */
static record *check_run(int n_threads, uint64_t n_items, bool count_items) {
  record *r = calloc(1, sizeof *r);
  cr_assert_not_null(r);
  if (count_items) {
    r->visits = calloc(n_items ? (size_t)n_items : 1, sizeof *r->visits);
    cr_assert_not_null(r->visits);
  }
  rt_parallel_for(n_threads, n_items, visit, r);
  const uint64_t threads = n_threads < 1 ? 1 : (uint64_t)n_threads;
  const uint64_t want_calls = n_items < threads ? n_items : threads;
  cr_assert_eq(atomic_load(&r->bad_worker), 0, "a worker number out of range");
  cr_assert_eq((uint64_t)atomic_load(&r->calls), want_calls,
               "%d threads, %llu items: %d calls, want %llu", n_threads,
               (unsigned long long)n_items, atomic_load(&r->calls), (unsigned long long)want_calls);
  uint64_t next = 0, smallest = UINT64_MAX, largest = 0;
  for (uint64_t w = 0; w < want_calls; w++) {
    const seen_range *s = &r->workers[w];
    cr_assert_eq(s->calls, 1, "worker %llu called %d times", (unsigned long long)w, s->calls);
    cr_assert_eq(s->first, next, "worker %llu starts at %llu, not %llu", (unsigned long long)w,
                 (unsigned long long)s->first, (unsigned long long)next);
    cr_assert_gt(s->last, s->first, "worker %llu got an empty range", (unsigned long long)w);
    const uint64_t size = s->last - s->first;
    smallest = size < smallest ? size : smallest;
    largest = size > largest ? size : largest;
    next = s->last;
  }
  cr_assert_eq(next, n_items, "the ranges end at %llu, not %llu", (unsigned long long)next,
               (unsigned long long)n_items);
  if (want_calls)
    cr_assert_leq(largest - smallest, 1, "ranges of %llu and %llu items are not balanced",
                  (unsigned long long)smallest, (unsigned long long)largest);
  for (uint64_t i = 0; count_items && i < n_items; i++)
    cr_assert_eq(atomic_load(&r->visits[i]), 1, "item %llu visited %d times", (unsigned long long)i,
                 atomic_load(&r->visits[i]));
  return r;
}

static void record_free(record *r) {
  free(r->visits);
  free(r);
}

Test(parallel, every_item_exactly_once) {
  static const int threads[] = {1, 2, 3, 4, 7, 16, 64};
  static const uint64_t items[] = {0, 1, 2, 3, 5, 6, 7, 15, 16, 17, 63, 64, 65, 100, 1000, 100003};
  for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++)
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
      record_free(check_run(threads[t], items[i], true));
}

Test(parallel, no_items_calls_nothing) {
  for (int t = -1; t <= 8; t++) {
    record *r = check_run(t, 0, true);
    cr_assert_eq(atomic_load(&r->calls), 0);
    record_free(r);
  }
}

Test(parallel, fewer_items_than_threads_gives_one_item_each) {
  record *r = check_run(16, 5, true);
  for (int w = 0; w < 5; w++)
    cr_assert_eq(r->workers[w].last - r->workers[w].first, 1);
  record_free(r);
}

Test(parallel, zero_or_negative_threads_run_in_the_caller) {
  for (int t = -3; t <= 1; t++) {
    record *r = check_run(t, 10, true);
    cr_assert(pthread_equal(r->workers[0].thread, pthread_self()), "%d threads", t);
    record_free(r);
  }
}

Test(parallel, range_zero_runs_in_the_caller) {
  record *r = check_run(4, 1000, true);
  cr_assert(pthread_equal(r->workers[0].thread, pthread_self()));
  record_free(r);
}

/* Without memory for its thread table, rt_parallel_for runs the same ranges in the caller. */
Test(parallel, no_memory_runs_every_range_in_the_caller) {
  rt_alloc_fail_after(0);
  record *r = check_run(4, 1001, true);
  rt_alloc_fail_after(-1);
  for (int w = 0; w < 4; w++)
    cr_assert(pthread_equal(r->workers[w].thread, pthread_self()), "worker %d", w);
  record_free(r);
}

/* Item counts near 2^64: the split must not overflow (only the ranges are checked). */
Test(parallel, huge_item_counts_split_without_overflow) {
  static const uint64_t items[] = {UINT64_MAX, UINT64_MAX - 1, (uint64_t)1 << 63};
  for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
    for (int t = 2; t <= 7; t += 5)
      record_free(check_run(t, items[i], false));
}
