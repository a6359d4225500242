/* Tokenizer throughput on its own (no llama.cpp, no Python): tokenizes a file REPS times with a
 * vocabulary and prints the median in MiB/s. bench/bench_tokenize.py runs the side-by-side
 * comparison with llama.cpp.
 *
 * usage: bench_tokenize VOCAB.gguf FILE [REPS] [--parse-special] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/platform/file.h"
#include "runtime/tokenizer/tokenizer.h"

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s VOCAB.gguf FILE [REPS] [--parse-special]\n", argv[0]);
    return 2;
  }
  int reps = argc > 3 && argv[3][0] != '-' ? atoi(argv[3]) : 5;
  bool parse_special = argc > 3 && strcmp(argv[argc - 1], "--parse-special") == 0;
  if (reps < 1)
    reps = 1;
  chord_error error;
  double t0 = rt_time_ms();
  tok_vocab *vocab;
  if (tok_vocab_open(argv[1], &vocab, &error) != CHORD_OK) {
    fprintf(stderr, "%s\n", error.message);
    return 1;
  }
  double load_ms = rt_time_ms() - t0;
  rt_mapped_file text;
  if (rt_file_map(argv[2], &text, &error) != CHORD_OK) {
    fprintf(stderr, "%s\n", error.message);
    return 1;
  }
  double *ms = malloc((size_t)reps * sizeof *ms);
  size_t count = 0;
  for (int r = 0; r < reps; r++) {
    tok_ids ids = {0};
    double t = rt_time_ms();
    if (tok_tokenize(vocab, (const char *)text.data, text.size, false, parse_special, &ids,
                     &error) != CHORD_OK) {
      fprintf(stderr, "%s\n", error.message);
      return 1;
    }
    ms[r] = rt_time_ms() - t;
    count = ids.count;
    tok_ids_free(&ids);
  }
  qsort(ms, (size_t)reps, sizeof *ms, by_value);
  double median = ms[reps / 2];
  printf("%s: %llu bytes -> %zu tokens, median %.1f ms of %d (%.2f MiB/s); vocabulary loaded in "
         "%.1f ms\n",
         argv[1], (unsigned long long)text.size, count, median, reps,
         (double)text.size / (1 << 20) / (median / 1e3), load_ms);
  free(ms);
  rt_file_unmap(&text);
  tok_vocab_free(vocab);
  return 0;
}
