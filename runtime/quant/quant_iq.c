/* The IQ types chord decodes: IQ4_NL and IQ4_XS, both 4-bit indices into one table of 16
 * non-linear levels. Decoders match ggml's dequantize_row_iq4_* and gguf-py bit for bit. */
#include "runtime/quant/quant.h"
#include "runtime/quant/quant_blocks.h"

/* The levels, denser near zero where most weights are (kvalues_iq4nl in ggml). */
static const int8_t iq4_levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                      1,    13,   25,  38,  53,  69,  89,  113};

/* ---- IQ4_NL ---- */

static void decode_iq4_nl(const uint8_t *block, float *out) {
  quant_block_iq4_nl b;
  memcpy(&b, block, sizeof b);
  const float d = quant_f16_to_f32(b.d);
  for (int j = 0; j < QUANT_QK; j++)
    out[j] = d * (float)iq4_levels[quant_field_get(b.qs, j, 4, QUANT_QK / 2)];
}

void quant_dequantize_iq4_nl(const void *blocks, float *out, int64_t n) {
  quant_decode_blocks(blocks, out, n, QUANT_QK, sizeof(quant_block_iq4_nl), decode_iq4_nl);
}

/* ---- IQ4_XS ---- */

static void decode_iq4_xs(const uint8_t *block, float *out) {
  quant_block_iq4_xs b;
  memcpy(&b, block, sizeof b);
  const float d = quant_f16_to_f32(b.d);
  for (int e = 0; e < QUANT_QK_K; e++) {
    const int sub = e / 32;
    const int scale =
        quant_field_get(b.scales_l, sub, 4, 1) | quant_field_get(b.scales_h, sub, 2, 1) << 4;
    const float d_sub = d * (float)(scale - 32);
    out[e] = d_sub * (float)iq4_levels[quant_field_get(b.qs, e, 4, 16)];
  }
}

void quant_dequantize_iq4_xs(const void *blocks, float *out, int64_t n) {
  quant_decode_blocks(blocks, out, n, QUANT_QK_K, sizeof(quant_block_iq4_xs), decode_iq4_xs);
}
