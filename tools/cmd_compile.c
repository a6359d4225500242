/* chord compile: a model compiled ahead of time into a file — so far its optimized graph (ir) and
 * the CPU target's kernels for it as LLVM IR, assembly or a relocatable object for this host
 * (docs/cli.md). The standalone executable (--emit exe), cross targets and named CPUs are the
 * rest of issue 8; asked for now, they are refused with an error that says so. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "codegen/llvm/cpu_target.h"
#include "codegen/llvm/jit.h"
#include "frontends/gguf/gguf.h"
#include "frontends/gguf/lower.h"
#include "ir/ir.h"
#include "passes/pass.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"
#include "tools/cli.h"
#include "tools/pass_options.h"

static const char compile_usage[] =
    "usage: chord compile [OPTIONS] -o OUT [MODEL]\n"
    "\n"
    "Compiles a GGUF model ahead of time: lowers it to the graph chord run runs (the head on the\n"
    "last position), runs the pass pipeline and writes what --emit asks for. The file appears\n"
    "only complete: on any error nothing is left at OUT.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE         the model (default: the default model)\n"
    "  -o, --output FILE        where to write (required)\n"
    "      --emit KIND          what to write (default obj):\n"
    "                             obj   the kernels as a relocatable object for this host\n"
    "                             asm   the kernels as this host's assembly\n"
    "                             llvm  the kernels as optimized LLVM IR\n"
    "                             ir    the optimized graph in chord's IR text form\n"
    "                             exe   a standalone executable (not built yet)\n"
    "      --target TRIPLE      x86_64-linux-gnu or aarch64-linux-gnu (default: this host's;\n"
    "                           only this host's is built yet)\n"
    "      --cpu NAME           the CPU to compile for (default native, the only one yet)\n"
    "  -O0, -O1, -O2            the pass pipeline (default -O2)\n" PASS_OPTIONS_HELP
    "  -c, --ctx-size N         KV-cache positions of the graph's state (default 2048)\n"
    "  -h, --help               show this help\n";

/* The targets chord compile knows, by the triple users write, and the architecture of LLVM's
 * host triple each one is. */
static const struct {
  const char *triple, *arch;
} TARGETS[] = {{"x86_64-linux-gnu", "x86_64"}, {"aarch64-linux-gnu", "aarch64"}};

/* What --emit writes: a kind of the CPU target's code, or the graph (ir), or not yet built. */
typedef enum emit_what { EMIT_CODE, EMIT_GRAPH, EMIT_NOT_YET } emit_what;
static const struct {
  const char *name;
  emit_what what;
  cpu_emit_kind kind;
} EMITS[] = {{"obj", EMIT_CODE, CPU_EMIT_OBJECT},
             {"asm", EMIT_CODE, CPU_EMIT_ASM},
             {"llvm", EMIT_CODE, CPU_EMIT_LLVM},
             {"ir", EMIT_GRAPH, CPU_EMIT_LLVM},
             {"exe", EMIT_NOT_YET, CPU_EMIT_OBJECT}};

typedef struct code_request {
  const ir_graph *graph;
  cpu_emit_kind kind;
} code_request;

static chord_status write_code(FILE *out, const void *context, chord_error *error) {
  const code_request *r = context;
  void *data = NULL;
  size_t size = 0;
  chord_status st = cpu_target_emit(r->graph, r->kind, &data, &size, error);
  if (st == CHORD_OK && fwrite(data, 1, size, out) != size)
    st = rt_error(error, CHORD_ERROR_IO, "cannot write the output");
  rt_free(data);
  return st;
}

/* Whether the target triple names this host's architecture; a usage error (printed) if it is
 * unknown or another one. */
static bool target_is_host(const char *triple) {
  size_t known = sizeof TARGETS / sizeof TARGETS[0];
  size_t t = 0;
  while (t < known && strcmp(TARGETS[t].triple, triple) != 0)
    t++;
  if (t == known) {
    cli_usage_error("compile", "unknown target '%s' (known: x86_64-linux-gnu, aarch64-linux-gnu)",
                    triple);
    return false;
  }
  jit_host host;
  chord_error error;
  if (jit_host_detect(&host, &error) != CHORD_OK) {
    cli_error("%s", error.message);
    return false;
  }
  size_t n = strlen(TARGETS[t].arch);
  bool same = strncmp(host.triple, TARGETS[t].arch, n) == 0 && host.triple[n] == '-';
  if (!same)
    cli_error("compile: --target %s: cross compilation is not built yet; this host is %s", triple,
              host.triple);
  jit_host_free(&host);
  return same;
}

int cmd_compile(int argc, char **argv) {
  enum { OPT_EMIT = 0x100, OPT_TARGET, OPT_CPU };
  static const struct option options[] = {{"model", required_argument, NULL, 'm'},
                                          {"output", required_argument, NULL, 'o'},
                                          {"ctx-size", required_argument, NULL, 'c'},
                                          {"emit", required_argument, NULL, OPT_EMIT},
                                          {"target", required_argument, NULL, OPT_TARGET},
                                          {"cpu", required_argument, NULL, OPT_CPU},
                                          PASS_LONG_OPTIONS,
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
  const char *model = NULL, *output = NULL, *target = NULL, *cpu = "native";
  int emit = 0; /* obj */
  long long n_ctx = 0;
  pass_options po = {.level = 2};
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "m:o:c:O:h", options, NULL)) != -1) {
    int handled = pass_options_handle(&po, "compile", c, optarg);
    if (handled < 0)
      return 2;
    if (handled)
      continue;
    switch (c) {
    case 'm': model = optarg; break;
    case 'o': output = optarg; break;
    case 'c':
      if (!cli_parse_long(optarg, 1, 1 << 30, &n_ctx))
        return cli_usage_error("compile", "-c wants a positive number of positions, got '%s'",
                               optarg);
      break;
    case OPT_EMIT: {
      int n = (int)(sizeof EMITS / sizeof EMITS[0]);
      emit = 0;
      while (emit < n && strcmp(EMITS[emit].name, optarg) != 0)
        emit++;
      if (emit == n)
        return cli_usage_error("compile", "--emit takes obj, asm, llvm, ir or exe, not '%s'",
                               optarg);
      break;
    }
    case OPT_TARGET: target = optarg; break;
    case OPT_CPU: cpu = optarg; break;
    case 'h': fputs(compile_usage, stdout); return 0;
    default: return cli_usage_error("compile", "invalid option");
    }
  }
  if (optind < argc && !model)
    model = argv[optind++];
  if (optind < argc)
    return cli_usage_error("compile", "unexpected argument '%s'", argv[optind]);
  if (!output || !*output)
    return cli_usage_error("compile", "-o OUT is required");
  if (EMITS[emit].what == EMIT_NOT_YET)
    return cli_error("compile: --emit %s is not built yet (obj, asm, llvm and ir are)",
                     EMITS[emit].name);
  if (target && !target_is_host(target))
    return 2;
  if (strcmp(cpu, "native") != 0)
    return cli_usage_error("compile", "--cpu %s: only native is built yet", cpu);
  chord_error error;
  pass_pipeline pipeline;
  if (pass_pipeline_for_level(po.level, &pipeline, &error) != CHORD_OK) /* checked before work */
    return cli_usage_error("compile", "%s", error.message);
  char path_buf[4096];
  const char *path = cli_model_path(model, path_buf, sizeof path_buf);
  if (!path)
    return 1;

  gguf_file *file = NULL;
  ir_graph *g = NULL;
  int rc = 1;
  lower_options lo = {.n_ctx = n_ctx, .last_logits_only = true};
  if (pass_lower_model(path, &lo, &po, &file, &g, &error) != CHORD_OK)
    rc = cli_error("%s", error.message);
  else if (EMITS[emit].what == EMIT_GRAPH)
    rc = cli_write_output(output, pass_write_graph, g);
  else
    rc = cli_write_output(output, write_code, &(code_request){g, EMITS[emit].kind});
  ir_graph_free(g);
  gguf_close(file);
  return rc;
}
