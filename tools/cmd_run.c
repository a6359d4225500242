/* chord run: open a GGUF model, compile it for a target (chord_compile) and run chord run's
 * command line on it (tools/run_main.c). */
#include <stdio.h>

#include "tools/cli.h"
#include "tools/run.h"

static chord_status open_gguf(const char *path, bool verbose, chord_model **model,
                              chord_error *error) {
  char buf[4096];
  if (!path) {
    chord_status st = chord_default_model_path(buf, sizeof buf, error);
    if (st != CHORD_OK)
      return st;
    path = buf;
  }
  if (verbose)
    fprintf(stderr, "chord: loading %s\n", path);
  return chord_model_open(path, model, error);
}

static const run_backend RUN_COMPILING = {
    .command = "run",
    .usage_head =
        "usage: chord run [OPTIONS] (-p PROMPT | -f FILE | --chat)\n"
        "\n"
        "Compiles the model for a target and generates text: from a prompt (BOS added as the\n"
        "model asks), or in a conversation through the model's chat template (--chat). Flags and\n"
        "defaults follow llama.cpp's llama-cli.\n"
        "\n",
    .model_help = "  -m, --model FILE          the model (default: the default model)\n",
    .compile_flags = true,
    .open_model = open_gguf,
    .make_program = chord_compile,
};

int cmd_run(int argc, char **argv) { return run_main(argc, argv, &RUN_COMPILING); }
