/* canonicalize: local simplifications, one named pattern each, applied by the greedy rewriter until
 * none matches.
 *
 *   reshape-of-reshape   reshape(reshape(x, s1), s2)  -> reshape(x, s2)
 *   reshape-identity     reshape(x, shape of x)       -> x
 *   scale-of-scale       scale(scale(x, a), b)        -> scale(x, a*b)
 *   scale-by-one         scale(x, 1)                  -> x
 *   scale-into-softmax   softmax(scale(x, a) [, m], scale = s) -> softmax(x [, m], scale = a*s)
 *
 * Folding scales rounds once instead of twice, so results may differ in the last bit; softmax
 * applies its scale before the soft-cap and the mask, so a scale in front of it moves inside. */
#include "passes/pass.h"
#include "passes/rewriter.h"

static ir_value *operand_if(const ir_value *v, ir_op op) {
  ir_value *x = v->operands[0];
  return x->kind == IR_VALUE_NODE && x->op == op ? x : NULL;
}

static double scale_of(const ir_value *v) {
  const ir_attr *a = ir_value_attr(v, IR_ATTR_SCALE);
  return a ? a->as.f : 1.0;
}

/* reshape-of-reshape */
static bool match_reshape_of_reshape(const ir_graph *g, const ir_value *root) {
  return operand_if(root, IR_OP_RESHAPE) != NULL;
}

static chord_status rewrite_reshape_of_reshape(pass_rewriter *rw, ir_value *root) {
  ir_value *x = root->operands[0]->operands[0];
  const ir_attr *shape = ir_value_attr(root, IR_ATTR_SHAPE);
  ir_value *folded = pass_rewriter_build(rw, IR_OP_RESHAPE, &x, 1, shape, 1);
  if (!folded)
    return rw->error->status;
  pass_rewriter_replace(rw, root, folded);
  return CHORD_OK;
}

/* reshape-identity */
static bool match_reshape_identity(const ir_graph *g, const ir_value *root) {
  return ir_type_equal(&root->type, &root->operands[0]->type);
}

static chord_status replace_by_operand(pass_rewriter *rw, ir_value *root) {
  pass_rewriter_replace(rw, root, root->operands[0]);
  return CHORD_OK;
}

/* scale-of-scale */
static bool match_scale_of_scale(const ir_graph *g, const ir_value *root) {
  return operand_if(root, IR_OP_SCALE) != NULL;
}

static chord_status rewrite_scale_of_scale(pass_rewriter *rw, ir_value *root) {
  ir_value *inner = root->operands[0], *x = inner->operands[0];
  ir_attr scale = ir_attr_float(IR_ATTR_SCALE, scale_of(inner) * scale_of(root));
  ir_value *folded = pass_rewriter_build(rw, IR_OP_SCALE, &x, 1, &scale, 1);
  if (!folded)
    return rw->error->status;
  pass_rewriter_replace(rw, root, folded);
  return CHORD_OK;
}

/* scale-by-one */
static bool match_scale_by_one(const ir_graph *g, const ir_value *root) {
  return scale_of(root) == 1.0;
}

/* scale-into-softmax */
static bool match_scale_into_softmax(const ir_graph *g, const ir_value *root) {
  return operand_if(root, IR_OP_SCALE) != NULL;
}

static chord_status rewrite_scale_into_softmax(pass_rewriter *rw, ir_value *root) {
  ir_value *inner = root->operands[0];
  ir_value *operands[2] = {inner->operands[0], root->n_operands > 1 ? root->operands[1] : NULL};
  ir_attr attrs[2];
  uint32_t n_attrs = 0;
  attrs[n_attrs++] = ir_attr_float(IR_ATTR_SCALE, scale_of(inner) * scale_of(root));
  const ir_attr *softcap = ir_value_attr(root, IR_ATTR_SOFTCAP);
  if (softcap)
    attrs[n_attrs++] = *softcap;
  ir_value *folded =
      pass_rewriter_build(rw, IR_OP_SOFTMAX, operands, root->n_operands, attrs, n_attrs);
  if (!folded)
    return rw->error->status;
  pass_rewriter_replace(rw, root, folded);
  return CHORD_OK;
}

static const pass_pattern patterns[] = {
    {"reshape-of-reshape", IR_OP_RESHAPE, match_reshape_of_reshape, rewrite_reshape_of_reshape},
    {"reshape-identity", IR_OP_RESHAPE, match_reshape_identity, replace_by_operand},
    {"scale-of-scale", IR_OP_SCALE, match_scale_of_scale, rewrite_scale_of_scale},
    {"scale-by-one", IR_OP_SCALE, match_scale_by_one, replace_by_operand},
    {"scale-into-softmax", IR_OP_SOFTMAX, match_scale_into_softmax, rewrite_scale_into_softmax},
};

chord_status pass_canonicalize(ir_graph *g, chord_error *error) {
  return pass_rewrite_greedy(g, patterns, sizeof patterns / sizeof patterns[0],
                             PASS_REWRITE_MAX_SWEEPS, NULL, error);
}
