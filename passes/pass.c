/* The pass manager: the pass table, the written-out pipelines and the runner (verifier between
 * passes, dumps, timings). */
#include "passes/pass.h"

#include <string.h>

#include "runtime/platform/file.h"
#include "runtime/support/error.h"

/* --print-after and --disable-pass hold sets of passes in 64 bits */
_Static_assert(PASS_COUNT <= 64, "pass sets are uint64_t bit sets");

static const pass_info passes[PASS_COUNT] = {
#define X(NAME, name, function, description) [PASS_##NAME] = {name, function, description},
#include "passes/passes.def"
#undef X
};

/* The pipelines, written out in passes/passes.def. -O0 only verifies; -O1 simplifies; -O2 also
 * fuses. */
#define X(NAME, name, function, description)
#define PIPELINE_O1(...) static const pass_id pipeline_o1[] = {__VA_ARGS__};
#define PIPELINE_O2(...) static const pass_id pipeline_o2[] = {__VA_ARGS__};
#include "passes/passes.def"
#undef PIPELINE_O2
#undef PIPELINE_O1
#undef X

static const struct {
  const pass_id *passes;
  uint32_t n;
} pipelines[] = {
    {NULL, 0},
    {pipeline_o1, sizeof pipeline_o1 / sizeof pipeline_o1[0]},
    {pipeline_o2, sizeof pipeline_o2 / sizeof pipeline_o2[0]},
};

const pass_info *pass_get(pass_id id) { return (unsigned)id < PASS_COUNT ? &passes[id] : NULL; }

bool pass_from_name(const char *name, size_t length, pass_id *out) {
  for (int i = 0; i < PASS_COUNT; i++) {
    if (strlen(passes[i].name) == length && memcmp(passes[i].name, name, length) == 0) {
      *out = (pass_id)i;
      return true;
    }
  }
  return false;
}

void pass_list_names(char *buf, size_t size) {
  size_t at = 0;
  buf[0] = '\0';
  for (int i = 0; i < PASS_COUNT && at < size; i++) {
    int n = snprintf(buf + at, size - at, "%s%s", i ? ", " : "", passes[i].name);
    if (n < 0)
      break;
    at += (size_t)n;
  }
}

chord_status pass_pipeline_for_level(int level, pass_pipeline *out, chord_error *error) {
  if (level < 0 || (size_t)level >= sizeof pipelines / sizeof pipelines[0])
    return rt_error(error, CHORD_ERROR_INVALID, "no optimization level %d (0, 1 or 2)", level);
  out->n = pipelines[level].n;
  for (uint32_t i = 0; i < out->n; i++)
    out->passes[i] = pipelines[level].passes[i];
  return CHORD_OK;
}

chord_status pass_pipeline_parse(const char *list, pass_pipeline *out, chord_error *error) {
  out->n = 0;
  for (const char *at = list; *at;) {
    const char *end = strchr(at, ',');
    size_t length = end ? (size_t)(end - at) : strlen(at);
    pass_id id;
    if (!pass_from_name(at, length, &id)) {
      char names[512];
      pass_list_names(names, sizeof names);
      return rt_error(error, CHORD_ERROR_INVALID, "unknown pass '%.*s' (available passes: %s)",
                      (int)length, at, names);
    }
    if (out->n == PASS_PIPELINE_MAX)
      return rt_error(error, CHORD_ERROR_INVALID, "more than %d passes", PASS_PIPELINE_MAX);
    out->passes[out->n++] = id;
    at = end ? end + 1 : at + length;
  }
  return CHORD_OK;
}

/* Prefixes the message in error with the pass it came from. */
static chord_status after_pass(chord_error *error, chord_status status, const char *what,
                               const char *pass) {
  char inner[sizeof error->message];
  snprintf(inner, sizeof inner, "%s", error->message);
  return rt_error(error, status, "%s pass '%s': %s", what, pass, inner);
}

chord_status pass_pipeline_run(ir_graph *g, const pass_pipeline *pipeline,
                               const pass_run_options *options, chord_error *error) {
  static const pass_run_options none = {0};
  if (!options)
    options = &none;
  FILE *dump = options->dump ? options->dump : stderr;
  chord_status status = ir_verify(g, error);
  if (status != CHORD_OK) {
    char inner[sizeof error->message];
    snprintf(inner, sizeof inner, "%s", error->message);
    return rt_error(error, status, "before the passes: %s", inner);
  }
  double total = 0;
  if (options->timings)
    fprintf(options->timings, "# pass timings (ms)\n");
  for (uint32_t i = 0; i < pipeline->n; i++) {
    pass_id id = pipeline->passes[i];
    const pass_info *info = &passes[id];
    if (options->disabled & (1ull << id))
      continue;
    double start = rt_time_ms();
    status = info->run(g, error);
    double took = rt_time_ms() - start;
    total += took;
    if (status != CHORD_OK)
      return after_pass(error, status, "in", info->name);
    status = ir_verify(g, error);
    if (status != CHORD_OK)
      return after_pass(error, status, "after", info->name);
    if (options->timings)
      fprintf(options->timings, "%10.3f  %s\n", took, info->name);
    if (options->print_after_all || (options->print_after & (1ull << id))) {
      fprintf(dump, "# after %s\n", info->name);
      status = options->print ? options->print(dump, g, error) : ir_print(g, dump, error);
      if (status != CHORD_OK)
        return status;
    }
  }
  if (options->timings)
    fprintf(options->timings, "%10.3f  total\n", total);
  return CHORD_OK;
}
