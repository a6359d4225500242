/* The per-type decoder and encoder tables, built from the dequantize and quantize columns of
 * ir/dtype.def; a type marked NONE gets NULL. */
#include <stddef.h>

#include "runtime/quant/quant.h"

#define NONE NULL

static const quant_dequantize_fn dequantizers[IR_DTYPE_COUNT] = {
#define X(NAME, name, ggml_id, block_elems, block_bytes, dequantize, quantize)                     \
  [IR_DTYPE_##NAME] = dequantize,
#include "ir/dtype.def"
#undef X
};

static const quant_quantize_fn quantizers[IR_DTYPE_COUNT] = {
#define X(NAME, name, ggml_id, block_elems, block_bytes, dequantize, quantize)                     \
  [IR_DTYPE_##NAME] = quantize,
#include "ir/dtype.def"
#undef X
};

#undef NONE

quant_dequantize_fn quant_dequantizer(ir_dtype type) {
  return (unsigned)type < IR_DTYPE_COUNT ? dequantizers[type] : NULL;
}

quant_quantize_fn quant_quantizer(ir_dtype type) {
  return (unsigned)type < IR_DTYPE_COUNT ? quantizers[type] : NULL;
}

/* n must be a whole number of blocks: the row functions never look at a partial block. */
static bool whole_blocks(ir_dtype type, int64_t n) {
  return n >= 0 && n % ir_dtype_get(type)->block_elems == 0;
}

bool quant_dequantize(ir_dtype type, const void *blocks, float *out, int64_t n) {
  const quant_dequantize_fn decode = quant_dequantizer(type);
  if (!decode || !whole_blocks(type, n))
    return false;
  decode(blocks, out, n);
  return true;
}

bool quant_quantize(ir_dtype type, const float *in, void *blocks, int64_t n) {
  const quant_quantize_fn encode = quant_quantizer(type);
  if (!encode || !whole_blocks(type, n))
    return false;
  encode(in, blocks, n);
  return true;
}
