/* infer-shapes: re-derives every op's result type from its shape rule, in program order, so that a
 * rewrite that changed an operand's type carries through to its users. A rule that rejects its
 * operands is an error naming the value. */
#include "passes/internal.h"
#include "passes/pass.h"
#include "runtime/support/error.h"

chord_status pass_infer_shapes(ir_graph *g, chord_error *error) {
  for (uint32_t i = 0; i < g->n_values; i++) {
    ir_value *v = g->values[i];
    if (v->kind != IR_VALUE_NODE)
      continue;
    const ir_op_info *info = ir_op_get(v->op);
    ir_type type;
    char why[512];
    why[0] = '\0';
    if (!info->shape_rule(v, &type, why, sizeof why)) {
      char label[160];
      return rt_error(error, CHORD_ERROR_INVALID, "%s (%s): %s",
                      pass_value_label(v, label, sizeof label), info->name, why);
    }
    v->type = type;
  }
  return CHORD_OK;
}
