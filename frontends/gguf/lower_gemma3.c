/* gemma3: pre and post norms around attention and the MLP, QK norm, GeGLU with tanh gelu,
 * embeddings scaled by sqrt(n_embd), and sliding-window layers with every sixth layer global
 * (the pattern llama.cpp uses for Gemma 3). Local layers rotate with base 10000, global ones with
 * rope.freq_base. Attention scale is 1/sqrt(head_dim) (query_pre_attn_scalar when present).
 * Norm weights in GGUF already include Gemma's +1. final_logit_softcapping, when a file has it,
 * caps the logits as llama.cpp does (Gemma 3's own configs leave it out). */
#include <math.h>
#include <stdio.h>

#include "frontends/gguf/lower_internal.h"
#include "runtime/support/error.h"

enum { GEMMA3_SWA_PATTERN = 6 };
static const double GEMMA3_LOCAL_FREQ_BASE = 10000.0;

/* cap * tanh(x / cap) for the logits: llama.cpp's final logit soft-capping. */
static ir_value *softcap_logits(lower_ctx *c, ir_value *x, double cap) {
  return lower_scale(c, lower_op(c, IR_OP_TANH, lower_scale(c, x, 1.0 / cap), NULL), cap);
}

chord_status lower_gemma3(lower_ctx *c) {
  uint64_t n_embd, n_layer, n_head;
  if (!lower_hparam_u64(c, "embedding_length", &n_embd) ||
      !lower_hparam_u64(c, "block_count", &n_layer) ||
      !lower_hparam_u64(c, "attention.head_count", &n_head) || n_head == 0)
    return rt_error(c->error, CHORD_ERROR_FORMAT,
                    "%s: gemma3 model without embedding_length, block_count or head_count",
                    c->file->path);
  uint64_t n_head_kv = lower_hparam_u64_or(c, "attention.head_count_kv", n_head);
  uint64_t head_k = lower_hparam_u64_or(c, "attention.key_length", n_embd / n_head);
  uint64_t head_v = lower_hparam_u64_or(c, "attention.value_length", head_k);
  double eps = lower_hparam_f64_or(c, "attention.layer_norm_rms_epsilon", 1e-6);
  double freq_base = lower_hparam_f64_or(c, "rope.freq_base", 1e6);
  double freq_scale = 1.0 / lower_hparam_f64_or(c, "rope.scaling.factor", 1.0);
  int64_t window = (int64_t)lower_hparam_u64_or(c, "attention.sliding_window", 0);
  double query_scalar = lower_hparam_f64_or(c, "attention.query_pre_attn_scalar", (double)head_k);
  /* llama.cpp reads the key for gemma3 and caps when it is not 0 (src/models/gemma3.cpp) */
  double softcap = lower_hparam_f64_or(c, "final_logit_softcapping", 0.0);
  if (softcap < 0 || !isfinite(softcap))
    return rt_error(c->error, CHORD_ERROR_FORMAT,
                    "%s: gemma3 final_logit_softcapping = %g must be positive (or 0: none)",
                    c->file->path, softcap);
  double attn_scale = 1.0 / sqrt(query_scalar);

  ir_value *x = lower_weight(c, "token_embd.weight");
  ir_value *embd = x;
  x = x ? ir_build(c->graph, IR_OP_GET_ROWS, (ir_value *[]){x, c->tokens}, 2, NULL, 0, c->error)
        : NULL;
  x = lower_scale(c, x, sqrt((double)n_embd));
  const ir_dim T = {1, 0, 0};
  for (uint32_t il = 0; il < n_layer && x; il++) {
    bool global = il % GEMMA3_SWA_PATTERN == GEMMA3_SWA_PATTERN - 1 || window <= 0;
    lower_rope rope = {.mode = 1,
                       .n_rot = (int64_t)head_k,
                       .freq_base = global ? freq_base : GEMMA3_LOCAL_FREQ_BASE,
                       .freq_scale = global ? freq_scale : 1.0};
    ir_value *h = lower_rms_norm(c, x, eps, lower_weight(c, "blk.%u.attn_norm.weight", il));
    ir_value *q = lower_linear(c, h, lower_weight(c, "blk.%u.attn_q.weight", il));
    ir_value *k = lower_linear(c, h, lower_weight(c, "blk.%u.attn_k.weight", il));
    ir_value *v = lower_linear(c, h, lower_weight(c, "blk.%u.attn_v.weight", il));
    q = lower_reshape(c, q, 3,
                      (ir_dim[]){T, ir_dim_const((int64_t)n_head), ir_dim_const((int64_t)head_k)});
    k = lower_reshape(
        c, k, 3, (ir_dim[]){T, ir_dim_const((int64_t)n_head_kv), ir_dim_const((int64_t)head_k)});
    v = lower_reshape(
        c, v, 3, (ir_dim[]){T, ir_dim_const((int64_t)n_head_kv), ir_dim_const((int64_t)head_v)});
    q = lower_rms_norm(c, q, eps, lower_weight(c, "blk.%u.attn_q_norm.weight", il));
    k = lower_rms_norm(c, k, eps, lower_weight(c, "blk.%u.attn_k_norm.weight", il));
    q = lower_apply_rope(c, q, c->pos, &rope);
    k = lower_apply_rope(c, k, c->pos, &rope);
    /* llama.cpp scales q itself (not the scores) before it is rounded to f16 for q.k: tiny
     * elements of q / 16 are f16 subnormals, so the order shows in the last bits */
    q = lower_scale(c, q, attn_scale);
    ir_value *a = lower_attention(c, il, q, k, v, 1.0, global ? 0 : window);
    a = lower_linear(c, a, lower_weight(c, "blk.%u.attn_output.weight", il));
    if (il + 1 == n_layer) { /* only the rows whose logits are wanted, where llama.cpp cuts */
      a = lower_output_rows(c, a);
      x = lower_output_rows(c, x);
    }
    a = lower_rms_norm(c, a, eps, lower_weight(c, "blk.%u.post_attention_norm.weight", il));
    x = lower_op(c, IR_OP_ADD, x, a);
    h = lower_rms_norm(c, x, eps, lower_weight(c, "blk.%u.ffn_norm.weight", il));
    ir_value *gate = lower_linear(c, h, lower_weight(c, "blk.%u.ffn_gate.weight", il));
    ir_value *up = lower_linear(c, h, lower_weight(c, "blk.%u.ffn_up.weight", il));
    /* llama.cpp's CPU geglu looks gelu up in an f16 table (GGML_GELU_FP16) */
    ir_attr table = ir_attr_enum(IR_ATTR_APPROX, 2);
    ir_value *g = gate ? ir_build(c->graph, IR_OP_GELU, &gate, 1, &table, 1, c->error) : NULL;
    ir_value *m = lower_op(c, IR_OP_MUL, g, up);
    m = lower_linear(c, m, lower_weight(c, "blk.%u.ffn_down.weight", il));
    m = lower_rms_norm(c, m, eps, lower_weight(c, "blk.%u.post_ffw_norm.weight", il));
    x = lower_op(c, IR_OP_ADD, x, m);
  }
  x = lower_rms_norm(c, x, eps, lower_weight(c, "output_norm.weight"));
  ir_value *out = lower_weight_opt(c, "output.weight");
  x = lower_linear(c, x, out ? out : embd); /* tied embeddings when there is no output.weight */
  if (softcap > 0)
    x = softcap_logits(c, x, softcap);
  if (!x)
    return c->error ? c->error->status : CHORD_ERROR_INVALID;
  return ir_graph_add_output(c->graph, x, c->error);
}
