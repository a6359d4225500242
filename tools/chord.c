/* chord: the command-line driver. Each sub-command lives in its own tools/cmd_*.c file and is
 * listed once in the table below. */
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"

static const cli_command commands[] = {
    {"run", cmd_run, "generate text from a prompt or in a chat, compiled for this machine"},
    {"info", cmd_info, "describe a GGUF model: architecture, hyper-parameters, tokenizer, tensors"},
    {"quantize", cmd_quantize, "convert a GGUF model's weights to another quant type"},
    {"synth", cmd_synth, "write a model of a real architecture and shape with random weights"},
    {"tokenize", cmd_tokenize, "turn text into token ids with a model's tokenizer"},
    {"template", cmd_template, "render a chat conversation through a model's chat template"},
    {"ir", cmd_ir, "lower a model to the graph IR, optimize it and print it or its statistics"},
    {"opt", cmd_opt, "parse, verify, transform and print a graph in the IR text form"},
    {"logits", cmd_logits, "evaluate a prompt and print the last position's logits as JSON"},
    {"bench", cmd_bench, "measure prompt and generation speed (tokens/s), like llama-bench"},
    {"compile", cmd_compile, "compile a model ahead of time: its graph and kernels to a file"},
};
enum { COMMAND_COUNT = sizeof commands / sizeof commands[0] };

static void print_help(FILE *out) {
  fprintf(out,
          "chord %s: a compiler for language models\n\n"
          "usage: chord COMMAND [OPTIONS]\n\ncommands:\n",
          chord_version());
  for (int i = 0; i < COMMAND_COUNT; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\nRun 'chord COMMAND --help' for a command's options.\n"
               "With no model argument, commands use the default model (Gemma 3 270M Q4_K_M,\n"
               "installed by scripts/setup.sh; override with CHORD_MODEL).\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_help(stderr);
    return 2;
  }
  const char *name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
    print_help(stdout);
    return 0;
  }
  if (strcmp(name, "--version") == 0) {
    printf("chord %s\n", chord_version());
    return 0;
  }
  for (int i = 0; i < COMMAND_COUNT; i++)
    if (strcmp(commands[i].name, name) == 0)
      return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "chord: unknown command '%s'\n\n", name);
  print_help(stderr);
  return 2;
}
