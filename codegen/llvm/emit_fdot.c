/* Float-weight matmul kernels as LLVM IR (codegen/llvm/emit_fdot.h). Every fused multiply-add
 * and every lane sum below is one of simd_dot64's or simd_dot16's, in their order; the tiling only
 * chooses which dot products run side by side. */
#include "codegen/llvm/emit_fdot.h"

#include <stdio.h>

typedef struct fdot_kind {
  ir_dtype type;
  LLVMTypeRef (*element)(const emitter *e); /* the weight's element type, widened to f32 */
} fdot_kind;

static LLVMTypeRef element_f16(const emitter *e) { return e->f16; }

static const fdot_kind KINDS[] = {
    {IR_DTYPE_F16, element_f16},
};

/* Register tile: RM weight rows by at most RN activation rows, RM * RN accumulators of 16 lanes
 * (24 of the 32 AVX-512 registers, leaving room for the four weight vectors and one activation). */
enum { RM = 4, RN = 6, LANES = 16 };

static const fdot_kind *kind_get(ir_dtype type) {
  for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
    if (KINDS[i].type == type)
      return &KINDS[i];
  return NULL;
}

bool emit_fdot_supports(ir_dtype weight) { return kind_get(weight) != NULL; }

void emit_fdot_name(ir_dtype weight, char *buf, size_t size) {
  snprintf(buf, size, "chord_fgemm_%s", ir_dtype_name(weight));
}

/* The kernel's parameters, and the kind of weight it reads. */
typedef struct fgemm {
  const fdot_kind *kind;
  LLVMValueRef w, row_bytes, rows, a, a_stride, m, k, y, y_stride;
} fgemm;

/* 16 weights of row r from element kk, as f32 (exact). */
static LLVMValueRef load_weights(emitter *e, const fgemm *g, LLVMValueRef r, LLVMValueRef kk) {
  LLVMTypeRef t = g->kind->element(e);
  LLVMValueRef row = emit_gep(e, e->i8, g->w, LLVMBuildMul(e->b, r, g->row_bytes, ""));
  LLVMValueRef v = emit_load(e, emit_vec(t, LANES), emit_gep(e, t, row, kk));
  return t == e->f32 ? v : LLVMBuildFPExt(e->b, v, emit_vec(e->f32, LANES), "");
}

/* 16 activations of row j from element kk. */
static LLVMValueRef load_activations(emitter *e, const fgemm *g, LLVMValueRef j, LLVMValueRef kk) {
  LLVMValueRef at = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, j, g->a_stride, ""), kk, "");
  return emit_load(e, emit_vec(e->f32, LANES), emit_gep(e, e->f32, g->a, at));
}

static void store_result(emitter *e, const fgemm *g, LLVMValueRef j, LLVMValueRef r,
                         LLVMValueRef v) {
  emit_store_at(e, v, g->y, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, j, g->y_stride, ""), r, ""));
}

/* simd_dot64 of activation row j with weight rows [r0, r0 + n): four accumulators each over
 * blocks of 64, lanes (0 + 2) + (1 + 3), simd_sum16. With k a multiple of 64 there is no tail.
 * Several rows side by side keep more of the weights' cache lines in flight (decode reads each
 * weight once: memory-bound). */
static void emit_dot64_group(emitter *e, const fgemm *g, LLVMValueRef j, LLVMValueRef r0, int n) {
  enum { MAX = 4 };
  LLVMTypeRef v16 = emit_vec(e->f32, LANES);
  LLVMValueRef acc[MAX][4];
  for (int r = 0; r < n; r++)
    for (int q = 0; q < 4; q++)
      acc[r][q] = emit_var(e, v16, LLVMConstNull(v16));
  emit_loop lk;
  LLVMValueRef kk = emit_for(e, &lk, emit_i64(e, 0), g->k, 64);
  for (int q = 0; q < 4; q++) {
    LLVMValueRef at = emit_add64(e, kk, LANES * q);
    LLVMValueRef x = load_activations(e, g, j, at);
    for (int r = 0; r < n; r++)
      emit_set(e, acc[r][q],
               emit_fma(e, x, load_weights(e, g, emit_add64(e, r0, r), at),
                        emit_get(e, v16, acc[r][q])));
  }
  emit_end(e, &lk);
  for (int r = 0; r < n; r++) {
    LLVMValueRef x[4];
    for (int q = 0; q < 4; q++)
      x[q] = emit_get(e, v16, acc[r][q]);
    LLVMValueRef lanes = LLVMBuildFAdd(e->b, LLVMBuildFAdd(e->b, x[0], x[2], ""),
                                       LLVMBuildFAdd(e->b, x[1], x[3], ""), "");
    store_result(e, g, j, emit_add64(e, r0, r), emit_hsum(e, lanes, LANES));
  }
}

/* simd_dot64 of every (activation row, weight row): weight rows four at a time, then the rest. */
static void emit_dot64_rows(emitter *e, const fgemm *g) {
  enum { GROUP = 4 };
  LLVMValueRef whole =
      LLVMBuildSub(e->b, g->rows, LLVMBuildSRem(e->b, g->rows, emit_i64(e, GROUP), ""), "");
  emit_loop lj, lr;
  LLVMValueRef j = emit_for(e, &lj, emit_i64(e, 0), g->m, 1);
  LLVMValueRef r0 = emit_for(e, &lr, emit_i64(e, 0), whole, GROUP);
  emit_dot64_group(e, g, j, r0, GROUP);
  emit_end(e, &lr);
  LLVMValueRef r = emit_for(e, &lr, whole, g->rows, 1);
  emit_dot64_group(e, g, j, r, 1);
  emit_end(e, &lr);
  emit_end(e, &lj);
}

/* The simd_dot16s of weight rows [r0, r0 + rm) by activation rows [j0, j0 + rn): one accumulator
 * each, every loaded vector used rn (weights) or rm (activations) times. */
static void emit_tile(emitter *e, const fgemm *g, LLVMValueRef r0, int rm, LLVMValueRef j0,
                      int rn) {
  LLVMTypeRef v16 = emit_vec(e->f32, LANES);
  LLVMValueRef acc[RM][RN];
  for (int i = 0; i < rm; i++)
    for (int j = 0; j < rn; j++)
      acc[i][j] = emit_var(e, v16, LLVMConstNull(v16));
  emit_loop lk;
  LLVMValueRef kk = emit_for(e, &lk, emit_i64(e, 0), g->k, LANES);
  LLVMValueRef wv[RM];
  for (int i = 0; i < rm; i++)
    wv[i] = load_weights(e, g, emit_add64(e, r0, i), kk);
  for (int j = 0; j < rn; j++) {
    LLVMValueRef av = load_activations(e, g, emit_add64(e, j0, j), kk);
    for (int i = 0; i < rm; i++)
      emit_set(e, acc[i][j], emit_fma(e, av, wv[i], emit_get(e, v16, acc[i][j])));
  }
  emit_end(e, &lk);
  for (int i = 0; i < rm; i++)
    for (int j = 0; j < rn; j++)
      store_result(e, g, emit_add64(e, j0, j), emit_add64(e, r0, i),
                   emit_hsum(e, emit_get(e, v16, acc[i][j]), LANES));
}

/* Weight rows [r0, r0 + rm) against every activation row: whole tiles of RN rows, then one tile
 * of the m % RN rows left. */
static void emit_tile_row(emitter *e, const fgemm *g, LLVMValueRef r0, int rm) {
  LLVMValueRef left = LLVMBuildSRem(e->b, g->m, emit_i64(e, RN), "");
  LLVMValueRef whole = LLVMBuildSub(e->b, g->m, left, "");
  emit_loop lj;
  LLVMValueRef j0 = emit_for(e, &lj, emit_i64(e, 0), whole, RN);
  emit_tile(e, g, r0, rm, j0, RN);
  emit_end(e, &lj);
  for (int rn = 1; rn < RN; rn++) {
    LLVMBasicBlockRef after = emit_if(e, LLVMBuildICmp(e->b, LLVMIntEQ, left, emit_i64(e, rn), ""));
    emit_tile(e, g, r0, rm, whole, rn);
    emit_endif(e, after);
  }
}

/* simd_dot16 of every pair: weight rows four at a time, then the rows % 4 left one at a time. */
static void emit_dot16_rows(emitter *e, const fgemm *g) {
  LLVMValueRef whole =
      LLVMBuildSub(e->b, g->rows, LLVMBuildSRem(e->b, g->rows, emit_i64(e, RM), ""), "");
  emit_loop lr;
  LLVMValueRef r0 = emit_for(e, &lr, emit_i64(e, 0), whole, RM);
  emit_tile_row(e, g, r0, RM);
  emit_end(e, &lr);
  LLVMValueRef r = emit_for(e, &lr, whole, g->rows, 1);
  emit_tile_row(e, g, r, 1);
  emit_end(e, &lr);
}

bool emit_fdot(LLVMModuleRef module, ir_dtype weight) {
  const fdot_kind *kind = kind_get(weight);
  if (!kind)
    return false;
  emitter e;
  emitter_init(&e, module, EMIT_ISA_GENERIC);
  char name[64];
  emit_fdot_name(weight, name, sizeof name);
  LLVMTypeRef params[10] = {e.ptr, e.i64, e.i64, e.ptr, e.i64, e.i64, e.i64, e.i1, e.ptr, e.i64};
  LLVMValueRef fn = emit_begin(&e, name, e.void_type, params, 10);
  fgemm g = {kind,
             LLVMGetParam(fn, 0),
             LLVMGetParam(fn, 1),
             LLVMGetParam(fn, 2),
             LLVMGetParam(fn, 3),
             LLVMGetParam(fn, 4),
             LLVMGetParam(fn, 5),
             LLVMGetParam(fn, 6),
             LLVMGetParam(fn, 8),
             LLVMGetParam(fn, 9)};
  LLVMValueRef one_row = LLVMGetParam(fn, 7);
  LLVMBasicBlockRef after = emit_if(&e, one_row);
  emit_dot64_rows(&e, &g);
  emit_endif(&e, after);
  after = emit_if(&e, LLVMBuildNot(e.b, one_row, ""));
  emit_dot16_rows(&e, &g);
  emit_endif(&e, after);
  LLVMBuildRetVoid(e.b);
  emitter_dispose(&e);
  return true;
}
