/* Synthetic models: the tensors, shapes and metadata of a real architecture (as llama.cpp's GGUF
 * conversion names them) filled with seeded random weights, so that every model size can be
 * built, run and benchmarked without downloading it. This module describes the model and draws
 * the weights; choosing types is quantize_mix's job and encoding runtime/quant's. */
#ifndef CHORD_FRONTENDS_GGUF_SYNTH_H
#define CHORD_FRONTENDS_GGUF_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frontends/gguf/gguf.h"

/* The hyper-parameters of one model. */
typedef struct gguf_synth_dims {
  uint32_t n_vocab; /* from the vocabulary file, never from a shape */
  uint32_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx;
  float rope_base, rms_eps;
  bool tied;               /* token_embd is also the output projection */
  uint32_t sliding_window; /* 0: no sliding-window layers */
} gguf_synth_dims;

typedef struct gguf_synth_arch gguf_synth_arch;

/* A supported architecture by general.architecture name, or NULL; _at lists them. */
const gguf_synth_arch *gguf_synth_arch_find(const char *name);
const gguf_synth_arch *gguf_synth_arch_at(size_t i);
const char *gguf_synth_arch_name(const gguf_synth_arch *arch);

/* A named shape (frontends/gguf/model_shapes.def). */
typedef struct gguf_synth_shape {
  const char *name;
  const char *arch;
  const char *title;
  gguf_synth_dims dims; /* n_vocab is 0 */
} gguf_synth_shape;

const gguf_synth_shape *gguf_synth_shape_find(const char *name);
const gguf_synth_shape *gguf_synth_shape_at(size_t i);

/* The architecture's defaults for what --dims may leave out (all sizes 0: they are required). */
void gguf_synth_dims_default(const gguf_synth_arch *arch, gguf_synth_dims *out);
/* Applies "key=value,key=value" to dims (keys as the fields above: n_embd=256,tied=1,...). */
chord_status gguf_synth_dims_parse(const char *text, gguf_synth_dims *dims, chord_error *error);
/* Fills in derived defaults (head_dim, n_head_kv left 0) and checks that the architecture can be
 * built with these dimensions. */
chord_status gguf_synth_dims_finish(const gguf_synth_arch *arch, gguf_synth_dims *dims,
                                    chord_error *error);

/* How a tensor's values are drawn. */
typedef enum gguf_synth_init {
  GGUF_SYNTH_INIT_WEIGHT, /* normal, mean 0, std GGUF_SYNTH_STD */
  GGUF_SYNTH_INIT_NORM,   /* normal, mean 1, std GGUF_SYNTH_STD: norm scales stay near 1 */
  GGUF_SYNTH_INIT_BIAS,   /* normal, mean 0, std GGUF_SYNTH_STD */
} gguf_synth_init;

#define GGUF_SYNTH_STD 0.02f

typedef struct gguf_synth_tensor {
  char name[64];
  uint32_t n_dims;
  uint64_t dims[2]; /* innermost first, as in gguf_tensor */
  gguf_synth_init init;
} gguf_synth_tensor;

/* The model's tensors in file order (an rt_malloc'ed array; free with rt_free). */
chord_status gguf_synth_plan(const gguf_synth_arch *arch, const gguf_synth_dims *dims,
                             gguf_synth_tensor **out, size_t *n_tensors, chord_error *error);

/* The vocabulary size of a file with a tokenizer; an error naming what is missing otherwise. */
chord_status gguf_synth_vocab_size(const gguf_file *vocab, uint32_t *n_vocab, chord_error *error);

/* Sets general.*, the <arch>.* hyper-parameters llama.cpp reads, and copies every tokenizer.*
 * key of vocab. file_type is the LLAMA_FTYPE value for general.file_type. */
chord_status gguf_synth_set_metadata(gguf_writer *writer, const gguf_synth_arch *arch,
                                     const gguf_synth_dims *dims, const char *name,
                                     uint32_t file_type, const gguf_file *vocab,
                                     chord_error *error);

/* Draws rows [row0, row0 + n_rows) of tensor t (rows of dims[0] values) into out. The values
 * depend only on (seed, tensor name, row), so any split of the rows gives the same tensor. */
void gguf_synth_fill(const gguf_synth_tensor *t, uint64_t seed, uint64_t row0, uint64_t n_rows,
                     float *out);

#endif
