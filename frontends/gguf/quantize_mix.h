/* Which tensor gets which type when a model is written in one of llama.cpp's file types
 * (general.file_type, LLAMA_FTYPE_*): the same choices llama.cpp's quantizer makes, so that a
 * chord-quantized Q4_K_M file has the mix that people know from llama.cpp. Only the choice lives
 * here; encoding is runtime/quant's job. */
#ifndef CHORD_FRONTENDS_GGUF_QUANTIZE_MIX_H
#define CHORD_FRONTENDS_GGUF_QUANTIZE_MIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frontends/gguf/gguf.h"
#include "ir/dtype.h"

/* "Leave the type alone" in the per-role columns below. */
#define GGUF_MIX_KEEP IR_DTYPE_COUNT

/* A file type and the upgrades its mix gives to the tensors that matter most. */
typedef struct gguf_file_type {
  const char *name;       /* "Q4_K_M", as llama-quantize spells it */
  uint32_t id;            /* the LLAMA_FTYPE value stored in general.file_type */
  ir_dtype default_type;  /* the type of every quantizable weight that no rule singles out */
  ir_dtype attn_v_more;   /* attn_v in the layers use_more_bits picks */
  ir_dtype attn_v_first4; /* attn_v in the first four layers */
  ir_dtype ffn_down_more; /* ffn_down in the layers use_more_bits picks */
  ir_dtype ffn_down_head; /* ffn_down in the first eighth of the layers (not for falcon) */
  ir_dtype moe8_attn_out; /* attn_output of models with eight experts */
} gguf_file_type;

/* Looks a file type up by name, case-insensitive; NULL if chord does not write it. */
const gguf_file_type *gguf_file_type_find(const char *name);
/* The i-th file type chord writes, for listing them; NULL past the end. */
const gguf_file_type *gguf_file_type_at(size_t i);

/* What the rules need to know about the model besides its tensor names. */
typedef struct gguf_mix_model {
  char arch[64];      /* general.architecture */
  uint32_t n_layer;   /* <arch>.block_count */
  uint32_t n_head;    /* <arch>.attention.head_count (0 if absent) */
  uint32_t n_head_kv; /* <arch>.attention.head_count_kv (n_head if absent) */
  uint32_t n_expert;  /* <arch>.expert_count (0 for dense models) */
} gguf_mix_model;

/* Reads the model description from a file's metadata. */
chord_status gguf_mix_model_read(const gguf_file *file, gguf_mix_model *out, chord_error *error);

typedef struct gguf_mix_tensor {
  const char *name; /* in */
  uint32_t n_dims;  /* in */
  uint64_t dims[GGUF_MAX_DIMS];
  ir_dtype type;   /* in: the type it has now (kept for tensors that are never quantized) */
  ir_dtype target; /* out: the type to write */
  bool fallback;   /* out: its rows are too short for the type the rules chose first */
} gguf_mix_tensor;

/* Chooses target for every tensor of the model. The rules look at the whole model (whether
 * output.weight exists, the position of a tensor among its kind), so all tensors come at once. */
void gguf_quant_mix_choose(const gguf_file_type *file_type, const gguf_mix_model *model,
                           gguf_mix_tensor *tensors, size_t n_tensors);

#endif
