/* The scalar types (F32, F16, BF16) and the 32-element block types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0.
 *
 * The decoders match ggml's dequantize_row_* and gguf-py's numpy decoders bit for bit: each f16
 * scale is widened to f32 first, every product is one f32 multiplication and an offset is added in
 * a separate step (never fused; see the -ffp-contract=off in runtime/CMakeLists.txt). The encoders
 * are ggml's quantize_row_*_ref: the scale from the element of largest magnitude. */
#include <math.h>

#include "runtime/quant/quant.h"
#include "runtime/quant/quant_blocks.h"

/* ---- scalar types ---- */

void quant_dequantize_f32(const void *blocks, float *out, int64_t n) {
  memcpy(out, blocks, (size_t)n * sizeof(float));
}

void quant_quantize_f32(const float *in, void *blocks, int64_t n) {
  memcpy(blocks, in, (size_t)n * sizeof(float));
}

/* F16 and BF16 data need not be 2-byte aligned, so each element is copied out as bytes. */
static uint16_t load_u16(const uint8_t *bytes) {
  uint16_t v;
  memcpy(&v, bytes, sizeof v);
  return v;
}

static void store_u16(uint8_t *bytes, uint16_t v) { memcpy(bytes, &v, sizeof v); }

void quant_dequantize_f16(const void *blocks, float *out, int64_t n) {
  const uint8_t *bytes = blocks;
  for (int64_t i = 0; i < n; i++)
    out[i] = quant_f16_to_f32(load_u16(bytes + 2 * i));
}

void quant_quantize_f16(const float *in, void *blocks, int64_t n) {
  uint8_t *bytes = blocks;
  for (int64_t i = 0; i < n; i++)
    store_u16(bytes + 2 * i, quant_f32_to_f16(in[i]));
}

void quant_dequantize_bf16(const void *blocks, float *out, int64_t n) {
  const uint8_t *bytes = blocks;
  for (int64_t i = 0; i < n; i++)
    out[i] = quant_bf16_to_f32(load_u16(bytes + 2 * i));
}

void quant_quantize_bf16(const float *in, void *blocks, int64_t n) {
  uint8_t *bytes = blocks;
  for (int64_t i = 0; i < n; i++)
    store_u16(bytes + 2 * i, quant_f32_to_bf16(in[i]));
}

/* ---- shared by the 32-element types ---- */

/* Quants and fifth bits of the 32-element blocks (see quant_field_get). */
static int nibble_of(const uint8_t *qs, int j) { return quant_field_get(qs, j, 4, QUANT_QK / 2); }

static int fifth_bit_of(const uint8_t *qh, int j) { return quant_field_get(qh, j, 1, 1); }

/* The element of largest magnitude (the first, on a tie), with its sign: the symmetric types take
 * d = max / -levels so that this element lands exactly on the most negative level. */
static float signed_max_of(const float *x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; j++) {
    if (fabsf(x[j]) > amax) {
      amax = fabsf(x[j]);
      max = x[j];
    }
  }
  return max;
}

static float reciprocal_or_zero(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

/* ---- Q4_0 ---- */

static void decode_q4_0(const uint8_t *block, float *out) {
  quant_block_q4_0 b;
  memcpy(&b, block, sizeof b);
  const float d = quant_f16_to_f32(b.d);
  for (int j = 0; j < QUANT_QK; j++)
    out[j] = d * (float)(nibble_of(b.qs, j) - 8);
}

void quant_dequantize_q4_0(const void *blocks, float *out, int64_t n) {
  quant_decode_blocks(blocks, out, n, QUANT_QK, sizeof(quant_block_q4_0), decode_q4_0);
}

/* x / d + 8.5 truncated and capped at 15 (x / d lies in [-8, 8], so the sum is positive). Written
 * as a comparison first so that a NaN (from non-finite input) yields 15 instead of an undefined
 * conversion. */
static uint8_t q4_0_level(float x, float id) {
  const float scaled = x * id;
  const float shifted = scaled + 8.5f;
  return shifted < 15.0f ? (uint8_t)shifted : 15;
}

static void encode_q4_0(const float *x, uint8_t *block) {
  quant_block_q4_0 b;
  const float d = signed_max_of(x, QUANT_QK) / -8.0f;
  const float id = reciprocal_or_zero(d);
  b.d = quant_f32_to_f16(d);
  memset(b.qs, 0, sizeof b.qs);
  for (int j = 0; j < QUANT_QK; j++)
    quant_field_put(b.qs, j, 4, QUANT_QK / 2, q4_0_level(x[j], id));
  memcpy(block, &b, sizeof b);
}

void quant_quantize_q4_0(const float *in, void *blocks, int64_t n) {
  quant_encode_blocks(in, blocks, n, QUANT_QK, sizeof(quant_block_q4_0), encode_q4_0);
}

/* ---- Q4_1 ---- */

static void decode_q4_1(const uint8_t *block, float *out) {
  quant_block_q4_1 b;
  memcpy(&b, block, sizeof b);
  const float d = quant_f16_to_f32(b.d);
  const float m = quant_f16_to_f32(b.m);
  for (int j = 0; j < QUANT_QK; j++) {
    const float scaled = d * (float)nibble_of(b.qs, j);
    out[j] = scaled + m;
  }
}

void quant_dequantize_q4_1(const void *blocks, float *out, int64_t n) {
  quant_decode_blocks(blocks, out, n, QUANT_QK, sizeof(quant_block_q4_1), decode_q4_1);
}

/* ---- Q5_0 ---- */

static void decode_q5_0(const uint8_t *block, float *out) {
  quant_block_q5_0 b;
  memcpy(&b, block, sizeof b);
  const float d = quant_f16_to_f32(b.d);
  for (int j = 0; j < QUANT_QK; j++) {
    const int q = nibble_of(b.qs, j) | fifth_bit_of(b.qh, j) << 4;
    out[j] = d * (float)(q - 16);
  }
}

void quant_dequantize_q5_0(const void *blocks, float *out, int64_t n) {
  quant_decode_blocks(blocks, out, n, QUANT_QK, sizeof(quant_block_q5_0), decode_q5_0);
}

/* ---- Q5_1 ---- */

static void decode_q5_1(const uint8_t *block, float *out) {
  quant_block_q5_1 b;
  memcpy(&b, block, sizeof b);
  const float d = quant_f16_to_f32(b.d);
  const float m = quant_f16_to_f32(b.m);
  for (int j = 0; j < QUANT_QK; j++) {
    const int q = nibble_of(b.qs, j) | fifth_bit_of(b.qh, j) << 4;
    const float scaled = d * (float)q;
    out[j] = scaled + m;
  }
}

void quant_dequantize_q5_1(const void *blocks, float *out, int64_t n) {
  quant_decode_blocks(blocks, out, n, QUANT_QK, sizeof(quant_block_q5_1), decode_q5_1);
}

/* ---- Q8_0 ---- */

static void decode_q8_0(const uint8_t *block, float *out) {
  quant_block_q8_0 b;
  memcpy(&b, block, sizeof b);
  const float d = quant_f16_to_f32(b.d);
  for (int j = 0; j < QUANT_QK; j++)
    out[j] = (float)b.qs[j] * d;
}

void quant_dequantize_q8_0(const void *blocks, float *out, int64_t n) {
  quant_decode_blocks(blocks, out, n, QUANT_QK, sizeof(quant_block_q8_0), decode_q8_0);
}

/* Q8_0 uses the magnitude only: d = max|x| / 127, and levels round half away from zero (roundf),
 * which is what ggml and gguf-py do, unlike the K types' ties-to-even. */
static void encode_q8_0(const float *x, uint8_t *block) {
  quant_block_q8_0 b;
  float amax = 0.0f;
  for (int j = 0; j < QUANT_QK; j++)
    amax = fmaxf(amax, fabsf(x[j]));
  const float d = amax / 127.0f;
  const float id = reciprocal_or_zero(d);
  b.d = quant_f32_to_f16(d);
  for (int j = 0; j < QUANT_QK; j++)
    b.qs[j] = (int8_t)roundf(x[j] * id);
  memcpy(block, &b, sizeof b);
}

void quant_quantize_q8_0(const float *in, void *blocks, int64_t n) {
  quant_encode_blocks(in, blocks, n, QUANT_QK, sizeof(quant_block_q8_0), encode_q8_0);
}
