/* The shape rules named by the op table (ir/ops.def), one per op family (ir/shape.c). */
#ifndef CHORD_IR_SHAPE_H
#define CHORD_IR_SHAPE_H

#include "ir/ir.h"

#define X(NAME, name, min_operands, max_operands, attrs, required, flags, shape_rule, semantics)   \
  bool ir_##shape_rule(const ir_value *v, ir_type *out, char *why, size_t why_size);
#include "ir/ops.def"
#undef X

#endif
