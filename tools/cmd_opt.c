/* chord opt: read a text IR file, verify it, run passes on it and print it, like mlir-opt. The
 * golden tests in tests/ir and tests/passes drive it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "frontends/gguf/gguf.h"
#include "frontends/gguf/lower.h"
#include "ir/ir.h"
#include "passes/pass.h"
#include "runtime/support/alloc.h"
#include "tools/cli.h"
#include "tools/pass_options.h"

static const char opt_usage[] =
    "usage: chord opt [OPTIONS] [FILE.cir]\n"
    "\n"
    "Parses a graph in the IR's text form (docs/ir.md), verifies it, runs the given passes and\n"
    "prints the result. With no FILE, or FILE '-', reads standard input.\n"
    "\n"
    "options:\n"
    "  -p, --passes PASS,...    run these passes in order (see --list-passes)\n"
    "  -O0, -O1, -O2            run the pipeline of this optimization level (-O0: verify "
    "only)\n" PASS_OPTIONS_HELP
    "  -o, --output FILE        write the result to FILE instead of standard output\n"
    "      --stats              print op counts by kind and by layer instead of the graph\n"
    "      --weights MODEL      check that every weight is a tensor of MODEL (a GGUF file)\n"
    "                           with the same type; without it weights are typed placeholders\n"
    "      --verify-only        parse, verify and run the passes, print nothing\n"
    "      --list-ops           list the op table: operands, attributes, flags, semantics\n"
    "      --list-passes        list the pass table and the pipelines\n"
    "  -h, --help               show this help\n"
    "\n"
    "The verifier runs after every pass. With neither -p nor -O, no pass runs.\n";

/* Reads all of a stream into an rt_malloc'ed buffer. */
static char *read_stream(FILE *in, size_t *length) {
  size_t cap = 1 << 16, n = 0;
  char *buf = rt_malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n, in);
    if (n < cap)
      break;
    char *grown = rt_realloc(buf, cap * 2);
    if (!grown) {
      rt_free(buf);
      return NULL;
    }
    buf = grown;
    cap *= 2;
  }
  if (buf && ferror(in)) {
    rt_free(buf);
    return NULL;
  }
  *length = n;
  return buf;
}

static void list_ops(void) {
  static const char *flag_names[] = {"elementwise", "reduction", "stateful",
                                     "fused",       "layout",    "alias"};
  for (int op = 0; op < IR_OP_COUNT; op++) {
    const ir_op_info *info = ir_op_get((ir_op)op);
    printf("%s", info->name);
    if (info->min_operands == info->max_operands)
      printf(" (%u operand%s", info->min_operands, info->min_operands == 1 ? "" : "s");
    else
      printf(" (%u..%u operands", info->min_operands, info->max_operands);
    for (int a = 0; a < IR_ATTR_COUNT; a++) {
      if (info->attrs & (1ull << a))
        printf(", %s%s: %s", ir_attr_get((ir_attr_id)a)->name,
               info->required & (1ull << a) ? "" : "?",
               ir_attr_kind_name(ir_attr_get((ir_attr_id)a)->kind));
    }
    printf(")");
    for (unsigned f = 0; f < sizeof flag_names / sizeof flag_names[0]; f++) {
      if (info->flags & (1u << f))
        printf(" [%s]", flag_names[f]);
    }
    printf("\n    %s\n", info->semantics);
  }
}

static void list_passes(void) {
  int width = 0; /* the longest name, so the descriptions line up */
  for (int i = 0; i < PASS_COUNT; i++) {
    int n = (int)strlen(pass_get((pass_id)i)->name);
    width = n > width ? n : width;
  }
  for (int i = 0; i < PASS_COUNT; i++)
    printf("%-*s  %s\n", width, pass_get((pass_id)i)->name, pass_get((pass_id)i)->description);
  for (int level = 0; level <= 2; level++) {
    pass_pipeline p;
    chord_error error;
    if (pass_pipeline_for_level(level, &p, &error) != CHORD_OK)
      continue;
    printf("-O%d:", level);
    if (p.n == 0)
      printf(" (verify only)");
    for (uint32_t i = 0; i < p.n; i++)
      printf("%s%s", i ? ", " : " ", pass_get(p.passes[i])->name);
    printf("\n");
  }
}

/* --weights MODEL: the graph's weight placeholders must be tensors of MODEL, type for type. */
static bool check_weights(const ir_graph *g, const char *model, const char *shown) {
  gguf_file *file;
  chord_error error;
  if (gguf_open(model, &file, &error) != CHORD_OK) {
    cli_error("%s", error.message);
    return false;
  }
  const ir_value *bad;
  chord_status st = lower_check_weights(file, g, &bad, &error);
  gguf_close(file);
  if (st != CHORD_OK)
    fprintf(stderr, "%s:%u:%u: error: %s\n", shown, bad->line, bad->col, error.message);
  return st == CHORD_OK;
}

enum { OPT_STATS = 0x100, OPT_WEIGHTS };

int cmd_opt(int argc, char **argv) {
  static const struct option options[] = {{"passes", required_argument, NULL, 'p'},
                                          {"output", required_argument, NULL, 'o'},
                                          {"verify-only", no_argument, NULL, 'V'},
                                          {"list-ops", no_argument, NULL, 'L'},
                                          {"list-passes", no_argument, NULL, 'P'},
                                          {"stats", no_argument, NULL, OPT_STATS},
                                          {"weights", required_argument, NULL, OPT_WEIGHTS},
                                          PASS_LONG_OPTIONS,
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
  const char *output = NULL, *passes = NULL, *weights = NULL;
  bool verify_only = false, stats = false;
  pass_options po = {.level = -1};
  chord_error error;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "p:o:O:h", options, NULL)) != -1) {
    int handled = pass_options_handle(&po, "opt", c, optarg);
    if (handled < 0)
      return 2;
    if (handled)
      continue;
    switch (c) {
    case 'p': passes = optarg; break;
    case 'P': list_passes(); return 0;
    case 'o': output = optarg; break;
    case 'V': verify_only = true; break;
    case 'L': list_ops(); return 0;
    case OPT_STATS: stats = true; break;
    case OPT_WEIGHTS: weights = optarg; break;
    case 'h': fputs(opt_usage, stdout); return 0;
    default: return cli_usage_error("opt", "invalid option");
    }
  }
  if (optind + 1 < argc)
    return cli_usage_error("opt", "expected one FILE, got more");
  if (passes && po.level >= 0)
    return cli_usage_error("opt", "give -p or -O, not both");
  pass_pipeline pipeline = {.n = 0};
  if (passes && pass_pipeline_parse(passes, &pipeline, &error) != CHORD_OK)
    return cli_usage_error("opt", "%s", error.message);
  if (po.level >= 0 && pass_pipeline_for_level(po.level, &pipeline, &error) != CHORD_OK)
    return cli_usage_error("opt", "%s", error.message);
  const char *path = optind < argc ? argv[optind] : "-";
  bool from_stdin = strcmp(path, "-") == 0;
  FILE *in = from_stdin ? stdin : fopen(path, "rb");
  if (!in)
    return cli_error("cannot open %s", path);
  size_t length = 0;
  char *text = read_stream(in, &length);
  if (!from_stdin)
    fclose(in);
  if (!text)
    return cli_error("cannot read %s", path);

  const char *shown = from_stdin ? "<stdin>" : path;
  ir_graph *g;
  chord_status status = ir_parse(text, length, shown, &g, &error);
  rt_free(text);
  if (status != CHORD_OK) {
    fprintf(stderr, "%s\n", error.message);
    return 1;
  }
  int rc = 1;
  if (ir_verify(g, &error) != CHORD_OK) {
    fprintf(stderr, "%s: error: %s\n", shown, error.message);
  } else if (weights && !check_weights(g, weights, shown)) {
    /* reported */
  } else if (pass_pipeline_run(g, &pipeline, &po.run, &error) != CHORD_OK) {
    fprintf(stderr, "%s: error: %s\n", shown, error.message);
  } else {
    rc = verify_only ? 0 : cli_write_output(output, stats ? pass_write_stats : pass_write_graph, g);
  }
  ir_graph_free(g);
  return rc;
}
