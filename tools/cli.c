#include "tools/cli.h"

#include <stdarg.h>
#include <stdio.h>

int cli_error(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("chord: error: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  return 1;
}

int cli_usage_error(const char *command, const char *format, ...) {
  va_list args;
  va_start(args, format);
  fprintf(stderr, "chord %s: ", command);
  vfprintf(stderr, format, args);
  fprintf(stderr, "\nTry 'chord %s --help' for more information.\n", command);
  va_end(args);
  return 2;
}

const char *cli_model_path(const char *given, char *buf, size_t size) {
  if (given)
    return given;
  chord_error error;
  if (chord_default_model_path(buf, size, &error) != CHORD_OK) {
    cli_error("%s", error.message);
    return NULL;
  }
  return buf;
}
