/* chord opt: read a text IR file, verify it, run passes on it and print it, like mlir-opt. The
 * golden tests in tests/ir and tests/passes drive it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"
#include "passes/pass.h"
#include "runtime/platform/file.h"
#include "runtime/support/alloc.h"
#include "tools/cli.h"

int cmd_opt(int argc, char **argv);

static const char opt_usage[] =
    "usage: chord opt [OPTIONS] [FILE.cir]\n"
    "\n"
    "Parses a graph in the IR's text form (docs/ir.md), verifies it, runs the given passes and\n"
    "prints the result. With no FILE, or FILE '-', reads standard input.\n"
    "\n"
    "options:\n"
    "  -p, --passes PASS,...    run these passes in order (see --list-passes)\n"
    "  -O0, -O1, -O2            run the pipeline of this optimization level (-O0: verify only)\n"
    "      --print-after=PASS,...  print the graph to standard error after these passes\n"
    "      --print-after-all    print the graph to standard error after every pass\n"
    "      --disable-pass=PASS,...  skip these passes of the pipeline\n"
    "      --time-passes        print each pass's time to standard error\n"
    "  -o, --output FILE        write the result to FILE instead of standard output\n"
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
  static const char *flag_names[] = {"elementwise", "reduction", "stateful", "fused", "layout"};
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
  for (int i = 0; i < PASS_COUNT; i++)
    printf("%-14s %s\n", pass_get((pass_id)i)->name, pass_get((pass_id)i)->description);
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

/* A comma-separated list of passes as a bit set (1 << pass_id). */
static bool pass_set(const char *list, uint64_t *set, chord_error *error) {
  pass_pipeline p;
  if (pass_pipeline_parse(list, &p, error) != CHORD_OK)
    return false;
  for (uint32_t i = 0; i < p.n; i++)
    *set |= 1ull << p.passes[i];
  return true;
}

int cmd_opt(int argc, char **argv) {
  static const struct option options[] = {{"passes", required_argument, NULL, 'p'},
                                          {"output", required_argument, NULL, 'o'},
                                          {"verify-only", no_argument, NULL, 'V'},
                                          {"list-ops", no_argument, NULL, 'L'},
                                          {"list-passes", no_argument, NULL, 'P'},
                                          {"print-after", required_argument, NULL, 'A'},
                                          {"print-after-all", no_argument, NULL, 'a'},
                                          {"disable-pass", required_argument, NULL, 'D'},
                                          {"time-passes", no_argument, NULL, 'T'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
  const char *output = NULL, *passes = NULL;
  bool verify_only = false, time_passes = false;
  int level = -1;
  pass_run_options run = {0};
  chord_error error;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "p:o:O:h", options, NULL)) != -1) {
    switch (c) {
    case 'p': passes = optarg; break;
    case 'O':
      if (strlen(optarg) != 1 || optarg[0] < '0' || optarg[0] > '2')
        return cli_usage_error("opt", "no optimization level -O%s (-O0, -O1 or -O2)", optarg);
      level = optarg[0] - '0';
      break;
    case 'A':
      if (!pass_set(optarg, &run.print_after, &error))
        return cli_usage_error("opt", "--print-after: %s", error.message);
      break;
    case 'a': run.print_after_all = true; break;
    case 'D':
      if (!pass_set(optarg, &run.disabled, &error))
        return cli_usage_error("opt", "--disable-pass: %s", error.message);
      break;
    case 'T': time_passes = true; break;
    case 'P': list_passes(); return 0;
    case 'o': output = optarg; break;
    case 'V': verify_only = true; break;
    case 'L': list_ops(); return 0;
    case 'h': fputs(opt_usage, stdout); return 0;
    default: return cli_usage_error("opt", "invalid option");
    }
  }
  if (optind + 1 < argc)
    return cli_usage_error("opt", "expected one FILE, got more");
  if (passes && level >= 0)
    return cli_usage_error("opt", "give -p or -O, not both");
  pass_pipeline pipeline = {.n = 0};
  if (passes && pass_pipeline_parse(passes, &pipeline, &error) != CHORD_OK)
    return cli_usage_error("opt", "%s", error.message);
  if (level >= 0 && pass_pipeline_for_level(level, &pipeline, &error) != CHORD_OK)
    return cli_usage_error("opt", "%s", error.message);
  if (time_passes)
    run.timings = stderr;
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
  if (ir_verify(g, &error) != CHORD_OK) {
    fprintf(stderr, "%s: error: %s\n", shown, error.message);
    ir_graph_free(g);
    return 1;
  }
  if (pass_pipeline_run(g, &pipeline, &run, &error) != CHORD_OK) {
    fprintf(stderr, "%s: error: %s\n", shown, error.message);
    ir_graph_free(g);
    return 1;
  }
  int rc = 0;
  if (!verify_only) {
    if (output) {
      rt_output_file file;
      if (rt_output_open(output, &file, &error) != CHORD_OK) {
        rc = cli_error("%s", error.message);
      } else if (ir_print(g, file.stream, &error) != CHORD_OK ||
                 rt_output_commit(&file, &error) != CHORD_OK) {
        rt_output_abandon(&file);
        rc = cli_error("%s", error.message);
      }
    } else if (ir_print(g, stdout, &error) != CHORD_OK || fflush(stdout) != 0) {
      rc = cli_error("cannot write the IR to standard output");
    }
  }
  ir_graph_free(g);
  return rc;
}
