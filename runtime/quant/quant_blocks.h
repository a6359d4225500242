/* Byte layouts of the GGUF block types, one struct per type, and the loops that walk a row of
 * blocks. Private to runtime/quant: callers outside it use quant.h.
 *
 * The layouts are facts of the GGUF format (ggml's block structs). Half-precision fields are kept
 * as their raw uint16_t bits. Multi-byte fields are little-endian in the file; chord assumes a
 * little-endian host, as GGUF itself does. Every struct is free of padding, and its size is checked
 * against the block_bytes column of ir/dtype.def below. */
#ifndef CHORD_RUNTIME_QUANT_BLOCKS_H
#define CHORD_RUNTIME_QUANT_BLOCKS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ir/dtype.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "runtime/quant reads GGUF's little-endian fields in place; big-endian hosts need byte swaps"
#endif

#define QUANT_QK 32    /* elements per block of the 32-element types (Q4_0 ... Q8_0, IQ4_NL) */
#define QUANT_QK_K 256 /* elements per super-block of the K and IQ types */

/* Q4_0: x = d * (q - 8). Quants are fields (4, 16): element j < 16 is the low nibble of qs[j],
 * element j + 16 the high nibble. */
typedef struct quant_block_q4_0 {
  uint16_t d;               /* scale, f16 */
  uint8_t qs[QUANT_QK / 2]; /* 4-bit quants, two per byte */
} quant_block_q4_0;

/* Q4_1: x = d * q + m, nibbles placed as in Q4_0. */
typedef struct quant_block_q4_1 {
  uint16_t d; /* scale, f16 */
  uint16_t m; /* offset (the block minimum), f16 */
  uint8_t qs[QUANT_QK / 2];
} quant_block_q4_1;

/* Q5_0: x = d * (q - 16); the low 4 bits as in Q4_0, bit 4 of element j is bit j of qh (1, 1). */
typedef struct quant_block_q5_0 {
  uint16_t d;    /* scale, f16 */
  uint8_t qh[4]; /* fifth bits, a little-endian uint32 */
  uint8_t qs[QUANT_QK / 2];
} quant_block_q5_0;

/* Q5_1: x = d * q + m, bits placed as in Q5_0. */
typedef struct quant_block_q5_1 {
  uint16_t d; /* scale, f16 */
  uint16_t m; /* offset, f16 */
  uint8_t qh[4];
  uint8_t qs[QUANT_QK / 2];
} quant_block_q5_1;

/* Q8_0: x = d * q. */
typedef struct quant_block_q8_0 {
  uint16_t d; /* scale, f16 */
  int8_t qs[QUANT_QK];
} quant_block_q8_0;

/* Q2_K: 16 sub-blocks of 16; x = d * (scales & 15) * q - dmin * (scales >> 4), q in 0..3. */
typedef struct quant_block_q2_k {
  uint8_t scales[QUANT_QK_K / 16]; /* 4-bit scale (low) and 4-bit min (high) per sub-block */
  uint8_t qs[QUANT_QK_K / 4];      /* 2-bit quants, fields (2, 32) */
  uint16_t d;                      /* super-block scale of the scales, f16 */
  uint16_t dmin;                   /* super-block scale of the mins, f16 */
} quant_block_q2_k;

/* Q3_K: 16 sub-blocks of 16; x = d * (scale - 32) * (q - 4 * !hbit), q the 2 low bits. */
typedef struct quant_block_q3_k {
  uint8_t hmask[QUANT_QK_K / 8]; /* third bits, fields (1, 32); a set bit means no -4 offset */
  uint8_t qs[QUANT_QK_K / 4];    /* 2 low bits, fields (2, 32) */
  uint8_t scales[12];            /* sixteen 6-bit scales: low 4 bits (4, 8) in bytes 0..7,
                                    high 2 bits (2, 4) in bytes 8..11 */
  uint16_t d;                    /* super-block scale, f16 */
} quant_block_q3_k;

/* Q4_K: 8 sub-blocks of 32; x = d * sc * q - dmin * m, with 6-bit sc and m packed in scales. */
typedef struct quant_block_q4_k {
  uint16_t d;                 /* super-block scale of the scales, f16 */
  uint16_t dmin;              /* super-block scale of the mins, f16 */
  uint8_t scales[12];         /* eight 6-bit scales and mins, see quant_k.c */
  uint8_t qs[QUANT_QK_K / 2]; /* 4-bit quants, fields (4, 32) */
} quant_block_q4_k;

/* Q5_K: Q4_K plus a fifth bit per element in qh. */
typedef struct quant_block_q5_k {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[QUANT_QK_K / 8]; /* fifth bits, fields (1, 32) */
  uint8_t qs[QUANT_QK_K / 2]; /* low 4 bits, fields (4, 32) */
} quant_block_q5_k;

/* Q6_K: 16 sub-blocks of 16; x = d * scales[sub] * (q - 32), q 6 bits. */
typedef struct quant_block_q6_k {
  uint8_t ql[QUANT_QK_K / 2];     /* low 4 bits, fields (4, 64) */
  uint8_t qh[QUANT_QK_K / 4];     /* high 2 bits, fields (2, 32) */
  int8_t scales[QUANT_QK_K / 16]; /* 8-bit sub-block scales */
  uint16_t d;                     /* super-block scale, f16 */
} quant_block_q6_k;

/* Q8_K: x = d * q, with a full f32 scale. bsums (sums of 16 quants) serve dot products. */
typedef struct quant_block_q8_k {
  float d;
  int8_t qs[QUANT_QK_K];
  int16_t bsums[QUANT_QK_K / 16];
} quant_block_q8_k;

/* IQ4_NL: x = d * level[q] with 16 fixed non-linear levels, nibbles placed as in Q4_0. */
typedef struct quant_block_iq4_nl {
  uint16_t d; /* scale, f16 */
  uint8_t qs[QUANT_QK / 2];
} quant_block_iq4_nl;

/* IQ4_XS: 8 sub-blocks of 32 with 6-bit scales; x = d * (ls - 32) * level[q], levels as IQ4_NL. */
typedef struct quant_block_iq4_xs {
  uint16_t d;                        /* super-block scale, f16 */
  uint8_t scales_h[2];               /* high 2 bits of each scale, fields (2, 1) of a uint16 */
  uint8_t scales_l[QUANT_QK_K / 64]; /* low 4 bits of each scale, fields (4, 1) */
  uint8_t qs[QUANT_QK_K / 2];        /* 4-bit indices, fields (4, 16): 16 bytes per sub-block */
} quant_block_iq4_xs;

/* Bytes per block of every type, from the table, for the layout checks below. */
enum {
#define X(NAME, name, ggml_id, block_elems, block_bytes, dequantize, quantize)                     \
  QUANT_BLOCK_BYTES_##NAME = block_bytes,
#include "ir/dtype.def"
#undef X
};

#define QUANT_CHECK_LAYOUT(NAME, type)                                                             \
  _Static_assert(sizeof(type) == QUANT_BLOCK_BYTES_##NAME, #type " disagrees with ir/dtype.def")
QUANT_CHECK_LAYOUT(Q4_0, quant_block_q4_0);
QUANT_CHECK_LAYOUT(Q4_1, quant_block_q4_1);
QUANT_CHECK_LAYOUT(Q5_0, quant_block_q5_0);
QUANT_CHECK_LAYOUT(Q5_1, quant_block_q5_1);
QUANT_CHECK_LAYOUT(Q8_0, quant_block_q8_0);
QUANT_CHECK_LAYOUT(Q2_K, quant_block_q2_k);
QUANT_CHECK_LAYOUT(Q3_K, quant_block_q3_k);
QUANT_CHECK_LAYOUT(Q4_K, quant_block_q4_k);
QUANT_CHECK_LAYOUT(Q5_K, quant_block_q5_k);
QUANT_CHECK_LAYOUT(Q6_K, quant_block_q6_k);
QUANT_CHECK_LAYOUT(Q8_K, quant_block_q8_k);
QUANT_CHECK_LAYOUT(IQ4_NL, quant_block_iq4_nl);
QUANT_CHECK_LAYOUT(IQ4_XS, quant_block_iq4_xs);
#undef QUANT_CHECK_LAYOUT

/* Where the small fields of a block live. GGUF blocks pack their 1-, 2- and 4-bit fields the same
 * way: `run` consecutive elements sit in `run` consecutive bytes at the same bit offset; the next
 * `run` elements take the next `bits` bits of those bytes, and once the bytes are full the next
 * group of `run` bytes starts. So Q4_0's nibbles are (4, 16): element j < 16 in the low nibble of
 * byte j, j + 16 in its high nibble; Q4_K's are (4, 32); a plain little-endian bit string is (1,
 * 1). One description serves the decoder and the encoder of a type alike. */
static inline int quant_field_get(const uint8_t *bytes, int element, int bits, int run) {
  const int per_group = run * (8 / bits);
  const int byte = element / per_group * run + element % run;
  const int shift = element % per_group / run * bits;
  return (bytes[byte] >> shift) & ((1 << bits) - 1);
}

/* ORs value (which must fit in `bits`) into its place; the bytes start out zeroed. */
static inline void quant_field_put(uint8_t *bytes, int element, int bits, int run, int value) {
  const int per_group = run * (8 / bits);
  const int byte = element / per_group * run + element % run;
  const int shift = element % per_group / run * bits;
  bytes[byte] = (uint8_t)(bytes[byte] | value << shift);
}

/* A decoder of one block (raw bytes, possibly unaligned) and an encoder of one block. */
typedef void (*quant_block_decode_fn)(const uint8_t *block, float *out);
typedef void (*quant_block_encode_fn)(const float *in, uint8_t *block);

/* Runs a block decoder over the n elements of a row. Blocks are handed over as bytes, so each
 * decoder copies its block into an aligned struct first (GGUF data has no alignment promise). */
static inline void quant_decode_blocks(const void *blocks, float *out, int64_t n,
                                       int64_t block_elems, size_t block_bytes,
                                       quant_block_decode_fn decode) {
  const uint8_t *bytes = blocks;
  for (int64_t i = 0; i < n / block_elems; i++)
    decode(bytes + (size_t)i * block_bytes, out + i * block_elems);
}

static inline void quant_encode_blocks(const float *in, void *blocks, int64_t n,
                                       int64_t block_elems, size_t block_bytes,
                                       quant_block_encode_fn encode) {
  uint8_t *bytes = blocks;
  for (int64_t i = 0; i < n / block_elems; i++)
    encode(in + i * block_elems, bytes + (size_t)i * block_bytes);
}

#endif
