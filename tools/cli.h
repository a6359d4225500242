/* Shared pieces of the chord command-line tool: the command table entry, error reporting and the
 * model path that every command resolves the same way. */
#ifndef CHORD_TOOLS_CLI_H
#define CHORD_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "chord.h"

typedef struct cli_command {
  const char *name;
  int (*run)(int argc, char **argv); /* argv[0] is the command name */
  const char *summary;
} cli_command;

/* The program's name in messages: "chord", or a compiled executable's own (tools/compiled_main.c).
 */
extern const char *cli_program;

/* Prints "chord: error: ..." to stderr and returns the exit status 1. */
int cli_error(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* Prints a usage error, points at `chord CMD --help` (command NULL: the program's own --help),
 * and returns the exit status 2. */
int cli_usage_error(const char *command, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* The model to use: `given` if set, else the default model. NULL (after printing why) if none. */
const char *cli_model_path(const char *given, char *buf, size_t size);

/* Writes through `write` to the file at path (atomically: no partial file is left on failure), or
 * to standard output when path is NULL. Returns the exit status: 0, or 1 after printing why. */
typedef chord_status (*cli_writer)(FILE *out, const void *context, chord_error *error);
int cli_write_output(const char *path, cli_writer write, const void *context);

/* The whole of a file ("-": standard input), NUL-terminated, for rt_free; NULL after printing
 * why. */
char *cli_read_file(const char *path, size_t *size);

/* An option's integer value in [lo, hi], or a finite float: false when text is not one, whole. */
bool cli_parse_long(const char *text, long long lo, long long hi, long long *out);
bool cli_parse_float(const char *text, float *out);

/* llama.cpp's multi-letter short flags (-ctk) spelled as their long names (--cache-type-k)
 * before getopt, which would read -ctk as -c tk (one table in cli.c for every command). */
void cli_expand_aliases(int argc, char **argv);

/* The commands (one file each in tools/). */
int cmd_info(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_opt(int argc, char **argv);
int cmd_ir(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
