/* Time to open a GGUF model and read its metadata and tensor table (mmap + full validation),
 * the cost every chord command pays before it does anything else.
 *
 * usage: bench_open [MODEL] [REPETITIONS]   (default: the default model, 50 repetitions)
 * Prints median, min and max in milliseconds, plus one JSON line for scripts. */
#include <stdio.h>
#include <stdlib.h>

#include "frontends/gguf/gguf.h"

static int compare_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  char default_path[4096];
  chord_error error;
  const char *path = argc > 1 ? argv[1] : NULL;
  if (!path) {
    if (chord_default_model_path(default_path, sizeof default_path, &error) != CHORD_OK) {
      fprintf(stderr, "bench_open: %s\n", error.message);
      return 1;
    }
    path = default_path;
  }
  int reps = argc > 2 ? atoi(argv[2]) : 50;
  if (reps < 1)
    reps = 1;
  double *ms = calloc((size_t)reps, sizeof *ms);
  if (!ms)
    return 1;
  uint64_t tensors = 0, keys = 0;
  for (int i = 0; i < reps; i++) {
    double start = rt_time_ms();
    gguf_file *f;
    if (gguf_open(path, &f, &error) != CHORD_OK) {
      fprintf(stderr, "bench_open: %s\n", error.message);
      free(ms);
      return 1;
    }
    tensors = f->n_tensors;
    keys = f->n_kv;
    gguf_close(f);
    ms[i] = rt_time_ms() - start;
  }
  qsort(ms, (size_t)reps, sizeof *ms, compare_double);
  double median = ms[reps / 2];
  printf("open %s: %llu keys, %llu tensors: median %.3f ms, min %.3f ms, max %.3f ms (%d runs)\n",
         path, (unsigned long long)keys, (unsigned long long)tensors, median, ms[0], ms[reps - 1],
         reps);
  printf("{\"median_ms\": %.4f, \"min_ms\": %.4f, \"max_ms\": %.4f, \"runs\": %d}\n", median, ms[0],
         ms[reps - 1], reps);
  free(ms);
  return 0;
}
