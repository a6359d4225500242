/* Template error messages: "NAME:LINE:COLUMN: MESSAGE", then the line of the template and a
 * caret under the column, as a compiler shows them. */
#include <stdio.h>
#include <string.h>

#include "runtime/chat/jinja_internal.h"

/* Long lines (some templates are one line of 2000 characters) are shown as a window around the
 * column, so that the message still fits in a chord_error. */
enum { WINDOW_BEFORE = 50, WINDOW_AFTER = 50, MESSAGE_MAX = 560 };

/* Bytes of the first n code points of s (or fewer if s ends), never cutting a character. */
static size_t prefix_bytes(const char *s, size_t size, size_t n) {
  return jinja_utf8_offset(s, size, n);
}

void jinja_format_error(chord_error *error, chord_status status, const char *name,
                        const char *source, size_t size, size_t pos, const char *message) {
  if (!error)
    return;
  if (pos > size)
    pos = size;
  size_t line_start = pos, line_end = pos;
  while (line_start > 0 && source[line_start - 1] != '\n')
    line_start--;
  while (line_end < size && source[line_end] != '\n')
    line_end++;
  size_t line = 1;
  for (size_t i = 0; i < line_start; i++)
    line += source[i] == '\n';
  size_t column = jinja_utf8_length(source + line_start, pos - line_start) + 1;

  /* The window of the line that is shown, in bytes [from, to). */
  size_t from = line_start;
  bool cut_left = false, cut_right = false;
  if (column - 1 > WINDOW_BEFORE) {
    size_t skip = column - 1 - WINDOW_BEFORE;
    from = line_start + prefix_bytes(source + line_start, line_end - line_start, skip);
    cut_left = true;
  }
  size_t shown = jinja_utf8_length(source + from, pos - from) + WINDOW_AFTER;
  size_t to = from + prefix_bytes(source + from, line_end - from, shown);
  cut_right = to < line_end;

  /* The caret line copies tabs so that the caret lands under the column in a terminal. */
  char caret[4 * WINDOW_BEFORE + 16];
  size_t c = 0;
  if (cut_left)
    c += (size_t)snprintf(caret, sizeof caret, "   ");
  for (size_t i = from; i < pos && c + 2 < sizeof caret;) {
    caret[c++] = source[i] == '\t' ? '\t' : ' ';
    jinja_utf8_next(source, pos, &i);
  }
  caret[c++] = '^';
  caret[c] = '\0';

  int message_size = (int)strlen(message);
  const char *ellipsis = "";
  if (message_size > MESSAGE_MAX) {
    message_size = (int)prefix_bytes(message, MESSAGE_MAX, MESSAGE_MAX);
    while (message_size > 0 && ((unsigned char)message[message_size] & 0xC0) == 0x80)
      message_size--;
    ellipsis = "...";
  }
  error->status = status;
  snprintf(error->message, sizeof error->message, "%s:%zu:%zu: %.*s%s\n%s%.*s%s\n%s", name, line,
           column, message_size, message, ellipsis, cut_left ? "..." : "", (int)(to - from),
           source + from, cut_right ? "..." : "", caret);
}
