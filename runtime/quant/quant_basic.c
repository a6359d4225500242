/* The scalar types (F32, F16, BF16) and the 32-element block types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0.
 *
 * The decoders match ggml's dequantize_row_* and gguf-py's numpy decoders bit for bit: each f16
 * scale is widened to f32 first, every product is one f32 multiplication and an offset is added in
 * a separate step (never fused; see the -ffp-contract=off in runtime/CMakeLists.txt). The encoders
 * are ggml's quantize_row_*_ref: Q4_0, Q5_0 and Q8_0 take the scale from the element of largest
 * magnitude, Q4_1 and Q5_1 spread the levels from the block's minimum to its maximum. */
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

/* min(top, trunc(shifted)) for the shifted >= 0 of finite input, as ggml's MIN(top, (int8_t)v).
 * Written as a comparison first so that a NaN (from non-finite input) yields top instead of an
 * undefined conversion. */
static uint8_t capped_level(float shifted, int top) {
  return shifted < (float)top ? (uint8_t)shifted : (uint8_t)top;
}

/* The symmetric types Q4_0 and Q5_0: d = max / -(n_levels / 2), so the element of largest
 * magnitude lands on level 0, and q = x / d + n_levels / 2 rounded half up, capped at the top
 * level (x / d lies in [-n/2, n/2], so the sum is never negative). Returns the f16 scale. */
static uint16_t symmetric_levels(const float *x, int n_levels, uint8_t q[QUANT_QK]) {
  const float half = (float)(n_levels / 2);
  const float d = signed_max_of(x, QUANT_QK) / -half;
  const float id = reciprocal_or_zero(d);
  for (int j = 0; j < QUANT_QK; j++) {
    const float scaled = x[j] * id;
    q[j] = capped_level(scaled + (half + 0.5f), n_levels - 1);
  }
  return quant_f32_to_f16(d);
}

/* The offset types Q4_1 and Q5_1: level 0 is the block minimum and the top level its maximum,
 * d = (max - min) / top, q = (x - min) / d rounded half up. Sets the f16 scale and minimum. */
static void offset_levels(const float *x, int n_levels, uint16_t *d_out, uint16_t *m_out,
                          uint8_t q[QUANT_QK]) {
  float min = x[0], max = x[0];
  for (int j = 1; j < QUANT_QK; j++) {
    min = x[j] < min ? x[j] : min;
    max = x[j] > max ? x[j] : max;
  }
  const float d = (max - min) / (float)(n_levels - 1);
  const float id = reciprocal_or_zero(d);
  for (int j = 0; j < QUANT_QK; j++) {
    const float scaled = (x[j] - min) * id;
    q[j] = capped_level(scaled + 0.5f, n_levels - 1);
  }
  *d_out = quant_f32_to_f16(d);
  *m_out = quant_f32_to_f16(min);
}

/* Packs 32 levels: the low 4 bits into qs and, for the 5-bit types (qh not NULL), the fifth bits
 * into qh (see quant_field_put). */
static void pack_levels(const uint8_t q[QUANT_QK], uint8_t qs[QUANT_QK / 2], uint8_t qh[4]) {
  memset(qs, 0, QUANT_QK / 2);
  if (qh)
    memset(qh, 0, 4);
  for (int j = 0; j < QUANT_QK; j++) {
    quant_field_put(qs, j, 4, QUANT_QK / 2, q[j] & 15);
    if (qh)
      quant_field_put(qh, j, 1, 1, q[j] >> 4);
  }
}

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

static void encode_q4_0(const float *x, uint8_t *block) {
  quant_block_q4_0 b;
  uint8_t q[QUANT_QK];
  b.d = symmetric_levels(x, 16, q);
  pack_levels(q, b.qs, NULL);
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

static void encode_q4_1(const float *x, uint8_t *block) {
  quant_block_q4_1 b;
  uint8_t q[QUANT_QK];
  offset_levels(x, 16, &b.d, &b.m, q);
  pack_levels(q, b.qs, NULL);
  memcpy(block, &b, sizeof b);
}

void quant_quantize_q4_1(const float *in, void *blocks, int64_t n) {
  quant_encode_blocks(in, blocks, n, QUANT_QK, sizeof(quant_block_q4_1), encode_q4_1);
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

static void encode_q5_0(const float *x, uint8_t *block) {
  quant_block_q5_0 b;
  uint8_t q[QUANT_QK];
  b.d = symmetric_levels(x, 32, q);
  pack_levels(q, b.qs, b.qh);
  memcpy(block, &b, sizeof b);
}

void quant_quantize_q5_0(const float *in, void *blocks, int64_t n) {
  quant_encode_blocks(in, blocks, n, QUANT_QK, sizeof(quant_block_q5_0), encode_q5_0);
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

static void encode_q5_1(const float *x, uint8_t *block) {
  quant_block_q5_1 b;
  uint8_t q[QUANT_QK];
  offset_levels(x, 32, &b.d, &b.m, q);
  pack_levels(q, b.qs, b.qh);
  memcpy(block, &b, sizeof b);
}

void quant_quantize_q5_1(const float *in, void *blocks, int64_t n) {
  quant_encode_blocks(in, blocks, n, QUANT_QK, sizeof(quant_block_q5_1), encode_q5_1);
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
