/* The K types: 256-element super-blocks made of sub-blocks whose scales are themselves quantized.
 *
 * Decoders (Q2_K ... Q8_K) match ggml's dequantize_row_* and gguf-py bit for bit: the f16
 * super-block scale is widened first, multiplied by the sub-block scale in f32, and that product
 * multiplies the quant; any min is subtracted in a separate step.
 *
 * Encoders (Q4_K, Q5_K, Q6_K, Q8_K) follow ggml's quantize_row_*_ref without an importance matrix:
 * per sub-block a search for the best (scale, min) or scale, then the scales are quantized against
 * the largest one and every element is requantized against its stored scale. The float operations
 * run in ggml's order, so the output is the same bytes as ggml's on the same machine. */
#include <math.h>

#include "runtime/quant/quant.h"
#include "runtime/quant/quant_blocks.h"

/* Below this a group is treated as all zero (ggml's GROUP_MAX_EPS). */
#define QUANT_GROUP_EPS 1e-15f

/* Rounds to the nearest integer, ties to even: what ggml's nearest_int computes (by adding
 * 1.5 * 2^23 in f32) for the |x| < 2^22 it is used on. */
static int round_nearest(float x) { return (int)lrintf(x); }

static int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ---- 6-bit scale and min pairs of Q4_K and Q5_K ----
 * Sub-blocks 0..3 keep their scale in the low 6 bits of bytes 0..3 and their min in bytes 4..7.
 * Sub-blocks 4..7 keep the low 4 bits of both in byte 8..11 (scale low nibble, min high nibble)
 * and their top 2 bits in the spare top bits of bytes 0..3 (scale) and 4..7 (min). */

void quant_k_scale_min(const uint8_t scales[12], int j, int *scale, int *min) {
  if (j < 4) {
    *scale = scales[j] & 63;
    *min = scales[j + 4] & 63;
  } else {
    *scale = (scales[j + 4] & 0xf) | (scales[j - 4] >> 6) << 4;
    *min = (scales[j + 4] >> 4) | (scales[j] >> 6) << 4;
  }
}

/* Stores 6-bit scale and min of sub-block j into zeroed scales. */
static void k_scale_min_put(uint8_t scales[12], int j, int scale, int min) {
  if (j < 4) {
    scales[j] = (uint8_t)(scales[j] | scale);
    scales[j + 4] = (uint8_t)(scales[j + 4] | min);
  } else {
    scales[j + 4] = (uint8_t)((scale & 0xf) | (min & 0xf) << 4);
    scales[j - 4] = (uint8_t)(scales[j - 4] | (scale >> 4) << 6);
    scales[j] = (uint8_t)(scales[j] | (min >> 4) << 6);
  }
}

/* ---- Q2_K ---- */

static void decode_q2_k(const uint8_t *block, float *out) {
  quant_block_q2_k b;
  memcpy(&b, block, sizeof b);
  const float d = quant_f16_to_f32(b.d);
  const float dmin = quant_f16_to_f32(b.dmin);
  for (int e = 0; e < QUANT_QK_K; e++) {
    const uint8_t packed = b.scales[e / 16];
    const float dl = d * (float)(packed & 0xf);
    const float ml = dmin * (float)(packed >> 4);
    const float scaled = dl * (float)quant_field_get(b.qs, e, 2, 32);
    out[e] = scaled - ml;
  }
}

void quant_dequantize_q2_k(const void *blocks, float *out, int64_t n) {
  quant_decode_blocks(blocks, out, n, QUANT_QK_K, sizeof(quant_block_q2_k), decode_q2_k);
}

/* ---- Q3_K ---- */

static int q3_k_scale(const uint8_t scales[12], int sub) {
  const int low = quant_field_get(scales, sub, 4, 8);
  const int high = quant_field_get(scales + 8, sub, 2, 4);
  return (low | high << 4) - 32;
}

static void decode_q3_k(const uint8_t *block, float *out) {
  quant_block_q3_k b;
  memcpy(&b, block, sizeof b);
  const float d = quant_f16_to_f32(b.d);
  for (int e = 0; e < QUANT_QK_K; e++) {
    const float dl = d * (float)q3_k_scale(b.scales, e / 16);
    const int high = quant_field_get(b.hmask, e, 1, 32);
    const int q = quant_field_get(b.qs, e, 2, 32) - (high ? 0 : 4);
    out[e] = dl * (float)q;
  }
}

void quant_dequantize_q3_k(const void *blocks, float *out, int64_t n) {
  quant_decode_blocks(blocks, out, n, QUANT_QK_K, sizeof(quant_block_q3_k), decode_q3_k);
}

/* ---- Q4_K and Q5_K: decoding ---- */

/* x = d * scale * q - dmin * min for sub-block e / 32, with the quant q given. */
static float k_min_value(float d, float dmin, const uint8_t scales[12], int e, int q) {
  int scale, min;
  quant_k_scale_min(scales, e / 32, &scale, &min);
  const float d_sub = d * (float)scale;
  const float m_sub = dmin * (float)min;
  const float scaled = d_sub * (float)q;
  return scaled - m_sub;
}

static void decode_q4_k(const uint8_t *block, float *out) {
  quant_block_q4_k b;
  memcpy(&b, block, sizeof b);
  const float d = quant_f16_to_f32(b.d);
  const float dmin = quant_f16_to_f32(b.dmin);
  for (int e = 0; e < QUANT_QK_K; e++)
    out[e] = k_min_value(d, dmin, b.scales, e, quant_field_get(b.qs, e, 4, 32));
}

void quant_dequantize_q4_k(const void *blocks, float *out, int64_t n) {
  quant_decode_blocks(blocks, out, n, QUANT_QK_K, sizeof(quant_block_q4_k), decode_q4_k);
}

static void decode_q5_k(const uint8_t *block, float *out) {
  quant_block_q5_k b;
  memcpy(&b, block, sizeof b);
  const float d = quant_f16_to_f32(b.d);
  const float dmin = quant_f16_to_f32(b.dmin);
  for (int e = 0; e < QUANT_QK_K; e++) {
    const int q = quant_field_get(b.qs, e, 4, 32) | quant_field_get(b.qh, e, 1, 32) << 4;
    out[e] = k_min_value(d, dmin, b.scales, e, q);
  }
}

void quant_dequantize_q5_k(const void *blocks, float *out, int64_t n) {
  quant_decode_blocks(blocks, out, n, QUANT_QK_K, sizeof(quant_block_q5_k), decode_q5_k);
}

/* ---- Q4_K and Q5_K: encoding ---- */

/* The (scale, min) search of one sub-block for the types x = scale * L - offset with L in
 * 0..nmax (ggml's make_qkx2_quants, least squares weighted by w, no mean-absolute variant). */
typedef struct k_min_search {
  int nmax;     /* largest level */
  float rmin;   /* first trial step offset from nmax ... */
  float rdelta; /* ... advancing by rdelta ... */
  int nstep;    /* ... for nstep + 1 trials */
} k_min_search;

static const k_min_search q4_k_search = {15, -1.0f, 0.1f, 20};
static const k_min_search q5_k_search = {31, -0.5f, 0.1f, 15};

/* Levels of x for a trial iscale: nearest_int(iscale * (x - min)) clamped to 0..nmax. */
static int k_min_level(float iscale, float x, float min, int nmax) {
  const float shifted = x - min;
  return clamp_int(round_nearest(iscale * shifted), 0, nmax);
}

/* Weighted squared error of scale * L + min against x. */
static float k_min_error(int n, const float *x, const float *w, const uint8_t *L, float scale,
                         float min) {
  float error = 0.0f;
  for (int i = 0; i < n; i++) {
    const float scaled = scale * (float)L[i];
    const float shifted = scaled + min;
    const float diff = shifted - x[i];
    const float square = diff * diff;
    const float weighted = w[i] * square;
    error += weighted;
  }
  return error;
}

/* Fits one 32-element sub-block. Returns the scale, stores the levels in L and the offset (>= 0,
 * subtracted on decode) in *offset. The first guess maps [min(x, 0), max(x)] onto 0..nmax; each
 * trial stretches the range from the current best min to max(x) by a step, takes the least-squares
 * (scale, min) for the levels it gives (min kept <= 0) and is kept if its error is smaller. */
static float k_min_fit(const float *x, const float *w, const k_min_search *search, uint8_t *L,
                       float *offset) {
  const int n = QUANT_QK; /* Q4_K and Q5_K sub-blocks are 32 elements */
  float min = x[0], max = x[0];
  float sum_w = w[0], sum_x = w[0] * x[0];
  for (int i = 1; i < n; i++) {
    if (x[i] < min)
      min = x[i];
    if (x[i] > max)
      max = x[i];
    sum_w += w[i];
    const float wx = w[i] * x[i];
    sum_x += wx;
  }
  if (min > 0.0f)
    min = 0.0f;
  if (max == min) {
    memset(L, 0, (size_t)n);
    *offset = -min;
    return 0.0f;
  }
  float iscale = (float)search->nmax / (max - min);
  float scale = 1.0f / iscale;
  for (int i = 0; i < n; i++)
    L[i] = (uint8_t)k_min_level(iscale, x[i], min, search->nmax);
  float best_error = k_min_error(n, x, w, L, scale, min);

  uint8_t trial[QUANT_QK];
  for (int step = 0; step <= search->nstep; step++) {
    const float stretch = search->rdelta * (float)step;
    const float trial_levels = search->rmin + stretch;
    /* min is the best fit's so far, not min(x): ggml's search drifts with it. */
    iscale = (trial_levels + (float)search->nmax) / (max - min);
    float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
    for (int i = 0; i < n; i++) {
      const int l = k_min_level(iscale, x[i], min, search->nmax);
      trial[i] = (uint8_t)l;
      const float wl = w[i] * (float)l;
      const float wll = wl * (float)l;
      const float wlx = wl * x[i];
      sum_l += wl;
      sum_l2 += wll;
      sum_xl += wlx;
    }
    const float det_a = sum_w * sum_l2;
    const float det_b = sum_l * sum_l;
    const float det = det_a - det_b;
    if (!(det > 0.0f))
      continue;
    const float scale_a = sum_w * sum_xl;
    const float scale_b = sum_x * sum_l;
    float this_scale = (scale_a - scale_b) / det;
    const float min_a = sum_l2 * sum_x;
    const float min_b = sum_l * sum_xl;
    float this_min = (min_a - min_b) / det;
    if (this_min > 0.0f) {
      this_min = 0.0f;
      this_scale = sum_xl / sum_l2;
    }
    const float error = k_min_error(n, x, w, trial, this_scale, this_min);
    if (error < best_error) {
      memcpy(L, trial, (size_t)n);
      best_error = error;
      scale = this_scale;
      min = this_min;
    }
  }
  *offset = -min;
  return scale;
}

/* The part Q4_K and Q5_K share: fits the eight sub-blocks, quantizes their scales and mins to 6
 * bits against the largest, stores d, dmin and scales, and leaves in L the level of every element
 * requantized against its stored scale and min. */
static void encode_k_min(const float *x, const k_min_search *search, uint16_t *d_out,
                         uint16_t *dmin_out, uint8_t scales[12], uint8_t L[QUANT_QK_K]) {
  float sub_scale[QUANT_QK_K / 32], sub_offset[QUANT_QK_K / 32];
  float max_scale = 0.0f, max_offset = 0.0f;
  for (int j = 0; j < QUANT_QK_K / 32; j++) {
    const float *xs = x + 32 * j;
    /* Weights favour large elements, with the sub-block's RMS as a floor. */
    float sum_x2 = 0.0f;
    for (int l = 0; l < 32; l++) {
      const float square = xs[l] * xs[l];
      sum_x2 += square;
    }
    const float rms = sqrtf(sum_x2 / 32.0f);
    float w[32];
    for (int l = 0; l < 32; l++)
      w[l] = rms + fabsf(xs[l]);
    sub_scale[j] = k_min_fit(xs, w, search, L + 32 * j, &sub_offset[j]);
    if (sub_scale[j] > max_scale)
      max_scale = sub_scale[j];
    if (sub_offset[j] > max_offset)
      max_offset = sub_offset[j];
  }

  const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
  const float inv_offset = max_offset > 0.0f ? 63.0f / max_offset : 0.0f;
  memset(scales, 0, 12);
  for (int j = 0; j < QUANT_QK_K / 32; j++) {
    /* ggml narrows to uint8_t before capping at 63; kept for identical bytes. */
    const uint8_t ls = (uint8_t)round_nearest(inv_scale * sub_scale[j]);
    const uint8_t lm = (uint8_t)round_nearest(inv_offset * sub_offset[j]);
    k_scale_min_put(scales, j, ls < 63 ? ls : 63, lm < 63 ? lm : 63);
  }
  *d_out = quant_f32_to_f16(max_scale / 63.0f);
  *dmin_out = quant_f32_to_f16(max_offset / 63.0f);

  /* Requantize against what the decoder will see. A sub-block whose scale rounded to zero keeps
   * its levels from the search: they no longer matter to the value, only to the bytes. */
  const float d = quant_f16_to_f32(*d_out);
  const float dmin = quant_f16_to_f32(*dmin_out);
  for (int j = 0; j < QUANT_QK_K / 32; j++) {
    int scale, min;
    quant_k_scale_min(scales, j, &scale, &min);
    const float d_sub = d * (float)scale;
    if (d_sub == 0.0f)
      continue;
    const float m_sub = dmin * (float)min;
    for (int l = 0; l < 32; l++) {
      const float shifted = x[32 * j + l] + m_sub;
      L[32 * j + l] = (uint8_t)clamp_int(round_nearest(shifted / d_sub), 0, search->nmax);
    }
  }
}

static void encode_q4_k(const float *x, uint8_t *block) {
  quant_block_q4_k b;
  uint8_t L[QUANT_QK_K];
  encode_k_min(x, &q4_k_search, &b.d, &b.dmin, b.scales, L);
  memset(b.qs, 0, sizeof b.qs);
  for (int e = 0; e < QUANT_QK_K; e++)
    quant_field_put(b.qs, e, 4, 32, L[e]);
  memcpy(block, &b, sizeof b);
}

void quant_quantize_q4_k(const float *in, void *blocks, int64_t n) {
  quant_encode_blocks(in, blocks, n, QUANT_QK_K, sizeof(quant_block_q4_k), encode_q4_k);
}

static void encode_q5_k(const float *x, uint8_t *block) {
  quant_block_q5_k b;
  uint8_t L[QUANT_QK_K];
  encode_k_min(x, &q5_k_search, &b.d, &b.dmin, b.scales, L);
  memset(b.qs, 0, sizeof b.qs);
  memset(b.qh, 0, sizeof b.qh);
  for (int e = 0; e < QUANT_QK_K; e++) {
    quant_field_put(b.qs, e, 4, 32, L[e] & 0xf);
    quant_field_put(b.qh, e, 1, 32, L[e] >> 4);
  }
  memcpy(block, &b, sizeof b);
}

void quant_quantize_q5_k(const float *in, void *blocks, int64_t n) {
  quant_encode_blocks(in, blocks, n, QUANT_QK_K, sizeof(quant_block_q5_k), encode_q5_k);
}

/* ---- Q6_K ---- */

static void decode_q6_k(const uint8_t *block, float *out) {
  quant_block_q6_k b;
  memcpy(&b, block, sizeof b);
  const float d = quant_f16_to_f32(b.d);
  for (int e = 0; e < QUANT_QK_K; e++) {
    const float d_sub = d * (float)b.scales[e / 16];
    const int q = quant_field_get(b.ql, e, 4, 64) | quant_field_get(b.qh, e, 2, 32) << 4;
    out[e] = d_sub * (float)(q - 32);
  }
}

void quant_dequantize_q6_k(const void *blocks, float *out, int64_t n) {
  quant_decode_blocks(blocks, out, n, QUANT_QK_K, sizeof(quant_block_q6_k), decode_q6_k);
}

/* Levels -nmax..nmax-1 of x for iscale, and their x^2-weighted least-squares sums. */
static void symmetric_levels(int n, int nmax, const float *x, float iscale, int8_t *L,
                             float *sum_lx, float *sum_l2) {
  float lx = 0.0f, l2 = 0.0f;
  for (int i = 0; i < n; i++) {
    const int l = clamp_int(round_nearest(iscale * x[i]), -nmax, nmax - 1);
    if (L)
      L[i] = (int8_t)(l + nmax);
    const float w = x[i] * x[i];
    const float wx = w * x[i];
    const float wxl = wx * (float)l;
    const float wl = w * (float)l;
    const float wll = wl * (float)l;
    lx += wxl;
    l2 += wll;
  }
  *sum_lx = lx;
  *sum_l2 = l2;
}

/* The scale search of one sub-block for x = scale * (L - nmax) (ggml's make_qx_quants with
 * x^2 weights): start from the element of largest magnitude on -nmax, then try 18 nearby
 * stretches and keep the one with the best weighted least-squares fit. Returns the scale and
 * leaves the biased levels (0 .. 2 nmax - 1) in L. */
static float symmetric_fit(int n, int nmax, const float *x, int8_t *L) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < n; i++) {
    if (fabsf(x[i]) > amax) {
      amax = fabsf(x[i]);
      max = x[i];
    }
  }
  if (amax < QUANT_GROUP_EPS) {
    memset(L, 0, (size_t)n);
    return 0.0f;
  }
  float sum_lx, sum_l2;
  symmetric_levels(n, nmax, x, (float)-nmax / max, L, &sum_lx, &sum_l2);
  float scale = sum_l2 != 0.0f ? sum_lx / sum_l2 : 0.0f;
  float best = scale * sum_lx;
  for (int step = -9; step <= 9; step++) {
    if (step == 0)
      continue;
    const float stretch = 0.1f * (float)step;
    const float levels = (float)nmax + stretch;
    const float iscale = -levels / max;
    symmetric_levels(n, nmax, x, iscale, NULL, &sum_lx, &sum_l2);
    const float gain = sum_lx * sum_lx;
    const float bar = best * sum_l2;
    if (sum_l2 > 0.0f && gain > bar) {
      symmetric_levels(n, nmax, x, iscale, L, &sum_lx, &sum_l2);
      scale = sum_lx / sum_l2;
      best = scale * sum_lx;
    }
  }
  return scale;
}

static void encode_q6_k(const float *x, uint8_t *block) {
  quant_block_q6_k b;
  memset(&b, 0, sizeof b);
  int8_t L[QUANT_QK_K];
  float sub_scale[QUANT_QK_K / 16];
  float max_scale = 0.0f, max_abs_scale = 0.0f;
  for (int j = 0; j < QUANT_QK_K / 16; j++) {
    sub_scale[j] = symmetric_fit(16, 32, x + 16 * j, L + 16 * j);
    if (fabsf(sub_scale[j]) > max_abs_scale) {
      max_abs_scale = fabsf(sub_scale[j]);
      max_scale = sub_scale[j];
    }
  }
  if (max_abs_scale < QUANT_GROUP_EPS) { /* all zero: d = 0 and every field zero */
    memcpy(block, &b, sizeof b);
    return;
  }

  /* The sub-block scale of largest magnitude goes to -128. */
  const float iscale = -128.0f / max_scale;
  b.d = quant_f32_to_f16(1.0f / iscale);
  for (int j = 0; j < QUANT_QK_K / 16; j++) {
    const int ls = round_nearest(iscale * sub_scale[j]);
    b.scales[j] = (int8_t)(ls < 127 ? ls : 127);
  }

  /* Requantize against the stored scales; a zero scale keeps the search's levels (see Q4_K). */
  const float d = quant_f16_to_f32(b.d);
  for (int j = 0; j < QUANT_QK_K / 16; j++) {
    const float d_sub = d * (float)b.scales[j];
    if (d_sub == 0.0f)
      continue;
    for (int l = 0; l < 16; l++)
      L[16 * j + l] = (int8_t)(clamp_int(round_nearest(x[16 * j + l] / d_sub), -32, 31) + 32);
  }
  for (int e = 0; e < QUANT_QK_K; e++) {
    quant_field_put(b.ql, e, 4, 64, L[e] & 0xf);
    quant_field_put(b.qh, e, 2, 32, L[e] >> 4);
  }
  memcpy(block, &b, sizeof b);
}

void quant_quantize_q6_k(const float *in, void *blocks, int64_t n) {
  quant_encode_blocks(in, blocks, n, QUANT_QK_K, sizeof(quant_block_q6_k), encode_q6_k);
}

/* ---- Q8_K ---- */

static void decode_q8_k(const uint8_t *block, float *out) {
  quant_block_q8_k b;
  memcpy(&b, block, sizeof b);
  for (int e = 0; e < QUANT_QK_K; e++)
    out[e] = b.d * (float)b.qs[e];
}

void quant_dequantize_q8_k(const void *blocks, float *out, int64_t n) {
  quant_decode_blocks(blocks, out, n, QUANT_QK_K, sizeof(quant_block_q8_k), decode_q8_k);
}

/* The element of largest magnitude maps to -127 (not by its absolute value: ggml keeps the sign,
 * so d is negative when that element is positive). An all-zero block gets d = 0 and zero sums
 * (ggml leaves its bsums unwritten there). */
static void encode_q8_k(const float *x, uint8_t *block) {
  quant_block_q8_k b;
  memset(&b, 0, sizeof b);
  float amax = 0.0f, max = 0.0f;
  for (int e = 0; e < QUANT_QK_K; e++) {
    if (fabsf(x[e]) > amax) {
      amax = fabsf(x[e]);
      max = x[e];
    }
  }
  if (amax != 0.0f) {
    const float iscale = -127.0f / max;
    for (int e = 0; e < QUANT_QK_K; e++) {
      const int q = round_nearest(iscale * x[e]);
      b.qs[e] = (int8_t)(q < 127 ? q : 127);
    }
    for (int j = 0; j < QUANT_QK_K / 16; j++) {
      int sum = 0;
      for (int l = 0; l < 16; l++)
        sum += b.qs[16 * j + l];
      b.bsums[j] = (int16_t)sum;
    }
    b.d = 1.0f / iscale;
  }
  memcpy(block, &b, sizeof b);
}

void quant_quantize_q8_k(const float *in, void *blocks, int64_t n) {
  quant_encode_blocks(in, blocks, n, QUANT_QK_K, sizeof(quant_block_q8_k), encode_q8_k);
}
