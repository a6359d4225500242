/* Helpers shared by the IR's own files (not part of its interface). */
#ifndef CHORD_IR_INTERNAL_H
#define CHORD_IR_INTERNAL_H

#include "ir/ir.h"

/* How a value is written in the text form: "@tensor.name", "%name" or "%index". */
const char *ir_value_label(const ir_value *v, char *buf, size_t size);
/* Whether a name can be written bare (letters, digits, '_', '.', '-'); otherwise it is quoted. */
bool ir_name_is_bare(const char *name);

/* Appends formatted text at *at (truncating at size, never overflowing). */
void ir_appendf(char *buf, size_t size, size_t *at, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

#endif
