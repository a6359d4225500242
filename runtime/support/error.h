/* Recording failures into a chord_error: every library function returns a status and leaves the
 * message there, never on stdout. */
#ifndef CHORD_RUNTIME_ERROR_H
#define CHORD_RUNTIME_ERROR_H

#include <stdarg.h>

#include "chord.h"

/* Formats the message into error (when error is not NULL) and returns status, so a failure is
 * reported in one line: `return rt_error(error, CHORD_ERROR_IO, "cannot open %s", path);` */
chord_status rt_error(chord_error *error, chord_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
chord_status rt_error_v(chord_error *error, chord_status status, const char *format, va_list args);

/* Always-on check of an internal invariant: prints the place and aborts. */
#define RT_ASSERT(cond) ((cond) ? (void)0 : rt_assert_fail(#cond, __FILE__, __LINE__))
_Noreturn void rt_assert_fail(const char *what, const char *file, int line);

#endif
