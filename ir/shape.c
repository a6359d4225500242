/* The shape rules of the op table: the result type of each op from its operands and attributes.
 * A rule fails with a reason; the caller adds which value and op. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "ir/fused_body.h"
#include "ir/shape.h"

static bool fail(char *why, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(char *why, size_t size, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(why, size, format, args);
  va_end(args);
  return false;
}

static const ir_type *operand(const ir_value *v, uint32_t i) { return &v->operands[i]->type; }

static bool is_float(ir_dtype t) {
  return t == IR_DTYPE_F32 || t == IR_DTYPE_F16 || t == IR_DTYPE_BF16;
}

static void dim_text(ir_dim d, char *buf, size_t size) { ir_dim_format(d, buf, size); }

static bool need_f32(const ir_value *v, uint32_t i, char *why, size_t size) {
  if (operand(v, i)->dtype == IR_DTYPE_F32)
    return true;
  return fail(why, size, "operand %" PRIu32 " must be f32, not %s", i,
              ir_dtype_name(operand(v, i)->dtype));
}

static bool need_rank(const ir_value *v, uint32_t i, uint32_t min, uint32_t max, char *why,
                      size_t size) {
  uint32_t r = operand(v, i)->rank;
  if (r >= min && r <= max)
    return true;
  if (min == max)
    return fail(why, size, "operand %" PRIu32 " must have rank %" PRIu32 ", not %" PRIu32, i, min,
                r);
  return fail(why, size,
              "operand %" PRIu32 " must have rank %" PRIu32 "..%" PRIu32 ", not %" PRIu32, i, min,
              max, r);
}

bool ir_shape_unary(const ir_value *v, ir_type *out, char *why, size_t size) {
  if (!need_f32(v, 0, why, size))
    return false;
  *out = *operand(v, 0);
  return true;
}

bool ir_shape_dequantize(const ir_value *v, ir_type *out, char *why, size_t size) {
  *out = *operand(v, 0);
  out->dtype = IR_DTYPE_F32;
  return true;
}

bool ir_shape_quantize(const ir_value *v, ir_type *out, char *why, size_t size) {
  if (!need_f32(v, 0, why, size) || !need_rank(v, 0, 1, IR_MAX_DIMS, why, size))
    return false;
  ir_dtype dtype;
  if (!ir_attr_dtype(v, &dtype))
    return fail(why, size, "quantize needs a dtype");
  *out = *operand(v, 0);
  out->dtype = dtype;
  ir_dim k = out->dims[out->rank - 1];
  uint32_t block = ir_dtype_get(dtype)->block_elems;
  if (block > 1 && (!ir_dim_is_const(k) || k.c % block != 0))
    return fail(why, size, "the last dim must be a multiple of %s's %u-element blocks",
                ir_dtype_name(dtype), block);
  return true;
}

bool ir_shape_get_rows(const ir_value *v, ir_type *out, char *why, size_t size) {
  const ir_type *table = operand(v, 0), *ids = operand(v, 1);
  if (!need_rank(v, 0, 2, 2, why, size) || !need_rank(v, 1, 1, 1, why, size))
    return false;
  if (ids->dtype != IR_DTYPE_I32)
    return fail(why, size, "row ids must be i32, not %s", ir_dtype_name(ids->dtype));
  *out = (ir_type){IR_DTYPE_F32, 2, {ids->dims[0], table->dims[1]}};
  return true;
}

/* Numpy broadcasting of two shapes, trailing dims aligned. */
static bool broadcast(const ir_type *a, const ir_type *b, ir_type *out, char *why, size_t size) {
  uint32_t rank = a->rank > b->rank ? a->rank : b->rank;
  out->dtype = a->dtype;
  out->rank = rank;
  for (uint32_t i = 0; i < rank; i++) {
    ir_dim one = ir_dim_const(1);
    ir_dim da = i < rank - a->rank ? one : a->dims[i - (rank - a->rank)];
    ir_dim db = i < rank - b->rank ? one : b->dims[i - (rank - b->rank)];
    if (ir_dim_equal(da, db) || ir_dim_equal(db, one)) {
      out->dims[i] = da;
    } else if (ir_dim_equal(da, one)) {
      out->dims[i] = db;
    } else {
      char ta[96], tb[96];
      dim_text(da, ta, sizeof ta);
      dim_text(db, tb, sizeof tb);
      return fail(why, size, "dims %s and %s do not broadcast (dim %" PRIu32 " of the result)", ta,
                  tb, i);
    }
  }
  return true;
}

bool ir_shape_broadcast(const ir_value *v, ir_type *out, char *why, size_t size) {
  if (!need_f32(v, 0, why, size) || !need_f32(v, 1, why, size))
    return false;
  out->dtype = IR_DTYPE_F32;
  return broadcast(operand(v, 0), operand(v, 1), out, why, size);
}

/* a [..., M, K] x b [..., N, K] -> [..., M, N]; b's batch dims equal a's or divide them. */
static bool matmul_shape(const ir_value *v, ir_type *out, char *why, size_t size) {
  const ir_type *a = operand(v, 0), *b = operand(v, 1);
  if (!need_rank(v, 0, 1, 4, why, size) || !need_rank(v, 1, 2, 4, why, size))
    return false;
  if (a->rank < b->rank)
    return fail(why, size, "rank %" PRIu32 " weight for a rank %" PRIu32 " input", b->rank,
                a->rank);
  ir_dim ka = a->dims[a->rank - 1], kb = b->dims[b->rank - 1];
  if (!ir_dim_equal(ka, kb)) {
    char ta[96], tb[96];
    dim_text(ka, ta, sizeof ta);
    dim_text(kb, tb, sizeof tb);
    return fail(why, size, "inner dims differ: %s (a) vs %s (b's last dim)", ta, tb);
  }
  *out = *a;
  out->dtype = IR_DTYPE_F32;
  out->dims[a->rank - 1] = b->dims[b->rank - 2];
  /* batch dims: b's (aligned to the end, before [N, K]) must equal or divide a's */
  for (uint32_t i = 0; i + 2 < b->rank; i++) {
    ir_dim db = b->dims[i], da = a->dims[a->rank - b->rank + i];
    bool divides = ir_dim_is_const(db) && ir_dim_is_const(da) && db.c > 0 && da.c % db.c == 0;
    if (!ir_dim_equal(da, db) && !divides) {
      char ta[96], tb[96];
      dim_text(da, ta, sizeof ta);
      dim_text(db, tb, sizeof tb);
      return fail(why, size, "batch dim %s of b does not divide %s of a", tb, ta);
    }
  }
  return true;
}

bool ir_shape_matmul(const ir_value *v, ir_type *out, char *why, size_t size) {
  if (!need_f32(v, 0, why, size))
    return false;
  if (!is_float(operand(v, 1)->dtype))
    return fail(why, size, "b must be f32, f16 or bf16, not %s (dequantize it, or use qmatmul)",
                ir_dtype_name(operand(v, 1)->dtype));
  return matmul_shape(v, out, why, size);
}

bool ir_shape_qmatmul(const ir_value *v, ir_type *out, char *why, size_t size) {
  if (!need_f32(v, 0, why, size))
    return false;
  return matmul_shape(v, out, why, size);
}

bool ir_shape_rope(const ir_value *v, ir_type *out, char *why, size_t size) {
  const ir_type *x = operand(v, 0), *pos = operand(v, 1);
  if (!need_f32(v, 0, why, size) || !need_rank(v, 0, 3, 3, why, size) ||
      !need_rank(v, 1, 1, 1, why, size))
    return false;
  if (pos->dtype != IR_DTYPE_I32)
    return fail(why, size, "positions must be i32, not %s", ir_dtype_name(pos->dtype));
  if (!ir_dim_equal(pos->dims[0], x->dims[0]))
    return fail(why, size, "one position per token needed: positions and x's dim 0 differ");
  int64_t n_rot = ir_attr_int_or(v, IR_ATTR_N_ROT, 0);
  ir_dim d = x->dims[2];
  if (n_rot <= 0 || n_rot % 2 || (ir_dim_is_const(d) && n_rot > d.c))
    return fail(why, size, "n_rot = %" PRId64 " must be even, positive and at most the head dim",
                n_rot);
  if (ir_attr_float_or(v, IR_ATTR_FREQ_BASE, 0) <= 0)
    return fail(why, size, "freq_base must be positive");
  if (v->n_operands == 3) { /* per-frequency factors, one per rotated pair */
    const ir_type *factors = operand(v, 2);
    char text[256];
    ir_type_format(factors, text, sizeof text);
    if (factors->dtype != IR_DTYPE_F32 || factors->rank != 1 ||
        !ir_dim_equal(factors->dims[0], ir_dim_const(n_rot / 2)))
      return fail(why, size, "the frequency factors must be f32[%" PRId64 "] (n_rot/2), not %s",
                  n_rot / 2, text);
    /* llama3 scaling computes the same factors from its attributes: both would apply twice */
    if (ir_attr_int_or(v, IR_ATTR_SCALING, 0) == 3)
      return fail(why, size, "scaling = llama3 and frequency factors both rescale the frequencies");
  }
  *out = *x;
  return true;
}

bool ir_shape_softmax(const ir_value *v, ir_type *out, char *why, size_t size) {
  if (!need_f32(v, 0, why, size))
    return false;
  if (v->n_operands == 2) {
    ir_type joined;
    if (!need_f32(v, 1, why, size) || !broadcast(operand(v, 0), operand(v, 1), &joined, why, size))
      return false;
    if (!ir_type_equal(&joined, operand(v, 0)))
      return fail(why, size, "the mask must broadcast to x, not widen it");
  }
  if (ir_attr_float_or(v, IR_ATTR_SOFTCAP, 0) < 0)
    return fail(why, size, "softcap must not be negative");
  *out = *operand(v, 0);
  return true;
}

bool ir_shape_mask(const ir_value *v, ir_type *out, char *why, size_t size) {
  if (!need_f32(v, 0, why, size) || !need_rank(v, 0, 2, 4, why, size))
    return false;
  if (v->op == IR_OP_SLIDING_WINDOW_MASK && ir_attr_int_or(v, IR_ATTR_WINDOW, 0) <= 0)
    return fail(why, size, "window must be positive");
  *out = *operand(v, 0);
  return true;
}

static bool shape_from_attr(const ir_value *v, ir_type *out, char *why, size_t size) {
  const ir_attr *a = ir_value_attr(v, IR_ATTR_SHAPE);
  if (!a || a->count > IR_MAX_DIMS)
    return fail(why, size, "shape must have at most %d dims", IR_MAX_DIMS);
  out->dtype = operand(v, 0)->dtype;
  out->rank = a->count;
  for (uint32_t i = 0; i < a->count; i++)
    out->dims[i] = a->as.dims[i];
  return true;
}

bool ir_shape_reshape(const ir_value *v, ir_type *out, char *why, size_t size) {
  if (!shape_from_attr(v, out, why, size))
    return false;
  const ir_type *x = operand(v, 0);
  if (!ir_shape_same_count(x->dims, x->rank, out->dims, out->rank)) {
    char tx[256], ty[256];
    ir_type_format(x, tx, sizeof tx);
    ir_type_format(out, ty, sizeof ty);
    return fail(why, size, "element counts differ: %s vs %s", tx, ty);
  }
  return true;
}

/* The element count of a shape of constants (false if a dim is symbolic); *fits is false when the
 * count needs more than 64 bits. A zero dim makes it 0 whatever the others. */
static bool constant_count(const ir_type *t, int64_t *count, bool *fits) {
  int64_t n = 1;
  bool zero = false, overflow = false;
  for (uint32_t i = 0; i < t->rank; i++) {
    if (!ir_dim_is_const(t->dims[i]))
      return false;
    zero = zero || t->dims[i].c == 0;
    overflow = overflow || __builtin_mul_overflow(n, t->dims[i].c, &n);
  }
  *fits = zero || !overflow;
  *count = zero ? 0 : n;
  return true;
}

bool ir_shape_view(const ir_value *v, ir_type *out, char *why, size_t size) {
  if (!shape_from_attr(v, out, why, size))
    return false;
  int64_t offset = ir_attr_int_or(v, IR_ATTR_OFFSET, 0);
  if (offset < 0)
    return fail(why, size, "offset must not be negative");
  /* with constant shapes the view must fit; symbolic ones are checked when T and P are known */
  const ir_type *x = operand(v, 0);
  int64_t have, need, end;
  bool have_fits, need_fits;
  if (!constant_count(x, &have, &have_fits) || !constant_count(out, &need, &need_fits))
    return true;
  if (!have_fits || !need_fits)
    return fail(why, size, "the element count of %s overflows 64 bits",
                have_fits ? "the view" : "x");
  if (__builtin_add_overflow(offset, need, &end) || end > have)
    return fail(why, size, "view of %" PRId64 " elements at %" PRId64 " past the %" PRId64 " of x",
                need, offset, have);
  return true;
}

bool ir_shape_permute(const ir_value *v, ir_type *out, char *why, size_t size) {
  const ir_type *x = operand(v, 0);
  const ir_attr *perm = ir_value_attr(v, IR_ATTR_PERM);
  if (!perm || perm->count != x->rank)
    return fail(why, size, "perm needs %" PRIu32 " entries, one per dim", x->rank);
  bool seen[IR_MAX_DIMS] = {false};
  *out = *x;
  for (uint32_t i = 0; i < x->rank; i++) {
    int64_t p = perm->as.list[i];
    if (p < 0 || p >= (int64_t)x->rank || seen[p])
      return fail(why, size, "perm is not a permutation of 0..%" PRIu32, x->rank - 1);
    seen[p] = true;
    out->dims[i] = x->dims[p];
  }
  return true;
}

bool ir_shape_transpose(const ir_value *v, ir_type *out, char *why, size_t size) {
  if (!need_rank(v, 0, 2, 4, why, size))
    return false;
  *out = *operand(v, 0);
  ir_dim last = out->dims[out->rank - 1];
  out->dims[out->rank - 1] = out->dims[out->rank - 2];
  out->dims[out->rank - 2] = last;
  return true;
}

bool ir_shape_concat(const ir_value *v, ir_type *out, char *why, size_t size) {
  const ir_type *first = operand(v, 0);
  int64_t axis = ir_attr_int_or(v, IR_ATTR_AXIS, 0);
  if (axis < 0 || axis >= (int64_t)first->rank)
    return fail(why, size, "axis %" PRId64 " out of range for rank %" PRIu32, axis, first->rank);
  *out = *first;
  for (uint32_t i = 1; i < v->n_operands; i++) {
    const ir_type *t = operand(v, i);
    if (t->dtype != first->dtype || t->rank != first->rank)
      return fail(why, size, "operand %" PRIu32 " differs from operand 0 in dtype or rank", i);
    for (uint32_t d = 0; d < t->rank; d++) {
      if (d == (uint32_t)axis) {
        if (!ir_dim_add(out->dims[d], t->dims[d], &out->dims[d]))
          return fail(why, size,
                      "the concatenated dim %" PRIu32
                      " overflows (coefficients are at most 2^62 in magnitude)",
                      d);
      } else if (!ir_dim_equal(t->dims[d], first->dims[d]))
        return fail(why, size, "operand %" PRIu32 " differs from operand 0 in dim %" PRIu32, i, d);
    }
  }
  return true;
}

bool ir_shape_kv_write(const ir_value *v, ir_type *out, char *why, size_t size) {
  const ir_value *cache = v->operands[0];
  const ir_type *c = &cache->type, *x = operand(v, 1);
  if (cache->kind != IR_VALUE_STATE &&
      !(cache->kind == IR_VALUE_NODE && cache->op == IR_OP_KV_WRITE))
    return fail(why, size, "operand 0 must be KV-cache state or a kv_write result");
  if (!need_f32(v, 1, why, size))
    return false;
  if (x->rank != c->rank)
    return fail(why, size, "x has rank %" PRIu32 ", the cache %" PRIu32, x->rank, c->rank);
  for (uint32_t d = 1; d < c->rank; d++) {
    if (!ir_dim_equal(x->dims[d], c->dims[d]))
      return fail(why, size, "x and the cache differ in dim %" PRIu32, d);
  }
  if (!ir_dim_equal(x->dims[0], (ir_dim){1, 0, 0}))
    return fail(why, size, "x must hold T rows (dim 0 = T)");
  *out = *c;
  return true;
}

bool ir_shape_kv_read(const ir_value *v, ir_type *out, char *why, size_t size) {
  const ir_value *cache = v->operands[0];
  if (cache->kind != IR_VALUE_STATE &&
      !(cache->kind == IR_VALUE_NODE && cache->op == IR_OP_KV_WRITE))
    return fail(why, size, "operand 0 must be KV-cache state or a kv_write result");
  *out = cache->type;
  out->dtype = IR_DTYPE_F32;
  out->dims[0] = (ir_dim){1, 1, 0};
  return true;
}

bool ir_shape_hadamard(const ir_value *v, ir_type *out, char *why, size_t size) {
  if (!need_f32(v, 0, why, size) || !need_rank(v, 0, 1, IR_MAX_DIMS, why, size))
    return false;
  const ir_type *x = operand(v, 0);
  ir_dim n = x->dims[x->rank - 1];
  if (!ir_dim_is_const(n) || n.c < 2 || (n.c & (n.c - 1)) != 0)
    return fail(why, size, "the last dim must be a constant power of two");
  *out = *x;
  return true;
}

bool ir_shape_argmax(const ir_value *v, ir_type *out, char *why, size_t size) {
  if (!need_f32(v, 0, why, size))
    return false;
  if (operand(v, 0)->rank == 0)
    return fail(why, size, "argmax of a scalar");
  *out = *operand(v, 0);
  out->dtype = IR_DTYPE_I32;
  out->dims[out->rank - 1] = ir_dim_const(1);
  return true;
}

bool ir_shape_flash_attention(const ir_value *v, ir_type *out, char *why, size_t size) {
  for (uint32_t i = 0; i < 3; i++) {
    if (!need_rank(v, i, 3, 3, why, size))
      return false;
  }
  if (!need_f32(v, 0, why, size))
    return false;
  const ir_type *q = operand(v, 0), *k = operand(v, 1), *vv = operand(v, 2);
  if (!ir_dim_equal(q->dims[2], k->dims[2]))
    return fail(why, size, "q and k head dims differ");
  if (!ir_dim_equal(k->dims[0], vv->dims[0]) || !ir_dim_equal(k->dims[1], vv->dims[1]))
    return fail(why, size, "k [S, Hk, D] and v [S, Hk, Dv] differ in length or heads");
  ir_dim hq = q->dims[0], hk = k->dims[1];
  bool divides = ir_dim_is_const(hq) && ir_dim_is_const(hk) && hk.c > 0 && hq.c % hk.c == 0;
  if (!ir_dim_equal(hq, hk) && !divides)
    return fail(why, size, "k's head count must divide q's");
  if (v->n_operands == 4 && !need_f32(v, 3, why, size))
    return false;
  ir_dtype dtype = IR_DTYPE_F16;
  if (ir_value_attr(v, IR_ATTR_DTYPE) &&
      (!ir_attr_dtype(v, &dtype) || ir_dtype_get(dtype)->block_elems != 1))
    return fail(why, size, "the probabilities round to f16 or bf16, not %s", ir_dtype_name(dtype));
  *out = (ir_type){IR_DTYPE_F32, 3, {q->dims[0], q->dims[1], vv->dims[2]}};
  return true;
}

bool ir_shape_fused_region(const ir_value *v, ir_type *out, char *why, size_t size) {
  const ir_attr *body = ir_value_attr(v, IR_ATTR_BODY);
  ir_fused_program program;
  if (!ir_fused_parse(body ? body->as.s : NULL, v->n_operands, &program, why, size))
    return false;
  if (!need_f32(v, 0, why, size))
    return false;
  *out = *operand(v, 0);
  for (uint32_t i = 1; i < v->n_operands; i++) {
    ir_type joined;
    if (!need_f32(v, i, why, size) || !broadcast(out, operand(v, i), &joined, why, size))
      return false;
    *out = joined;
    out->dtype = IR_DTYPE_F32;
  }
  return true;
}
