/* chord bench: prompt-processing and generation speed, as llama-bench measures them, through the
 * public C API: a prompt of random tokens fed from an empty cache (pp), and tokens generated one
 * at a time after one token (tg, each step feeding the greedy token of the last), repeated after a
 * warm-up; medians, minima and maxima, the compile time and the process's peak resident set. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "runtime/platform/file.h"
#include "runtime/support/alloc.h"
#include "tools/cli.h"
#include "tools/json_writer.h"
#include "tools/pass_options.h"

static const char bench_usage[] =
    "usage: chord bench [OPTIONS] [MODEL]\n"
    "\n"
    "Measures a model's speed as llama-bench does: pp, a prompt of random tokens fed from an\n"
    "empty cache in steps of -b; tg, -n steps of one token from an empty cache, each feeding\n"
    "the last one's greedy token. Each test runs -r times after a short warm-up; prints tokens/s\n"
    "(median, min, max), the compile time and the peak resident memory.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE         the model (default: the default model)\n"
    "  -p, --n-prompt N         prompt tokens (default 512; 0: no pp test)\n"
    "  -n, --n-gen N            generated tokens (default 128; 0: no tg test)\n"
    "  -r, --repetitions N      runs of each test (default 5)\n"
    "  -t, --threads N          worker threads (default: all CPUs)\n"
    "  -b, --batch-size N       prompt tokens per step (default 512)\n"
    "      --target NAME        where to run: cpu (default) or interp\n"
    "  -O0, -O1, -O2            optimization level (default -O2)\n"
    "  -ctk, --cache-type-k TYPE  the key cache's type: f16 (default) or q8_0\n"
    "      --json               print one JSON object (pp_tokens_per_s, tg_tokens_per_s, ...)\n"
    "  -h, --help               show this help\n";

enum { OPT_TARGET = 256, OPT_JSON, OPT_CACHE_TYPE_K };

typedef struct test_runs {
  const char *name; /* "pp" or "tg" */
  int64_t tokens;
  double *tokens_per_s; /* one per repetition */
  double median, min, max;
} test_runs;

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void summarize(test_runs *t, int reps) {
  double *sorted = rt_malloc((size_t)reps * sizeof *sorted);
  if (!sorted)
    return;
  memcpy(sorted, t->tokens_per_s, (size_t)reps * sizeof *sorted);
  qsort(sorted, (size_t)reps, sizeof *sorted, compare_doubles);
  t->min = sorted[0];
  t->max = sorted[reps - 1];
  t->median = reps % 2 ? sorted[reps / 2] : (sorted[reps / 2 - 1] + sorted[reps / 2]) / 2;
  rt_free(sorted);
}

static int32_t greedy(const float *logits, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; i++)
    if (logits[i] > logits[best])
      best = i;
  return (int32_t)best;
}

/* Milliseconds to feed the n prompt tokens from an empty cache. */
static chord_status run_pp(chord_session *s, const int32_t *prompt, int64_t n, double *ms,
                           chord_error *error) {
  chord_status st = chord_session_reset(s, error);
  double start = rt_time_ms();
  if (st == CHORD_OK)
    st = chord_session_feed(s, prompt, (size_t)n, error);
  *ms = rt_time_ms() - start;
  return st;
}

/* Milliseconds to run n one-token steps from an empty cache: first, then each step's greedy
 * token. */
static chord_status run_tg(chord_session *s, int32_t first, int64_t n, double *ms,
                           chord_error *error) {
  chord_status st = chord_session_reset(s, error);
  double start = rt_time_ms();
  int32_t token = first;
  for (int64_t i = 0; i < n && st == CHORD_OK; i++) {
    st = chord_session_feed(s, &token, 1, error);
    int64_t n_vocab;
    const float *logits = st == CHORD_OK ? chord_session_logits(s, &n_vocab) : NULL;
    token = logits ? greedy(logits, n_vocab) : 0;
  }
  *ms = rt_time_ms() - start;
  return st;
}

/* The process's own peak resident set: Linux's VmHWM, which starts afresh at exec. (ru_maxrss
 * does not: it keeps the parent's peak at fork, so a chord started by a large process, the
 * side-by-side script, would report that process's peak.) ru_maxrss where there is no /proc. */
static double peak_rss_bytes(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  double kib = -1.0;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0)
      kib = strtod(line + 6, NULL);
  if (f)
    fclose(f);
  struct rusage u;
  if (kib < 0.0)
    kib = getrusage(RUSAGE_SELF, &u) == 0 ? (double)u.ru_maxrss : 0.0; /* KiB on Linux */
  return kib * 1024.0;
}

static void print_text(const char *path, const chord_compile_options *co, double compile_ms,
                       const test_runs *tests, int n_tests, int reps) {
  printf("model: %s\ntarget %s, -O%d, %d threads, batch %lld, %d repetitions\n", path, co->target,
         co->opt_level, co->n_threads, (long long)co->n_batch, reps);
  printf("compile: %.1f ms, peak resident memory: %.1f MiB\n\n", compile_ms,
         peak_rss_bytes() / (1 << 20));
  printf("%-8s %12s %12s %12s\n", "test", "tokens/s", "min", "max");
  for (int i = 0; i < n_tests; i++) {
    if (tests[i].tokens == 0)
      continue;
    char name[32];
    snprintf(name, sizeof name, "%s%lld", tests[i].name, (long long)tests[i].tokens);
    printf("%-8s %12.2f %12.2f %12.2f\n", name, tests[i].median, tests[i].min, tests[i].max);
  }
}

/* The key "<test>_<field>" (pp_tokens_per_s). */
static void test_key(json_writer *j, const test_runs *t, const char *field) {
  char key[64];
  snprintf(key, sizeof key, "%s_%s", t->name, field);
  jw_key(j, key);
}

static void print_json(const char *path, const chord_compile_options *co, double compile_ms,
                       const test_runs *tests, int n_tests, int reps) {
  json_writer j;
  jw_init(&j, stdout);
  jw_object_begin(&j);
  jw_key(&j, "model");
  jw_string(&j, path);
  jw_key(&j, "target");
  jw_string(&j, co->target);
  jw_key(&j, "opt_level");
  jw_i64(&j, co->opt_level);
  jw_key(&j, "threads");
  jw_i64(&j, co->n_threads);
  jw_key(&j, "batch");
  jw_i64(&j, co->n_batch);
  jw_key(&j, "repetitions");
  jw_i64(&j, reps);
  jw_key(&j, "compile_ms");
  jw_f64(&j, compile_ms);
  jw_key(&j, "peak_rss_bytes");
  jw_f64(&j, peak_rss_bytes());
  for (int i = 0; i < n_tests; i++) {
    const test_runs *t = &tests[i];
    if (t->tokens == 0)
      continue;
    test_key(&j, t, "tokens");
    jw_i64(&j, t->tokens);
    test_key(&j, t, "tokens_per_s");
    jw_f64(&j, t->median);
    test_key(&j, t, "min");
    jw_f64(&j, t->min);
    test_key(&j, t, "max");
    jw_f64(&j, t->max);
    test_key(&j, t, "runs");
    jw_array_begin(&j);
    for (int r = 0; r < reps; r++)
      jw_f64(&j, t->tokens_per_s[r]);
    jw_array_end(&j);
  }
  jw_object_end(&j);
  jw_finish(&j);
}

int cmd_bench(int argc, char **argv) {
  static const struct option options[] = {
      {"model", required_argument, NULL, 'm'},
      {"n-prompt", required_argument, NULL, 'p'},
      {"n-gen", required_argument, NULL, 'n'},
      {"repetitions", required_argument, NULL, 'r'},
      {"threads", required_argument, NULL, 't'},
      {"batch-size", required_argument, NULL, 'b'},
      {"target", required_argument, NULL, OPT_TARGET},
      {"cache-type-k", required_argument, NULL, OPT_CACHE_TYPE_K},
      {"json", no_argument, NULL, OPT_JSON},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *model_arg = NULL;
  long long n_prompt = 512, n_gen = 128, reps = 5, v = 0;
  bool json = false;
  chord_compile_options co;
  chord_compile_options_default(&co);
  co.opt_level = 2;
  co.n_batch = 512;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  co.n_threads = cpus > 0 ? (int)cpus : 1;
  cli_expand_aliases(argc, argv);
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "m:p:n:r:t:b:O:h", options, NULL)) != -1) {
    bool ok = true;
    switch (c) {
    case 'm': model_arg = optarg; break;
    case 'p': ok = cli_parse_long(optarg, 0, INT32_MAX, &n_prompt); break;
    case 'n': ok = cli_parse_long(optarg, 0, INT32_MAX, &n_gen); break;
    case 'r': ok = cli_parse_long(optarg, 1, 1000, &reps); break;
    case 't':
      ok = cli_parse_long(optarg, 1, 1024, &v);
      co.n_threads = (int)v;
      break;
    case 'b':
      ok = cli_parse_long(optarg, 1, INT32_MAX, &v);
      co.n_batch = v;
      break;
    case OPT_TARGET: co.target = optarg; break;
    case OPT_CACHE_TYPE_K: co.cache_type_k = optarg; break;
    case OPT_JSON: json = true; break;
    case 'O':
      if (!pass_parse_level("bench", optarg, &co.opt_level))
        return 2;
      break;
    case 'h': fputs(bench_usage, stdout); return 0;
    default: return cli_usage_error("bench", "invalid option");
    }
    if (!ok)
      return cli_usage_error("bench", "bad value '%s' for -%c", optarg, c);
  }
  if (optind < argc && !model_arg)
    model_arg = argv[optind++];
  if (optind < argc)
    return cli_usage_error("bench", "unexpected argument '%s'", argv[optind]);
  if (n_prompt == 0 && n_gen == 0)
    return cli_usage_error("bench", "nothing to measure: -p and -n are both 0");
  char path_buf[4096];
  const char *path = cli_model_path(model_arg, path_buf, sizeof path_buf);
  if (!path)
    return 1;

  chord_error error = {0};
  chord_model *model = NULL;
  chord_program *program = NULL;
  chord_session *session = NULL;
  int32_t *prompt = NULL;
  test_runs tests[2] = {{"pp", n_prompt, NULL, 0, 0, 0}, {"tg", n_gen, NULL, 0, 0, 0}};
  int rc = 1;
  co.n_ctx = n_prompt > n_gen ? n_prompt : n_gen;
  if (chord_model_open(path, &model, &error) != CHORD_OK)
    goto fail;
  double start = rt_time_ms();
  if (chord_compile(model, &co, &program, &error) != CHORD_OK)
    goto fail;
  double compile_ms = rt_time_ms() - start;
  if (chord_session_new(program, NULL, &session, &error) != CHORD_OK)
    goto fail;
  /* llama-bench's prompt: random ids over the vocabulary (a fixed seed, so runs compare) */
  uint32_t n_vocab = chord_model_vocab_size(model), seed = 12345;
  int32_t first = 0;
  prompt = rt_malloc((size_t)(n_prompt ? n_prompt : 1) * sizeof *prompt);
  for (int i = 0; i < 2; i++)
    tests[i].tokens_per_s = rt_calloc((size_t)reps, sizeof(double));
  if (!prompt || !tests[0].tokens_per_s || !tests[1].tokens_per_s) {
    rc = cli_error("out of memory");
    goto done;
  }
  for (long long i = 0; i <= n_prompt; i++) { /* and one more: tg's first token */
    seed = seed * 1664525u + 1013904223u;
    int32_t id = (int32_t)((seed >> 8) % (n_vocab ? n_vocab : 1));
    if (i < n_prompt)
      prompt[i] = id;
    else
      first = id;
  }
  double ms;
  /* warm-up: one step of the prompt, one generated token */
  if ((n_prompt && run_pp(session, prompt, n_prompt < co.n_batch ? n_prompt : co.n_batch, &ms,
                          &error) != CHORD_OK) ||
      (n_gen && run_tg(session, first, 1, &ms, &error) != CHORD_OK))
    goto fail;
  for (int t = 0; t < 2; t++) {
    test_runs *test = &tests[t];
    if (test->tokens == 0)
      continue;
    for (int r = 0; r < reps; r++) {
      chord_status st = t == 0 ? run_pp(session, prompt, test->tokens, &ms, &error)
                               : run_tg(session, first, test->tokens, &ms, &error);
      if (st != CHORD_OK)
        goto fail;
      test->tokens_per_s[r] = ms > 0 ? (double)test->tokens * 1000.0 / ms : 0.0;
      fprintf(stderr, "\rchord bench: %s%lld %d/%lld", test->name, (long long)test->tokens, r + 1,
              reps);
    }
    summarize(test, (int)reps);
  }
  fputc('\n', stderr);
  if (json)
    print_json(path, &co, compile_ms, tests, 2, (int)reps);
  else
    print_text(path, &co, compile_ms, tests, 2, (int)reps);
  rc = 0;
  goto done;
fail:
  rc = cli_error("%s", error.message);
done:
  for (int i = 0; i < 2; i++)
    rt_free(tests[i].tokens_per_s);
  rt_free(prompt);
  chord_session_free(session);
  chord_program_free(program);
  chord_model_free(model);
  return rc;
}
