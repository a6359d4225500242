/* Element and block types (ir/dtype.def is the table). */
#ifndef CHORD_IR_DTYPE_H
#define CHORD_IR_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ir_dtype {
#define X(NAME, name, ggml_id, block_elems, block_bytes, dequantize, quantize) IR_DTYPE_##NAME,
#include "ir/dtype.def"
#undef X
  IR_DTYPE_COUNT
} ir_dtype;

typedef struct ir_dtype_info {
  const char *name;     /* lower-case spelling, e.g. "q4_k" */
  uint32_t ggml_id;     /* type id in GGUF tensor infos */
  uint32_t block_elems; /* elements per block */
  uint32_t block_bytes; /* bytes per block */
} ir_dtype_info;

const ir_dtype_info *ir_dtype_get(ir_dtype type);
const char *ir_dtype_name(ir_dtype type);
/* Looks up a type by its GGUF id; false if the id is not in the table. */
bool ir_dtype_from_ggml_id(uint32_t ggml_id, ir_dtype *out);
/* Looks up a type by name, case-insensitive ("Q4_K" and "q4_k" both work). */
bool ir_dtype_from_name(const char *name, ir_dtype *out);
/* Bytes needed for n_elems elements (n_elems must be a multiple of block_elems);
 * false if that overflows. */
bool ir_dtype_row_bytes(ir_dtype type, uint64_t n_elems, uint64_t *out);

#endif
