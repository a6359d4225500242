/* fuse-elementwise: an element-wise op whose only user is another element-wise op of the same
 * shape is folded into it, the two becoming one fused_region whose body is the chain
 * (ir/fused_body.h):
 *
 *   mul(gelu(a), b)        -> fused_region a, b    {body = "mul(gelu_f16($0), $1)"}  (GeGLU)
 *   add(x, mul(n, w))      -> fused_region x, n, w {body = "add($0, mul($1, $2))"}   (residual)
 *
 * Regions grow by the same rule (a region is element-wise too), so a chain fuses whole. The body
 * functions compute their ops' f32 formulas, and each operand is broadcast to the region's shape
 * as it was to the op's (the producer has the consumer's shape), so the region's result is the
 * chain's bit for bit. What it leaves alone: a producer with other users (or a graph output), of
 * another shape (it would be computed once per element of a larger result), ops without a body
 * function (tanh, dequantize), and a region that would exceed a body's bounds or 8 operands. */
#include <stdio.h>
#include <string.h>

#include "ir/fused_body.h"
#include "passes/pass.h"
#include "passes/rewriter.h"

enum { MAX_OPERANDS = 8, MAX_BODY = 2048 };

/* The body functions of ops that have a fixed one (scale, gelu and fused_region depend on their
 * attributes: own_body). */
static const struct {
  ir_op op;
  const char *body;
} FIXED_BODIES[] = {
    {IR_OP_ADD, "add($0, $1)"},
    {IR_OP_MUL, "mul($0, $1)"},
    {IR_OP_SILU, "silu($0)"},
};

/* v's body over its own operands ($0 = operand 0), or false when it has none. */
static bool own_body(const ir_value *v, char *buf, size_t size) {
  if (v->kind != IR_VALUE_NODE || v->type.dtype != IR_DTYPE_F32 || v->n_operands > MAX_OPERANDS)
    return false;
  for (size_t i = 0; i < sizeof FIXED_BODIES / sizeof FIXED_BODIES[0]; i++)
    if (FIXED_BODIES[i].op == v->op)
      return (size_t)snprintf(buf, size, "%s", FIXED_BODIES[i].body) < size;
  static const char *const GELU_FORMS[] = {"gelu", "gelu_erf", "gelu_f16"}; /* by approx */
  int n = -1;
  if (v->op == IR_OP_SCALE) {
    n = snprintf(buf, size, "scale($0, %.17g)", ir_attr_float_or(v, IR_ATTR_SCALE, 1.0));
  } else if (v->op == IR_OP_GELU) {
    int64_t approx = ir_attr_int_or(v, IR_ATTR_APPROX, 0);
    if (approx >= 0 && approx < 3)
      n = snprintf(buf, size, "%s($0)", GELU_FORMS[approx]);
  } else if (v->op == IR_OP_FUSED_REGION) {
    const ir_attr *body = ir_value_attr(v, IR_ATTR_BODY);
    n = body ? snprintf(buf, size, "%s", body->as.s) : -1;
  }
  return n >= 0 && (size_t)n < size;
}

/* Whether consumer c may take in its operand p. */
static bool absorbable(const ir_value *c, const ir_value *p) {
  char body[MAX_BODY];
  return p->kind == IR_VALUE_NODE && p->n_uses == 1 && ir_type_equal(&p->type, &c->type) &&
         own_body(p, body, sizeof body);
}

typedef struct fusion {
  ir_value *operands[MAX_OPERANDS];
  uint32_t n_operands;
  char body[MAX_BODY];
  size_t length;
} fusion;

static bool append(fusion *f, const char *text, size_t n) {
  if (f->length + n >= sizeof f->body)
    return false;
  memcpy(f->body + f->length, text, n);
  f->length += n;
  f->body[f->length] = '\0';
  return true;
}

/* The index of x among the region's operands, added once. */
static bool operand_index(fusion *f, ir_value *x, uint32_t *index) {
  for (uint32_t i = 0; i < f->n_operands; i++)
    if (f->operands[i] == x) {
      *index = i;
      return true;
    }
  if (f->n_operands == MAX_OPERANDS)
    return false;
  f->operands[f->n_operands] = x;
  *index = f->n_operands++;
  return true;
}

/* Appends v's body with each $k replaced: by the body of operand k when inline allows and v may
 * take it in, else by that operand's index in the region. */
static bool expand(fusion *f, const ir_value *v, bool inline_operands) {
  char body[MAX_BODY];
  if (!own_body(v, body, sizeof body))
    return false;
  for (const char *p = body; *p;) {
    if (*p != '$') {
      const char *next = strchr(p, '$');
      size_t n = next ? (size_t)(next - p) : strlen(p);
      if (!append(f, p, n))
        return false;
      p += n;
      continue;
    }
    uint32_t k = 0;
    for (p++; *p >= '0' && *p <= '9'; p++)
      k = k * 10 + (uint32_t)(*p - '0');
    if (k >= v->n_operands)
      return false;
    ir_value *x = v->operands[k];
    if (inline_operands && absorbable(v, x)) {
      if (!expand(f, x, false)) /* x's own producers were fused into x already, if they could be */
        return false;
      continue;
    }
    uint32_t index;
    char ref[16];
    if (!operand_index(f, x, &index))
      return false;
    int n = snprintf(ref, sizeof ref, "$%u", index);
    if (!append(f, ref, (size_t)n))
      return false;
  }
  return true;
}

/* The region c becomes, when it takes in at least one operand and stays within a body's bounds. */
static bool plan(const ir_value *c, fusion *f) {
  bool any = false;
  for (uint32_t o = 0; o < c->n_operands && !any; o++)
    any = absorbable(c, c->operands[o]);
  memset(f, 0, sizeof *f);
  ir_fused_program program;
  char why[128];
  return any && expand(f, c, true) &&
         ir_fused_parse(f->body, f->n_operands, &program, why, sizeof why);
}

static bool match_fuse(const ir_graph *g, const ir_value *root) {
  (void)g;
  char body[MAX_BODY];
  fusion f;
  return own_body(root, body, sizeof body) && plan(root, &f);
}

static chord_status rewrite_fuse(pass_rewriter *rw, ir_value *root) {
  fusion f;
  plan(root, &f);
  ir_attr body = ir_attr_string(IR_ATTR_BODY, f.body);
  ir_value *region =
      pass_rewriter_build(rw, IR_OP_FUSED_REGION, f.operands, f.n_operands, &body, 1);
  if (!region)
    return rw->error->status;
  pass_rewriter_replace(rw, root, region); /* the producers it took in are left dead: erased */
  return CHORD_OK;
}

static const pass_pattern PATTERNS[] = {
    {"fuse-add", IR_OP_ADD, match_fuse, rewrite_fuse},
    {"fuse-mul", IR_OP_MUL, match_fuse, rewrite_fuse},
    {"fuse-scale", IR_OP_SCALE, match_fuse, rewrite_fuse},
    {"fuse-silu", IR_OP_SILU, match_fuse, rewrite_fuse},
    {"fuse-gelu", IR_OP_GELU, match_fuse, rewrite_fuse},
    {"fuse-region", IR_OP_FUSED_REGION, match_fuse, rewrite_fuse},
};

chord_status pass_fuse_elementwise(ir_graph *g, chord_error *error) {
  return pass_rewrite_greedy(g, PATTERNS, sizeof PATTERNS / sizeof PATTERNS[0],
                             PASS_REWRITE_MAX_SWEEPS, NULL, error);
}
