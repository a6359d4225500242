/* LLVM IR for the CPU target's float-weight matmuls (f16 weights against activations rounded to
 * f16, as llama.cpp's CPU backend computes them): the dot products of the interpreter's float
 * matmul (runtime/interp/interp_simd.h), bit for bit, with the weight widened as it is loaded.
 *   - one activation row (decode) takes simd_dot64's order (ggml_vec_dot_f16): four accumulators
 *     of 16 lanes over blocks of 64, (0 + 2) + (1 + 3), then simd_sum16;
 *   - more rows (the prompt) take simd_dot16's (llamafile's tinyBLAS): one accumulator of 16 lanes
 *     per (activation row, weight row), then simd_sum16. The kernel computes them in register
 *     tiles of four weight rows by up to six activation rows, so each loaded vector feeds four or
 *     six fused multiply-adds; the order of every single dot product stays simd_dot16's.
 * For a weight type T the module gets
 *   void chord_fgemm_T(const uint8_t *w, int64_t row_bytes, int64_t rows, const float *a,
 *                      int64_t a_stride, int64_t m, int64_t k, bool one_row, float *y,
 *                      int64_t y_stride)
 *     y[j * y_stride + r] = the dot of weight row r (w + r * row_bytes) with activation row j
 *     (a + j * a_stride), for r < rows and j < m, in simd_dot64's order if one_row, else
 *     simd_dot16's; k a positive multiple of 64. */
#ifndef CHORD_CODEGEN_LLVM_EMIT_FDOT_H
#define CHORD_CODEGEN_LLVM_EMIT_FDOT_H

#include <llvm-c/Core.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codegen/llvm/emitter.h"
#include "ir/dtype.h"

typedef void (*chord_fgemm_fn)(const uint8_t *w, int64_t row_bytes, int64_t rows, const float *a,
                               int64_t a_stride, int64_t m, int64_t k, bool one_row, float *y,
                               int64_t y_stride);

/* The contracted dim the kernels take: a positive multiple of this. */
#define EMIT_FDOT_K_MULTIPLE 64

/* Whether there is an emitter for this weight type. */
bool emit_fdot_supports(ir_dtype weight);

/* Adds chord_fgemm_T to the module; false if the type has no emitter. */
bool emit_fdot(LLVMModuleRef module, ir_dtype weight);

/* The function's name, chord_fgemm_T. */
void emit_fdot_name(ir_dtype weight, char *buf, size_t size);

#endif
