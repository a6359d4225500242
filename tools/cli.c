#include "tools/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/platform/file.h"
#include "runtime/support/alloc.h"

const char *cli_program = "chord";

int cli_error(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fprintf(stderr, "%s: error: ", cli_program);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  return 1;
}

int cli_usage_error(const char *command, const char *format, ...) {
  va_list args;
  va_start(args, format);
  const char *space = command ? " " : "";
  command = command ? command : "";
  fprintf(stderr, "%s%s%s: ", cli_program, space, command);
  vfprintf(stderr, format, args);
  fprintf(stderr, "\nTry '%s%s%s --help' for more information.\n", cli_program, space, command);
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

int cli_write_output(const char *path, cli_writer write, const void *context) {
  chord_error error;
  if (!path) {
    if (write(stdout, context, &error) != CHORD_OK)
      return cli_error("%s", error.message);
    if (fflush(stdout) != 0)
      return cli_error("cannot write to standard output");
    return 0;
  }
  rt_output_file file;
  if (rt_output_open(path, &file, &error) != CHORD_OK)
    return cli_error("%s", error.message);
  if (write(file.stream, context, &error) != CHORD_OK ||
      rt_output_commit(&file, &error) != CHORD_OK) {
    rt_output_abandon(&file);
    return cli_error("%s", error.message);
  }
  return 0;
}

char *cli_read_file(const char *path, size_t *size) {
  if (strcmp(path, "-") == 0) {
    size_t capacity = 4096, n = 0;
    char *text = rt_malloc(capacity);
    while (text) {
      n += fread(text + n, 1, capacity - n - 1, stdin);
      if (n + 1 < capacity)
        break;
      char *bigger = rt_realloc(text, capacity *= 2);
      if (!bigger)
        rt_free(text);
      text = bigger;
    }
    if (!text) {
      cli_error("out of memory reading standard input");
      return NULL;
    }
    text[n] = '\0';
    *size = n;
    return text;
  }
  rt_mapped_file file;
  chord_error error;
  if (rt_file_map(path, &file, &error) != CHORD_OK) {
    cli_error("%s", error.message);
    return NULL;
  }
  char *text = rt_strndup(file.data ? (const char *)file.data : "", file.size);
  *size = file.size;
  rt_file_unmap(&file);
  if (!text)
    cli_error("out of memory reading %s", path);
  return text;
}

void cli_expand_aliases(int argc, char **argv) {
  static const char *const aliases[][2] = {{"-ctk", "--cache-type-k"}};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0)
      return;
    for (size_t a = 0; a < sizeof aliases / sizeof aliases[0]; a++)
      if (strcmp(argv[i], aliases[a][0]) == 0)
        argv[i] = (char *)aliases[a][1];
  }
}

bool cli_parse_long(const char *text, long long lo, long long hi, long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (end == text || *end || errno || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

bool cli_parse_float(const char *text, float *out) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || *end || errno || !isfinite(v))
    return false;
  *out = (float)v;
  return true;
}
