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

void json_init(json_writer *j, FILE *out);
void json_object_begin(json_writer *j);
void json_object_end(json_writer *j);
void json_array_begin(json_writer *j);
void json_array_end(json_writer *j);
void json_key(json_writer *j, const char *key);
void json_string(json_writer *j, const char *s);
void json_string_n(json_writer *j, const char *s, uint64_t n);
void json_u64(json_writer *j, uint64_t v);
void json_i64(json_writer *j, int64_t v);
void json_f64(json_writer *j, double v); /* shortest form that reads back the same double */
void json_bool(json_writer *j, bool v);
void json_null(json_writer *j);
/* Ends the document with a newline. */
void json_finish(json_writer *j);

#endif
