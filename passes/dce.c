/* dce: removes ops whose results nothing uses, and weights nothing reads. Stateful ops (the KV
 * cache writes) stay even when unused, outputs count as uses, and inputs and state are the graph's
 * interface, so they stay too. One backward sweep suffices: a value's users come after it. */
#include "passes/internal.h"
#include "passes/pass.h"
#include "passes/rewriter.h"

chord_status pass_dce(ir_graph *g, chord_error *error) {
  pass_rewriter rw;
  pass_rewriter_init(&rw, g, error);
  for (uint32_t i = g->n_values; i-- > 0;) {
    if (i >= g->n_values)
      continue; /* an erase removed more than one value */
    ir_value *v = g->values[i];
    bool dead_node = v->kind == IR_VALUE_NODE && !pass_is_stateful(v);
    if (v->n_uses == 0 && (dead_node || v->kind == IR_VALUE_WEIGHT))
      pass_rewriter_erase(&rw, v);
  }
  return CHORD_OK;
}
