/* The LLVM CPU target's first kernels: JIT-compiled quantized dot products (codegen/llvm/
 * emit_qdot.h) against the interpreter's integer dots (runtime/interp/interp_qdot.h), which
 * follow llama.cpp's x86 order and are checked against llama.cpp end to end: the two must agree
 * bit for bit. Also the JIT itself: host detection, IR and assembly output. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/emit_qdot.h"
#include "codegen/llvm/jit.h"
#include "runtime/interp/interp_qdot.h"
#include "runtime/quant/quant.h"
#include "runtime/support/alloc.h"

#define K_MAX 1024
/* The contracted dim of the current check: K_MAX, and for the 32-element types also 13 blocks
 * (a group of eight and five blocks left over in the kernels' block loop). */
static int64_t K = K_MAX;
#define ROWS 64

static jit *make_jit(void) {
  jit *j = NULL;
  chord_error error = {0};
  cr_assert_eq(jit_create(&j, 3, &error), CHORD_OK, "%s", error.message);
  return j;
}

static void random_floats(float *x, int64_t n, unsigned seed) {
  srand(seed);
  for (int64_t i = 0; i < n; i++)
    x[i] = (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
}

Test(llvm_jit, detects_the_host) {
  jit *j = make_jit();
  const jit_host *host = jit_get_host(j);
  cr_assert_gt(strlen(host->triple), 0);
  cr_assert_gt(strlen(host->cpu), 0);
#if defined(__x86_64__)
  cr_assert(jit_host_has(host, "sse2"), "x86-64 without sse2: %s", host->features);
#endif
  cr_assert(!jit_host_has(host, "no-such-feature"));
  jit_free(j);
}

static const ir_dtype TYPES[] = {IR_DTYPE_Q4_0, IR_DTYPE_Q5_0, IR_DTYPE_Q8_0, IR_DTYPE_Q4_K,
                                 IR_DTYPE_Q6_K};

static void *lookup(jit *j, ir_dtype type, const char *what) {
  char name[64];
  chord_error error = {0};
  emit_qdot_name(type, what, name, sizeof name);
  void *fn = jit_lookup(j, name, &error);
  cr_assert_not_null(fn, "%s", error.message);
  return fn;
}

/* gemm4 (and gemm4_tiled, gemm8_tiled): four (eight) different activation rows against every
 * weight row, each result the interpreter's qdot (qdot_slabs) of that pair. */
static void check_gemm4(jit *j, ir_dtype type, const uint8_t *wblocks, uint64_t row_bytes,
                        qdot_row *wrow) {
  enum { MAX = 8 };
  ir_dtype act = qdot_activation_type(type);
  uint64_t act_bytes = 0;
  cr_assert(ir_dtype_row_bytes(act, K, &act_bytes));
  qdot_row rows[MAX];
  const int8_t *q[MAX];
  const float *d[MAX];
  const int16_t *s16[MAX], *s32[MAX];
  uint8_t *blocks = malloc(act_bytes);
  static float a[K_MAX];
  for (int r = 0; r < MAX; r++) {
    random_floats(a, K, 20 + (uint32_t)r);
    cr_assert(quant_quantize(act, a, blocks, K) && qdot_row_init(&rows[r], K));
    qdot_decode(act, blocks, &rows[r]);
    q[r] = rows[r].q, d[r] = rows[r].d, s16[r] = rows[r].sum16, s32[r] = rows[r].min;
  }
  static const struct {
    const char *name;
    bool tiled;
    int n;
  } kernels[] = {{"gemm4", false, 4}, {"gemm4_tiled", true, 4}, {"gemm8_tiled", true, 8}};
  for (size_t g = 0; g < sizeof kernels / sizeof kernels[0]; g++) {
    bool tiled = kernels[g].tiled;
    if (tiled && !emit_qdot_has_tiled(type))
      continue;
    static float y[MAX * ROWS];
    chord_gemm4_fn gemm = (chord_gemm4_fn)lookup(j, type, kernels[g].name);
    gemm(wblocks, (int64_t)row_bytes, ROWS, q, d, s16, s32, K, y, ROWS);
    for (int r = 0; r < ROWS; r++) {
      qdot_decode(type, wblocks + r * row_bytes, wrow);
      for (int m = 0; m < kernels[g].n; m++) {
        float expect = tiled ? qdot_slabs(type, wrow, &rows[m]) : qdot(type, wrow, &rows[m]);
        cr_assert(memcmp(&y[m * ROWS + r], &expect, sizeof expect) == 0,
                  "%s %s row %d, activation %d: %.9g, interpreter %.9g", ir_dtype_name(type),
                  kernels[g].name, r, m, y[m * ROWS + r], expect);
      }
    }
  }
  for (int r = 0; r < MAX; r++)
    qdot_row_free(&rows[r]);
  free(blocks);
}

/* Every JIT result equals the interpreter's, per row, per gemv row and (K types) tiled. */
static void check_isa(emit_isa isa) {
  jit *j = make_jit();
  chord_error error = {0};
  LLVMModuleRef m = jit_new_module(j, "qdot");
  for (size_t t = 0; t < sizeof TYPES / sizeof TYPES[0]; t++)
    cr_assert(emit_qdot(m, TYPES[t], isa));
  cr_assert_eq(jit_add_module(j, m, &error), CHORD_OK, "%s", error.message);

  static float w[ROWS * K_MAX], a[K_MAX];
  random_floats(w, ROWS * K_MAX, 7);
  random_floats(a, K_MAX, 8);
  for (size_t t = 0; t < 2 * sizeof TYPES / sizeof TYPES[0]; t++) {
    ir_dtype type = TYPES[t / 2], act = qdot_activation_type(type);
    K = t % 2 ? 13 * 32 : K_MAX;
    if (t % 2 && ir_dtype_get(type)->block_elems != 32)
      continue;
    /* the activation as the interpreter holds it, decoded to levels, scales and sums */
    uint64_t act_bytes = 0, row_bytes = 0;
    cr_assert(ir_dtype_row_bytes(act, K, &act_bytes) && ir_dtype_row_bytes(type, K, &row_bytes));
    uint8_t *ablocks = malloc(act_bytes), *wblocks = malloc(row_bytes * ROWS);
    cr_assert(quant_quantize(act, a, ablocks, K));
    cr_assert(quant_quantize(type, w, wblocks, (int64_t)ROWS * K));
    qdot_row arow, wrow;
    cr_assert(qdot_row_init(&arow, K) && qdot_row_init(&wrow, K));
    qdot_decode(act, ablocks, &arow);
    chord_qdot_fn dot = (chord_qdot_fn)lookup(j, type, "qdot");
    chord_gemv_fn gemv = (chord_gemv_fn)lookup(j, type, "gemv");
    float y[ROWS], yt[ROWS];
    gemv(wblocks, (int64_t)row_bytes, ROWS, arow.q, arow.d, arow.sum16, arow.min, K, y);
    bool tiled = emit_qdot_has_tiled(type);
    if (tiled)
      ((chord_gemv_fn)lookup(j, type, "gemv_tiled"))(wblocks, (int64_t)row_bytes, ROWS, arow.q,
                                                     arow.d, arow.sum16, arow.min, K, yt);
    for (int r = 0; r < ROWS; r++) {
      qdot_decode(type, wblocks + r * row_bytes, &wrow);
      float expect = qdot(type, &wrow, &arow);
      float got = dot(wblocks + r * row_bytes, arow.q, arow.d, arow.sum16, arow.min, K);
      cr_assert(memcmp(&got, &expect, sizeof got) == 0, "%s row %d: %.9g, interpreter %.9g",
                ir_dtype_name(type), r, got, expect);
      cr_assert(memcmp(&y[r], &expect, sizeof got) == 0, "%s gemv row %d", ir_dtype_name(type), r);
      if (tiled) {
        float slabs = qdot_slabs(type, &wrow, &arow);
        cr_assert(memcmp(&yt[r], &slabs, sizeof got) == 0, "%s tiled row %d: %.9g, %.9g",
                  ir_dtype_name(type), r, yt[r], slabs);
      }
    }
    cr_assert_float_eq(dot(wblocks, arow.q, arow.d, arow.sum16, arow.min, 0), 0.0f, 0.0f);
    check_gemm4(j, type, wblocks, row_bytes, &wrow);
    qdot_row_free(&wrow);
    qdot_row_free(&arow);
    free(wblocks);
    free(ablocks);
  }
  jit_free(j);
}

/* Each way of writing the byte products the host can run: plain IR always; on x86 AVX2's
 * vpmaddubsw and VNNI's vpdpbusd where the host has them. */
Test(llvm_qdot, matches_the_interpreter_bit_for_bit) {
  jit *j = make_jit();
  emit_isa best = emit_isa_for(jit_get_host(j));
  jit_free(j);
  for (int isa = EMIT_ISA_GENERIC; isa <= (int)best; isa++)
    check_isa((emit_isa)isa);
}

Test(llvm_qdot, prints_ir_and_assembly) {
  jit *j = make_jit();
  chord_error error = {0};
  LLVMModuleRef m = jit_new_module(j, "qdot");
  emit_isa isa = emit_isa_for(jit_get_host(j));
  cr_assert(emit_qdot(m, IR_DTYPE_Q8_0, isa));
  cr_assert(!emit_qdot(m, IR_DTYPE_F32, isa));
  cr_assert_eq(jit_optimize(j, m, &error), CHORD_OK, "%s", error.message);
  char *ir = jit_print_ir(m), *as = jit_print_asm(j, m, &error);
  cr_assert(ir && strstr(ir, "define float @chord_qdot_q8_0("), "%s", ir ? ir : "");
  cr_assert(strstr(ir, "llvm.fma.v8f32"), "the per-block fused multiply-add is gone");
  cr_assert(as && strstr(as, "chord_gemv_q8_0"), "%s", error.message);
  cr_assert(!emit_qdot_has_tiled(IR_DTYPE_Q8_0) && emit_qdot_has_tiled(IR_DTYPE_Q6_K));
#if defined(__x86_64__)
  if (jit_host_has(jit_get_host(j), "fma"))
    cr_assert(strstr(as, "vfmadd"), "no fused multiply-add instruction on an FMA host");
  if (isa >= EMIT_ISA_VNNI)
    cr_assert(strstr(as, "vpdpbusd"), "VNNI host without vpdpbusd");
  if (isa == EMIT_ISA_AVX2)
    cr_assert(strstr(as, "vpmaddubsw"), "AVX2 host without vpmaddubsw");
#endif
  rt_free(ir);
  rt_free(as);
  LLVMDisposeModule(m);
  jit_free(j);
}
