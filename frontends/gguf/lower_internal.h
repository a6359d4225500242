/* Shared by the lower_*.c files: the context of one lowering and small builder helpers. Every
 * helper returns NULL on failure (with ctx->error set) and passes a NULL operand through, so a
 * chain of calls is checked once at its end. */
#ifndef CHORD_FRONTENDS_GGUF_LOWER_INTERNAL_H
#define CHORD_FRONTENDS_GGUF_LOWER_INTERNAL_H

#include "frontends/gguf/lower.h"

typedef struct lower_ctx {
  const gguf_file *file;
  ir_graph *graph;
  chord_error *error;
  const char *arch; /* general.architecture, NUL-terminated */
  int64_t n_ctx;
  ir_dtype cache_type_k;  /* lower_options.cache_type_k, resolved */
  ir_value *tokens, *pos; /* the graph's inputs */
  ir_value *out_rows;     /* with last_logits_only: the rows whose logits are wanted */
  bool missing;           /* a required tensor was absent: the first one is reported */
} lower_ctx;

/* "<arch>.<suffix>" hyper-parameters; the _or variants return fallback when the key is absent. */
bool lower_hparam_u64(lower_ctx *c, const char *suffix, uint64_t *out);
uint64_t lower_hparam_u64_or(lower_ctx *c, const char *suffix, uint64_t fallback);
bool lower_hparam_f64(lower_ctx *c, const char *suffix, double *out);
double lower_hparam_f64_or(lower_ctx *c, const char *suffix, double fallback);

/* The weight value of a tensor (printf-style name); NULL with an error if it is absent. */
ir_value *lower_weight(lower_ctx *c, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* The same, but NULL without an error when the tensor is absent. */
ir_value *lower_weight_opt(lower_ctx *c, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* The rows that go on to the head: all of them, or with last_logits_only the one %out_rows
 * names. Architectures call it where llama.cpp cuts the rows (inp_out_ids): in the last layer,
 * on the attention output and the residual, after the output projection. Besides saving the
 * work, that gives the last layer's matmuls llama.cpp's row count, which picks its kernels. */
ir_value *lower_output_rows(lower_ctx *c, ir_value *x);

/* x through dtype and back (quantize, dequantize): where llama.cpp rounds an activation. */
ir_value *lower_round(lower_ctx *c, ir_value *x, ir_dtype dtype);

/* x [..., K] times a weight [N, K] (dequantized first unless it is a float type), x rounded first
 * as llama.cpp's CPU matmul rounds it (q8_K for K-quant weights, f16 for f16 weights, ...). */
ir_value *lower_linear(lower_ctx *c, ir_value *x, ir_value *w);
/* rms_norm(x) * w */
ir_value *lower_rms_norm(lower_ctx *c, ir_value *x, double eps, ir_value *w);
ir_value *lower_reshape(lower_ctx *c, ir_value *x, uint32_t rank, const ir_dim *dims);
ir_value *lower_permute(lower_ctx *c, ir_value *x, int64_t p0, int64_t p1, int64_t p2);
ir_value *lower_op(lower_ctx *c, ir_op op, ir_value *a, ir_value *b);
ir_value *lower_scale(lower_ctx *c, ir_value *x, double scale);

typedef struct lower_rope {
  int mode; /* 0 normal, 1 neox */
  int64_t n_rot;
  double freq_base, freq_scale;
} lower_rope;

/* Attention of one layer: q [T, H, D], k, v [T, Hk, D] (roped already) through the layer's KV
 * cache; window > 0 masks a sliding window. Returns [T, H*D]. */
ir_value *lower_attention(lower_ctx *c, uint32_t layer, ir_value *q, ir_value *k, ir_value *v,
                          double scale, int64_t window);
ir_value *lower_apply_rope(lower_ctx *c, ir_value *x, ir_value *pos, const lower_rope *rope);

chord_status lower_gemma3(lower_ctx *c);
chord_status lower_llama(lower_ctx *c); /* llama and qwen2 */

#endif
