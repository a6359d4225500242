#include "ir/dtype.h"

#include <strings.h>

static const ir_dtype_info dtype_table[IR_DTYPE_COUNT] = {
#define X(NAME, name, ggml_id, block_elems, block_bytes, dequantize, quantize)                     \
  [IR_DTYPE_##NAME] = {name, ggml_id, block_elems, block_bytes},
#include "ir/dtype.def"
#undef X
};

const ir_dtype_info *ir_dtype_get(ir_dtype type) {
  return (unsigned)type < IR_DTYPE_COUNT ? &dtype_table[type] : NULL;
}

const char *ir_dtype_name(ir_dtype type) {
  const ir_dtype_info *info = ir_dtype_get(type);
  return info ? info->name : "?";
}

bool ir_dtype_from_ggml_id(uint32_t ggml_id, ir_dtype *out) {
  for (int t = 0; t < IR_DTYPE_COUNT; t++) {
    if (dtype_table[t].ggml_id == ggml_id) {
      *out = (ir_dtype)t;
      return true;
    }
  }
  return false;
}

bool ir_dtype_from_name(const char *name, ir_dtype *out) {
  for (int t = 0; t < IR_DTYPE_COUNT; t++) {
    if (strcasecmp(dtype_table[t].name, name) == 0) {
      *out = (ir_dtype)t;
      return true;
    }
  }
  return false;
}

bool ir_dtype_row_bytes(ir_dtype type, uint64_t n_elems, uint64_t *out) {
  const ir_dtype_info *info = ir_dtype_get(type);
  if (!info || n_elems % info->block_elems != 0)
    return false;
  uint64_t blocks = n_elems / info->block_elems;
  if (blocks > UINT64_MAX / info->block_bytes)
    return false;
  *out = blocks * info->block_bytes;
  return true;
}
