/* The CPU target's f16-weight matmul (codegen/llvm/emit_fdot.h) against the interpreter's float
 * dot products (runtime/interp/interp_simd.h), which follow ggml_vec_dot_f16 and tinyBLAS and are
 * checked against llama.cpp end to end: every result must be theirs bit for bit, for every way the
 * kernel tiles (whole 4 x 6 tiles, the activation rows and the weight rows left over). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/emit_fdot.h"
#include "codegen/llvm/jit.h"
#include "runtime/interp/interp_simd.h"
#include "runtime/quant/quant.h"
#include "runtime/support/alloc.h"

#define MAX_ROWS 11
#define MAX_M 13
#define MAX_K 384

static chord_fgemm_fn compile(jit **out) {
  chord_error error = {0};
  cr_assert_eq(jit_create(out, 3, &error), CHORD_OK, "%s", error.message);
  LLVMModuleRef m = jit_new_module(*out, "fdot");
  cr_assert(emit_fdot(m, IR_DTYPE_F16));
  cr_assert(!emit_fdot(m, IR_DTYPE_Q8_0) && !emit_fdot_supports(IR_DTYPE_Q4_K));
  cr_assert_eq(jit_add_module(*out, m, &error), CHORD_OK, "%s", error.message);
  char name[64];
  emit_fdot_name(IR_DTYPE_F16, name, sizeof name);
  chord_fgemm_fn fn = (chord_fgemm_fn)jit_lookup(*out, name, &error);
  cr_assert_not_null(fn, "%s", error.message);
  return fn;
}

/* Values of a wide range (so that the order of additions shows), rounded to f16. */
static float random_half(void) {
  float x = ((float)rand() / (float)RAND_MAX * 2.0f - 1.0f) * (float)(1 << (rand() % 8));
  return quant_f16_to_f32(quant_f32_to_f16(x));
}

Test(llvm_fdot, matches_the_interpreter_bit_for_bit) {
  jit *j = NULL;
  chord_fgemm_fn fgemm = compile(&j);
  static uint16_t w[MAX_ROWS * MAX_K];
  static float wf[MAX_ROWS * MAX_K], a[MAX_M * MAX_K], y[MAX_M * MAX_ROWS];
  srand(5);
  for (int i = 0; i < MAX_ROWS * MAX_K; i++) {
    wf[i] = random_half();
    w[i] = quant_f32_to_f16(wf[i]);
  }
  for (int i = 0; i < MAX_M * MAX_K; i++)
    a[i] = random_half();
  int checked = 0;
  for (int k = 64; k <= MAX_K; k += 320)
    for (int rows = 1; rows <= MAX_ROWS; rows += 1)
      for (int m = 1; m <= MAX_M; m++)
        for (int one_row = 0; one_row <= (m == 1); one_row++) {
          memset(y, 0xff, sizeof y);
          /* weight rows MAX_K apart and activations MAX_K apart: strides differ from k */
          fgemm((const uint8_t *)w, MAX_K * 2, rows, a, MAX_K, m, k, one_row, y, MAX_ROWS);
          for (int jj = 0; jj < m; jj++)
            for (int r = 0; r < rows; r++) {
              const float *x = a + jj * MAX_K, *wr = wf + r * MAX_K;
              float expect = one_row ? simd_dot64(x, wr, k, false) : simd_dot16(x, wr, k);
              float got = y[jj * MAX_ROWS + r];
              cr_assert(memcmp(&got, &expect, sizeof got) == 0,
                        "k %d, %d rows, m %d, %s: row %d, activation %d: %.9g, interpreter %.9g", k,
                        rows, m, one_row ? "dot64" : "dot16", r, jj, got, expect);
              checked++;
            }
        }
  cr_assert_gt(checked, 1000);
  jit_free(j);
}

Test(llvm_fdot, compiles_to_fused_multiply_adds_on_wide_vectors) {
  jit *j = NULL;
  chord_error error = {0};
  cr_assert_eq(jit_create(&j, 3, &error), CHORD_OK, "%s", error.message);
  LLVMModuleRef m = jit_new_module(j, "fdot");
  cr_assert(emit_fdot(m, IR_DTYPE_F16));
  cr_assert_eq(jit_optimize(j, m, &error), CHORD_OK, "%s", error.message);
  char *as = jit_print_asm(j, m, &error);
  cr_assert_not_null(as, "%s", error.message);
#if defined(__x86_64__)
  if (jit_host_has(jit_get_host(j), "avx512f"))
    cr_assert(strstr(as, "vfmadd231ps\t%zmm") || strstr(as, "vfmadd213ps\t%zmm"),
              "no 16-lane fused multiply-add on an AVX-512 host");
  if (jit_host_has(jit_get_host(j), "f16c"))
    cr_assert(strstr(as, "vcvtph2ps"), "the weights are not widened by vcvtph2ps");
#endif
  rt_free(as);
  LLVMDisposeModule(m);
  jit_free(j);
}
