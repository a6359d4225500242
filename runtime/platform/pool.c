/* rt_pool on POSIX threads (runtime/platform/pool.h). A job is published by bumping a generation
 * counter; workers see it by spinning on the counter for a short while (a decode step's matmuls
 * come tens of microseconds apart) and otherwise by waiting on the condition variable; the caller
 * takes range 0 and then waits, spinning, for the workers' count to reach zero. */
#include "runtime/platform/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "runtime/support/alloc.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

/* How long a worker spins for the next job before it sleeps (pauses: some tens of microseconds). */
enum { POOL_SPINS = 1 << 14 };

typedef struct pool_worker {
  rt_pool *pool;
  int index; /* its range: 1 .. n_workers */
  pthread_t thread;
} pool_worker;

struct rt_pool {
  int n_workers;
  pool_worker *workers;
  pthread_mutex_t mutex;
  pthread_cond_t wake;
  atomic_uint generation; /* bumped for each job and to stop */
  atomic_int pending;     /* workers that have not finished the current job */
  atomic_bool stop;
  /* the current job, written before generation is bumped */
  rt_parallel_fn fn;
  void *ctx;
  uint64_t n_items;
  int n_ranges;
  /* chunked jobs (rt_pool_for_chunks): chunk > 0, and the next chunk's first item */
  uint64_t chunk;
  atomic_uint_fast64_t next;
};

/* Where range i of n_ranges starts (as rt_parallel_for splits). */
static uint64_t range_start(uint64_t n_items, uint64_t n_ranges, uint64_t i) {
  const uint64_t extra = n_items % n_ranges;
  return i * (n_items / n_ranges) + (i < extra ? i : extra);
}

static void run_range(rt_pool *pool, int i) {
  if (pool->chunk) { /* chunks claimed one at a time until none is left */
    for (;;) {
      uint64_t first = atomic_fetch_add(&pool->next, pool->chunk);
      if (first >= pool->n_items)
        return;
      uint64_t last = pool->n_items - first < pool->chunk ? pool->n_items : first + pool->chunk;
      pool->fn(pool->ctx, first, last, i);
    }
  }
  if (i >= pool->n_ranges)
    return;
  uint64_t n = pool->n_items, r = (uint64_t)pool->n_ranges;
  pool->fn(pool->ctx, range_start(n, r, (uint64_t)i), range_start(n, r, (uint64_t)i + 1), i);
}

static void *worker_main(void *arg) {
  pool_worker *w = arg;
  rt_pool *pool = w->pool;
  unsigned seen = 0;
  for (;;) {
    for (int spin = 0; spin < POOL_SPINS && atomic_load(&pool->generation) == seen; spin++)
      CPU_RELAX();
    if (atomic_load(&pool->generation) == seen) {
      pthread_mutex_lock(&pool->mutex);
      while (atomic_load(&pool->generation) == seen)
        pthread_cond_wait(&pool->wake, &pool->mutex);
      pthread_mutex_unlock(&pool->mutex);
    }
    seen = atomic_load(&pool->generation);
    if (atomic_load(&pool->stop))
      return NULL;
    run_range(pool, w->index);
    atomic_fetch_sub(&pool->pending, 1);
  }
}

/* Publishes the job (or the stop) and wakes the sleepers; under the mutex, so that a worker about
 * to wait cannot miss it. */
static void publish(rt_pool *pool) {
  pthread_mutex_lock(&pool->mutex);
  atomic_fetch_add(&pool->generation, 1);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->mutex);
}

rt_pool *rt_pool_create(int n_threads) {
  if (n_threads < 2)
    return NULL;
  rt_pool *pool = rt_calloc(1, sizeof *pool);
  if (!pool)
    return NULL;
  pool->workers = rt_calloc((size_t)(n_threads - 1), sizeof *pool->workers);
  if (!pool->workers || pthread_mutex_init(&pool->mutex, NULL) != 0) {
    rt_free(pool->workers);
    rt_free(pool);
    return NULL;
  }
  pthread_cond_init(&pool->wake, NULL);
  atomic_init(&pool->generation, 0);
  atomic_init(&pool->pending, 0);
  atomic_init(&pool->stop, false);
  for (int i = 0; i < n_threads - 1; i++) {
    pool_worker *w = &pool->workers[i];
    w->pool = pool;
    w->index = i + 1;
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
      break;
    pool->n_workers++;
  }
  return pool;
}

void rt_pool_free(rt_pool *pool) {
  if (!pool)
    return;
  atomic_store(&pool->stop, true);
  publish(pool);
  for (int i = 0; i < pool->n_workers; i++)
    pthread_join(pool->workers[i].thread, NULL);
  pthread_cond_destroy(&pool->wake);
  pthread_mutex_destroy(&pool->mutex);
  rt_free(pool->workers);
  rt_free(pool);
}

int rt_pool_threads(const rt_pool *pool) { return pool ? pool->n_workers + 1 : 1; }

/* Runs the job set up in pool on every thread and returns when all are done. */
static void run_job(rt_pool *pool) {
  atomic_store(&pool->pending, pool->n_workers);
  publish(pool);
  run_range(pool, 0);
  /* spin while the workers finish their ranges; past the spinning budget yield the core, which
   * on a loaded machine may be the one a worker is waiting for */
  for (int spin = 0; atomic_load(&pool->pending) > 0; spin++) {
    if (spin < POOL_SPINS)
      CPU_RELAX();
    else
      sched_yield();
  }
}

void rt_pool_for(rt_pool *pool, uint64_t n_items, rt_parallel_fn fn, void *ctx) {
  if (n_items == 0)
    return;
  if (!pool || pool->n_workers == 0 || n_items == 1) {
    fn(ctx, 0, n_items, 0);
    return;
  }
  uint64_t ways = (uint64_t)pool->n_workers + 1;
  pool->fn = fn;
  pool->ctx = ctx;
  pool->n_items = n_items;
  pool->n_ranges = (int)(n_items < ways ? n_items : ways);
  pool->chunk = 0;
  run_job(pool);
}

void rt_pool_for_chunks(rt_pool *pool, uint64_t n_items, uint64_t chunk, rt_parallel_fn fn,
                        void *ctx) {
  if (n_items == 0)
    return;
  if (chunk == 0)
    chunk = 1;
  if (!pool || pool->n_workers == 0 || n_items <= chunk) {
    for (uint64_t first = 0; first < n_items; first += chunk)
      fn(ctx, first, n_items - first < chunk ? n_items : first + chunk, 0);
    return;
  }
  pool->fn = fn;
  pool->ctx = ctx;
  pool->n_items = n_items;
  pool->chunk = chunk;
  atomic_store(&pool->next, 0);
  run_job(pool);
}
