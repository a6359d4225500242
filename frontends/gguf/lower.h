/* Lowering: a GGUF model to the canonical, unfused graph (docs/lowering.md). One function per
 * architecture, chosen from a table by general.architecture; every hyper-parameter comes from the
 * metadata. The graph's interface is the same for every architecture:
 *   input %tokens : i32[T], input %pos : i32[T] (and %out_rows : i32[1], see lower_options)
 *   state %cache_k.L, %cache_v.L : f16[n_ctx, n_head_kv, head_dim] per layer
 *   output: logits f32[T, n_vocab] */
#ifndef CHORD_FRONTENDS_GGUF_LOWER_H
#define CHORD_FRONTENDS_GGUF_LOWER_H

#include <stdint.h>

#include "chord.h"
#include "frontends/gguf/gguf.h"
#include "ir/ir.h"

typedef struct lower_options {
  int64_t n_ctx;         /* KV-cache positions; 0: 2048, capped at the model's context_length */
  bool last_logits_only; /* logits of the step's last position only (what generation needs):
                            the graph gets an input %out_rows : i32[1] holding T-1, and the rows
                            go through get_rows before the final norm, as llama.cpp's
                            inp_out_ids do; the output is then f32[1, n_vocab] */
  ir_dtype cache_type_k; /* the key cache's type: f16 (the default; 0 counts as f16) or q8_0
                            (llama.cpp's -ctk q8_0: queries are rounded to q8_0 for the integer
                            dot products with the keys) */
} lower_options;

/* Lowers the model in file. An unsupported architecture is CHORD_ERROR_UNSUPPORTED naming it. */
chord_status lower_model(const gguf_file *file, const lower_options *options, ir_graph **out,
                         chord_error *error);

/* Checks every weight of g (a parsed graph, say) against the tensors of file: present, with the
 * same dtype and shape. On failure *bad is the weight (its line:col say where a parsed one is). */
chord_status lower_check_weights(const gguf_file *file, const ir_graph *g, const ir_value **bad,
                                 chord_error *error);

/* Whether lower_model knows the architecture. */
bool lower_supports(const char *architecture);

#endif
