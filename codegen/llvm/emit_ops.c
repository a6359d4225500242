/* Node kernels as LLVM IR (codegen/llvm/emit_ops.h). Each emitter writes the loop nest of the
 * interpreter's function for its op (runtime/interp/interp.c) with the same float operations in
 * the same order: no fast-math flags, so LLVM may vectorize the element-wise loops (each element
 * is computed alone) but never reassociates a sum or contracts a multiply-add that the
 * interpreter does not fuse. */
#include "codegen/llvm/emit_ops.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/fused_body.h"
#include "runtime/interp/interp.h"
#include "runtime/interp/interp_gelu.h"
#include "runtime/support/alloc.h"

/* The kernel's arguments, loaded. */
typedef struct kernel_args {
  LLVMValueRef y, x[8], encoding, tokens, positions;
  LLVMValueRef first, last; /* the items to compute, for the kernels that split (matmul) */
} kernel_args;

enum { MAX_OPERANDS = 8 };

typedef struct op_emitter {
  ir_op op;
  bool (*supports)(const ir_value *v);
  void (*emit)(emitter *e, const ir_value *v, const kernel_args *a);
} op_emitter;

/* ---- attributes and shapes --------------------------------------------------------------- */

/* A dimension's value at the step's T and P. */
static LLVMValueRef dim_value(emitter *e, const kernel_args *a, ir_dim d) {
  LLVMValueRef x = emit_i64(e, d.c);
  if (d.t)
    x = LLVMBuildAdd(e->b, x, emit_mul64(e, a->tokens, d.t), "");
  if (d.p)
    x = LLVMBuildAdd(e->b, x, emit_mul64(e, a->positions, d.p), "");
  return x;
}

static LLVMValueRef dim_of(emitter *e, const kernel_args *a, const ir_type *t, uint32_t d) {
  return dim_value(e, a, t->dims[d]);
}

/* The element count of a type, and the length of its last dim. */
static LLVMValueRef count_of(emitter *e, const kernel_args *a, const ir_type *t) {
  LLVMValueRef n = emit_i64(e, 1);
  for (uint32_t d = 0; d < t->rank; d++)
    n = LLVMBuildMul(e->b, n, dim_of(e, a, t, d), "");
  return n;
}

static LLVMValueRef last_of(emitter *e, const kernel_args *a, const ir_type *t) {
  return t->rank ? dim_of(e, a, t, t->rank - 1) : emit_i64(e, 1);
}

static bool all_f32(const ir_value *v) {
  if (v->type.dtype != IR_DTYPE_F32 || v->n_operands > MAX_OPERANDS)
    return false;
  for (uint32_t o = 0; o < v->n_operands; o++)
    if (v->operands[o]->type.dtype != IR_DTYPE_F32)
      return false;
  return true;
}

static bool const_dim(ir_dim d, int64_t c) { return ir_dim_is_const(d) && d.c == c; }

/* ---- the ggml exponential ---------------------------------------------------------------- */

/* An internal function of the module, written once: the builder's place is kept. */
typedef void (*body_fn)(emitter *e, LLVMValueRef fn);

static LLVMValueRef helper(emitter *e, const char *name, LLVMTypeRef ret, LLVMTypeRef *params,
                           unsigned n, body_fn body) {
  LLVMValueRef fn = LLVMGetNamedFunction(e->module, name);
  if (fn)
    return fn;
  LLVMBasicBlockRef saved_block = LLVMGetInsertBlock(e->b);
  LLVMValueRef saved_fn = e->fn;
  fn = emit_begin(e, name, ret, params, n);
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  body(e, fn);
  e->fn = saved_fn;
  LLVMPositionBuilderAtEnd(e->b, saved_block);
  return fn;
}

/* 2^k as f32 for k in [-126, 127]: the exponent field alone. */
static LLVMValueRef power_of_two(emitter *e, LLVMValueRef k) {
  LLVMValueRef bits =
      LLVMBuildShl(e->b, LLVMBuildAdd(e->b, k, emit_i32(e, 127), ""), emit_i32(e, 23), "");
  return LLVMBuildBitCast(e->b, bits, e->f32, "");
}

/* ldexpf(p, n) for p in [0.5, 2) and |n| <= 192 (expf's polynomial and its integer), the
 * interpreter's, without a library call, so that it vectorizes: p * 2^n1 * 2^n2 with n1 chosen
 * so that 2^n2 is a normal float and p * 2^n1 is exact (normal); the last multiply then rounds
 * once, as ldexpf does, to a subnormal, an infinity or (mostly) exactly. */
static LLVMValueRef times_power_of_two(emitter *e, LLVMValueRef p, LLVMValueRef n) {
  LLVMValueRef low = LLVMBuildICmp(e->b, LLVMIntSLT, n, emit_i32(e, -126), "");
  LLVMValueRef high = LLVMBuildICmp(e->b, LLVMIntSGT, n, emit_i32(e, 127), "");
  LLVMValueRef n1 = LLVMBuildSelect(
      e->b, low, LLVMBuildAdd(e->b, n, emit_i32(e, 126), ""),
      LLVMBuildSelect(e->b, high, LLVMBuildSub(e->b, n, emit_i32(e, 127), ""), emit_i32(e, 0), ""),
      "");
  LLVMValueRef n2 = LLVMBuildSub(e->b, n, n1, "");
  return LLVMBuildFMul(e->b, LLVMBuildFMul(e->b, p, power_of_two(e, n1), ""), power_of_two(e, n2),
                       "");
}

/* float chord_expf(float): the interpreter's simd_expf (ggml_v_expf's arithmetic), once per
 * module (inlined where used). */
static void expf_body(emitter *e, LLVMValueRef fn) {
  LLVMValueRef x = LLVMGetParam(fn, 0);
  LLVMValueRef shift = emit_f32(e, 0x1.8p23f);
  LLVMValueRef z = emit_fma(e, x, emit_f32(e, 0x1.715476p+0f), shift);
  LLVMValueRef n = LLVMBuildFSub(e->b, z, shift, "");
  LLVMValueRef neg_n = LLVMBuildFNeg(e->b, n, "");
  LLVMValueRef b = emit_fma(e, neg_n, emit_f32(e, 0x1.7f7d1cp-20f),
                            emit_fma(e, neg_n, emit_f32(e, 0x1.62e4p-1f), x));
  LLVMValueRef u = LLVMBuildFMul(e->b, b, b, "");
  LLVMValueRef p = emit_fma(
      e,
      emit_fma(e, emit_fma(e, emit_f32(e, 0x1.0e4020p-7f), b, emit_f32(e, 0x1.573e2ep-5f)), u,
               emit_fma(e, emit_f32(e, 0x1.555e66p-3f), b, emit_f32(e, 0x1.fffdb6p-2f))),
      u, emit_fma(e, emit_f32(e, 0x1.ffffecp-1f), b, emit_f32(e, 1.0f)));
  LLVMValueRef big = LLVMBuildFCmp(e->b, LLVMRealOGT, emit_intrinsic(e, "llvm.fabs", e->f32, &n, 1),
                                   emit_f32(e, 192.0f), "");
  /* n is an integer below 2^31 in magnitude here; elsewhere the scaled value is not used */
  LLVMValueRef ni =
      LLVMBuildFPToSI(e->b, LLVMBuildSelect(e->b, big, emit_f32(e, 0), n, ""), e->i32, "");
  LLVMValueRef scaled = times_power_of_two(e, p, ni);
  LLVMValueRef huge = LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOGT, n, emit_f32(e, 0), ""),
                                      emit_f32(e, INFINITY), emit_f32(e, 0), "");
  LLVMValueRef r = LLVMBuildSelect(e->b, big, huge, scaled, "");
  LLVMValueRef is_nan = LLVMBuildFCmp(e->b, LLVMRealUNO, n, n, "");
  r = LLVMBuildSelect(e->b, is_nan, LLVMBuildFAdd(e->b, x, x, ""), r, "");
  LLVMBuildRet(e->b, r);
}

static LLVMValueRef ggml_expf(emitter *e, LLVMValueRef x) {
  LLVMValueRef fn = helper(e, "chord_expf", e->f32, &e->f32, 1, expf_body);
  return LLVMBuildCall2(e->b, LLVMGlobalGetValueType(fn), fn, &x, 1, "");
}

/* ---- element-wise ------------------------------------------------------------------------ */

static LLVMValueRef f16_round(emitter *e, LLVMValueRef x) {
  return LLVMBuildFPExt(e->b, LLVMBuildFPTrunc(e->b, x, e->f16, ""), e->f32, "");
}

/* 0.5 x (1 + tanh(sqrt(2/pi) x (1 + 0.044715 x^2))), the interpreter's order and its one fma. */
static LLVMValueRef gelu_tanh(emitter *e, LLVMValueRef x) {
  LLVMValueRef inner =
      emit_fma(e, LLVMBuildFMul(e->b, emit_f32(e, 0.044715f), x, ""), x, emit_f32(e, 1.0f));
  LLVMValueRef arg = LLVMBuildFMul(
      e->b, LLVMBuildFMul(e->b, emit_f32(e, 0.79788456080286535587989211986876f), x, ""), inner,
      "");
  LLVMValueRef t = LLVMBuildFAdd(e->b, emit_f32(e, 1.0f), emit_libm(e, "tanhf", arg), "");
  return LLVMBuildFMul(e->b, LLVMBuildFMul(e->b, emit_f32(e, 0.5f), x, ""), t, "");
}

static LLVMValueRef gelu_erf(emitter *e, LLVMValueRef x) {
  LLVMValueRef arg = LLVMBuildFMul(e->b, x, emit_f32(e, 0.7071067811865476f), "");
  LLVMValueRef t = LLVMBuildFAdd(e->b, emit_f32(e, 1.0f), emit_libm(e, "erff", arg), "");
  return LLVMBuildFMul(e->b, LLVMBuildFMul(e->b, emit_f32(e, 0.5f), x, ""), t, "");
}

/* GGML_GELU_FP16's 65536 entries (interp_gelu_f16_entry, the interpreter's own values): declared
 * where a kernel uses it, its contents filled in by emit_ops_define_tables. */
static const char GELU_TABLE[] = "chord_gelu_f16_table";
enum { GELU_ENTRIES = 1 << 16 };

static LLVMValueRef gelu_f16_table(emitter *e) {
  LLVMValueRef table = LLVMGetNamedGlobal(e->module, GELU_TABLE);
  return table ? table : LLVMAddGlobal(e->module, LLVMArrayType2(e->i16, GELU_ENTRIES), GELU_TABLE);
}

static uint16_t *gelu_entries(void) {
  uint16_t *entries = rt_malloc(GELU_ENTRIES * sizeof *entries);
  for (unsigned h = 0; entries && h < GELU_ENTRIES; h++)
    entries[h] = interp_gelu_f16_entry((uint16_t)h);
  return entries;
}

bool emit_ops_define_tables(LLVMModuleRef module) {
  LLVMValueRef table = LLVMGetNamedGlobal(module, GELU_TABLE);
  if (!table || LLVMGetInitializer(table))
    return true;
  uint16_t *entries = gelu_entries();
  LLVMContextRef ctx = LLVMGetModuleContext(module);
  LLVMTypeRef i16 = LLVMInt16TypeInContext(ctx);
  LLVMValueRef *values = rt_malloc(GELU_ENTRIES * sizeof *values);
  if (!entries || !values) {
    rt_free(entries);
    rt_free(values);
    return false;
  }
  for (unsigned h = 0; h < GELU_ENTRIES; h++)
    values[h] = LLVMConstInt(i16, entries[h], 0);
  LLVMSetInitializer(table, LLVMConstArray2(i16, values, GELU_ENTRIES));
  LLVMSetGlobalConstant(table, 1);
  LLVMSetLinkage(table, LLVMInternalLinkage);
  rt_free(values);
  rt_free(entries);
  return true;
}

uint64_t emit_ops_tables_digest(LLVMModuleRef module) {
  if (!LLVMGetNamedGlobal(module, GELU_TABLE))
    return 0; /* no table: nothing to compute (65536 tanhf calls) at every start */
  uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a over the entries */
  uint16_t *entries = gelu_entries();
  for (unsigned i = 0; entries && i < GELU_ENTRIES; i++)
    h = (h ^ entries[i]) * 0x100000001b3ull;
  rt_free(entries);
  return h;
}

/* ggml's f16 gelu table: input and result rounded to f16, tails passed through; the middle by a
 * lookup in the same table (no tanhf call per element). */
static LLVMValueRef gelu_tanh_f16(emitter *e, LLVMValueRef x) {
  LLVMValueRef h = LLVMBuildBitCast(e->b, LLVMBuildFPTrunc(e->b, x, e->f16, ""), e->i16, "");
  LLVMValueRef entry =
      emit_load_at(e, e->i16, gelu_f16_table(e), LLVMBuildZExt(e->b, h, e->i64, ""));
  LLVMValueRef mid = LLVMBuildFPExt(e->b, LLVMBuildBitCast(e->b, entry, e->f16, ""), e->f32, "");
  LLVMValueRef low = LLVMBuildFCmp(e->b, LLVMRealOLE, x, emit_f32(e, -10.0f), "");
  LLVMValueRef high = LLVMBuildFCmp(e->b, LLVMRealOGE, x, emit_f32(e, 10.0f), "");
  return LLVMBuildSelect(e->b, low, emit_f32(e, 0.0f), LLVMBuildSelect(e->b, high, x, mid, ""), "");
}

static LLVMValueRef unary_value(emitter *e, const ir_value *v, LLVMValueRef x) {
  switch (v->op) {
  case IR_OP_SCALE:
    return LLVMBuildFMul(e->b, x, emit_f32(e, (float)ir_attr_float_or(v, IR_ATTR_SCALE, 1.0)), "");
  case IR_OP_SILU:
    return LLVMBuildFDiv(
        e->b, x,
        LLVMBuildFAdd(e->b, emit_f32(e, 1.0f), ggml_expf(e, LLVMBuildFNeg(e->b, x, "")), ""), "");
  case IR_OP_TANH: return emit_libm(e, "tanhf", x);
  default: {
    int64_t approx = ir_attr_int_or(v, IR_ATTR_APPROX, 0);
    return approx == 1 ? gelu_erf(e, x) : approx == 2 ? gelu_tanh_f16(e, x) : gelu_tanh(e, x);
  }
  }
}

static bool supports_unary(const ir_value *v) { return all_f32(v) && v->n_operands == 1; }

static void emit_unary(emitter *e, const ir_value *v, const kernel_args *a) {
  emit_loop l;
  LLVMValueRef i = emit_for(e, &l, emit_i64(e, 0), count_of(e, a, &v->type), 1);
  emit_store_at(e, unary_value(e, v, emit_load_at(e, e->f32, a->x[0], i)), a->y, i);
  emit_end(e, &l);
}

/* How a binary operand lines up with the result: element for element, one row repeated along
 * the last dim, or one value. */
typedef enum broadcast {
  BROADCAST_NONE,
  BROADCAST_SAME,
  BROADCAST_ROW,
  BROADCAST_SCALAR
} broadcast;

static broadcast broadcast_of(const ir_type *y, const ir_type *x) {
  if (x->rank == y->rank) {
    bool same = true;
    for (uint32_t d = 0; d < y->rank; d++)
      same = same && ir_dim_equal(x->dims[d], y->dims[d]);
    if (same)
      return BROADCAST_SAME;
  }
  if (x->rank > y->rank)
    return BROADCAST_NONE;
  bool ones = true; /* every dim of x but the last is 1 */
  for (uint32_t d = 0; d + 1 < x->rank; d++)
    ones = ones && const_dim(x->dims[d], 1);
  if (ones && (x->rank == 0 || const_dim(x->dims[x->rank - 1], 1)))
    return BROADCAST_SCALAR;
  if (ones && y->rank && ir_dim_equal(x->dims[x->rank - 1], y->dims[y->rank - 1]))
    return BROADCAST_ROW;
  return BROADCAST_NONE;
}

static bool supports_binary(const ir_value *v) {
  return all_f32(v) && v->n_operands == 2 &&
         broadcast_of(&v->type, &v->operands[0]->type) != BROADCAST_NONE &&
         broadcast_of(&v->type, &v->operands[1]->type) != BROADCAST_NONE;
}

static LLVMValueRef broadcast_index(emitter *e, broadcast mode, LLVMValueRef flat,
                                    LLVMValueRef column) {
  return mode == BROADCAST_SAME ? flat : mode == BROADCAST_ROW ? column : emit_i64(e, 0);
}

/* The row and column loops of a broadcasting element-wise node (close with two emit_end): *flat
 * indexes the result, *column its last dim. */
static void open_elementwise(emitter *e, const ir_value *v, const kernel_args *a, emit_loop *lr,
                             emit_loop *lj, LLVMValueRef *flat, LLVMValueRef *column) {
  LLVMValueRef k = last_of(e, a, &v->type);
  LLVMValueRef rows = LLVMBuildSDiv(e->b, count_of(e, a, &v->type), k, "");
  LLVMValueRef r = emit_for(e, lr, emit_i64(e, 0), rows, 1);
  *column = emit_for(e, lj, emit_i64(e, 0), k, 1);
  *flat = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, r, k, ""), *column, "");
}

static void emit_binary(emitter *e, const ir_value *v, const kernel_args *a) {
  broadcast ma = broadcast_of(&v->type, &v->operands[0]->type);
  broadcast mb = broadcast_of(&v->type, &v->operands[1]->type);
  emit_loop lr, lj;
  LLVMValueRef flat, j;
  open_elementwise(e, v, a, &lr, &lj, &flat, &j);
  LLVMValueRef x0 = emit_load_at(e, e->f32, a->x[0], broadcast_index(e, ma, flat, j));
  LLVMValueRef x1 = emit_load_at(e, e->f32, a->x[1], broadcast_index(e, mb, flat, j));
  LLVMValueRef y =
      v->op == IR_OP_ADD ? LLVMBuildFAdd(e->b, x0, x1, "") : LLVMBuildFMul(e->b, x0, x1, "");
  emit_store_at(e, y, a->y, flat);
  emit_end(e, &lj);
  emit_end(e, &lr);
}

/* fused_region: the body's postfix program evaluated per element on a stack of LLVM values, each
 * function as the op it stands for (ir/fused_body.h; the interpreter's fused_fns). */
typedef LLVMValueRef (*fused_emit_fn)(emitter *e, LLVMValueRef *arg);

static LLVMValueRef fused_add(emitter *e, LLVMValueRef *arg) {
  return LLVMBuildFAdd(e->b, arg[0], arg[1], "");
}
static LLVMValueRef fused_sub(emitter *e, LLVMValueRef *arg) {
  return LLVMBuildFSub(e->b, arg[0], arg[1], "");
}
static LLVMValueRef fused_mul(emitter *e, LLVMValueRef *arg) {
  return LLVMBuildFMul(e->b, arg[0], arg[1], "");
}
static LLVMValueRef fused_scale(emitter *e, LLVMValueRef *arg) {
  return LLVMBuildFMul(e->b, arg[0], arg[1], "");
}
static LLVMValueRef fused_neg(emitter *e, LLVMValueRef *arg) {
  return LLVMBuildFNeg(e->b, arg[0], "");
}
static LLVMValueRef fused_silu(emitter *e, LLVMValueRef *arg) {
  LLVMValueRef x = arg[0];
  return LLVMBuildFDiv(
      e->b, x, LLVMBuildFAdd(e->b, emit_f32(e, 1.0f), ggml_expf(e, LLVMBuildFNeg(e->b, x, "")), ""),
      "");
}
static LLVMValueRef fused_gelu(emitter *e, LLVMValueRef *arg) { return gelu_tanh(e, arg[0]); }
static LLVMValueRef fused_gelu_erf(emitter *e, LLVMValueRef *arg) { return gelu_erf(e, arg[0]); }
static LLVMValueRef fused_gelu_f16(emitter *e, LLVMValueRef *arg) {
  return gelu_tanh_f16(e, arg[0]);
}

static const fused_emit_fn FUSED_EMIT[IR_FUSED_FN_COUNT] = {
#define X(NAME, name, arity, literal, semantics) [IR_FUSED_##NAME] = fused_##name,
    IR_FUSED_FUNCTIONS(X)
#undef X
};

static bool supports_fused(const ir_value *v) {
  const ir_attr *body = ir_value_attr(v, IR_ATTR_BODY);
  ir_fused_program program;
  char why[128];
  if (!all_f32(v) || !body || !ir_fused_parse(body->as.s, v->n_operands, &program, why, sizeof why))
    return false;
  for (uint32_t o = 0; o < v->n_operands; o++)
    if (broadcast_of(&v->type, &v->operands[o]->type) == BROADCAST_NONE)
      return false;
  return true;
}

static void emit_fused(emitter *e, const ir_value *v, const kernel_args *a) {
  ir_fused_program program;
  char why[128];
  ir_fused_parse(ir_value_attr(v, IR_ATTR_BODY)->as.s, v->n_operands, &program, why, sizeof why);
  broadcast mode[MAX_OPERANDS];
  for (uint32_t o = 0; o < v->n_operands; o++)
    mode[o] = broadcast_of(&v->type, &v->operands[o]->type);
  emit_loop lr, lj;
  LLVMValueRef flat, j;
  open_elementwise(e, v, a, &lr, &lj, &flat, &j);
  LLVMValueRef stack[IR_FUSED_MAX_STEPS];
  uint32_t top = 0;
  for (uint32_t i = 0; i < program.n_steps; i++) {
    const ir_fused_step *step = &program.steps[i];
    if (step->kind == IR_FUSED_STEP_OPERAND) {
      LLVMValueRef at = broadcast_index(e, mode[step->index], flat, j);
      stack[top++] = emit_load_at(e, e->f32, a->x[step->index], at);
    } else if (step->kind == IR_FUSED_STEP_NUMBER) {
      stack[top++] = emit_f32(e, (float)step->number);
    } else {
      top -= ir_fused_fn_get((ir_fused_fn)step->index)->arity;
      stack[top] = FUSED_EMIT[step->index](e, &stack[top]);
      top++;
    }
  }
  emit_store_at(e, stack[0], a->y, flat);
  emit_end(e, &lj);
  emit_end(e, &lr);
}

/* ---- reductions along the last dim ------------------------------------------------------- */

static bool supports_rows(const ir_value *v) {
  return all_f32(v) && v->n_operands == 1 && v->type.rank >= 1;
}

/* rms_norm and layer_norm: f32 products, double sums, the mean, variance and scale in f32. */
static void emit_norm(emitter *e, const ir_value *v, const kernel_args *a) {
  bool layer = v->op == IR_OP_LAYER_NORM;
  LLVMValueRef eps = emit_f32(e, (float)ir_attr_float_or(v, IR_ATTR_EPS, 0));
  LLVMValueRef k = last_of(e, a, &v->type);
  LLVMValueRef kd = LLVMBuildSIToFP(e->b, k, e->f64, "");
  LLVMValueRef rows = LLVMBuildSDiv(e->b, count_of(e, a, &v->type), k, "");
  emit_loop lr, l;
  LLVMValueRef r = emit_for(e, &lr, emit_i64(e, 0), rows, 1);
  LLVMValueRef in = emit_gep(e, e->f32, a->x[0], LLVMBuildMul(e->b, r, k, ""));
  LLVMValueRef out = emit_gep(e, e->f32, a->y, LLVMBuildMul(e->b, r, k, ""));
  LLVMValueRef mean = emit_f32(e, 0.0f);
  if (layer) {
    LLVMValueRef sum = emit_var(e, e->f64, emit_f64(e, 0));
    LLVMValueRef j = emit_for(e, &l, emit_i64(e, 0), k, 1);
    LLVMValueRef x = LLVMBuildFPExt(e->b, emit_load_at(e, e->f32, in, j), e->f64, "");
    emit_set(e, sum, LLVMBuildFAdd(e->b, emit_get(e, e->f64, sum), x, ""));
    emit_end(e, &l);
    mean =
        LLVMBuildFPTrunc(e->b, LLVMBuildFDiv(e->b, emit_get(e, e->f64, sum), kd, ""), e->f32, "");
  }
  LLVMValueRef sum2 = emit_var(e, e->f64, emit_f64(e, 0));
  LLVMValueRef j = emit_for(e, &l, emit_i64(e, 0), k, 1);
  LLVMValueRef d = LLVMBuildFSub(e->b, emit_load_at(e, e->f32, in, j), mean, "");
  LLVMValueRef dd = LLVMBuildFPExt(e->b, LLVMBuildFMul(e->b, d, d, ""), e->f64, "");
  emit_set(e, sum2, LLVMBuildFAdd(e->b, emit_get(e, e->f64, sum2), dd, ""));
  emit_end(e, &l);
  LLVMValueRef variance =
      LLVMBuildFPTrunc(e->b, LLVMBuildFDiv(e->b, emit_get(e, e->f64, sum2), kd, ""), e->f32, "");
  LLVMValueRef root = LLVMBuildFAdd(e->b, variance, eps, "");
  root = emit_intrinsic(e, "llvm.sqrt", e->f32, &root, 1);
  LLVMValueRef scale = LLVMBuildFDiv(e->b, emit_f32(e, 1.0f), root, "");
  j = emit_for(e, &l, emit_i64(e, 0), k, 1);
  LLVMValueRef x = LLVMBuildFSub(e->b, emit_load_at(e, e->f32, in, j), mean, "");
  emit_store_at(e, LLVMBuildFMul(e->b, x, scale, ""), out, j);
  emit_end(e, &l);
  emit_end(e, &lr);
}

/* simd_sum16: lanes l + l+8, then l + l+4, then (0 + 2) + (1 + 3). */
static LLVMValueRef sum16(emitter *e, LLVMValueRef lanes) {
  LLVMValueRef x[16];
  for (int l = 0; l < 16; l++)
    x[l] = emit_load_at(e, e->f32, lanes, emit_i64(e, l));
  for (int l = 0; l < 8; l++)
    x[l] = LLVMBuildFAdd(e->b, x[l], x[l + 8], "");
  for (int l = 0; l < 4; l++)
    x[l] = LLVMBuildFAdd(e->b, x[l], x[l + 4], "");
  return LLVMBuildFAdd(e->b, LLVMBuildFAdd(e->b, x[0], x[2], ""),
                       LLVMBuildFAdd(e->b, x[1], x[3], ""), "");
}

/* The end of softmax over one row of k logits at out whose largest is top: exponentials by
 * chord_expf summed 16 at a time in f32 (in lanes, 16 floats) and the sixteens in double, then a
 * multiply by the f32 reciprocal (the interpreter's softmax_finish). */
static void emit_softmax_finish(emitter *e, LLVMValueRef out, LLVMValueRef k, LLVMValueRef top,
                                LLVMValueRef lanes) {
  LLVMValueRef no_top = LLVMBuildFCmp(e->b, LLVMRealOEQ, top, emit_f32(e, -INFINITY), "");
  LLVMValueRef sum = emit_var(e, e->f64, emit_f64(e, 0));
  emit_loop l, lc;
  LLVMValueRef j0 = emit_for(e, &lc, emit_i64(e, 0), k, 16);
  for (int lane = 0; lane < 16; lane++)
    emit_store_at(e, emit_f32(e, 0.0f), lanes, emit_i64(e, lane));
  LLVMValueRef end = emit_add64(e, j0, 16);
  end = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, k, end, ""), k, end, "");
  LLVMValueRef j = emit_for(e, &l, j0, end, 1);
  LLVMValueRef p = ggml_expf(e, LLVMBuildFSub(e->b, emit_load_at(e, e->f32, out, j), top, ""));
  p = LLVMBuildSelect(e->b, no_top, emit_f32(e, 0.0f), p, "");
  emit_store_at(e, p, out, j);
  emit_store_at(e, p, lanes, LLVMBuildSub(e->b, j, j0, ""));
  emit_end(e, &l);
  LLVMValueRef s16 = LLVMBuildFPExt(e->b, sum16(e, lanes), e->f64, "");
  emit_set(e, sum, LLVMBuildFAdd(e->b, emit_get(e, e->f64, sum), s16, ""));
  emit_end(e, &lc);
  LLVMValueRef total = emit_get(e, e->f64, sum);
  LLVMValueRef inv =
      LLVMBuildFPTrunc(e->b, LLVMBuildFDiv(e->b, emit_f64(e, 1.0), total, ""), e->f32, "");
  inv = LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOGT, total, emit_f64(e, 0), ""), inv,
                        emit_f32(e, 0.0f), "");
  j = emit_for(e, &l, emit_i64(e, 0), k, 1);
  emit_store_at(e, LLVMBuildFMul(e->b, emit_load_at(e, e->f32, out, j), inv, ""), out, j);
  emit_end(e, &l);
}

/* softmax's logit: x * scale, then cap * tanh(c / cap) when there is a soft-cap. */
static LLVMValueRef softmax_logit(emitter *e, LLVMValueRef x, float scale, float cap) {
  LLVMValueRef c = LLVMBuildFMul(e->b, x, emit_f32(e, scale), "");
  if (cap > 0) {
    LLVMValueRef t = emit_libm(e, "tanhf", LLVMBuildFDiv(e->b, c, emit_f32(e, cap), ""));
    c = LLVMBuildFMul(e->b, emit_f32(e, cap), t, "");
  }
  return c;
}

/* top = max(top, c) as the interpreter's compare-and-take. */
static void emit_running_max(emitter *e, LLVMValueRef top, LLVMValueRef c) {
  LLVMValueRef t = emit_get(e, e->f32, top);
  emit_set(e, top, LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOGT, c, t, ""), c, t, ""));
}

/* softmax: each row's logits (softmax_logit) and their largest, then emit_softmax_finish. */
static void emit_softmax(emitter *e, const ir_value *v, const kernel_args *a) {
  float scale = (float)ir_attr_float_or(v, IR_ATTR_SCALE, 1.0);
  float cap = (float)ir_attr_float_or(v, IR_ATTR_SOFTCAP, 0.0);
  LLVMValueRef k = last_of(e, a, &v->type);
  LLVMValueRef rows = LLVMBuildSDiv(e->b, count_of(e, a, &v->type), k, "");
  LLVMValueRef lanes = emit_var(e, LLVMArrayType2(e->f32, 16), NULL);
  emit_loop lr, l;
  LLVMValueRef r = emit_for(e, &lr, emit_i64(e, 0), rows, 1);
  LLVMValueRef in = emit_gep(e, e->f32, a->x[0], LLVMBuildMul(e->b, r, k, ""));
  LLVMValueRef out = emit_gep(e, e->f32, a->y, LLVMBuildMul(e->b, r, k, ""));
  LLVMValueRef top = emit_var(e, e->f32, emit_f32(e, -INFINITY));
  LLVMValueRef j = emit_for(e, &l, emit_i64(e, 0), k, 1);
  LLVMValueRef c = softmax_logit(e, emit_load_at(e, e->f32, in, j), scale, cap);
  emit_store_at(e, c, out, j);
  emit_running_max(e, top, c);
  emit_end(e, &l);
  emit_softmax_finish(e, out, k, emit_get(e, e->f32, top), lanes);
  emit_end(e, &lr);
}

static bool supports_mask(const ir_value *v) {
  return all_f32(v) && v->n_operands == 1 && v->type.rank >= 2;
}

/* x [..., T, S] with query i at position P + i: key j masked when j > P + i, or (a window w)
 * j <= P + i - w. */
static void emit_mask(emitter *e, const ir_value *v, const kernel_args *a) {
  int64_t window = v->op == IR_OP_SLIDING_WINDOW_MASK ? ir_attr_int_or(v, IR_ATTR_WINDOW, 0) : 0;
  LLVMValueRef cols = last_of(e, a, &v->type);
  LLVMValueRef rows = dim_of(e, a, &v->type, v->type.rank - 2);
  LLVMValueRef outer =
      LLVMBuildSDiv(e->b, count_of(e, a, &v->type), LLVMBuildMul(e->b, rows, cols, ""), "");
  emit_loop lo, li, lj;
  LLVMValueRef o = emit_for(e, &lo, emit_i64(e, 0), outer, 1);
  LLVMValueRef i = emit_for(e, &li, emit_i64(e, 0), rows, 1);
  LLVMValueRef q = LLVMBuildAdd(e->b, a->positions, i, "");
  LLVMValueRef base =
      LLVMBuildMul(e->b, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, o, rows, ""), i, ""), cols, "");
  LLVMValueRef j = emit_for(e, &lj, emit_i64(e, 0), cols, 1);
  LLVMValueRef masked = LLVMBuildICmp(e->b, LLVMIntSGT, j, q, "");
  if (window > 0)
    masked = LLVMBuildOr(
        e->b, masked,
        LLVMBuildICmp(e->b, LLVMIntSLE, j, LLVMBuildSub(e->b, q, emit_i64(e, window), ""), ""), "");
  LLVMValueRef at = LLVMBuildAdd(e->b, base, j, "");
  LLVMValueRef x = emit_load_at(e, e->f32, a->x[0], at);
  emit_store_at(e, LLVMBuildSelect(e->b, masked, emit_f32(e, -INFINITY), x, ""), a->y, at);
  emit_end(e, &lj);
  emit_end(e, &li);
  emit_end(e, &lo);
}

/* ---- rope -------------------------------------------------------------------------------- */

/* Plain and linear-scaled rope without a factor tensor: x [T, heads, d], positions i32 [T]. */
static bool supports_rope(const ir_value *v) {
  int64_t scaling = ir_attr_int_or(v, IR_ATTR_SCALING, 0);
  if (v->type.dtype != IR_DTYPE_F32 || v->n_operands != 2 || v->type.rank != 3 ||
      v->operands[0]->type.dtype != IR_DTYPE_F32 || v->operands[1]->type.dtype != IR_DTYPE_I32 ||
      (scaling != 0 && scaling != 1) || !ir_dim_is_const(v->type.dims[2]))
    return false;
  int64_t d = v->type.dims[2].c, n_rot = ir_attr_int_or(v, IR_ATTR_N_ROT, d);
  return n_rot > 0 && n_rot <= d && n_rot % 2 == 0;
}

/* The angles as ggml_rope_cache_init takes them (rope_angles in interp.c): theta starts at the
 * position and is multiplied by powf(base, -2/n_rot) pair by pair; angle = freq_scale * theta. */
static void emit_rope(emitter *e, const ir_value *v, const kernel_args *a) {
  int64_t d = v->type.dims[2].c, n_rot = ir_attr_int_or(v, IR_ATTR_N_ROT, d), half = n_rot / 2;
  bool neox = ir_attr_int_or(v, IR_ATTR_MODE, 0) == 1;
  float base = (float)ir_attr_float_or(v, IR_ATTR_FREQ_BASE, 10000.0);
  /* computed here with the same libm the interpreter calls */
  LLVMValueRef theta_scale = emit_f32(e, powf(base, -2.0f / (float)n_rot));
  LLVMValueRef freq_scale = emit_f32(e, ir_attr_int_or(v, IR_ATTR_SCALING, 0) == 1
                                            ? (float)ir_attr_float_or(v, IR_ATTR_FREQ_SCALE, 1.0)
                                            : 1.0f);
  LLVMValueRef count = count_of(e, a, &v->type);
  LLVMValueRef t_count = dim_of(e, a, &v->type, 0), heads = dim_of(e, a, &v->type, 1);
  LLVMValueRef cs = emit_var(e, LLVMArrayType2(e->f32, (uint64_t)n_rot), NULL);
  emit_loop l, lt, lh;
  LLVMValueRef i = emit_for(e, &l, emit_i64(e, 0), count, 1);
  emit_store_at(e, emit_load_at(e, e->f32, a->x[0], i), a->y, i);
  emit_end(e, &l);
  LLVMValueRef t = emit_for(e, &lt, emit_i64(e, 0), t_count, 1);
  LLVMValueRef pos = emit_load_at(e, e->i32, a->x[1], t);
  LLVMValueRef theta = emit_var(e, e->f32, LLVMBuildSIToFP(e->b, pos, e->f32, ""));
  i = emit_for(e, &l, emit_i64(e, 0), emit_i64(e, half), 1);
  LLVMValueRef th = emit_get(e, e->f32, theta);
  LLVMValueRef angle = LLVMBuildFMul(e->b, freq_scale, th, "");
  emit_store_at(e, emit_libm(e, "cosf", angle), cs, emit_mul64(e, i, 2));
  emit_store_at(e, emit_libm(e, "sinf", angle), cs, emit_add64(e, emit_mul64(e, i, 2), 1));
  emit_set(e, theta, LLVMBuildFMul(e->b, th, theta_scale, ""));
  emit_end(e, &l);
  LLVMValueRef h = emit_for(e, &lh, emit_i64(e, 0), heads, 1);
  LLVMValueRef row =
      emit_gep(e, e->f32, a->y,
               emit_mul64(e, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, t, heads, ""), h, ""), d));
  i = emit_for(e, &l, emit_i64(e, 0), emit_i64(e, half), 1);
  LLVMValueRef i0 = neox ? i : emit_mul64(e, i, 2);
  LLVMValueRef i1 = neox ? emit_add64(e, i, half) : emit_add64(e, emit_mul64(e, i, 2), 1);
  LLVMValueRef x0 = emit_load_at(e, e->f32, row, i0), x1 = emit_load_at(e, e->f32, row, i1);
  LLVMValueRef c = emit_load_at(e, e->f32, cs, emit_mul64(e, i, 2));
  LLVMValueRef sn = emit_load_at(e, e->f32, cs, emit_add64(e, emit_mul64(e, i, 2), 1));
  /* ggml's compiled rotation fuses the first product of each line */
  emit_store_at(e, emit_fma(e, x0, c, LLVMBuildFNeg(e->b, LLVMBuildFMul(e->b, x1, sn, ""), "")),
                row, i0);
  emit_store_at(e, emit_fma(e, x0, sn, LLVMBuildFMul(e->b, x1, c, "")), row, i1);
  emit_end(e, &l);
  emit_end(e, &lh);
  emit_end(e, &lt);
}

/* ---- layout ------------------------------------------------------------------------------ */

/* Whether x is read from a quantized KV cache: the interpreter's permute carries such a
 * buffer's blocks along for the integer matmul (its op, not a kernel, must run). */
static bool from_quantized_cache(const ir_value *x) {
  if (x->kind != IR_VALUE_NODE || x->op != IR_OP_KV_READ)
    return false;
  const ir_value *state = x->operands[0];
  while (state->kind == IR_VALUE_NODE && state->op == IR_OP_KV_WRITE)
    state = state->operands[0];
  return ir_dtype_get(state->type.dtype)->block_elems > 1;
}

static bool supports_permute(const ir_value *v) {
  return all_f32(v) && v->n_operands == 1 && v->type.rank >= 1 && v->type.rank <= IR_MAX_DIMS &&
         v->operands[0]->type.rank == v->type.rank && !from_quantized_cache(v->operands[0]);
}

/* y[i0, i1, ...] = x at the source index: one loop per dim of y, the innermost the fastest. */
static void emit_permute(emitter *e, const ir_value *v, const kernel_args *a) {
  uint32_t rank = v->type.rank;
  int64_t perm[IR_MAX_DIMS];
  const ir_attr *attr = ir_value_attr(v, IR_ATTR_PERM);
  for (uint32_t d = 0; d < rank; d++)
    perm[d] = attr ? attr->as.list[d] : (int64_t)d;
  if (v->op == IR_OP_TRANSPOSE && rank >= 2) {
    perm[rank - 1] = rank - 2;
    perm[rank - 2] = rank - 1;
  }
  const ir_type *xt = &v->operands[0]->type;
  LLVMValueRef xstride[IR_MAX_DIMS], stride = emit_i64(e, 1);
  for (int d = (int)rank - 1; d >= 0; d--) {
    xstride[d] = stride;
    stride = LLVMBuildMul(e->b, stride, dim_of(e, a, xt, (uint32_t)d), "");
  }
  LLVMValueRef dst = emit_var(e, e->i64, emit_i64(e, 0));
  emit_loop loops[IR_MAX_DIMS];
  LLVMValueRef src = emit_i64(e, 0);
  for (uint32_t d = 0; d < rank; d++) {
    LLVMValueRef i = emit_for(e, &loops[d], emit_i64(e, 0), dim_of(e, a, &v->type, d), 1);
    src = LLVMBuildAdd(e->b, src, LLVMBuildMul(e->b, i, xstride[perm[d]], ""), "");
  }
  LLVMValueRef at = emit_get(e, e->i64, dst);
  emit_store_at(e, emit_load_at(e, e->f32, a->x[0], src), a->y, at);
  emit_set(e, dst, emit_add64(e, at, 1));
  for (int d = (int)rank - 1; d >= 0; d--)
    emit_end(e, &loops[d]);
}

/* quantize to f16 (the values and their halves) or to q8_0 as llama.cpp's x86 backend rounds
 * activations (round_q8_activations in interp.c). */
static bool supports_quantize(const ir_value *v) {
  const ir_value *x = v->operands[0];
  if (v->n_operands != 1 || x->type.dtype != IR_DTYPE_F32 || v->type.rank < 1)
    return false;
  if (v->type.dtype == IR_DTYPE_F16)
    return true;
  ir_dim k = v->type.dims[v->type.rank - 1];
  return v->type.dtype == IR_DTYPE_Q8_0 && ir_dim_is_const(k) && k.c % 32 == 0;
}

static void emit_quantize(emitter *e, const ir_value *v, const kernel_args *a) {
  LLVMValueRef n = count_of(e, a, &v->type);
  emit_loop l, lj;
  if (v->type.dtype == IR_DTYPE_F16) {
    LLVMValueRef i = emit_for(e, &l, emit_i64(e, 0), n, 1);
    LLVMValueRef h = LLVMBuildFPTrunc(e->b, emit_load_at(e, e->f32, a->x[0], i), e->f16, "");
    emit_store_at(e, h, a->encoding, i);
    emit_store_at(e, LLVMBuildFPExt(e->b, h, e->f32, ""), a->y, i);
    emit_end(e, &l);
    return;
  }
  /* q8_0: rows of whole blocks, so the blocks of the tensor are consecutive */
  LLVMValueRef blocks = LLVMBuildSDiv(e->b, n, emit_i64(e, 32), "");
  LLVMValueRef amax = emit_var(e, e->f32, NULL);
  LLVMValueRef b = emit_for(e, &l, emit_i64(e, 0), blocks, 1);
  LLVMValueRef x = emit_gep(e, e->f32, a->x[0], emit_mul64(e, b, 32));
  LLVMValueRef y = emit_gep(e, e->f32, a->y, emit_mul64(e, b, 32));
  LLVMValueRef blk = emit_gep(e, e->i8, a->encoding, emit_mul64(e, b, 34));
  emit_set(e, amax, emit_f32(e, 0.0f));
  LLVMValueRef j = emit_for(e, &lj, emit_i64(e, 0), emit_i64(e, 32), 1);
  LLVMValueRef ax = emit_load_at(e, e->f32, x, j);
  ax = emit_intrinsic(e, "llvm.fabs", e->f32, &ax, 1);
  emit_set(
      e, amax,
      emit_intrinsic(e, "llvm.maxnum", e->f32, (LLVMValueRef[]){emit_get(e, e->f32, amax), ax}, 2));
  emit_end(e, &lj);
  LLVMValueRef m = emit_get(e, e->f32, amax);
  LLVMValueRef id =
      LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealUNE, m, emit_f32(e, 0), ""),
                      LLVMBuildFDiv(e->b, emit_f32(e, 127.0f), m, ""), emit_f32(e, 0.0f), "");
  LLVMValueRef h =
      LLVMBuildFPTrunc(e->b, LLVMBuildFDiv(e->b, m, emit_f32(e, 127.0f), ""), e->f16, "");
  emit_store(e, h, blk);
  LLVMValueRef d = LLVMBuildFPExt(e->b, h, e->f32, "");
  j = emit_for(e, &lj, emit_i64(e, 0), emit_i64(e, 32), 1);
  LLVMValueRef q = LLVMBuildFMul(e->b, emit_load_at(e, e->f32, x, j), id, "");
  q = emit_intrinsic(e, "llvm.nearbyint", e->f32, &q, 1);
  emit_store_at(e, LLVMBuildFMul(e->b, q, d, ""), y, j);
  emit_store_at(e, LLVMBuildFPToSI(e->b, q, e->i8, ""), blk, emit_add64(e, j, 2));
  emit_end(e, &lj);
  emit_end(e, &l);
}

/* hadamard: each row scaled by 1/sqrt(n), then the butterflies with the stride doubling from 1;
 * n is a constant, so the stages unroll. */
static bool supports_hadamard(const ir_value *v) {
  return all_f32(v) && v->n_operands == 1 && v->type.rank >= 1 &&
         ir_dim_is_const(v->type.dims[v->type.rank - 1]);
}

static void emit_hadamard(emitter *e, const ir_value *v, const kernel_args *a) {
  int64_t n = v->type.dims[v->type.rank - 1].c;
  LLVMValueRef scale = emit_f32(e, (float)(1.0 / sqrt((double)n)));
  LLVMValueRef rows = LLVMBuildSDiv(e->b, count_of(e, a, &v->type), emit_i64(e, n), "");
  emit_loop lr, l, li;
  LLVMValueRef r = emit_for(e, &lr, emit_i64(e, 0), rows, 1);
  LLVMValueRef in = emit_gep(e, e->f32, a->x[0], emit_mul64(e, r, n));
  LLVMValueRef row = emit_gep(e, e->f32, a->y, emit_mul64(e, r, n));
  LLVMValueRef j = emit_for(e, &l, emit_i64(e, 0), emit_i64(e, n), 1);
  emit_store_at(e, LLVMBuildFMul(e->b, emit_load_at(e, e->f32, in, j), scale, ""), row, j);
  emit_end(e, &l);
  for (int64_t h = 1; h < n; h *= 2) {
    LLVMValueRef i = emit_for(e, &li, emit_i64(e, 0), emit_i64(e, n), 2 * h);
    j = emit_for(e, &l, i, emit_add64(e, i, h), 1);
    LLVMValueRef jh = emit_add64(e, j, h);
    LLVMValueRef x0 = emit_load_at(e, e->f32, row, j), x1 = emit_load_at(e, e->f32, row, jh);
    emit_store_at(e, LLVMBuildFAdd(e->b, x0, x1, ""), row, j);
    emit_store_at(e, LLVMBuildFSub(e->b, x0, x1, ""), row, jh);
    emit_end(e, &l);
    emit_end(e, &li);
  }
  emit_end(e, &lr);
}

/* ---- float matmul (attention) ----------------------------------------------------------- */

/* Element index of base as f32: an f32 array, or (half) the f16 bits of a KV cache, widened
 * (exact). */
static LLVMValueRef load_f32(emitter *e, LLVMValueRef base, LLVMValueRef index, bool half) {
  if (!half)
    return emit_load_at(e, e->f32, base, index);
  return LLVMBuildFPExt(e->b, emit_load_at(e, e->f16, base, index), e->f32, "");
}

static LLVMValueRef load16(emitter *e, LLVMValueRef base, LLVMValueRef index, bool half) {
  if (!half)
    return emit_load(e, emit_vec(e->f32, 16), emit_gep(e, e->f32, base, index));
  LLVMValueRef h = emit_load(e, emit_vec(e->f16, 16), emit_gep(e, e->f16, base, index));
  return LLVMBuildFPExt(e->b, h, emit_vec(e->f32, 16), "");
}

/* lanes[i - from] = fma(x[i], y[i], lanes[i - from]) for i in [from, to): a dot product's last,
 * partial chunk, each element in its lane. */
static void tail_fma(emitter *e, LLVMValueRef x, LLVMValueRef y, bool half_y, LLVMValueRef from,
                     LLVMValueRef to, LLVMValueRef lanes) {
  emit_loop l;
  LLVMValueRef i = emit_for(e, &l, from, to, 1);
  LLVMValueRef lane = LLVMBuildSub(e->b, i, from, "");
  emit_store_at(e,
                emit_fma(e, emit_load_at(e, e->f32, x, i), load_f32(e, y, i, half_y),
                         emit_load_at(e, e->f32, lanes, lane)),
                lanes, lane);
  emit_end(e, &l);
}

/* simd_dot16 (tinyBLAS's order): 16 lanes of fused multiply-adds over whole chunks, the tail in
 * lanes 0.., then simd_sum16. y is f32, or (half_y) an f16 cache's bits. */
static void dot16_common(emitter *e, LLVMValueRef fn, bool half_y) {
  LLVMValueRef x = LLVMGetParam(fn, 0), y = LLVMGetParam(fn, 1), k = LLVMGetParam(fn, 2);
  LLVMTypeRef v16 = emit_vec(e->f32, 16);
  LLVMValueRef acc = emit_var(e, v16, LLVMConstNull(v16));
  LLVMValueRef whole = LLVMBuildSub(e->b, k, LLVMBuildSRem(e->b, k, emit_i64(e, 16), ""), "");
  emit_loop l;
  LLVMValueRef i = emit_for(e, &l, emit_i64(e, 0), whole, 16);
  emit_set(e, acc,
           emit_fma(e, load16(e, x, i, false), load16(e, y, i, half_y), emit_get(e, v16, acc)));
  emit_end(e, &l);
  LLVMValueRef lanes = emit_var(e, LLVMArrayType2(e->f32, 16), NULL);
  emit_store(e, emit_get(e, v16, acc), lanes);
  tail_fma(e, x, y, half_y, whole, k, lanes);
  LLVMBuildRet(e->b, sum16(e, lanes));
}

static void dot16_body(emitter *e, LLVMValueRef fn) { dot16_common(e, fn, false); }
static void dot16_half_body(emitter *e, LLVMValueRef fn) { dot16_common(e, fn, true); }

/* simd_dot64 (ggml_vec_dot_f32/f16 for one row): four accumulators of 16 lanes over blocks of
 * 64, the rest of the last block in its lanes when the contracted dim counts as zero-padded
 * (padded), else in double after the lane sum. y as in dot16_common. */
static void dot64_common(emitter *e, LLVMValueRef fn, bool half_y) {
  LLVMValueRef x = LLVMGetParam(fn, 0), y = LLVMGetParam(fn, 1), k = LLVMGetParam(fn, 2);
  LLVMValueRef padded = LLVMGetParam(fn, 3);
  LLVMTypeRef v16 = emit_vec(e->f32, 16);
  LLVMValueRef acc[4];
  for (int j = 0; j < 4; j++)
    acc[j] = emit_var(e, v16, LLVMConstNull(v16));
  LLVMValueRef blocks = LLVMBuildSub(e->b, k, LLVMBuildSRem(e->b, k, emit_i64(e, 64), ""), "");
  LLVMValueRef whole = LLVMBuildSelect(e->b, padded, k, blocks, "");
  emit_loop l;
  LLVMValueRef i = emit_for(e, &l, emit_i64(e, 0), blocks, 64);
  for (int j = 0; j < 4; j++) {
    LLVMValueRef at = emit_add64(e, i, 16 * j);
    emit_set(
        e, acc[j],
        emit_fma(e, load16(e, x, at, false), load16(e, y, at, half_y), emit_get(e, v16, acc[j])));
  }
  emit_end(e, &l);
  LLVMValueRef all = emit_var(e, LLVMArrayType2(e->f32, 64), NULL);
  for (int j = 0; j < 4; j++)
    emit_store(e, emit_get(e, v16, acc[j]), emit_gep(e, e->f32, all, emit_i64(e, 16 * j)));
  tail_fma(e, x, y, half_y, blocks, whole, all); /* element i sits in lane i % 64 of the block */
  LLVMValueRef lanes = emit_var(e, LLVMArrayType2(e->f32, 16), NULL);
  for (int lane = 0; lane < 16; lane++) {
    LLVMValueRef a[4];
    for (int j = 0; j < 4; j++)
      a[j] = emit_load_at(e, e->f32, all, emit_i64(e, 16 * j + lane));
    LLVMValueRef v = LLVMBuildFAdd(e->b, LLVMBuildFAdd(e->b, a[0], a[2], ""),
                                   LLVMBuildFAdd(e->b, a[1], a[3], ""), "");
    emit_store_at(e, v, lanes, emit_i64(e, lane));
  }
  LLVMValueRef sum = emit_var(e, e->f64, LLVMBuildFPExt(e->b, sum16(e, lanes), e->f64, ""));
  i = emit_for(e, &l, whole, k, 1);
  LLVMValueRef p =
      LLVMBuildFMul(e->b, emit_load_at(e, e->f32, x, i), load_f32(e, y, i, half_y), "");
  emit_set(e, sum,
           LLVMBuildFAdd(e->b, emit_get(e, e->f64, sum), LLVMBuildFPExt(e->b, p, e->f64, ""), ""));
  emit_end(e, &l);
  LLVMBuildRet(e->b, LLVMBuildFPTrunc(e->b, emit_get(e, e->f64, sum), e->f32, ""));
}

static void dot64_body(emitter *e, LLVMValueRef fn) { dot64_common(e, fn, false); }
static void dot64_half_body(emitter *e, LLVMValueRef fn) { dot64_common(e, fn, true); }

static LLVMValueRef call(emitter *e, LLVMValueRef fn, LLVMValueRef *args, unsigned n) {
  return LLVMBuildCall2(e->b, LLVMGlobalGetValueType(fn), fn, args, n, "");
}

/* A dot product of k floats in the interpreter's float-matmul order: simd_dot64 when the matmul
 * has one row (padded: its contracted dim counts as zero-padded), else simd_dot16; y is f32, or
 * (half_y) an f16 cache's bits. */
static LLVMValueRef lanes_dot(emitter *e, LLVMValueRef one_row, LLVMValueRef x, LLVMValueRef y,
                              bool half_y, LLVMValueRef k, LLVMValueRef padded) {
  LLVMTypeRef p3[3] = {e->ptr, e->ptr, e->i64}, p4[4] = {e->ptr, e->ptr, e->i64, e->i1};
  LLVMValueRef dot16 = half_y ? helper(e, "chord_dot16_half", e->f32, p3, 3, dot16_half_body)
                              : helper(e, "chord_dot16", e->f32, p3, 3, dot16_body);
  LLVMValueRef dot64 = half_y ? helper(e, "chord_dot64_half", e->f32, p4, 4, dot64_half_body)
                              : helper(e, "chord_dot64", e->f32, p4, 4, dot64_body);
  LLVMValueRef r = emit_var(e, e->f32, NULL);
  LLVMBasicBlockRef after = emit_if(e, one_row);
  emit_set(e, r, call(e, dot64, (LLVMValueRef[]){x, y, k, padded}, 4));
  emit_endif(e, after);
  after = emit_if(e, LLVMBuildNot(e->b, one_row, ""));
  emit_set(e, r, call(e, dot16, (LLVMValueRef[]){x, y, k}, 3));
  emit_endif(e, after);
  return emit_get(e, e->f32, r);
}

/* The producer of a value through dequantize: quantize to f16 gives attention's float lanes. */
static bool is_f16_rounded(const ir_value *v) {
  return v->kind == IR_VALUE_NODE && v->op == IR_OP_DEQUANTIZE &&
         v->operands[0]->kind == IR_VALUE_NODE && v->operands[0]->op == IR_OP_QUANTIZE &&
         v->operands[0]->type.dtype == IR_DTYPE_F16;
}

/* Attention's matmuls: a [B, M, K] rounded to f16 (queries, probabilities) against computed
 * b [Bkv, N, K] (keys, transposed values; Bkv divides B: grouped-query attention), f32. */
static bool supports_matmul(const ir_value *v) {
  const ir_value *a = v->operands[0], *b = v->operands[1];
  if (v->type.dtype != IR_DTYPE_F32 || v->n_operands != 2 || a->type.rank != 3 ||
      b->type.rank != 3 || !is_f16_rounded(a) || b->kind != IR_VALUE_NODE ||
      b->op == IR_OP_DEQUANTIZE || b->type.dtype != IR_DTYPE_F32)
    return false;
  return ir_dim_is_const(a->type.dims[0]) && ir_dim_is_const(b->type.dims[0]) &&
         b->type.dims[0].c > 0 && a->type.dims[0].c % b->type.dims[0].c == 0;
}

/* Items [first, last) of (batch, column) pairs: each column of b against every row of a, one
 * row by simd_dot64, more by simd_dot16, as the interpreter's matmul_range. */
static void emit_matmul(emitter *e, const ir_value *v, const kernel_args *a) {
  const ir_type *at = &v->operands[0]->type, *bt = &v->operands[1]->type;
  LLVMValueRef m = dim_of(e, a, at, 1), k = dim_of(e, a, at, 2), n = dim_of(e, a, bt, 1);
  int64_t group = at->dims[0].c / bt->dims[0].c;
  LLVMValueRef padded = LLVMConstInt(e->i1, !ir_dim_is_const(at->dims[2]), 0);
  LLVMValueRef items = LLVMBuildMul(e->b, emit_i64(e, at->dims[0].c), n, "");
  LLVMValueRef last = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, a->last, items, ""),
                                      a->last, items, "");
  LLVMValueRef one_row = LLVMBuildICmp(e->b, LLVMIntEQ, m, emit_i64(e, 1), "");
  emit_loop li, lm;
  LLVMValueRef item = emit_for(e, &li, a->first, last, 1);
  LLVMValueRef ab = LLVMBuildSDiv(e->b, item, n, ""), col = LLVMBuildSRem(e->b, item, n, "");
  LLVMValueRef bb = LLVMBuildSDiv(e->b, ab, emit_i64(e, group), "");
  LLVMValueRef brow = emit_gep(
      e, e->f32, a->x[1],
      LLVMBuildMul(e->b, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, bb, n, ""), col, ""), k, ""));
  LLVMValueRef row = emit_for(e, &lm, emit_i64(e, 0), m, 1);
  LLVMValueRef arow_index = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, ab, m, ""), row, "");
  LLVMValueRef arow = emit_gep(e, e->f32, a->x[0], LLVMBuildMul(e->b, arow_index, k, ""));
  LLVMValueRef out = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, arow_index, n, ""), col, "");
  emit_store_at(e, lanes_dot(e, one_row, arow, brow, false, k, padded), a->y, out);
  emit_end(e, &lm);
  emit_end(e, &li);
}

/* flash_attention from the chain of f16-rounded q (as matmul's a), an f16 probability rounding
 * and no mask operand: what fuse-attention makes (k and v with constant heads and head dims). */
static bool supports_flash(const ir_value *v) {
  ir_dtype round;
  if (!all_f32(v) || v->n_operands != 3 || !is_f16_rounded(v->operands[0]) ||
      !ir_attr_dtype(v, &round) || round != IR_DTYPE_F16)
    return false;
  const ir_type *q = &v->operands[0]->type, *k = &v->operands[1]->type,
                *val = &v->operands[2]->type;
  return ir_dim_is_const(q->dims[0]) && ir_dim_is_const(k->dims[1]) && k->dims[1].c > 0 &&
         q->dims[0].c % k->dims[1].c == 0 && ir_dim_is_const(val->dims[2]) && val->dims[2].c > 0;
}

/* The row of a cache-layout operand [S, Hk, width] for key j of kv head hk: f32, or (half) an f16
 * cache's bits. */
static LLVMValueRef cache_row(emitter *e, LLVMValueRef base, LLVMValueRef j, LLVMValueRef hk,
                              int64_t heads, int64_t width, bool half) {
  LLVMValueRef row = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, j, emit_i64(e, heads), ""), hk, "");
  return emit_gep(e, half ? e->f16 : e->f32, base, LLVMBuildMul(e->b, row, emit_i64(e, width), ""));
}

/* out[e] = the dot of the probabilities p with column e of v, for every e at once, in the order
 * lanes_dot would take each column: key j goes to lane j mod L of an accumulator row per lane
 * (L = 64 for one query row, the four 16-lane accumulators of simd_dot64; 16 for several), by
 * fused multiply-adds in key order; then each column's lanes combine as the dot combines them.
 * One pass over v's rows (contiguous), none over its columns. Lanes no key reached stay zero, as
 * the dot's do; only those reached are cleared. */
static void emit_values_dot(emitter *e, LLVMValueRef p, LLVMValueRef keys, LLVMValueRef vbase,
                            bool half, LLVMValueRef hk, int64_t heads, int64_t dv, bool one_row,
                            bool padded, LLVMValueRef out) {
  int64_t n_lanes = one_row ? 64 : 16;
  LLVMValueRef acc = emit_var(e, LLVMArrayType2(e->f32, (uint64_t)(n_lanes * dv)), NULL);
  LLVMValueRef lanes = emit_var(e, LLVMArrayType2(e->f32, 16), NULL);
  /* the keys that go to lanes: all of them, except for one unpadded row (the tail past the last
   * block of 64 is added after, in double) */
  LLVMValueRef whole = keys;
  if (one_row && !padded)
    whole = LLVMBuildSub(e->b, keys, LLVMBuildSRem(e->b, keys, emit_i64(e, 64), ""), "");
  LLVMValueRef cap = emit_i64(e, n_lanes);
  LLVMValueRef used =
      LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, whole, cap, ""), whole, cap, "");
  emit_loop lj, le;
  LLVMValueRef z =
      emit_for(e, &lj, emit_i64(e, 0), LLVMBuildMul(e->b, used, emit_i64(e, dv), ""), 1);
  emit_store_at(e, emit_f32(e, 0.0f), acc, z);
  emit_end(e, &lj);
  LLVMValueRef j = emit_for(e, &lj, emit_i64(e, 0), whole, 1);
  LLVMValueRef w = emit_load_at(e, e->f32, p, j);
  LLVMValueRef vrow = cache_row(e, vbase, j, hk, heads, dv, half);
  LLVMValueRef lane = LLVMBuildSRem(e->b, j, cap, "");
  LLVMValueRef arow = emit_gep(e, e->f32, acc, LLVMBuildMul(e->b, lane, emit_i64(e, dv), ""));
  LLVMValueRef col = emit_for(e, &le, emit_i64(e, 0), emit_i64(e, dv), 1);
  emit_store_at(e, emit_fma(e, w, load_f32(e, vrow, col, half), emit_load_at(e, e->f32, arow, col)),
                arow, col);
  emit_end(e, &le);
  emit_end(e, &lj);
  col = emit_for(e, &le, emit_i64(e, 0), emit_i64(e, dv), 1);
  /* lane l of accumulator row r, or zero when no key reached it */
#define ACC(r)                                                                                     \
  LLVMBuildSelect(                                                                                 \
      e->b, LLVMBuildICmp(e->b, LLVMIntSLT, emit_i64(e, (r)), used, ""),                           \
      emit_load_at(e, e->f32, acc, LLVMBuildAdd(e->b, emit_i64(e, (int64_t)(r)*dv), col, "")),     \
      emit_f32(e, 0.0f), "")
  for (int l = 0; l < 16; l++) {
    LLVMValueRef x = ACC(l);
    if (one_row) /* simd_dot64's (a0 + a2) + (a1 + a3) */
      x = LLVMBuildFAdd(e->b, LLVMBuildFAdd(e->b, x, ACC(32 + l), ""),
                        LLVMBuildFAdd(e->b, ACC(16 + l), ACC(48 + l), ""), "");
    emit_store_at(e, x, lanes, emit_i64(e, l));
  }
#undef ACC
  LLVMValueRef r = sum16(e, lanes);
  if (one_row && !padded) {
    LLVMValueRef sum = emit_var(e, e->f64, LLVMBuildFPExt(e->b, r, e->f64, ""));
    j = emit_for(e, &lj, whole, keys, 1);
    LLVMValueRef prod =
        LLVMBuildFMul(e->b, emit_load_at(e, e->f32, p, j),
                      load_f32(e, cache_row(e, vbase, j, hk, heads, dv, half), col, half), "");
    emit_set(
        e, sum,
        LLVMBuildFAdd(e->b, emit_get(e, e->f64, sum), LLVMBuildFPExt(e->b, prod, e->f64, ""), ""));
    emit_end(e, &lj);
    r = LLVMBuildFPTrunc(e->b, emit_get(e, e->f64, sum), e->f32, "");
  }
  emit_store_at(e, r, out, col);
  emit_end(e, &le);
}

/* Items [first, last) of the H x T query rows: one row of scores in a buffer of S floats (the
 * only score memory), masked, softmax_finish, rounded to f16, then times v (emit_values_dot), in
 * the dot orders of the two matmuls it replaces (emit_matmul). k [S, Hk, D] and v [S, Hk, Dv] are
 * read where kv_read left them: an f16 cache's bits, widened as they are loaded. */
static void emit_flash(emitter *e, const ir_value *v, const kernel_args *a) {
  const ir_type *qt = &v->operands[0]->type, *kt = &v->operands[1]->type,
                *vt = &v->operands[2]->type;
  LLVMValueRef t = dim_of(e, a, qt, 1), keys = dim_of(e, a, kt, 0);
  int64_t heads = kt->dims[1].c, d = qt->dims[2].c, dv = vt->dims[2].c;
  int64_t group = qt->dims[0].c / heads, window = ir_attr_int_or(v, IR_ATTR_WINDOW, 0);
  float scale = (float)ir_attr_float_or(v, IR_ATTR_SCALE, 1.0);
  float cap = (float)ir_attr_float_or(v, IR_ATTR_SOFTCAP, 0.0);
  bool padded = !ir_dim_is_const(kt->dims[0]);
  bool half_k = interp_reads_half_cache(v, 1), half_v = interp_reads_half_cache(v, 2);
  LLVMValueRef no = LLVMConstInt(e->i1, 0, 0);
  LLVMValueRef one_row = LLVMBuildICmp(e->b, LLVMIntEQ, t, emit_i64(e, 1), "");
  /* the row of scores: on the stack, once per call (S floats: 128 KiB at 32768 positions) */
  LLVMValueRef p = LLVMBuildArrayAlloca(e->b, e->f32, keys, "scores");
  LLVMValueRef lanes = emit_var(e, LLVMArrayType2(e->f32, 16), NULL);
  LLVMValueRef items = LLVMBuildMul(e->b, emit_i64(e, qt->dims[0].c), t, "");
  LLVMValueRef last = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, a->last, items, ""),
                                      a->last, items, "");
  emit_loop li, lj;
  LLVMValueRef item = emit_for(e, &li, a->first, last, 1);
  LLVMValueRef h = LLVMBuildSDiv(e->b, item, t, ""), i = LLVMBuildSRem(e->b, item, t, "");
  LLVMValueRef hk = LLVMBuildSDiv(e->b, h, emit_i64(e, group), "");
  LLVMValueRef qrow = emit_gep(e, e->f32, a->x[0], LLVMBuildMul(e->b, item, emit_i64(e, d), ""));
  LLVMValueRef pos = LLVMBuildAdd(e->b, a->positions, i, "");
  LLVMValueRef top = emit_var(e, e->f32, emit_f32(e, -INFINITY));
  LLVMValueRef j = emit_for(e, &lj, emit_i64(e, 0), keys, 1);
  LLVMValueRef krow = cache_row(e, a->x[1], j, hk, heads, d, half_k);
  LLVMValueRef c =
      softmax_logit(e, lanes_dot(e, one_row, qrow, krow, half_k, emit_i64(e, d), no), scale, cap);
  LLVMValueRef masked = LLVMBuildICmp(e->b, LLVMIntSGT, j, pos, "");
  if (window > 0)
    masked = LLVMBuildOr(
        e->b, masked,
        LLVMBuildICmp(e->b, LLVMIntSLE, j, LLVMBuildSub(e->b, pos, emit_i64(e, window), ""), ""),
        "");
  c = LLVMBuildSelect(e->b, masked, emit_f32(e, -INFINITY), c, "");
  emit_store_at(e, c, p, j);
  emit_running_max(e, top, c);
  emit_end(e, &lj);
  emit_softmax_finish(e, p, keys, emit_get(e, e->f32, top), lanes);
  j = emit_for(e, &lj, emit_i64(e, 0), keys, 1);
  emit_store_at(e, f16_round(e, emit_load_at(e, e->f32, p, j)), p, j);
  emit_end(e, &lj);
  LLVMValueRef out = emit_gep(e, e->f32, a->y, LLVMBuildMul(e->b, item, emit_i64(e, dv), ""));
  LLVMBasicBlockRef after = emit_if(e, one_row);
  emit_values_dot(e, p, keys, a->x[2], half_v, hk, heads, dv, true, padded, out);
  emit_endif(e, after);
  after = emit_if(e, LLVMBuildNot(e->b, one_row, ""));
  emit_values_dot(e, p, keys, a->x[2], half_v, hk, heads, dv, false, padded, out);
  emit_endif(e, after);
  emit_end(e, &li);
}

/* ---- the table --------------------------------------------------------------------------- */

static const op_emitter EMITTERS[] = {
    {IR_OP_SCALE, supports_unary, emit_unary},
    {IR_OP_SILU, supports_unary, emit_unary},
    {IR_OP_TANH, supports_unary, emit_unary},
    {IR_OP_GELU, supports_unary, emit_unary},
    {IR_OP_ADD, supports_binary, emit_binary},
    {IR_OP_MUL, supports_binary, emit_binary},
    {IR_OP_RMS_NORM, supports_rows, emit_norm},
    {IR_OP_LAYER_NORM, supports_rows, emit_norm},
    {IR_OP_SOFTMAX, supports_rows, emit_softmax},
    {IR_OP_CAUSAL_MASK, supports_mask, emit_mask},
    {IR_OP_SLIDING_WINDOW_MASK, supports_mask, emit_mask},
    {IR_OP_ROPE, supports_rope, emit_rope},
    {IR_OP_PERMUTE, supports_permute, emit_permute},
    {IR_OP_TRANSPOSE, supports_permute, emit_permute},
    {IR_OP_QUANTIZE, supports_quantize, emit_quantize},
    {IR_OP_MATMUL, supports_matmul, emit_matmul},
    {IR_OP_FLASH_ATTENTION, supports_flash, emit_flash},
    {IR_OP_HADAMARD, supports_hadamard, emit_hadamard},
    {IR_OP_FUSED_REGION, supports_fused, emit_fused},
};

static const op_emitter *emitter_of(const ir_value *v) {
  if (v->kind != IR_VALUE_NODE)
    return NULL;
  for (size_t i = 0; i < sizeof EMITTERS / sizeof EMITTERS[0]; i++)
    if (EMITTERS[i].op == v->op)
      return EMITTERS[i].supports(v) ? &EMITTERS[i] : NULL;
  return NULL;
}

bool emit_op_supports(const ir_value *v) { return emitter_of(v) != NULL; }

/* Appends to buf at *used, keeping it terminated (truncation only shortens the key). */
static void append(char *buf, size_t size, size_t *used, const char *text) {
  size_t n = strlen(text);
  if (*used + n >= size)
    n = *used + 1 < size ? size - *used - 1 : 0;
  memcpy(buf + *used, text, n);
  *used += n;
  buf[*used] = '\0';
}

void emit_op_key(const ir_value *v, char *buf, size_t size) {
  size_t used = 0;
  char part[256];
  if (size)
    buf[0] = '\0';
  const ir_op_info *info = ir_op_get(v->op);
  append(buf, size, &used, info ? info->name : "?");
  ir_type_format(&v->type, part, sizeof part);
  append(buf, size, &used, " ");
  append(buf, size, &used, part);
  for (uint32_t o = 0; o < v->n_operands; o++) {
    ir_type_format(&v->operands[o]->type, part, sizeof part);
    append(buf, size, &used, o ? ", " : " (");
    append(buf, size, &used, part);
    if (interp_reads_half_cache(v, o)) /* the kernel loads this operand as f16 */
      append(buf, size, &used, " in an f16 cache");
  }
  append(buf, size, &used, ")");
  for (uint32_t i = 0; i < v->n_attrs; i++) {
    const ir_attr *at = &v->attrs[i];
    const ir_attr_info *ai = ir_attr_get(at->id);
    snprintf(part, sizeof part, " %s=", ai ? ai->name : "?");
    append(buf, size, &used, part);
    switch (ai ? ai->kind : IR_ATTR_KIND_INT) {
    case IR_ATTR_KIND_FLOAT: snprintf(part, sizeof part, "%a", at->as.f); break;
    case IR_ATTR_KIND_STRING: snprintf(part, sizeof part, "%s", at->as.s); break;
    case IR_ATTR_KIND_INT_LIST:
    case IR_ATTR_KIND_SHAPE: {
      part[0] = '\0';
      for (uint32_t k = 0; k < at->count; k++) {
        char one[64];
        if (ai->kind == IR_ATTR_KIND_SHAPE)
          ir_dim_format(at->as.dims[k], one, sizeof one);
        else
          snprintf(one, sizeof one, "%lld", (long long)at->as.list[k]);
        size_t len = strlen(part);
        snprintf(part + len, sizeof part - len, "%s%s", k ? "," : "", one);
      }
      break;
    }
    default: snprintf(part, sizeof part, "%lld", (long long)at->as.i); break;
    }
    append(buf, size, &used, part);
  }
}

bool emit_op(LLVMModuleRef module, const ir_value *v, const char *name, emit_isa isa) {
  const op_emitter *op = emitter_of(v);
  if (!op)
    return false;
  emitter e;
  emitter_init(&e, module, isa);
  LLVMTypeRef params[5] = {e.ptr, e.i64, e.i64, e.i64, e.i64};
  LLVMValueRef fn = emit_begin(&e, name, e.void_type, params, 5);
  kernel_args a = {.tokens = LLVMGetParam(fn, 1),
                   .positions = LLVMGetParam(fn, 2),
                   .first = LLVMGetParam(fn, 3),
                   .last = LLVMGetParam(fn, 4)};
  LLVMValueRef buffers = LLVMGetParam(fn, 0);
  a.y = emit_load_at(&e, e.ptr, buffers, emit_i64(&e, 0));
  /* an operand the result is written over (in_place, passes/plan_memory.c) is read through the
   * result's pointer: the same address at run time, and LLVM then sees that element i is read
   * before it is written, where two pointers would make it check for overlap and, finding it,
   * take the loop's scalar version */
  int64_t in_place = ir_attr_int_or(v, IR_ATTR_IN_PLACE, -1);
  for (uint32_t o = 0; o < v->n_operands; o++)
    a.x[o] = o == in_place ? a.y : emit_load_at(&e, e.ptr, buffers, emit_i64(&e, 1 + o));
  if (v->op == IR_OP_QUANTIZE)
    a.encoding = emit_load_at(&e, e.ptr, buffers, emit_i64(&e, 1 + v->n_operands));
  op->emit(&e, v, &a);
  LLVMBuildRetVoid(e.b);
  emitter_dispose(&e);
  return true;
}
