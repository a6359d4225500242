/* The interpreter's integer dot products (runtime/interp/interp_qdot.h) and SIMD replicas
 * (interp_simd.h): decoding against the reference dequantizer, results against double-precision
 * dot products, and the summation orders on inputs where the order decides the answer. Their
 * agreement with llama.cpp itself is checked end to end (test_synth_logits.py,
 * test_model_logits.py). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/dtype.h"
#include "runtime/interp/interp_qdot.h"
#include "runtime/interp/interp_simd.h"
#include "runtime/quant/quant.h"

#define K 512

static float *random_floats(int64_t n, unsigned seed) {
  float *x = malloc((size_t)n * sizeof(float));
  srand(seed);
  for (int64_t i = 0; i < n; i++)
    x[i] = (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
  return x;
}

static uint8_t *encode(ir_dtype type, const float *x, int64_t n) {
  uint64_t bytes = 0;
  cr_assert(ir_dtype_row_bytes(type, (uint64_t)n, &bytes));
  uint8_t *blocks = malloc(bytes);
  cr_assert(quant_quantize(type, x, blocks, n));
  return blocks;
}

/* The value a decoded row stands for, by the formula in interp_qdot.h. */
static double decoded_value(ir_dtype type, const qdot_row *r, int64_t e) {
  int group = ir_dtype_get(type)->block_elems;
  int64_t g = e / group;
  int level = r->q[e] - (type == IR_DTYPE_Q6_K ? 32 : 0);
  double v = (double)r->d[g] * r->scale[e / 16] * level;
  if (type == IR_DTYPE_Q4_K)
    v -= (double)r->dmin[g] * r->min[e / 32];
  return v;
}

static const ir_dtype WEIGHT_TYPES[] = {IR_DTYPE_Q4_0, IR_DTYPE_Q5_0, IR_DTYPE_Q8_0, IR_DTYPE_Q4_K,
                                        IR_DTYPE_Q6_K};

Test(qdot, decoding_gives_the_reference_dequantizers_values) {
  float *x = random_floats(K, 1);
  for (size_t t = 0; t < sizeof WEIGHT_TYPES / sizeof WEIGHT_TYPES[0]; t++) {
    ir_dtype type = WEIGHT_TYPES[t];
    uint8_t *blocks = encode(type, x, K);
    float ref[K];
    cr_assert(quant_dequantize(type, blocks, ref, K));
    qdot_row row;
    cr_assert(qdot_row_init(&row, K));
    qdot_decode(type, blocks, &row);
    for (int64_t e = 0; e < K; e++)
      cr_assert(fabs(decoded_value(type, &row, e) - ref[e]) <= 1e-6 * (1.0 + fabs(ref[e])),
                "%s element %ld: %g, dequantized %g", ir_dtype_name(type), (long)e,
                decoded_value(type, &row, e), ref[e]);
    qdot_row_free(&row);
    free(blocks);
  }
  free(x);
}

Test(qdot, products_agree_with_double_precision) {
  float *w = random_floats(K, 2), *a = random_floats(K, 3);
  for (size_t t = 0; t < sizeof WEIGHT_TYPES / sizeof WEIGHT_TYPES[0]; t++) {
    ir_dtype type = WEIGHT_TYPES[t], act = qdot_activation_type(type);
    cr_assert_neq(act, IR_DTYPE_COUNT);
    uint8_t *wb = encode(type, w, K), *ab = encode(act, a, K);
    float wf[K], af[K];
    cr_assert(quant_dequantize(type, wb, wf, K));
    cr_assert(quant_dequantize(act, ab, af, K));
    double exact = 0, size = 0;
    for (int e = 0; e < K; e++) {
      exact += (double)wf[e] * af[e];
      size += fabs((double)wf[e] * af[e]);
    }
    qdot_row wr, ar;
    cr_assert(qdot_row_init(&wr, K) && qdot_row_init(&ar, K));
    qdot_decode(type, wb, &wr);
    qdot_decode(act, ab, &ar);
    float lanes = qdot(type, &wr, &ar);
    cr_assert(fabs(lanes - exact) <= 1e-5 * size, "%s: %g, exactly %g", ir_dtype_name(type), lanes,
              exact);
    if (qdot_tiled(type, QDOT_TILED_MIN_ROWS)) {
      float slabs = qdot_slabs(type, &wr, &ar);
      cr_assert(fabs(slabs - exact) <= 1e-5 * size, "%s tiled: %g, exactly %g", ir_dtype_name(type),
                slabs, exact);
    }
    qdot_row_free(&wr);
    qdot_row_free(&ar);
    free(wb);
    free(ab);
  }
  free(w);
  free(a);
}

Test(qdot, only_k_quants_of_enough_rows_go_the_tiled_way) {
  cr_assert(qdot_tiled(IR_DTYPE_Q4_K, QDOT_TILED_MIN_ROWS));
  cr_assert(qdot_tiled(IR_DTYPE_Q6_K, 100));
  cr_assert(!qdot_tiled(IR_DTYPE_Q4_K, QDOT_TILED_MIN_ROWS - 1));
  cr_assert(!qdot_tiled(IR_DTYPE_Q8_0, 100));
  cr_assert_eq(qdot_activation_type(IR_DTYPE_F32), IR_DTYPE_COUNT);
  cr_assert_eq(qdot_activation_type(IR_DTYPE_Q8_K), IR_DTYPE_COUNT);
}

/* A q8_0 block as bytes: f16 scale, then 32 levels. */
static void q8_0_block(uint8_t *blk, float d, const int8_t levels[32]) {
  uint16_t h = quant_f32_to_f16(d);
  memcpy(blk, &h, 2);
  memcpy(blk + 2, levels, 32);
}

/* Two q8_0 blocks whose lanes are 2^24 (lane 0), -2^24 (lane 1), both in block 0 with d_w * d_a =
 * 2^16, and 1 (lane 4, block 1, d = 1). Summed in element order the answer is 1; ggml adds lane 4
 * to lane 0 first, where 2^24 + 1 rounds back to 2^24, so its answer (and the interpreter's) is 0.
 */
Test(qdot, lanes_are_summed_in_ggml_order) {
  int8_t w0[32] = {0}, a0[32] = {0}, w1[32] = {0}, a1[32] = {0};
  w0[0] = 16, a0[0] = 16;  /* lane 0: 256 */
  w0[4] = -16, a0[4] = 16; /* lane 1: -256 */
  w1[16] = 1, a1[16] = 1;  /* lane 4: 1 */
  uint8_t wb[68], ab[68];
  q8_0_block(wb, 256.0f, w0);
  q8_0_block(wb + 34, 1.0f, w1);
  q8_0_block(ab, 256.0f, a0);
  q8_0_block(ab + 34, 1.0f, a1);
  qdot_row wr, ar;
  cr_assert(qdot_row_init(&wr, 64) && qdot_row_init(&ar, 64));
  qdot_decode(IR_DTYPE_Q8_0, wb, &wr);
  qdot_decode(IR_DTYPE_Q8_0, ab, &ar);
  cr_assert_float_eq(qdot(IR_DTYPE_Q8_0, &wr, &ar), 0.0f, 0.0f);
  qdot_row_free(&wr);
  qdot_row_free(&ar);
}

Test(simd, sum16_adds_lanes_eight_apart_first) {
  float lanes[16] = {0};
  lanes[0] = 16777216.0f; /* 2^24 */
  lanes[8] = 1.0f;        /* joins lane 0 first and is lost to rounding */
  lanes[4] = -16777216.0f;
  cr_assert_float_eq(simd_sum16(lanes), 0.0f, 0.0f);
  float x[20], y[20];
  for (int i = 0; i < 20; i++)
    x[i] = y[i] = 0.0f;
  x[0] = 4096.0f, y[0] = 4096.0f;  /* lane 0: 2^24 */
  x[17] = 1.0f, y[17] = 1.0f;      /* lane 1, after lane 0's first element */
  x[4] = -4096.0f, y[4] = 4096.0f; /* lane 4: -2^24 */
  cr_assert_float_eq(simd_dot16(x, y, 20), 1.0f, 0.0f);
}

/* Under 64 elements ggml_vec_dot adds the products one by one in double (exact here); counted as
 * the start of a zero-padded block (the KV dim) they go through the lanes, and lane 8's 1 is lost
 * to lane 0's 2^24 as in simd_sum16. */
Test(simd, dot64_tail_is_in_double_unless_padded) {
  float x[32] = {0}, y[32] = {0};
  x[0] = 4096.0f, y[0] = 4096.0f;
  x[8] = 1.0f, y[8] = 1.0f;
  x[4] = -4096.0f, y[4] = 4096.0f;
  cr_assert_float_eq(simd_dot64(x, y, 32, false), 1.0f, 0.0f);
  cr_assert_float_eq(simd_dot64(x, y, 32, true), 0.0f, 0.0f);
}

Test(simd, expf_is_within_two_ulps_of_expf) {
  for (float x = -100.0f; x < 88.0f; x += 0.00731f) {
    float ours = simd_expf(x), libm = expf(x);
    float ulp = nextafterf(libm, INFINITY) - libm; /* subnormals: the smallest step */
    cr_assert(fabsf(ours - libm) <= 2.0f * ulp, "x = %.9g: %.9g, expf %.9g", x, ours, libm);
  }
  cr_assert_float_eq(simd_expf(0.0f), 1.0f, 0.0f);
  cr_assert_float_eq(simd_expf(-INFINITY), 0.0f, 0.0f);
  cr_assert(isinf(simd_expf(200.0f)));
  cr_assert(isnan(simd_expf(NAN)));
  cr_assert_float_eq(simd_silu(0.0f), 0.0f, 0.0f);
}
