#include "tools/json_writer.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void jw_init(json_writer *j, FILE *out) {
  memset(j, 0, sizeof *j);
  j->out = out;
}

/* Writes the separator a new value needs at this point. */
static void before_value(json_writer *j) {
  if (j->after_key) {
    j->after_key = false;
    return;
  }
  if (j->depth > 0 && j->need_comma[j->depth])
    fputc(',', j->out);
  if (j->depth > 0)
    j->need_comma[j->depth] = true;
}

static void open_container(json_writer *j, char c) {
  before_value(j);
  fputc(c, j->out);
  if (j->depth < 63)
    j->depth++;
  j->need_comma[j->depth] = false;
}

static void close_container(json_writer *j, char c) {
  if (j->depth > 0)
    j->depth--;
  fputc(c, j->out);
}

void jw_object_begin(json_writer *j) { open_container(j, '{'); }
void jw_object_end(json_writer *j) { close_container(j, '}'); }
void jw_array_begin(json_writer *j) { open_container(j, '['); }
void jw_array_end(json_writer *j) { close_container(j, ']'); }

void jw_key(json_writer *j, const char *key) {
  jw_string(j, key);
  fputc(':', j->out);
  j->after_key = true;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not valid. */
static int utf8_sequence_length(const uint8_t *s, uint64_t n) {
  uint8_t c = s[0];
  int len = c < 0x80             ? 1
            : (c & 0xe0) == 0xc0 ? 2
            : (c & 0xf0) == 0xe0 ? 3
            : (c & 0xf8) == 0xf0 ? 4
                                 : 0;
  if (len == 0 || (uint64_t)len > n)
    return 0;
  uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1fu) : len == 3 ? (c & 0x0fu) : (c & 0x07u);
  for (int i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3fu);
  }
  static const uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_length[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

void jw_string_n(json_writer *j, const char *s, uint64_t n) {
  before_value(j);
  const uint8_t *p = (const uint8_t *)s;
  fputc('"', j->out);
  for (uint64_t i = 0; i < n;) {
    uint8_t c = p[i];
    if (c == '"' || c == '\\') {
      fputc('\\', j->out);
      fputc(c, j->out);
      i++;
    } else if (c < 0x20) {
      static const char short_escapes[] = {
          ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
      if (c < sizeof short_escapes && short_escapes[c])
        fprintf(j->out, "\\%c", short_escapes[c]);
      else
        fprintf(j->out, "\\u%04x", c);
      i++;
    } else {
      int len = utf8_sequence_length(p + i, n - i);
      if (len == 0) {
        fputs("\xef\xbf\xbd", j->out); /* U+FFFD for a byte that is not valid UTF-8 */
        i++;
      } else {
        fwrite(p + i, 1, (size_t)len, j->out);
        i += (uint64_t)len;
      }
    }
  }
  fputc('"', j->out);
}

void jw_string(json_writer *j, const char *s) { jw_string_n(j, s, strlen(s)); }

void jw_u64(json_writer *j, uint64_t v) {
  before_value(j);
  fprintf(j->out, "%" PRIu64, v);
}

void jw_i64(json_writer *j, int64_t v) {
  before_value(j);
  fprintf(j->out, "%" PRId64, v);
}

void jw_f64(json_writer *j, double v) {
  if (!isfinite(v)) {
    jw_null(j); /* JSON has no NaN or infinity */
    return;
  }
  before_value(j);
  char buf[40];
  for (int precision = 1; precision <= 17; precision++) {
    snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (strtod(buf, NULL) == v)
      break;
  }
  fputs(buf, j->out);
}

void jw_bool(json_writer *j, bool v) {
  before_value(j);
  fputs(v ? "true" : "false", j->out);
}

void jw_null(json_writer *j) {
  before_value(j);
  fputs("null", j->out);
}

void jw_finish(json_writer *j) { fputc('\n', j->out); }
