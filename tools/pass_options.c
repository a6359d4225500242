#include "tools/pass_options.h"

#include <stdio.h>
#include <string.h>

#include "ir/stats.h"
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

chord_status pass_write_stats(FILE *out, const void *graph, chord_error *error) {
  ir_stats stats;
  chord_status st = ir_stats_compute(graph, &stats, error);
  if (st == CHORD_OK)
    st = ir_stats_print(&stats, out, error);
  ir_stats_free(&stats);
  return st;
}
