/* Reference dequantization and quantization of GGUF block types: plain C, one block at a time,
 * the first rung of the correctness ladder. Each function handles n elements (a multiple of the
 * type's block_elems); the layouts follow ggml's block structs (facts of the GGUF format). */
#ifndef CHORD_RUNTIME_QUANT_H
#define CHORD_RUNTIME_QUANT_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/dtype.h"

typedef void (*quant_dequantize_fn)(const void *blocks, float *out, int64_t n);
typedef void (*quant_quantize_fn)(const float *in, void *blocks, int64_t n);

/* Every decoder and encoder named in ir/dtype.def is declared here; quant_table.c builds the
 * per-type lookup from the table itself, so a name missing here fails to compile. */
void quant_dequantize_f32(const void *blocks, float *out, int64_t n);
void quant_dequantize_f16(const void *blocks, float *out, int64_t n);
void quant_dequantize_bf16(const void *blocks, float *out, int64_t n);
void quant_dequantize_q4_0(const void *blocks, float *out, int64_t n);
void quant_dequantize_q4_1(const void *blocks, float *out, int64_t n);
void quant_dequantize_q5_0(const void *blocks, float *out, int64_t n);
void quant_dequantize_q5_1(const void *blocks, float *out, int64_t n);
void quant_dequantize_q8_0(const void *blocks, float *out, int64_t n);
void quant_dequantize_q2_k(const void *blocks, float *out, int64_t n);
void quant_dequantize_q3_k(const void *blocks, float *out, int64_t n);
void quant_dequantize_q4_k(const void *blocks, float *out, int64_t n);
void quant_dequantize_q5_k(const void *blocks, float *out, int64_t n);
void quant_dequantize_q6_k(const void *blocks, float *out, int64_t n);
void quant_dequantize_q8_k(const void *blocks, float *out, int64_t n);
void quant_dequantize_iq4_nl(const void *blocks, float *out, int64_t n);
void quant_dequantize_iq4_xs(const void *blocks, float *out, int64_t n);

/* The encoders expect finite input (as ggml's do). */
void quant_quantize_f32(const float *in, void *blocks, int64_t n);
void quant_quantize_f16(const float *in, void *blocks, int64_t n);
void quant_quantize_bf16(const float *in, void *blocks, int64_t n);
void quant_quantize_q4_0(const float *in, void *blocks, int64_t n);
void quant_quantize_q4_1(const float *in, void *blocks, int64_t n);
void quant_quantize_q5_0(const float *in, void *blocks, int64_t n);
void quant_quantize_q5_1(const float *in, void *blocks, int64_t n);
void quant_quantize_q8_0(const float *in, void *blocks, int64_t n);
void quant_quantize_q4_k(const float *in, void *blocks, int64_t n);
void quant_quantize_q5_k(const float *in, void *blocks, int64_t n);
void quant_quantize_q6_k(const float *in, void *blocks, int64_t n);
void quant_quantize_q8_k(const float *in, void *blocks, int64_t n);

/* The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block's 12 packed bytes. */
void quant_k_scale_min(const uint8_t scales[12], int j, int *scale, int *min);

/* The decoder/encoder for a type, or NULL where chord has none. */
quant_dequantize_fn quant_dequantizer(ir_dtype type);
quant_quantize_fn quant_quantizer(ir_dtype type);

/* Decodes n elements of any supported type; false if the type has no decoder or n is not a
 * whole number of blocks. */
bool quant_dequantize(ir_dtype type, const void *blocks, float *out, int64_t n);
/* Encodes n elements; false if the type has no encoder or n is not a whole number of blocks. */
bool quant_quantize(ir_dtype type, const float *in, void *blocks, int64_t n);

/* Half-precision conversions shared by the block formats. f16 is IEEE binary16: f32 -> f16 rounds
 * to nearest even, keeps subnormals, overflows to infinity and turns NaN into a quiet NaN with the
 * top payload bits kept. bf16 is the upper half of an f32: f32 -> bf16 rounds to nearest even and
 * keeps NaN quiet, as ggml does. f16/bf16 -> f32 are exact. */
float quant_f16_to_f32(uint16_t h);
uint16_t quant_f32_to_f16(float f);
float quant_bf16_to_f32(uint16_t h);
uint16_t quant_f32_to_bf16(float f);

#endif
