/* plan-memory: an element-wise op whose operand dies at it writes its result over that operand,
 *
 *   %g = qmatmul %x, @ffn_gate             %g = qmatmul %x, @ffn_gate
 *   %u = qmatmul %x, @ffn_up         ->    %u = qmatmul %x, @ffn_up
 *   %y = fused_region %g, %u {...}         %y = fused_region %g, %u {..., in_place = 0}
 *
 * so that the step's arena holds two [T, 2048] buffers where the FFN peaks, not three (4 MiB of
 * the default model's 14 MiB at T = 512). The runtime plans the arena at every step, as the
 * sizes depend on T and P (runtime/memory_plan.h); what it cannot know without the graph's users
 * is which buffer a result may take over, and that is what the pass records. Element i of the
 * result depends only on element i of each operand, so reading an element and writing the result
 * over it keeps every value the op computes.
 *
 * The operand taken over is the first one that: is computed (not a weight, input or state), is
 * of the result's type (no broadcast), is read by nothing after the op and is no output, and
 * shares its storage with nothing (no alias op such as dequantize or kv_read made it or reads
 * it): ir_can_write_over, which the verifier applies to every in_place. What it leaves
 * alone: everything but element-wise ops (a matmul or a norm reads an element after writing its
 * neighbour), and dequantize, which is already its operand's storage. */
#include "passes/pass.h"
#include "passes/rewriter.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

/* The operand v may be written over (ir_can_write_over, the verifier's own rule), or -1. */
static int64_t operand_to_take(const ir_graph *g, const ir_value *v) {
  const ir_op_info *info = ir_op_get(v->op);
  if (v->kind != IR_VALUE_NODE || !(info->flags & IR_FLAG_ELEMENTWISE) ||
      (info->flags & IR_FLAG_ALIAS) || !(info->attrs & (1ull << IR_ATTR_IN_PLACE)) ||
      ir_value_attr(v, IR_ATTR_IN_PLACE) || v->type.dtype != IR_DTYPE_F32)
    return -1;
  char why[256];
  for (uint32_t k = 0; k < v->n_operands; k++)
    if (ir_can_write_over(g, v, k, why, sizeof why))
      return k;
  return -1;
}

/* Rebuilds v with in_place = k (the rewriter inserts it where v is, so every value keeps its
 * place in the order, and the users found above stay the users). */
static chord_status mark_in_place(pass_rewriter *rw, ir_value *v, int64_t k) {
  enum { MAX_ATTRS = 16 };
  ir_attr attrs[MAX_ATTRS];
  RT_ASSERT(v->n_attrs < MAX_ATTRS);
  for (uint32_t i = 0; i < v->n_attrs; i++)
    attrs[i] = v->attrs[i];
  attrs[v->n_attrs] = ir_attr_int(IR_ATTR_IN_PLACE, k);
  rw->root = v;
  ir_value *marked =
      pass_rewriter_build(rw, v->op, v->operands, v->n_operands, attrs, v->n_attrs + 1);
  if (!marked)
    return rw->error->status;
  pass_rewriter_replace(rw, v, marked);
  return CHORD_OK;
}

chord_status pass_plan_memory(ir_graph *g, chord_error *error) {
  uint32_t n = g->n_values;
  ir_value **marked = rt_malloc((n ? n : 1) * sizeof *marked);
  int64_t *operand = rt_malloc((n ? n : 1) * sizeof *operand);
  if (!marked || !operand) {
    rt_free(marked);
    rt_free(operand);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "plan-memory: out of memory");
  }
  /* decided on the graph as it is, then applied: a rebuilt op replaces its old self in place */
  uint32_t n_marked = 0;
  for (uint32_t i = 0; i < n; i++) {
    int64_t k = operand_to_take(g, g->values[i]);
    if (k >= 0) {
      marked[n_marked] = g->values[i];
      operand[n_marked++] = k;
    }
  }
  pass_rewriter rw;
  pass_rewriter_init(&rw, g, error);
  chord_status st = CHORD_OK;
  for (uint32_t m = 0; m < n_marked && st == CHORD_OK; m++)
    st = mark_in_place(&rw, marked[m], operand[m]);
  rt_free(marked);
  rt_free(operand);
  return st;
}
