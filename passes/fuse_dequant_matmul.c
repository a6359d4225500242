/* fuse-dequant-matmul: a matmul whose right operand is the dequantize of a quantized weight,
 *
 *   %y = matmul %x, dequantize(@w : q4_k[N, K])   ->   %y = qmatmul %x, @w
 *
 * says in the graph what the targets already do: decode the weight's blocks where the dot
 * products read them, never an f32 copy of the weight (235 MiB for the default model). qmatmul's
 * semantics are matmul's with the dequantize inside it (ir/ops.def), and the interpreter and the
 * CPU target run both through the same code, so the result is the same bit for bit. The
 * dequantize dies with its last matmul.
 *
 * What it leaves alone: the dequantize of anything but a weight (an activation's rounding, whose
 * encoding the matmul reads through it), a weight of a float type (f32, f16 and bf16 weights are
 * matmul operands as they are), and a batched matmul (qmatmul's b is a weight matrix [N, K]). */
#include "passes/pass.h"
#include "passes/rewriter.h"

/* The weight under root's right operand when it is dequantize(@w) of a block type, else NULL. */
static ir_value *quantized_weight(const ir_value *root) {
  if (root->n_operands != 2)
    return NULL;
  const ir_value *d = root->operands[1];
  if (d->kind != IR_VALUE_NODE || d->op != IR_OP_DEQUANTIZE || d->type.rank != 2)
    return NULL;
  ir_value *w = d->operands[0];
  return w->kind == IR_VALUE_WEIGHT && ir_dtype_get(w->type.dtype)->block_elems > 1 ? w : NULL;
}

static bool match_qmatmul(const ir_graph *g, const ir_value *root) {
  (void)g;
  return quantized_weight(root) != NULL;
}

static chord_status rewrite_qmatmul(pass_rewriter *rw, ir_value *root) {
  ir_value *operands[2] = {root->operands[0], quantized_weight(root)};
  ir_value *fused = pass_rewriter_build(rw, IR_OP_QMATMUL, operands, 2, NULL, 0);
  if (!fused)
    return rw->error->status;
  pass_rewriter_replace(rw, root, fused); /* and the dequantize, once nothing else reads it */
  return CHORD_OK;
}

static const pass_pattern PATTERNS[] = {
    {"fuse-dequant-matmul", IR_OP_MATMUL, match_qmatmul, rewrite_qmatmul},
};

chord_status pass_fuse_dequant_matmul(ir_graph *g, chord_error *error) {
  return pass_rewrite_greedy(g, PATTERNS, 1, PASS_REWRITE_MAX_SWEEPS, NULL, error);
}
