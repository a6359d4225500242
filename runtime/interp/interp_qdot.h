/* Integer dot products of block-quantized weights with activations rounded to the weight type's
 * activation encoding (q8_0 or q8_K), summed in the order of llama.cpp's x86 CPU kernels
 * (ggml_vec_dot_*_q8_* with AVX2/AVX-512, and llamafile's tinyBLAS for the 32-element types).
 *
 * Why: the interpreter is the oracle and llama.cpp the final judge. The integer part of these
 * dot products is exact in any order, but the float part is not, and a one-ulp difference in a
 * matmul output flips later q8/f16 roundings (Gemma 3 amplifies them to tenths of a logit). The
 * order, a fact of those kernels:
 *   - every 32-element chunk is split into eight lanes of four consecutive elements; lane l gets
 *     the integer sum of its products, times the sub-block's integer scale (K types);
 *   - per block (32 elements) or super-block (256), a fused multiply-add adds d_w * d_a times each
 *     lane's integer to that lane's f32 accumulator;
 *   - q4_K's mins go through four more accumulators (pairs of sub-blocks, times -d_a * dmin_w);
 *   - at the end the eight lanes are summed pairwise (hsum_float_8: l + l+4, then 0+2 and 1+3),
 *     the four min lanes likewise, and the two sums added.
 * Rows are decoded once into integers (qdot_row) so each weight row serves every activation. */
#ifndef CHORD_RUNTIME_INTERP_QDOT_H
#define CHORD_RUNTIME_INTERP_QDOT_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/dtype.h"

/* A row of k elements as integers: value = d[g] * scale[e / 16] * q[e] - dmin[g] * min[e / 32]
 * for the weights, d[g] * q[e] for an activation (g the block or super-block of e). */
typedef struct qdot_row {
  int64_t k;
  int8_t *q;      /* [k] levels, offsets applied (q4_K: the unsigned level, its min apart;
                     q6_K: the unsigned level, its -32 apart) */
  int16_t *scale; /* [k / 16] integer sub-block scales (1 for the 32-element types) */
  int16_t *min;   /* [k / 32] q4_K sub-block mins; an activation's sums of 32 levels */
  int16_t *sum16; /* [k / 16] an activation's sums of 16 levels (q8_K's bsums) */
  float *d;       /* [k / 32] per block or super-block */
  float *dmin;    /* [k / 32] q4_K per super-block */
} qdot_row;

/* The activation encoding a weight type's dot product reads (q8_0 or q8_K), or IR_DTYPE_COUNT
 * where the interpreter has no integer dot for that type. */
ir_dtype qdot_activation_type(ir_dtype weight);

/* Rows for k elements (k a multiple of 256 or of 32, as the type needs); false without memory. */
bool qdot_row_init(qdot_row *row, int64_t k);
void qdot_row_free(qdot_row *row);

/* Decodes one row of encoded blocks: a weight of a type qdot_activation_type accepts, or an
 * activation in q8_0 or q8_K. */
void qdot_decode(ir_dtype type, const uint8_t *blocks, qdot_row *row);

/* The dot product of a weight row of type weight with an activation row of the matching type,
 * in ggml's x86 order. */
float qdot(ir_dtype weight, const qdot_row *w, const qdot_row *a);

/* llama.cpp takes a K-quant matmul of at least this many activation rows (tokens) through its
 * tiled kernel (ggml-cpu's mul_mat_tiled) instead of the per-row dot products. */
#define QDOT_TILED_MIN_ROWS 8

/* Whether a matmul of rows activation rows against this weight type goes the tiled way. */
bool qdot_tiled(ir_dtype weight, int64_t rows);

/* The tiled kernel's order: per 256-element slab, the exact integer sums s1 (levels times
 * sub-block scales) and s2 (mins times the activation's sums of 32), res = d_w * s1 - dmin_w * s2
 * (the subtraction fused), and the slabs' d_a * res accumulated in order. */
float qdot_slabs(ir_dtype weight, const qdot_row *w, const qdot_row *a);

#endif
