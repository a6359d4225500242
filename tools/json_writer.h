/* A small streaming JSON writer for the CLI's --json output: it tracks commas and nesting so the
 * commands only say what to write. Strings are escaped; invalid UTF-8 becomes U+FFFD. */
#ifndef CHORD_TOOLS_JSON_WRITER_H
#define CHORD_TOOLS_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct json_writer {
  FILE *out;
  int depth;
  bool need_comma[64];
  bool after_key;
} json_writer;

void jw_init(json_writer *j, FILE *out);
void jw_object_begin(json_writer *j);
void jw_object_end(json_writer *j);
void jw_array_begin(json_writer *j);
void jw_array_end(json_writer *j);
void jw_key(json_writer *j, const char *key);
void jw_string(json_writer *j, const char *s);
void jw_string_n(json_writer *j, const char *s, uint64_t n);
void jw_u64(json_writer *j, uint64_t v);
void jw_i64(json_writer *j, int64_t v);
void jw_f64(json_writer *j, double v); /* shortest form that reads back the same double */
void jw_bool(json_writer *j, bool v);
void jw_null(json_writer *j);
/* Ends the document with a newline. */
void jw_finish(json_writer *j);

#endif
