/* Lowering: a GGUF model to the canonical, unfused graph (docs/lowering.md). One function per
 * architecture, chosen from a table by general.architecture; every hyper-parameter comes from the
 * metadata. The graph's interface is the same for every architecture:
 *   input %tokens : i32[T], input %pos : i32[T]
 *   state %cache_k.L, %cache_v.L : f16[n_ctx, n_head_kv, head_dim] per layer
 *   output: logits f32[T, n_vocab] */
#ifndef CHORD_FRONTENDS_GGUF_LOWER_H
#define CHORD_FRONTENDS_GGUF_LOWER_H

#include <stdint.h>

#include "chord.h"
#include "frontends/gguf/gguf.h"
#include "ir/ir.h"

typedef struct lower_options {
  int64_t n_ctx; /* KV-cache positions; 0: 2048, capped at the model's context_length */
} lower_options;

/* Lowers the model in file. An unsupported architecture is CHORD_ERROR_UNSUPPORTED naming it. */
chord_status lower_model(const gguf_file *file, const lower_options *options, ir_graph **out,
                         chord_error *error);

/* Whether lower_model knows the architecture. */
bool lower_supports(const char *architecture);

#endif
