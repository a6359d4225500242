/* llama (Llama 2/3, Mistral, TinyLlama, SmolLM) and qwen2 (Qwen 2/2.5): pre-norm decoder layers
 * with RMS norm, rotary attention with grouped-query heads and a SwiGLU MLP. qwen2 adds biases to
 * q, k and v and rotates in neox mode; llama's GGUF q/k rows are permuted for normal mode. Llama
 * 3.1+ files carry their rope scaling as per-frequency factors, rope_freqs.weight. */
#include <math.h>
#include <string.h>

#include "frontends/gguf/lower_internal.h"
#include "runtime/support/error.h"

static ir_value *linear_bias(lower_ctx *c, ir_value *x, ir_value *w, ir_value *bias) {
  x = lower_linear(c, x, w);
  return bias ? lower_op(c, IR_OP_ADD, x, bias) : x;
}

/* lower_apply_rope, with the frequency factors as rope's third operand when there are any (one
 * tensor for every layer, as llama.cpp shares it). */
static ir_value *rope_factors(lower_ctx *c, ir_value *x, const lower_rope *rope,
                              ir_value *factors) {
  if (!factors || !x)
    return x ? lower_apply_rope(c, x, c->pos, rope) : NULL;
  ir_attr attrs[5] = {ir_attr_enum(IR_ATTR_MODE, rope->mode),
                      ir_attr_int(IR_ATTR_N_ROT, rope->n_rot),
                      ir_attr_float(IR_ATTR_FREQ_BASE, rope->freq_base)};
  uint32_t n = 3;
  if (rope->freq_scale != 1.0) { /* ggml applies freq_scale after dividing by the factor */
    attrs[n++] = ir_attr_float(IR_ATTR_FREQ_SCALE, rope->freq_scale);
    attrs[n++] = ir_attr_enum(IR_ATTR_SCALING, 1); /* linear */
  }
  return ir_build(c->graph, IR_OP_ROPE, (ir_value *[]){x, c->pos, factors}, 3, attrs, n, c->error);
}

chord_status lower_llama(lower_ctx *c) {
  bool qwen2 = strcmp(c->arch, "qwen2") == 0;
  uint64_t n_embd, n_layer, n_head;
  if (!lower_hparam_u64(c, "embedding_length", &n_embd) ||
      !lower_hparam_u64(c, "block_count", &n_layer) ||
      !lower_hparam_u64(c, "attention.head_count", &n_head) || n_head == 0)
    return rt_error(c->error, CHORD_ERROR_FORMAT,
                    "%s: %s model without embedding_length, block_count or head_count",
                    c->file->path, c->arch);
  uint64_t n_head_kv = lower_hparam_u64_or(c, "attention.head_count_kv", n_head);
  uint64_t head_k = lower_hparam_u64_or(c, "attention.key_length", n_embd / n_head);
  uint64_t head_v = lower_hparam_u64_or(c, "attention.value_length", head_k);
  double eps = lower_hparam_f64_or(c, "attention.layer_norm_rms_epsilon", 1e-5);
  lower_rope rope = {.mode = qwen2 ? 1 : 0,
                     .n_rot = (int64_t)lower_hparam_u64_or(c, "rope.dimension_count", head_k),
                     .freq_base = lower_hparam_f64_or(c, "rope.freq_base", 10000.0),
                     .freq_scale = 1.0 / lower_hparam_f64_or(c, "rope.scaling.factor", 1.0)};
  /* llama.cpp's qwen2 has no use for the tensor, and refuses a file with one it does not use */
  if (qwen2 && gguf_find_tensor(c->file, "rope_freqs.weight"))
    return rt_error(c->error, CHORD_ERROR_FORMAT,
                    "%s: qwen2 model with rope_freqs.weight (only llama has per-frequency rope "
                    "factors)",
                    c->file->path);
  ir_value *factors = qwen2 ? NULL : lower_weight_opt(c, "rope_freqs.weight");
  int64_t window = (int64_t)lower_hparam_u64_or(c, "attention.sliding_window", 0);

  ir_value *embd = lower_weight(c, "token_embd.weight");
  ir_value *x = embd ? ir_build(c->graph, IR_OP_GET_ROWS, (ir_value *[]){embd, c->tokens}, 2, NULL,
                                0, c->error)
                     : NULL;
  const ir_dim T = {1, 0, 0};
  for (uint32_t il = 0; il < n_layer && x; il++) {
    ir_value *h = lower_rms_norm(c, x, eps, lower_weight(c, "blk.%u.attn_norm.weight", il));
    ir_value *q = linear_bias(c, h, lower_weight(c, "blk.%u.attn_q.weight", il),
                              lower_weight_opt(c, "blk.%u.attn_q.bias", il));
    ir_value *k = linear_bias(c, h, lower_weight(c, "blk.%u.attn_k.weight", il),
                              lower_weight_opt(c, "blk.%u.attn_k.bias", il));
    ir_value *v = linear_bias(c, h, lower_weight(c, "blk.%u.attn_v.weight", il),
                              lower_weight_opt(c, "blk.%u.attn_v.bias", il));
    q = lower_reshape(c, q, 3,
                      (ir_dim[]){T, ir_dim_const((int64_t)n_head), ir_dim_const((int64_t)head_k)});
    k = lower_reshape(
        c, k, 3, (ir_dim[]){T, ir_dim_const((int64_t)n_head_kv), ir_dim_const((int64_t)head_k)});
    v = lower_reshape(
        c, v, 3, (ir_dim[]){T, ir_dim_const((int64_t)n_head_kv), ir_dim_const((int64_t)head_v)});
    q = rope_factors(c, q, &rope, factors);
    k = rope_factors(c, k, &rope, factors);
    ir_value *a = lower_attention(c, il, q, k, v, 1.0 / sqrt((double)head_k), window);
    a = lower_linear(c, a, lower_weight(c, "blk.%u.attn_output.weight", il));
    if (il + 1 == n_layer) { /* only the rows whose logits are wanted, where llama.cpp cuts */
      a = lower_output_rows(c, a);
      x = lower_output_rows(c, x);
    }
    x = lower_op(c, IR_OP_ADD, x, a);
    h = lower_rms_norm(c, x, eps, lower_weight(c, "blk.%u.ffn_norm.weight", il));
    ir_value *gate = lower_linear(c, h, lower_weight(c, "blk.%u.ffn_gate.weight", il));
    ir_value *up = lower_linear(c, h, lower_weight(c, "blk.%u.ffn_up.weight", il));
    ir_value *m = lower_op(c, IR_OP_MUL, lower_op(c, IR_OP_SILU, gate, NULL), up);
    m = lower_linear(c, m, lower_weight(c, "blk.%u.ffn_down.weight", il));
    x = lower_op(c, IR_OP_ADD, x, m);
  }
  x = lower_rms_norm(c, x, eps, lower_weight(c, "output_norm.weight"));
  ir_value *out = lower_weight_opt(c, "output.weight");
  x = lower_linear(c, x, out ? out : embd); /* tied embeddings when there is no output.weight */
  if (!x)
    return c->error ? c->error->status : CHORD_ERROR_INVALID;
  return ir_graph_add_output(c->graph, x, c->error);
}
