/* LLVM IR for the quantized dot products of the CPU target, in the order of llama.cpp's x86
 * kernels: the same arithmetic as the interpreter's integer dots (runtime/interp/interp_qdot.h),
 * written with LLVM vector types so that it compiles to the host's SIMD instructions and gives
 * the interpreter's results bit for bit. One table row per weight type: q4_0, q5_0, q8_0 (against
 * a q8_0 activation), q4_K and q6_K (against q8_K).
 *
 * The activation row comes as the interpreter decodes it (qdot_row): a_q its k levels, a_d one f32
 * scale per block (32) or super-block (256), a_s16 and a_s32 its sums of 16 and of 32 levels (read
 * by q6_K and q4_K). For a weight type T the module gets
 *   float chord_qdot_T(const uint8_t *w, const int8_t *a_q, const float *a_d,
 *                      const int16_t *a_s16, const int16_t *a_s32, int64_t k)
 *     one weight row of k elements (encoded blocks) against the activation row;
 *   void chord_gemv_T(const uint8_t *w, int64_t row_bytes, int64_t rows, <the activation>,
 *                     int64_t k, float *y)
 *     y[r] = chord_qdot_T(w + r * row_bytes, ...) for every weight row r;
 * and for the K types the same pair named qdot_tiled/gemv_tiled, in the order of llama.cpp's tiled
 * kernel (what it uses for 8 or more activation rows, interp_qdot.h); and gemm4 (gemm4_tiled),
 * below. */
#ifndef CHORD_CODEGEN_LLVM_EMIT_QDOT_H
#define CHORD_CODEGEN_LLVM_EMIT_QDOT_H

#include <llvm-c/Core.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codegen/llvm/emitter.h"
#include "ir/dtype.h"

typedef float (*chord_qdot_fn)(const uint8_t *w, const int8_t *a_q, const float *a_d,
                               const int16_t *a_s16, const int16_t *a_s32, int64_t k);
typedef void (*chord_gemv_fn)(const uint8_t *w, int64_t row_bytes, int64_t rows, const int8_t *a_q,
                              const float *a_d, const int16_t *a_s16, const int16_t *a_s32,
                              int64_t k, float *y);

/* chord_gemm4_T(w, row_bytes, rows, a_q[4], a_d[4], a_s16[4], a_s32[4], k, y, y_stride): the
 * gemv of four activation rows at once, y[j * y_stride + r], each weight block decoded once for
 * the four; each result is chord_qdot_T's (the prompt's matmuls take rows four at a time). */
typedef void (*chord_gemm4_fn)(const uint8_t *w, int64_t row_bytes, int64_t rows,
                               const int8_t *const *a_q, const float *const *a_d,
                               const int16_t *const *a_s16, const int16_t *const *a_s32, int64_t k,
                               float *y, int64_t y_stride);

/* Whether there is an emitter for this weight type, and a tiled variant. */
bool emit_qdot_supports(ir_dtype weight);
bool emit_qdot_has_tiled(ir_dtype weight);

/* Adds the type's functions to the module, written for isa; false if the type has no emitter. */
bool emit_qdot(LLVMModuleRef module, ir_dtype weight, emit_isa isa);

/* A function's name: what is "qdot", "gemv", "gemm4" or one of them with "_tiled". */
void emit_qdot_name(ir_dtype weight, const char *what, char *buf, size_t size);

#endif
