/* chord ir: lower a model to the graph IR, run a pass pipeline on it and print the result (or its
 * statistics) — the window into what the frontend and the passes make of a real model. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/cpu_target.h"
#include "frontends/gguf/gguf.h"
#include "frontends/gguf/lower.h"
#include "ir/ir.h"
#include "passes/pass.h"
#include "runtime/platform/file.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"
#include "tools/cli.h"
#include "tools/pass_options.h"

static const char ir_usage[] =
    "usage: chord ir [OPTIONS] [MODEL]\n"
    "\n"
    "Lowers a GGUF model to the graph IR (docs/lowering.md), runs the pass pipeline of the\n"
    "optimization level, verifying after every pass, and prints the graph in the text form that\n"
    "`chord opt` reads (docs/ir.md). Weights are references to the model's tensors, by name.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE         the model (default: the default model)\n"
    "  -O0, -O1, -O2            the pipeline to run (default -O0: the frontend's "
    "graph)\n" PASS_OPTIONS_HELP
    "  -c, --ctx-size N         KV-cache positions of the graph's state (default 2048, at most\n"
    "                           the model's context length)\n"
    "      --last-logits        the graph chord run and chord logits run: the head on the\n"
    "                           step's last position only (an input %out_rows); by default\n"
    "                           every position's logits\n"
    "  -o, --output FILE        write to FILE instead of standard output\n"
    "      --stats              print op counts by kind and by layer, and the activations'\n"
    "                           arena at a prompt and a decode step, instead of the graph (and\n"
    "                           in the --print-after dumps: each pass's effect)\n"
    "      --emit=KIND          print what the CPU target generates for the graph instead: its\n"
    "                           kernels as LLVM IR (llvm) or this host's assembly (asm)\n"
    "  -h, --help               show this help\n";

enum { OPT_STATS = 0x100, OPT_EMIT, OPT_LAST_LOGITS };

/* --emit: the CPU target's code for the graph, as text */
typedef struct emit_request {
  const ir_graph *graph;
  bool assembly;
} emit_request;

static chord_status write_emitted(FILE *out, const void *context, chord_error *error) {
  const emit_request *r = context;
  void *text = NULL;
  size_t size = 0;
  cpu_emit_options options = {.kind = r->assembly ? CPU_EMIT_ASM : CPU_EMIT_LLVM};
  chord_status st = cpu_target_emit(r->graph, &options, &text, &size, error);
  if (st == CHORD_OK && fwrite(text, 1, size, out) != size)
    st = rt_error(error, CHORD_ERROR_IO, "cannot write the output");
  rt_free(text);
  return st;
}

int cmd_ir(int argc, char **argv) {
  static const struct option options[] = {{"model", required_argument, NULL, 'm'},
                                          {"output", required_argument, NULL, 'o'},
                                          {"ctx-size", required_argument, NULL, 'c'},
                                          {"stats", no_argument, NULL, OPT_STATS},
                                          {"last-logits", no_argument, NULL, OPT_LAST_LOGITS},
                                          {"emit", required_argument, NULL, OPT_EMIT},
                                          PASS_LONG_OPTIONS,
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
  const char *model = NULL, *output = NULL;
  bool stats = false, last_logits = false;
  const char *emit = NULL;
  long long n_ctx = 0;
  pass_options po = {.level = 0};
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "m:o:c:O:h", options, NULL)) != -1) {
    int handled = pass_options_handle(&po, "ir", c, optarg);
    if (handled < 0)
      return 2;
    if (handled)
      continue;
    switch (c) {
    case 'm': model = optarg; break;
    case 'o': output = optarg; break;
    case 'c': {
      char *end;
      errno = 0;
      n_ctx = strtoll(optarg, &end, 10);
      if (end == optarg || *end || errno || n_ctx < 1)
        return cli_usage_error("ir", "-c wants a positive number of positions, got '%s'", optarg);
      break;
    }
    case OPT_STATS: stats = true; break;
    case OPT_LAST_LOGITS: last_logits = true; break;
    case OPT_EMIT:
      if (strcmp(optarg, "llvm") != 0 && strcmp(optarg, "asm") != 0)
        return cli_usage_error("ir", "--emit takes llvm or asm, not '%s'", optarg);
      emit = optarg;
      break;
    case 'h': fputs(ir_usage, stdout); return 0;
    default: return cli_usage_error("ir", "invalid option");
    }
  }
  if (optind < argc && !model)
    model = argv[optind++];
  if (optind < argc)
    return cli_usage_error("ir", "unexpected argument '%s'", argv[optind]);
  chord_error error;
  pass_pipeline pipeline;
  if (pass_pipeline_for_level(po.level, &pipeline, &error) != CHORD_OK) /* checked before work */
    return cli_usage_error("ir", "%s", error.message);
  if (stats)
    po.run.print = pass_write_stats; /* --print-after dumps the tables too */
  char path_buf[4096];
  const char *path = cli_model_path(model, path_buf, sizeof path_buf);
  if (!path)
    return 1;

  gguf_file *file = NULL;
  ir_graph *g = NULL;
  int rc = 1;
  lower_options lo = {.n_ctx = n_ctx, .last_logits_only = last_logits};
  if (pass_lower_model(path, &lo, &po, &file, &g, &error) != CHORD_OK)
    rc = cli_error("%s", error.message);
  else if (emit)
    rc = cli_write_output(output, write_emitted, &(emit_request){g, strcmp(emit, "asm") == 0});
  else
    rc = cli_write_output(output, stats ? pass_write_stats : pass_write_graph, g);
  ir_graph_free(g);
  gguf_close(file);
  return rc;
}
