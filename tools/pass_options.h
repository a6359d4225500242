/* What the commands that run the pass pipeline share (chord opt, chord ir; later run, logits,
 * compile): the options -O, --print-after, --print-after-all, --disable-pass, --time-passes, with
 * one parser so the spelling and the messages are the same everywhere, and the writers of their
 * output (the graph, or its statistics). */
#ifndef CHORD_TOOLS_PASS_OPTIONS_H
#define CHORD_TOOLS_PASS_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "frontends/gguf/gguf.h"
#include "frontends/gguf/lower.h"
#include "passes/pass.h"

enum {
  PASS_OPT_PRINT_AFTER = 0x200,
  PASS_OPT_PRINT_AFTER_ALL,
  PASS_OPT_DISABLE_PASS,
  PASS_OPT_TIME_PASSES,
};

/* Entries for a getopt_long table (the short option -O is the caller's: "O:"). */
#define PASS_LONG_OPTIONS                                                                          \
  {"print-after", required_argument, NULL, PASS_OPT_PRINT_AFTER},                                  \
      {"print-after-all", no_argument, NULL, PASS_OPT_PRINT_AFTER_ALL},                            \
      {"disable-pass", required_argument, NULL, PASS_OPT_DISABLE_PASS}, {                          \
    "time-passes", no_argument, NULL, PASS_OPT_TIME_PASSES                                         \
  }

/* --help lines for them. */
#define PASS_OPTIONS_HELP                                                                          \
  "      --print-after=PASS,...  print the graph to standard error after these passes\n"           \
  "      --print-after-all    print the graph to standard error after every pass\n"                \
  "      --disable-pass=PASS,...  skip these passes of the pipeline\n"                             \
  "      --time-passes        print each pass's time to standard error\n"

typedef struct pass_options {
  int level; /* -1 until -O is given */
  pass_run_options run;
} pass_options;

/* -O's argument ("0", "1" or "2") into *level; false after printing the usage error for command. */
bool pass_parse_level(const char *command, const char *arg, int *level);

/* Handles getopt's c if it is one of the options above or 'O': returns 1 when handled, 0 when c
 * is not a pass option, and -1 after printing a usage error for `command`. */
int pass_options_handle(pass_options *p, const char *command, int c, const char *arg);

/* The model at path opened, lowered with lo and put through the pipeline of p's level with p's run
 * options: *file and *graph for the caller to free (ir_graph_free, gguf_close), also on failure
 * (then either may be NULL). */
chord_status pass_lower_model(const char *path, const lower_options *lo, pass_options *p,
                              gguf_file **file, ir_graph **graph, chord_error *error);

/* cli_writer functions (tools/cli.h) for an ir_graph: its text form, or ir/stats.h's tables. */
chord_status pass_write_graph(FILE *out, const void *graph, chord_error *error);
chord_status pass_write_stats(FILE *out, const void *graph, chord_error *error);

#endif
