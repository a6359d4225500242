#include "tools/pass_options.h"

#include <stdio.h>
#include <string.h>

#include "ir/stats.h"
#include "runtime/interp/interp.h"
#include "tools/cli.h"

/* A comma-separated list of passes as a bit set (1 << pass_id). */
static bool pass_set(const char *list, uint64_t *set, chord_error *error) {
  pass_pipeline p;
  if (pass_pipeline_parse(list, &p, error) != CHORD_OK)
    return false;
  for (uint32_t i = 0; i < p.n; i++)
    *set |= 1ull << p.passes[i];
  return true;
}

bool pass_parse_level(const char *command, const char *arg, int *level) {
  if (strlen(arg) != 1 || arg[0] < '0' || arg[0] > '2') {
    cli_usage_error(command, "no optimization level -O%s (-O0, -O1 or -O2)", arg);
    return false;
  }
  *level = arg[0] - '0';
  return true;
}

int pass_options_handle(pass_options *p, const char *command, int c, const char *arg) {
  chord_error error;
  switch (c) {
  case 'O': return pass_parse_level(command, arg, &p->level) ? 1 : -1;
  case PASS_OPT_PRINT_AFTER:
    if (!pass_set(arg, &p->run.print_after, &error)) {
      cli_usage_error(command, "--print-after: %s", error.message);
      return -1;
    }
    return 1;
  case PASS_OPT_PRINT_AFTER_ALL: p->run.print_after_all = true; return 1;
  case PASS_OPT_DISABLE_PASS:
    if (!pass_set(arg, &p->run.disabled, &error)) {
      cli_usage_error(command, "--disable-pass: %s", error.message);
      return -1;
    }
    return 1;
  case PASS_OPT_TIME_PASSES: p->run.timings = stderr; return 1;
  default: return 0;
  }
}

chord_status pass_write_graph(FILE *out, const void *graph, chord_error *error) {
  return ir_print(graph, out, error);
}

/* The arena's size at two steps the graph's symbolic dims leave open: a prompt batch of the
 * default size, and a decode step after it (what plan-memory and the fusions change). */
static chord_status write_activations(FILE *out, const ir_graph *g, chord_error *error) {
  static const struct {
    int64_t tokens, positions;
    const char *what;
  } STEPS[] = {{512, 0, "a 512-token prompt step"}, {1, 512, "a decode step after it"}};
  fprintf(out, "\nactivations (the arena the interpreter and the cpu target plan per step):\n");
  for (size_t i = 0; i < sizeof STEPS / sizeof STEPS[0]; i++) {
    size_t bytes, outputs;
    chord_status st =
        interp_plan_activations(g, STEPS[i].tokens, STEPS[i].positions, &bytes, &outputs, error);
    if (st != CHORD_OK)
      return st;
    fprintf(out, "  T=%-4lld P=%-4lld %8.2f MiB, the outputs %.2f MiB of it  (%s)\n",
            (long long)STEPS[i].tokens, (long long)STEPS[i].positions, bytes / 1048576.0,
            outputs / 1048576.0, STEPS[i].what);
  }
  return CHORD_OK;
}

chord_status pass_write_stats(FILE *out, const void *graph, chord_error *error) {
  ir_stats stats;
  chord_status st = ir_stats_compute(graph, &stats, error);
  if (st == CHORD_OK)
    st = ir_stats_print(&stats, out, error);
  ir_stats_free(&stats);
  if (st == CHORD_OK)
    st = write_activations(out, graph, error);
  return st;
}

chord_status pass_lower_model(const char *path, const lower_options *lo, pass_options *p,
                              gguf_file **file, ir_graph **graph, chord_error *error) {
  *file = NULL;
  *graph = NULL;
  pass_pipeline pipeline;
  chord_status st = pass_pipeline_for_level(p->level < 0 ? 0 : p->level, &pipeline, error);
  if (st == CHORD_OK)
    st = gguf_open(path, file, error);
  if (st == CHORD_OK)
    st = lower_model(*file, lo, graph, error);
  if (st == CHORD_OK)
    st = pass_pipeline_run(*graph, &pipeline, &p->run, error);
  return st;
}
