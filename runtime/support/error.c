#include "runtime/support/error.h"

#include <stdio.h>
#include <stdlib.h>

chord_status rt_error_v(chord_error *error, chord_status status, const char *format, va_list args) {
  if (error) {
    error->status = status;
    vsnprintf(error->message, sizeof error->message, format, args);
  }
  return status;
}

chord_status rt_error(chord_error *error, chord_status status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  rt_error_v(error, status, format, args);
  va_end(args);
  return status;
}

void rt_assert_fail(const char *what, const char *file, int line) {
  fprintf(stderr, "chord: internal error: %s:%d: assertion failed: %s\n", file, line, what);
  abort();
}

const char *chord_status_name(chord_status status) {
  switch (status) {
  case CHORD_OK: return "ok";
  case CHORD_ERROR_IO: return "i/o error";
  case CHORD_ERROR_FORMAT: return "format error";
  case CHORD_ERROR_UNSUPPORTED: return "unsupported";
  case CHORD_ERROR_NOT_FOUND: return "not found";
  case CHORD_ERROR_INVALID: return "invalid argument";
  case CHORD_ERROR_NO_MEMORY: return "out of memory";
  }
  return "unknown status";
}
