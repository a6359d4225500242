/* fuse-attention: attention as the frontend lowers it (docs/lowering.md),
 *
 *   s  = matmul(dequantize(quantize(q, f16)), permute(k, [1, 0, 2]))   scores [H, T, S]
 *   m  = causal_mask(s) | sliding_window_mask(s)
 *   p  = softmax(m) {scale}
 *   o  = matmul(dequantize(quantize(p, f16)), permute(v, [1, 2, 0]))   [H, T, Dv]
 *
 * with k [S, Hk, D] and v [S, Hk, Dv] as kv_read gives them, becomes
 * o = flash_attention(dequantize(quantize(q, f16)), k, v) {scale, window, dtype = f16}, which goes
 * over one query row at a time and never holds the H x T x S scores and probabilities (two f32
 * and one f16 copy of them: at a 4096-token prompt, most of a step's memory), and reads k and v
 * where they are instead of the permuted copies (each a copy of the layer's cache, every step).
 * Its semantics are the chain's arithmetic (ir/ops.def), so the result is the chain's bit for
 * bit.
 *
 * What it leaves alone: any link of the chain with another user (a graph output, a second
 * reader); a softmax with a soft-cap, a mask operand or a scale that is not positive and finite
 * (the fused op applies the cap before the mask, the chain after it); q not rounded to f16 (a
 * quantized key cache's scores are integer dot products with q8_0 blocks); keys and values that
 * are not permuted from the cache's layout. */
#include <math.h>

#include "passes/pass.h"
#include "passes/rewriter.h"
#include "runtime/support/error.h"

/* v when it is a node of op with no other user, else NULL. */
static const ir_value *only_use(const ir_value *v, ir_op op) {
  return v->kind == IR_VALUE_NODE && v->op == op && v->n_uses == 1 ? v : NULL;
}

/* The quantize under dequantize(quantize(x, f16 or bf16)), or NULL. */
static const ir_value *rounded(const ir_value *v, bool single_use) {
  if (v->kind != IR_VALUE_NODE || v->op != IR_OP_DEQUANTIZE || (single_use && v->n_uses != 1))
    return NULL;
  const ir_value *q = v->operands[0];
  if (q->kind != IR_VALUE_NODE || q->op != IR_OP_QUANTIZE || (single_use && q->n_uses != 1) ||
      (q->type.dtype != IR_DTYPE_F16 && q->type.dtype != IR_DTYPE_BF16))
    return NULL;
  return q;
}

typedef struct chain {
  const ir_value *q, *k, *v; /* the fused op's operands */
  const ir_value *p_round;   /* the probabilities' quantize (its dtype) */
  const ir_value *softmax, *mask;
} chain;

/* x when v is permute(x) {perm = [a, b, c]} of a rank-3 x, else NULL. */
static const ir_value *permuted(const ir_value *v, int64_t a, int64_t b, int64_t c) {
  const ir_attr *perm =
      v->kind == IR_VALUE_NODE && v->op == IR_OP_PERMUTE ? ir_value_attr(v, IR_ATTR_PERM) : NULL;
  if (!perm || perm->count != 3 || perm->as.list[0] != a || perm->as.list[1] != b ||
      perm->as.list[2] != c || v->operands[0]->type.rank != 3)
    return NULL;
  return v->operands[0];
}

static bool find_chain(const ir_value *root, chain *c) {
  if (root->n_operands != 2 || root->type.rank != 3)
    return false;
  c->v = permuted(root->operands[1], 1, 2, 0);
  c->p_round = rounded(root->operands[0], true);
  c->softmax = c->p_round ? only_use(c->p_round->operands[0], IR_OP_SOFTMAX) : NULL;
  if (!c->softmax || c->softmax->n_operands != 1)
    return false;
  double scale = ir_attr_float_or(c->softmax, IR_ATTR_SCALE, 1.0);
  if (!(scale > 0 && isfinite(scale)) || ir_attr_float_or(c->softmax, IR_ATTR_SOFTCAP, 0.0) != 0)
    return false;
  const ir_value *m = c->softmax->operands[0];
  c->mask = only_use(m, IR_OP_CAUSAL_MASK) ? m : only_use(m, IR_OP_SLIDING_WINDOW_MASK);
  const ir_value *scores = c->mask ? only_use(c->mask->operands[0], IR_OP_MATMUL) : NULL;
  if (!scores || scores->type.rank != 3 || !rounded(scores->operands[0], false) ||
      scores->operands[0]->type.dtype != IR_DTYPE_F32)
    return false;
  c->q = scores->operands[0];
  c->k = permuted(scores->operands[1], 1, 0, 2);
  if (!c->k || !c->v)
    return false;
  const ir_type *kt = &c->k->type, *vt = &c->v->type;
  /* k [S, Hk, D] and v [S, Hk, Dv]: what the shape rule checks, asked here so that a chain of
   * other shapes is left alone rather than failing the pass */
  return kt->dtype == IR_DTYPE_F32 && vt->dtype == IR_DTYPE_F32 &&
         ir_dim_equal(kt->dims[0], vt->dims[0]) && ir_dim_equal(kt->dims[1], vt->dims[1]);
}

static bool match_attention(const ir_graph *g, const ir_value *root) {
  (void)g;
  chain c;
  return find_chain(root, &c);
}

static chord_status rewrite_attention(pass_rewriter *rw, ir_value *root) {
  chain c;
  bool found = find_chain(root, &c);
  RT_ASSERT(found); /* the driver rewrites only what match_attention matched */
  ir_attr attrs[3];
  uint32_t n = 0;
  attrs[n++] = ir_attr_float(IR_ATTR_SCALE, ir_attr_float_or(c.softmax, IR_ATTR_SCALE, 1.0));
  attrs[n++] = *ir_value_attr(c.p_round, IR_ATTR_DTYPE);
  if (c.mask->op == IR_OP_SLIDING_WINDOW_MASK)
    attrs[n++] = ir_attr_int(IR_ATTR_WINDOW, ir_attr_int_or(c.mask, IR_ATTR_WINDOW, 0));
  ir_value *operands[3] = {(ir_value *)c.q, (ir_value *)c.k, (ir_value *)c.v};
  ir_value *fused = pass_rewriter_build(rw, IR_OP_FLASH_ATTENTION, operands, 3, attrs, n);
  if (!fused)
    return rw->error->status;
  pass_rewriter_replace(rw, root, fused); /* the scores, mask, softmax, rounding, permutes go */
  return CHORD_OK;
}

static const pass_pattern PATTERNS[] = {
    {"fuse-attention", IR_OP_MATMUL, match_attention, rewrite_attention},
};

chord_status pass_fuse_attention(ir_graph *g, chord_error *error) {
  return pass_rewrite_greedy(g, PATTERNS, 1, PASS_REWRITE_MAX_SWEEPS, NULL, error);
}
