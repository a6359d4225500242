/* Helpers shared by the passes (not part of passes/pass.h). */
#ifndef CHORD_PASSES_INTERNAL_H
#define CHORD_PASSES_INTERNAL_H

#include <inttypes.h>
#include <stdio.h>

#include "ir/ir.h"

/* "%name" or "%index" (weights "@name"), as the text form writes a value. */
static inline const char *pass_value_label(const ir_value *v, char *buf, size_t size) {
  if (v->name)
    snprintf(buf, size, "%s%s", v->kind == IR_VALUE_WEIGHT ? "@" : "%", v->name);
  else
    snprintf(buf, size, "%%%" PRIu32, v->index);
  return buf;
}

static inline bool pass_is_stateful(const ir_value *v) {
  return v->kind == IR_VALUE_NODE && (ir_op_get(v->op)->flags & IR_FLAG_STATEFUL);
}

#endif
