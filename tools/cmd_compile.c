/* chord compile: a model compiled ahead of time into a file (docs/aot.md): a standalone
 * executable that runs it with chord run's flags (exe), the object a C program links with the
 * runtime library (obj: the kernels and the table of the program, runtime/compiled.h), its
 * assembly or LLVM IR, or the optimized graph (ir); for this host or, with --target, another. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen/llvm/aot_target.h"
#include "codegen/llvm/cpu_target.h"
#include "codegen/llvm/jit.h"
#include "codegen/target.h"
#include "frontends/gguf/gguf.h"
#include "frontends/gguf/lower.h"
#include "ir/ir.h"
#include "passes/pass.h"
#include "runtime/platform/file.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"
#include "tools/cli.h"
#include "tools/pass_options.h"

static const char compile_usage[] =
    "usage: chord compile [OPTIONS] -o OUT [MODEL]\n"
    "\n"
    "Compiles a GGUF model ahead of time: lowers it to the graph chord run runs (the head on the\n"
    "last position), runs the pass pipeline, generates its kernels for the target and writes\n"
    "what --emit asks for. The file appears only complete: on any error nothing is left at OUT.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE         the model (default: the default model)\n"
    "  -o, --output FILE        where to write (required)\n"
    "      --emit KIND          what to write (default exe):\n"
    "                             exe   an executable that runs the model with chord run's\n"
    "                                   flags; no LLVM or compiler inside (static, no shared\n"
    "                                   libraries)\n"
    "                             obj   the kernels and the program's table as a relocatable\n"
    "                                   object, to link with libchord_runtime.a (docs/aot.md)\n"
    "                             asm   the same as assembly\n"
    "                             llvm  the same as optimized LLVM IR\n"
    "                             ir    the optimized graph in chord's IR text form\n"
    "      --embed-weights      exe: put the GGUF into the executable (mapped at start)\n"
    "      --weights PATH       exe: read the GGUF from PATH at start (default: the model's\n"
    "                           absolute path); -m at run time overrides either\n"
    "      --target TRIPLE      x86_64-linux-gnu or aarch64-linux-gnu (default: this host's)\n"
    "      --cpu NAME           the CPU to compile for: native (this host's, the default for\n"
    "                           its own target) or a name (--cpu help lists them; a cross\n"
    "                           target's default is its most portable one)\n"
    "  -O0, -O1, -O2            the pass pipeline (default -O2)\n" PASS_OPTIONS_HELP
    "  -c, --ctx-size N         KV-cache positions of the graph's state (default 4096, at most\n"
    "                           the model's, as chord run)\n"
    "  -ctk, --cache-type-k TYPE the key cache's type: f16 (default) or q8_0\n"
    "  -q, --quiet              no progress on stderr\n"
    "  -h, --help               show this help\n";

/* What --emit writes: a kind of the CPU target's code, an executable linked around its object,
 * or the graph. */
typedef enum emit_what { EMIT_CODE, EMIT_EXE, EMIT_GRAPH } emit_what;
static const struct {
  const char *name;
  emit_what what;
  cpu_emit_kind kind;
} EMITS[] = {{"exe", EMIT_EXE, CPU_EMIT_OBJECT},
             {"obj", EMIT_CODE, CPU_EMIT_OBJECT},
             {"asm", EMIT_CODE, CPU_EMIT_ASM},
             {"llvm", EMIT_CODE, CPU_EMIT_LLVM},
             {"ir", EMIT_GRAPH, CPU_EMIT_LLVM}};
enum { EMIT_COUNT = sizeof EMITS / sizeof EMITS[0] };

/* The static libraries an executable links after libchord_runtime.a (its PCRE2, utf8proc and
 * jansson, and the C library's). */
static const char *const RUNTIME_LIBS[] = {"-lpcre2-8", "-lutf8proc", "-ljansson", "-lm",
                                           "-lpthread"};
enum { RUNTIME_LIB_COUNT = sizeof RUNTIME_LIBS / sizeof RUNTIME_LIBS[0] };

typedef struct compile_job {
  const ir_graph *graph;
  cpu_emit_options code;
  const aot_target *target;
  const char *model_path; /* absolute */
  const char *weights;    /* --weights, or NULL */
  bool embed, quiet;
} compile_job;

static void progress(const compile_job *job, const char *format, const char *arg) {
  if (!job->quiet) {
    fputs("chord compile: ", stderr);
    fprintf(stderr, format, arg);
    fputc('\n', stderr);
  }
}

static chord_status write_code(FILE *out, const void *context, chord_error *error) {
  const compile_job *job = context;
  void *data = NULL;
  size_t size = 0;
  chord_status st = cpu_target_emit(job->graph, &job->code, &data, &size, error);
  if (st == CHORD_OK && fwrite(data, 1, size, out) != size)
    st = rt_error(error, CHORD_ERROR_IO, "cannot write the output");
  rt_free(data);
  return st;
}

/* ---- the executable -------------------------------------------------------------------------- */

/* s as an assembler string literal's contents. */
static void put_asm_string(FILE *out, const char *s) {
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fputc('\\', out);
    fputc(*s, out);
  }
}

/* The assembly file that defines compiled_main.c's weight symbols. */
static chord_status write_weights_asm(const char *path, const compile_job *job,
                                      chord_error *error) {
  FILE *out = fopen(path, "w");
  if (!out)
    return rt_error(error, CHORD_ERROR_IO, "%s: %s", path, strerror(errno));
  fputs("\t.section .note.GNU-stack,\"\",%progbits\n", out);
  /* page-aligned, so the GGUF's own alignment holds in memory */
  fputs("\t.section .rodata.chord_exe_gguf,\"a\"\n\t.balign 4096\n", out);
  fputs("\t.globl chord_exe_gguf\nchord_exe_gguf:\n", out);
  if (job->embed) {
    fputs("\t.incbin \"", out);
    put_asm_string(out, job->model_path);
    fputs("\"\n", out);
  }
  fputs("\t.globl chord_exe_gguf_end\nchord_exe_gguf_end:\n", out);
  fputs("\t.section .rodata\n\t.globl chord_exe_gguf_path\nchord_exe_gguf_path:\n\t.asciz \"", out);
  put_asm_string(out, job->embed ? "" : job->weights ? job->weights : job->model_path);
  fputs("\"\n", out);
  if (fclose(out) != 0)
    return rt_error(error, CHORD_ERROR_IO, "%s: %s", path, strerror(errno));
  return CHORD_OK;
}

/* Where the runtime library for a target is: $CHORD_RUNTIME_DIR/<triple>/ when that is set, else
 * lib/<triple>/ beside the chord executable (the build tree) or ../lib/chord/<triple>/ (an
 * install). */
static chord_status find_runtime(const aot_target *t, char *out, size_t size, chord_error *error) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = '\0';
  char *slash = strrchr(self, '/');
  if (slash)
    *slash = '\0';
  const char *env = getenv("CHORD_RUNTIME_DIR");
  char tried[3][PATH_MAX + 64];
  int n_tried = 0;
  if (env && *env) { /* only there: a user who sets it means that one */
    snprintf(tried[n_tried++], sizeof tried[0], "%s/%s", env, t->triple);
  } else {
    snprintf(tried[n_tried++], sizeof tried[0], "%s/lib/%s", self, t->triple);
    snprintf(tried[n_tried++], sizeof tried[0], "%s/../lib/chord/%s", self, t->triple);
  }
  for (int i = 0; i < n_tried; i++) {
    int w = snprintf(out, size, "%s/libchord_runtime.a", tried[i]);
    if (w > 0 && (size_t)w < size && access(out, R_OK) == 0)
      return CHORD_OK;
  }
  return rt_error(error, CHORD_ERROR_NOT_FOUND,
                  "no runtime library for %s (libchord_runtime.a in %s%s%s): build chord with its "
                  "cross toolchain installed (scripts/setup.sh; docs/aot.md) or set "
                  "CHORD_RUNTIME_DIR",
                  t->triple, tried[0], n_tried > 1 ? " or " : "", n_tried > 1 ? tried[1] : "");
}

/* Runs argv (no shell), waiting for it; an error names the tool and its exit. */
static chord_status run_tool(char *const *argv, chord_error *error) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    return rt_error(error, CHORD_ERROR_IO, "cannot start %s: %s", argv[0], strerror(errno));
  if (pid == 0) {
    execvp(argv[0], argv);
    fprintf(stderr, "chord compile: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return CHORD_OK;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return rt_error(error, CHORD_ERROR_NOT_FOUND, "%s is not installed (scripts/setup.sh)",
                    argv[0]);
  return rt_error(error, CHORD_ERROR_IO, "%s failed (%s %d) linking the executable", argv[0],
                  WIFEXITED(status) ? "exit" : "signal",
                  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* The object into a temporary directory, the weights' assembly beside it, both linked with the
 * runtime library by the target's C compiler driver into the output's temporary file. */
static chord_status link_executable(const compile_job *job, const char *temp_out,
                                    chord_error *error) {
  char runtime[PATH_MAX + 64];
  chord_status st = find_runtime(job->target, runtime, sizeof runtime, error);
  if (st != CHORD_OK)
    return st;
  const char *tmp = getenv("TMPDIR");
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/chord-compile-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir))
    return rt_error(error, CHORD_ERROR_IO, "cannot make a temporary directory: %s",
                    strerror(errno));
  char object[PATH_MAX + 16], weights[PATH_MAX + 16];
  snprintf(object, sizeof object, "%s/model.o", dir);
  snprintf(weights, sizeof weights, "%s/weights.S", dir);
  rt_output_file file;
  st = rt_output_open(object, &file, error);
  if (st == CHORD_OK) {
    st = write_code(file.stream, job, error);
    st = st == CHORD_OK ? rt_output_commit(&file, error) : (rt_output_abandon(&file), st);
  }
  if (st == CHORD_OK)
    st = write_weights_asm(weights, job, error);
  if (st == CHORD_OK) {
    const char *cc = aot_target_cc(job->target);
    progress(job, "linking with %s", cc);
    const char *argv[16 + RUNTIME_LIB_COUNT];
    int n = 0;
    argv[n++] = cc;
    argv[n++] = "-static";
    argv[n++] = "-o";
    argv[n++] = temp_out;
    argv[n++] = object;
    argv[n++] = weights;
    argv[n++] = runtime;
    for (int i = 0; i < RUNTIME_LIB_COUNT; i++)
      argv[n++] = RUNTIME_LIBS[i];
    argv[n] = NULL;
    st = run_tool((char *const *)argv, error);
  }
  unlink(object);
  unlink(weights);
  rmdir(dir);
  return st;
}

static int write_executable(const char *output, const compile_job *job) {
  chord_error error;
  rt_output_file file;
  if (rt_output_open(output, &file, &error) != CHORD_OK)
    return cli_error("%s", error.message);
  chord_status st = link_executable(job, file.temp_path, &error);
  if (st == CHORD_OK && chmod(file.temp_path, 0755) != 0)
    st = rt_error(&error, CHORD_ERROR_IO, "%s: %s", output, strerror(errno));
  if (st == CHORD_OK)
    st = rt_output_commit(&file, &error);
  else
    rt_output_abandon(&file);
  return st == CHORD_OK ? 0 : cli_error("compile: %s", error.message);
}

/* ---- the command ----------------------------------------------------------------------------- */

/* The target and CPU to compile for, or a usage error (printed, false). */
static bool choose_machine(const char *triple, const char *cpu, const aot_target **target,
                           jit_host *host) {
  char names[512];
  *target = triple ? aot_target_find(triple) : aot_target_host();
  if (!*target) {
    aot_target_list(names, sizeof names);
    if (triple)
      cli_usage_error("compile", "unknown target '%s' (known: %s)", triple, names);
    else
      cli_error("compile: chord has no target for this machine (known: %s)", names);
    return false;
  }
  bool host_target = *target == aot_target_host();
  if (cpu && strcmp(cpu, "help") == 0) {
    aot_target_cpu_list(*target, names, sizeof names);
    printf("CPUs for %s: %s%s\n", (*target)->triple, host_target ? "native, " : "", names);
    return false;
  }
  if (!cpu)
    cpu = host_target ? "native" : (*target)->default_cpu;
  chord_error error;
  if (aot_target_machine(*target, cpu, host, &error) != CHORD_OK) {
    cli_usage_error("compile", "%s", error.message);
    return false;
  }
  return true;
}

int cmd_compile(int argc, char **argv) {
  enum { OPT_EMIT = 0x100, OPT_TARGET, OPT_CPU, OPT_EMBED, OPT_WEIGHTS, OPT_CACHE_TYPE_K };
  static const struct option options[] = {
      {"model", required_argument, NULL, 'm'},
      {"output", required_argument, NULL, 'o'},
      {"ctx-size", required_argument, NULL, 'c'},
      {"emit", required_argument, NULL, OPT_EMIT},
      {"target", required_argument, NULL, OPT_TARGET},
      {"cpu", required_argument, NULL, OPT_CPU},
      {"embed-weights", no_argument, NULL, OPT_EMBED},
      {"weights", required_argument, NULL, OPT_WEIGHTS},
      {"cache-type-k", required_argument, NULL, OPT_CACHE_TYPE_K},
      {"quiet", no_argument, NULL, 'q'},
      PASS_LONG_OPTIONS,
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *model = NULL, *output = NULL, *triple = NULL, *cpu = NULL;
  int emit = 0; /* exe */
  long long n_ctx = 4096;
  compile_job job = {0};
  lower_options lo = {.last_logits_only = true, .cache_type_k = IR_DTYPE_F16};
  pass_options po = {.level = 2};
  cli_expand_aliases(argc, argv);
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "m:o:c:O:qh", options, NULL)) != -1) {
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
    case OPT_EMIT:
      emit = 0;
      while (emit < EMIT_COUNT && strcmp(EMITS[emit].name, optarg) != 0)
        emit++;
      if (emit == EMIT_COUNT)
        return cli_usage_error("compile", "--emit takes exe, obj, asm, llvm or ir, not '%s'",
                               optarg);
      break;
    case OPT_TARGET: triple = optarg; break;
    case OPT_CPU: cpu = optarg; break;
    case OPT_EMBED: job.embed = true; break;
    case OPT_WEIGHTS: job.weights = optarg; break;
    case OPT_CACHE_TYPE_K:
      if (!ir_dtype_from_name(optarg, &lo.cache_type_k) ||
          (lo.cache_type_k != IR_DTYPE_F16 && lo.cache_type_k != IR_DTYPE_Q8_0))
        return cli_usage_error("compile", "no key cache type '%s' (f16 or q8_0)", optarg);
      break;
    case 'q': job.quiet = true; break;
    case 'h': fputs(compile_usage, stdout); return 0;
    default: return cli_usage_error("compile", "invalid option");
    }
  }
  if (optind < argc && !model)
    model = argv[optind++];
  if (optind < argc)
    return cli_usage_error("compile", "unexpected argument '%s'", argv[optind]);
  jit_host host = {0};
  if (!choose_machine(triple, cpu, &job.target, &host))
    return cpu && strcmp(cpu, "help") == 0 ? 0 : 2;
  int rc = 2;
  if (!output || !*output)
    rc = cli_usage_error("compile", "-o OUT is required");
  else if (job.embed && job.weights)
    rc = cli_usage_error("compile", "--embed-weights and --weights are alternatives");
  else if ((job.embed || job.weights) && EMITS[emit].what != EMIT_EXE)
    rc = cli_usage_error("compile", "--embed-weights and --weights are for --emit exe");
  else
    rc = 0;
  chord_error error;
  pass_pipeline pipeline;
  if (rc == 0 && pass_pipeline_for_level(po.level, &pipeline, &error) != CHORD_OK)
    rc = cli_usage_error("compile", "%s", error.message); /* checked before the work */
  char path_buf[4096], absolute[PATH_MAX];
  const char *path = rc == 0 ? cli_model_path(model, path_buf, sizeof path_buf) : NULL;
  if (rc == 0 && !path)
    rc = 1;
  if (rc == 0 && !realpath(path, absolute))
    rc = cli_error("%s: %s", path, strerror(errno));
  if (rc != 0) {
    jit_host_free(&host);
    return rc;
  }

  job.model_path = absolute;
  job.code = (cpu_emit_options){.kind = EMITS[emit].kind, .target = &host, .program = true};
  gguf_file *file = NULL;
  ir_graph *g = NULL;
  lo.n_ctx = n_ctx;
  progress(&job, "lowering and optimizing %s", path);
  if (pass_lower_model(path, &lo, &po, &file, &g, &error) != CHORD_OK ||
      (EMITS[emit].what != EMIT_GRAPH && target_check_graph(&target_cpu, g, &error) != CHORD_OK)) {
    rc = cli_error("%s", error.message);
  } else if (EMITS[emit].what == EMIT_GRAPH) {
    rc = cli_write_output(output, pass_write_graph, g);
  } else {
    job.graph = g;
    char what[256];
    snprintf(what, sizeof what, "%s (CPU %s)", job.target->triple, host.cpu);
    progress(&job, "generating the kernels for %s", what);
    rc = EMITS[emit].what == EMIT_EXE ? write_executable(output, &job)
                                      : cli_write_output(output, write_code, &job);
    if (rc == 0)
      progress(&job, "wrote %s", output);
  }
  ir_graph_free(g);
  gguf_close(file);
  jit_host_free(&host);
  return rc;
}
