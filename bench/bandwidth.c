/* A STREAM-style read-bandwidth probe: how many bytes per second this machine's cores can read
 * from memory, the bound a decode step works against (every weight byte is read once per token).
 * Each of -t threads sums its own slice of a buffer much larger than the caches, eight 64-bit
 * lanes at a time so that the loop is limited by loads, not by the additions; the figure is the
 * best of -r passes (the first pass, which faults the pages in, is not timed).
 *
 * usage: bench_bandwidth [-t THREADS] [-m MIB] [-r PASSES] [--json]
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct slice {
  const uint64_t *data;
  size_t words;
  uint64_t sum; /* kept, so that the reads cannot be dropped */
} slice;

typedef struct pass_sync {
  pthread_barrier_t start, done;
  int passes;
} pass_sync;

typedef struct worker {
  slice part;
  pass_sync *sync;
} worker;

static uint64_t read_slice(const uint64_t *p, size_t words) {
  uint64_t a[8] = {0};
  size_t i = 0;
  for (; i + 8 <= words; i += 8)
    for (int k = 0; k < 8; k++)
      a[k] += p[i + k];
  for (; i < words; i++)
    a[0] += p[i];
  return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

static void *work(void *arg) {
  worker *w = arg;
  for (int pass = 0; pass <= w->sync->passes; pass++) {
    pthread_barrier_wait(&w->sync->start);
    w->part.sum += read_slice(w->part.data, w->part.words);
    pthread_barrier_wait(&w->sync->done);
  }
  return NULL;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static long parse_positive(const char *flag, const char *text) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (end == text || *end || errno || v < 1) {
    fprintf(stderr, "bench_bandwidth: %s wants a positive number, got '%s'\n", flag, text);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  long threads = sysconf(_SC_NPROCESSORS_ONLN), mib = 1024, passes = 10;
  bool json = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) {
      json = true;
    } else if (i + 1 < argc && !strcmp(argv[i], "-t")) {
      threads = parse_positive("-t", argv[++i]);
    } else if (i + 1 < argc && !strcmp(argv[i], "-m")) {
      mib = parse_positive("-m", argv[++i]);
    } else if (i + 1 < argc && !strcmp(argv[i], "-r")) {
      passes = parse_positive("-r", argv[++i]);
    } else {
      fprintf(stderr, "usage: bench_bandwidth [-t THREADS] [-m MIB] [-r PASSES] [--json]\n");
      return 2;
    }
  }
  size_t words = (size_t)mib << 17; /* MiB of 8-byte words */
  uint64_t *data = malloc(words * sizeof *data);
  worker *workers = calloc((size_t)threads, sizeof *workers);
  pthread_t *ids = calloc((size_t)threads, sizeof *ids);
  if (!data || !workers || !ids) {
    fprintf(stderr, "bench_bandwidth: cannot allocate %ld MiB\n", mib);
    return 1;
  }
  for (size_t i = 0; i < words; i++)
    data[i] = i;
  pass_sync sync = {.passes = (int)passes};
  pthread_barrier_init(&sync.start, NULL, (unsigned)threads + 1);
  pthread_barrier_init(&sync.done, NULL, (unsigned)threads + 1);
  size_t per = words / (size_t)threads;
  for (long t = 0; t < threads; t++) {
    size_t first = (size_t)t * per;
    workers[t] = (worker){{data + first, t == threads - 1 ? words - first : per, 0}, &sync};
    pthread_create(&ids[t], NULL, work, &workers[t]);
  }
  double best = 0;
  for (int pass = 0; pass <= (int)passes; pass++) {
    double t0 = now();
    pthread_barrier_wait(&sync.start);
    pthread_barrier_wait(&sync.done);
    double s = now() - t0;
    if (pass > 0 && (best == 0 || s < best)) /* pass 0 warms the caches' and TLB's state */
      best = s;
  }
  uint64_t sum = 0;
  for (long t = 0; t < threads; t++) {
    pthread_join(ids[t], NULL);
    sum += workers[t].part.sum;
  }
  double gb_per_s = (double)(words * sizeof *data) / best / 1e9;
  if (json)
    printf("{\"threads\": %ld, \"buffer_mib\": %ld, \"passes\": %ld, \"read_gb_per_s\": %.2f, "
           "\"checksum\": %" PRIu64 "}\n",
           threads, mib, passes, gb_per_s, sum);
  else
    printf("read bandwidth: %.2f GB/s (%ld threads, %ld MiB, best of %ld passes)\n", gb_per_s,
           threads, mib, passes);
  free(data);
  free(workers);
  free(ids);
  return 0;
}
