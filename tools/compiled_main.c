/* The main() of an executable `chord compile --emit exe` makes: chord run's command line
 * (tools/run_main.c) on the program compiled into it. The compile links three things with this
 * runtime library: the kernels' object (chord_compiled_model, runtime/compiled.h) and a small
 * assembly file that defines the weights' symbols below: the GGUF itself between
 * chord_exe_gguf and chord_exe_gguf_end (--embed-weights, mapped with the executable), or the
 * path to read it from (--weights PATH, the default being the model compiled). -m at run time
 * reads another GGUF with the same tensors instead. */
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"
#include "tools/run.h"

extern const char chord_exe_gguf[], chord_exe_gguf_end[];
extern const char chord_exe_gguf_path[];

static chord_status open_model(const char *path, bool verbose, chord_model **model,
                               chord_error *error) {
  size_t embedded = (size_t)(chord_exe_gguf_end - chord_exe_gguf);
  if (!path && embedded) {
    if (verbose)
      fprintf(stderr, "chord: loading the embedded model (%.1f MiB)\n",
              (double)embedded / (1 << 20));
    return chord_model_open_memory(chord_exe_gguf, embedded, "the embedded model", model, error);
  }
  if (!path)
    path = chord_exe_gguf_path;
  if (verbose)
    fprintf(stderr, "chord: loading %s\n", path);
  return chord_model_open(path, model, error);
}

static chord_status make_program(chord_model *model, const chord_compile_options *options,
                                 chord_program **program, chord_error *error) {
  return chord_program_from_compiled(model, &chord_compiled_model, options, program, error);
}

int main(int argc, char **argv) {
  const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
  cli_program = argc > 0 ? (slash ? slash + 1 : argv[0]) : "chord-model";
  static char head[1024], model_help[512];
  bool embedded = chord_exe_gguf_end - chord_exe_gguf > 0;
  snprintf(head, sizeof head,
           "usage: %s [OPTIONS] (-p PROMPT | -f FILE | --chat)\n"
           "\n"
           "A model compiled ahead of time by chord %s for %s (CPU %s).\n"
           "It generates text as `chord run` does, with its flags and defaults; the compile fixed\n"
           "the target, the optimization level, the context size and the key cache's type.\n"
           "\n",
           cli_program, chord_version(), chord_compiled_triple(&chord_compiled_model),
           chord_compiled_cpu(&chord_compiled_model));
  snprintf(model_help, sizeof model_help,
           "  -m, --model FILE          read the weights from FILE, a GGUF with the tensors of\n"
           "                            the model compiled (default: %s)\n",
           embedded ? "the ones embedded in this program" : chord_exe_gguf_path);
  run_backend backend = {.usage_head = head,
                         .model_help = model_help,
                         .open_model = open_model,
                         .make_program = make_program};
  return run_main(argc, argv, &backend);
}
