/* Integer dot products in the order of llama.cpp's x86 kernels (interp_qdot.h). The byte layouts
 * read here are the GGUF block formats (runtime/quant/quant_blocks.h describes each field). */
#include "runtime/interp/interp_qdot.h"

#include <math.h>
#include <string.h>

#include "runtime/quant/quant.h"
#include "runtime/support/alloc.h"

static float f16_at(const uint8_t *p) {
  uint16_t h;
  memcpy(&h, p, sizeof h);
  return quant_f16_to_f32(h);
}

/* The 32-element types: one f16 scale per block, sub-block scales all 1. */
static void set_unit_scales(qdot_row *row) {
  for (int64_t s = 0; s < row->k / 16; s++)
    row->scale[s] = 1;
}

/* q4_0 (18 bytes: d, 16 bytes of nibbles): element j < 16 is the low nibble of byte j, j + 16
 * the high one; value d * (nibble - 8). */
static void decode_q4_0(const uint8_t *blocks, qdot_row *row) {
  set_unit_scales(row);
  for (int64_t b = 0; b < row->k / 32; b++) {
    const uint8_t *blk = blocks + b * 18, *qs = blk + 2;
    row->d[b] = f16_at(blk);
    for (int j = 0; j < 16; j++) {
      row->q[b * 32 + j] = (int8_t)((qs[j] & 15) - 8);
      row->q[b * 32 + j + 16] = (int8_t)((qs[j] >> 4) - 8);
    }
  }
}

/* q5_0 (22 bytes: d, 32 fifth bits as a little-endian uint32, nibbles as q4_0); value
 * d * (level - 16). */
static void decode_q5_0(const uint8_t *blocks, qdot_row *row) {
  set_unit_scales(row);
  for (int64_t b = 0; b < row->k / 32; b++) {
    const uint8_t *blk = blocks + b * 22, *qs = blk + 6;
    uint32_t qh;
    memcpy(&qh, blk + 2, sizeof qh);
    row->d[b] = f16_at(blk);
    for (int j = 0; j < 16; j++) {
      int lo = (qs[j] & 15) | (int)(((qh >> j) & 1) << 4);
      int hi = (qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
      row->q[b * 32 + j] = (int8_t)(lo - 16);
      row->q[b * 32 + j + 16] = (int8_t)(hi - 16);
    }
  }
}

/* q8_0 (34 bytes: d, 32 signed levels). Weights and x86-rounded activations share it. */
static void decode_q8_0(const uint8_t *blocks, qdot_row *row) {
  set_unit_scales(row);
  for (int64_t b = 0; b < row->k / 32; b++) {
    const uint8_t *blk = blocks + b * 34;
    row->d[b] = f16_at(blk);
    memcpy(row->q + b * 32, blk + 2, 32);
  }
}

/* q4_K (144 bytes: d, dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles). In each 64
 * elements, the low nibbles of 32 bytes come first. */
static void decode_q4_k(const uint8_t *blocks, qdot_row *row) {
  for (int64_t sb = 0; sb < row->k / 256; sb++) {
    const uint8_t *blk = blocks + sb * 144, *sc = blk + 4, *qs = blk + 16;
    row->d[sb] = f16_at(blk);
    row->dmin[sb] = f16_at(blk + 2);
    for (int j = 0; j < 8; j++) {
      int scale, min;
      quant_k_scale_min(sc, j, &scale, &min);
      row->scale[sb * 16 + 2 * j] = row->scale[sb * 16 + 2 * j + 1] = (int16_t)scale;
      row->min[sb * 8 + j] = (int16_t)min;
    }
    int8_t *q = row->q + sb * 256;
    for (int c = 0; c < 4; c++) {
      for (int i = 0; i < 32; i++) {
        q[64 * c + i] = (int8_t)(qs[32 * c + i] & 15);
        q[64 * c + 32 + i] = (int8_t)(qs[32 * c + i] >> 4);
      }
    }
  }
}

/* q6_K (210 bytes: 128 bytes of low nibbles, 64 of high bit pairs, 16 signed scales, d). In each
 * half of 128 elements, element i < 32 of quarter t takes low bits from byte i (t even) or i + 32
 * (t odd) of the half's 64, the low nibble for t < 2; its high pair is bits 2t of byte i of the
 * half's 32. Value d * scale[e / 16] * (level - 32); the levels are kept unsigned, because ggml's
 * kernel takes the -32 off through the activation's sums of 16 (qdot_type.bias). */
static void decode_q6_k(const uint8_t *blocks, qdot_row *row) {
  for (int64_t sb = 0; sb < row->k / 256; sb++) {
    const uint8_t *blk = blocks + sb * 210;
    row->d[sb] = f16_at(blk + 208);
    for (int s = 0; s < 16; s++)
      row->scale[sb * 16 + s] = (int8_t)blk[192 + s];
    int8_t *q = row->q + sb * 256;
    for (int half = 0; half < 2; half++) {
      const uint8_t *ql = blk + 64 * half, *qh = blk + 128 + 32 * half;
      for (int t = 0; t < 4; t++) {
        for (int i = 0; i < 32; i++) {
          uint8_t low = ql[i + (t & 1) * 32];
          int level = (t < 2 ? low & 15 : low >> 4) | (((qh[i] >> (2 * t)) & 3) << 4);
          q[128 * half + 32 * t + i] = (int8_t)level; /* the -32 comes from the sums */
        }
      }
    }
  }
}

/* q8_K (292 bytes: f32 d, 256 signed levels, 16 bsums). The sums of 32 levels (what the q4_K
 * dot reads, as pairs of bsums) are recomputed from the levels: the same integers. */
static void decode_q8_k(const uint8_t *blocks, qdot_row *row) {
  set_unit_scales(row);
  for (int64_t sb = 0; sb < row->k / 256; sb++) {
    const uint8_t *blk = blocks + sb * 292;
    memcpy(&row->d[sb], blk, sizeof(float));
    memcpy(row->q + sb * 256, blk + 4, 256);
  }
  for (int64_t s = 0; s < row->k / 16; s++) {
    int sum = 0;
    for (int e = 0; e < 16; e++)
      sum += row->q[s * 16 + e];
    row->sum16[s] = (int16_t)sum;
  }
  for (int64_t s = 0; s < row->k / 32; s++)
    row->min[s] = (int16_t)(row->sum16[2 * s] + row->sum16[2 * s + 1]);
}

typedef struct qdot_type {
  ir_dtype type;
  ir_dtype activation; /* the encoding the weight's dot reads; the type itself for activations */
  int group;           /* elements per float scale */
  bool mins;
  int bias; /* subtracted from every level, per lane through the activation's sums of 16 */
  void (*decode)(const uint8_t *blocks, qdot_row *row);
} qdot_type;

static const qdot_type QDOT_TYPES[] = {
    {IR_DTYPE_Q4_0, IR_DTYPE_Q8_0, 32, false, 0, decode_q4_0},
    {IR_DTYPE_Q5_0, IR_DTYPE_Q8_0, 32, false, 0, decode_q5_0},
    {IR_DTYPE_Q8_0, IR_DTYPE_Q8_0, 32, false, 0, decode_q8_0},
    {IR_DTYPE_Q4_K, IR_DTYPE_Q8_K, 256, true, 0, decode_q4_k},
    {IR_DTYPE_Q6_K, IR_DTYPE_Q8_K, 256, false, 32, decode_q6_k},
    {IR_DTYPE_Q8_K, IR_DTYPE_Q8_K, 256, false, 0, decode_q8_k},
};

static const qdot_type *qdot_type_get(ir_dtype type) {
  for (size_t i = 0; i < sizeof QDOT_TYPES / sizeof QDOT_TYPES[0]; i++)
    if (QDOT_TYPES[i].type == type)
      return &QDOT_TYPES[i];
  return NULL;
}

ir_dtype qdot_activation_type(ir_dtype weight) {
  const qdot_type *t = qdot_type_get(weight);
  return t && weight != IR_DTYPE_Q8_K ? t->activation : IR_DTYPE_COUNT;
}

bool qdot_row_init(qdot_row *row, int64_t k) {
  memset(row, 0, sizeof *row);
  row->k = k;
  row->q = rt_malloc((size_t)(k ? k : 1));
  row->scale = rt_malloc((size_t)(k / 16 + 1) * sizeof(int16_t));
  row->min = rt_malloc((size_t)(k / 32 + 1) * sizeof(int16_t));
  row->sum16 = rt_malloc((size_t)(k / 16 + 1) * sizeof(int16_t));
  row->d = rt_malloc((size_t)(k / 32 + 1) * sizeof(float));
  row->dmin = rt_malloc((size_t)(k / 32 + 1) * sizeof(float));
  if (row->q && row->scale && row->min && row->sum16 && row->d && row->dmin)
    return true;
  qdot_row_free(row);
  return false;
}

void qdot_row_free(qdot_row *row) {
  rt_free(row->q);
  rt_free(row->scale);
  rt_free(row->min);
  rt_free(row->sum16);
  rt_free(row->d);
  rt_free(row->dmin);
  memset(row, 0, sizeof *row);
}

void qdot_decode(ir_dtype type, const uint8_t *blocks, qdot_row *row) {
  qdot_type_get(type)->decode(blocks, row);
}

float qdot(ir_dtype weight, const qdot_row *w, const qdot_row *a) {
  const qdot_type *t = qdot_type_get(weight);
  float acc[8] = {0}, acc_m[4] = {0};
  for (int64_t g = 0; g < w->k / t->group; g++) {
    int32_t lane[8] = {0};
    for (int64_t c = g * t->group; c < (g + 1) * t->group; c += 32) {
      for (int l = 0; l < 8; l++) {
        int64_t e = c + 4 * l;
        int32_t sum = 0;
        for (int j = 0; j < 4; j++)
          sum += (int32_t)w->q[e + j] * (int32_t)a->q[e + j];
        lane[l] += sum * w->scale[e / 16];
      }
    }
    /* q6_K: lane l takes the bias off for sub-blocks 2l and 2l + 1 of its super-block */
    for (int l = 0; t->bias && l < 8; l++) {
      int64_t s = g * 16 + 2 * l;
      lane[l] -= t->bias * (a->sum16[s] * w->scale[s] + a->sum16[s + 1] * w->scale[s + 1]);
    }
    /* ggml: d = d_a * d_w (one f32 product), then one fused multiply-add per lane */
    float d = a->d[g] * w->d[g];
    for (int l = 0; l < 8; l++)
      acc[l] = fmaf(d, (float)lane[l], acc[l]);
    if (t->mins) {
      float dmin = -(a->d[g] * w->dmin[g]);
      for (int m = 0; m < 4; m++) {
        int64_t s = g * 8 + 2 * m;
        int32_t prod = w->min[s] * a->min[s] + w->min[s + 1] * a->min[s + 1];
        acc_m[m] = fmaf(dmin, (float)prod, acc_m[m]);
      }
    }
  }
  float r[4];
  for (int l = 0; l < 4; l++)
    r[l] = acc[l + 4] + acc[l];
  float sum = (r[0] + r[2]) + (r[1] + r[3]);
  if (t->mins)
    sum += (acc_m[0] + acc_m[2]) + (acc_m[1] + acc_m[3]);
  return sum;
}

bool qdot_tiled(ir_dtype weight, int64_t rows) {
  const qdot_type *t = qdot_type_get(weight);
  return t && t->group == 256 && rows >= QDOT_TILED_MIN_ROWS;
}

float qdot_slabs(ir_dtype weight, const qdot_row *w, const qdot_row *a) {
  const qdot_type *t = qdot_type_get(weight);
  float acc = 0.0f;
  for (int64_t g = 0; g < w->k / 256; g++) {
    int32_t s1 = 0, s2 = 0;
    for (int64_t e = g * 256; e < (g + 1) * 256; e++)
      s1 += (int32_t)w->q[e] * (int32_t)a->q[e] * w->scale[e / 16];
    for (int64_t s = g * 16; t->bias && s < (g + 1) * 16; s++)
      s1 -= t->bias * a->sum16[s] * w->scale[s];
    float res = w->d[g] * (float)s1;
    if (t->mins) {
      for (int64_t s = g * 8; s < (g + 1) * 8; s++)
        s2 += w->min[s] * a->min[s];
      res = fmaf(-w->dmin[g], (float)s2, res);
    }
    acc = fmaf(a->d[g], res, acc);
  }
  return acc;
}
