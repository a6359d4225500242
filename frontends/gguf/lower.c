/* Lowering (frontends/gguf/lower.h): the architecture table and the helpers every architecture
 * shares. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "frontends/gguf/lower_internal.h"
#include "runtime/support/error.h"

typedef struct lower_arch {
  const char *name;
  chord_status (*lower)(lower_ctx *c);
} lower_arch;

static const lower_arch lower_archs[] = {
    {"gemma3", lower_gemma3},
    {"llama", lower_llama},
    {"qwen2", lower_llama},
};

static const lower_arch *arch_find(const char *name) {
  for (size_t i = 0; i < sizeof lower_archs / sizeof lower_archs[0]; i++)
    if (strcmp(lower_archs[i].name, name) == 0)
      return &lower_archs[i];
  return NULL;
}

bool lower_supports(const char *architecture) { return arch_find(architecture) != NULL; }

chord_status lower_model(const gguf_file *file, const lower_options *options, ir_graph **out,
                         chord_error *error) {
  *out = NULL;
  gguf_string arch_s;
  chord_status st = gguf_get_string(file, "general.architecture", &arch_s, error);
  if (st != CHORD_OK)
    return st;
  char arch[64];
  snprintf(arch, sizeof arch, "%.*s", (int)(arch_s.size < 63 ? arch_s.size : 63), arch_s.data);
  const lower_arch *a = arch_find(arch);
  if (!a)
    return rt_error(error, CHORD_ERROR_UNSUPPORTED,
                    "%s: architecture '%s' is not supported (chord lowers gemma3, llama, qwen2)",
                    file->path, arch);
  ir_graph *g;
  st = ir_graph_init(&g, arch, error);
  if (st != CHORD_OK)
    return st;
  lower_ctx c = {.file = file, .graph = g, .error = error, .arch = arch};
  uint64_t ctx_len = 0;
  lower_hparam_u64(&c, "context_length", &ctx_len);
  c.n_ctx = options && options->n_ctx > 0 ? options->n_ctx : 2048;
  c.cache_type_k = options && options->cache_type_k ? options->cache_type_k : IR_DTYPE_F16;
  if (c.cache_type_k != IR_DTYPE_F16 && c.cache_type_k != IR_DTYPE_Q8_0) {
    ir_graph_free(g);
    return rt_error(error, CHORD_ERROR_UNSUPPORTED,
                    "a key cache of type %s (f16 and q8_0 are supported)",
                    ir_dtype_name(c.cache_type_k));
  }
  if (ctx_len > 0 && (uint64_t)c.n_ctx > ctx_len)
    c.n_ctx = (int64_t)ctx_len;
  ir_type ids = {.dtype = IR_DTYPE_I32, .rank = 1, .dims = {{1, 0, 0}}};
  c.tokens = ir_graph_add_input(g, "tokens", &ids, error);
  c.pos = c.tokens ? ir_graph_add_input(g, "pos", &ids, error) : NULL;
  if (c.pos && options && options->last_logits_only) {
    ir_type one = {.dtype = IR_DTYPE_I32, .rank = 1, .dims = {{0, 0, 1}}};
    c.out_rows = ir_graph_add_input(g, "out_rows", &one, error);
  }
  bool inputs = c.pos && (!options || !options->last_logits_only || c.out_rows);
  st = inputs ? a->lower(&c) : error ? error->status : CHORD_ERROR_NO_MEMORY;
  if (st == CHORD_OK)
    st = ir_verify(g, error);
  if (st != CHORD_OK) {
    ir_graph_free(g);
    return st;
  }
  *out = g;
  return CHORD_OK;
}

/* ---- hyper-parameters ------------------------------------------------------------------------ */

static void hparam_key(lower_ctx *c, const char *suffix, char *key, size_t size) {
  snprintf(key, size, "%s.%s", c->arch, suffix);
}

bool lower_hparam_u64(lower_ctx *c, const char *suffix, uint64_t *out) {
  char key[160];
  hparam_key(c, suffix, key, sizeof key);
  return gguf_get_u64(c->file, key, out, NULL) == CHORD_OK;
}

uint64_t lower_hparam_u64_or(lower_ctx *c, const char *suffix, uint64_t fallback) {
  uint64_t v;
  return lower_hparam_u64(c, suffix, &v) ? v : fallback;
}

bool lower_hparam_f64(lower_ctx *c, const char *suffix, double *out) {
  char key[160];
  hparam_key(c, suffix, key, sizeof key);
  return gguf_get_f64(c->file, key, out, NULL) == CHORD_OK;
}

double lower_hparam_f64_or(lower_ctx *c, const char *suffix, double fallback) {
  double v;
  return lower_hparam_f64(c, suffix, &v) ? v : fallback;
}

/* ---- weights --------------------------------------------------------------------------------- */

/* The IR type of a GGUF tensor. */
static ir_type tensor_type(const gguf_tensor *t) {
  ir_type type = {.dtype = t->type, .rank = t->n_dims};
  for (uint32_t d = 0; d < t->n_dims; d++) /* GGUF dims are innermost first, IR's outermost */
    type.dims[d] = ir_dim_const((int64_t)t->dims[t->n_dims - 1 - d]);
  return type;
}

static ir_value *weight_v(lower_ctx *c, bool required, const char *format, va_list args) {
  char name[256];
  vsnprintf(name, sizeof name, format, args);
  ir_value *v = ir_graph_find(c->graph, IR_VALUE_WEIGHT, name, strlen(name));
  if (v)
    return v;
  const gguf_tensor *t = gguf_find_tensor(c->file, name);
  if (!t) {
    if (required && !c->missing)
      rt_error(c->error, CHORD_ERROR_NOT_FOUND, "%s: %s model without tensor '%s'", c->file->path,
               c->arch, name);
    c->missing |= required;
    return NULL;
  }
  ir_type type = tensor_type(t);
  return ir_graph_add_weight(c->graph, name, &type, c->error);
}

chord_status lower_check_weights(const gguf_file *file, const ir_graph *g, const ir_value **bad,
                                 chord_error *error) {
  for (uint32_t i = 0; i < g->n_values; i++) {
    const ir_value *v = g->values[i];
    if (v->kind != IR_VALUE_WEIGHT)
      continue;
    *bad = v;
    const gguf_tensor *t = gguf_find_tensor(file, v->name);
    if (!t)
      return rt_error(error, CHORD_ERROR_NOT_FOUND, "weight @%s is not a tensor of %s", v->name,
                      file->path);
    ir_type have = tensor_type(t);
    if (!ir_type_equal(&have, &v->type)) {
      char want[128], got[128];
      ir_type_format(&v->type, want, sizeof want);
      ir_type_format(&have, got, sizeof got);
      return rt_error(error, CHORD_ERROR_INVALID, "weight @%s is %s here but %s in %s", v->name,
                      want, got, file->path);
    }
  }
  *bad = NULL;
  return CHORD_OK;
}

ir_value *lower_weight(lower_ctx *c, const char *format, ...) {
  va_list args;
  va_start(args, format);
  ir_value *v = weight_v(c, true, format, args);
  va_end(args);
  return v;
}

ir_value *lower_weight_opt(lower_ctx *c, const char *format, ...) {
  va_list args;
  va_start(args, format);
  ir_value *v = weight_v(c, false, format, args);
  va_end(args);
  return v;
}

/* ---- builders -------------------------------------------------------------------------------- */

ir_value *lower_output_rows(lower_ctx *c, ir_value *x) {
  if (!x || !c->out_rows)
    return x;
  return ir_build(c->graph, IR_OP_GET_ROWS, (ir_value *[]){x, c->out_rows}, 2, NULL, 0, c->error);
}

/* What llama.cpp's CPU backend converts a matmul's activations to before the dot products, by
 * weight type (ggml-cpu's vec_dot_type): the graph rounds them the same way, so that the
 * reference computes what llama.cpp computes. F32 weights take f32 activations. */
static const struct {
  ir_dtype weight, activation;
} matmul_activation_types[] = {
    {IR_DTYPE_F16, IR_DTYPE_F16},     {IR_DTYPE_BF16, IR_DTYPE_BF16},
    {IR_DTYPE_Q4_0, IR_DTYPE_Q8_0},   {IR_DTYPE_Q4_1, IR_DTYPE_Q8_1},
    {IR_DTYPE_Q5_0, IR_DTYPE_Q8_0},   {IR_DTYPE_Q5_1, IR_DTYPE_Q8_1},
    {IR_DTYPE_Q8_0, IR_DTYPE_Q8_0},   {IR_DTYPE_Q2_K, IR_DTYPE_Q8_K},
    {IR_DTYPE_Q3_K, IR_DTYPE_Q8_K},   {IR_DTYPE_Q4_K, IR_DTYPE_Q8_K},
    {IR_DTYPE_Q5_K, IR_DTYPE_Q8_K},   {IR_DTYPE_Q6_K, IR_DTYPE_Q8_K},
    {IR_DTYPE_IQ4_NL, IR_DTYPE_Q8_0}, {IR_DTYPE_IQ4_XS, IR_DTYPE_Q8_K},
};

ir_value *lower_round(lower_ctx *c, ir_value *x, ir_dtype dtype) {
  if (!x)
    return NULL;
  const char *name = ir_dtype_name(dtype);
  int index = ir_attr_enum_index(IR_ATTR_DTYPE, name, strlen(name));
  if (index < 0) {
    rt_error(c->error, CHORD_ERROR_UNSUPPORTED, "cannot round activations to %s", name);
    return NULL;
  }
  ir_attr a = ir_attr_enum(IR_ATTR_DTYPE, index);
  ir_value *q = ir_build(c->graph, IR_OP_QUANTIZE, &x, 1, &a, 1, c->error);
  return q ? ir_build_unary(c->graph, IR_OP_DEQUANTIZE, q, c->error) : NULL;
}

ir_value *lower_linear(lower_ctx *c, ir_value *x, ir_value *w) {
  if (!x || !w)
    return NULL;
  ir_dtype t = w->type.dtype;
  for (size_t i = 0; i < sizeof matmul_activation_types / sizeof matmul_activation_types[0]; i++)
    if (matmul_activation_types[i].weight == t)
      x = lower_round(c, x, matmul_activation_types[i].activation);
  if (x && t != IR_DTYPE_F32 && t != IR_DTYPE_F16 && t != IR_DTYPE_BF16)
    w = ir_build_unary(c->graph, IR_OP_DEQUANTIZE, w, c->error);
  return x && w ? ir_build_matmul(c->graph, x, w, c->error) : NULL;
}

ir_value *lower_rms_norm(lower_ctx *c, ir_value *x, double eps, ir_value *w) {
  if (!x || !w)
    return NULL;
  ir_value *n = ir_build_rms_norm(c->graph, x, eps, c->error);
  return n ? ir_build_mul(c->graph, n, w, c->error) : NULL;
}

ir_value *lower_reshape(lower_ctx *c, ir_value *x, uint32_t rank, const ir_dim *dims) {
  return x ? ir_build_reshape(c->graph, x, dims, rank, c->error) : NULL;
}

ir_value *lower_permute(lower_ctx *c, ir_value *x, int64_t p0, int64_t p1, int64_t p2) {
  if (!x)
    return NULL;
  int64_t perm[3] = {p0, p1, p2};
  ir_attr a = ir_attr_int_list(IR_ATTR_PERM, perm, 3);
  return ir_build(c->graph, IR_OP_PERMUTE, &x, 1, &a, 1, c->error);
}

ir_value *lower_op(lower_ctx *c, ir_op op, ir_value *a, ir_value *b) {
  if (!a || (!b && ir_op_get(op)->min_operands > 1))
    return NULL;
  return b ? ir_build_binary(c->graph, op, a, b, c->error)
           : ir_build_unary(c->graph, op, a, c->error);
}

ir_value *lower_scale(lower_ctx *c, ir_value *x, double scale) {
  return x ? ir_build_scale(c->graph, x, scale, c->error) : NULL;
}

ir_value *lower_apply_rope(lower_ctx *c, ir_value *x, ir_value *pos, const lower_rope *rope) {
  if (!x)
    return NULL;
  ir_value *operands[2] = {x, pos};
  ir_attr attrs[5] = {ir_attr_enum(IR_ATTR_MODE, rope->mode),
                      ir_attr_int(IR_ATTR_N_ROT, rope->n_rot),
                      ir_attr_float(IR_ATTR_FREQ_BASE, rope->freq_base)};
  uint32_t n = 3;
  if (rope->freq_scale != 1.0) {
    attrs[n++] = ir_attr_float(IR_ATTR_FREQ_SCALE, rope->freq_scale);
    attrs[n++] = ir_attr_enum(IR_ATTR_SCALING, 1); /* linear */
  }
  return ir_build(c->graph, IR_OP_ROPE, operands, 2, attrs, n, c->error);
}

ir_value *lower_attention(lower_ctx *c, uint32_t layer, ir_value *q, ir_value *k, ir_value *v,
                          double scale, int64_t window) {
  if (!q || !k || !v)
    return NULL;
  ir_graph *g = c->graph;
  /* a quantized key cache: llama.cpp rotates q and k by a Hadamard matrix first (orthogonal, so
   * the scores are unchanged but the outliers spread over the row before rounding to q8_0), for
   * head dims that are powers of two from 64 on (measured: 64, 128 and 256 rotate, 32 does not) */
  int64_t head = k->type.dims[2].c;
  if (c->cache_type_k != IR_DTYPE_F16 && ir_dim_is_const(k->type.dims[2]) && head >= 64 &&
      (head & (head - 1)) == 0) {
    q = lower_op(c, IR_OP_HADAMARD, q, NULL);
    k = q ? lower_op(c, IR_OP_HADAMARD, k, NULL) : NULL;
    if (!k)
      return NULL;
  }
  ir_type cache = {.dtype = c->cache_type_k,
                   .rank = 3,
                   .dims = {ir_dim_const(c->n_ctx), k->type.dims[1], k->type.dims[2]}};
  char name[64];
  snprintf(name, sizeof name, "cache_k.%u", layer);
  ir_value *ck = ir_graph_add_state(g, name, &cache, c->error);
  cache.dtype = IR_DTYPE_F16;
  cache.dims[1] = v->type.dims[1];
  cache.dims[2] = v->type.dims[2];
  snprintf(name, sizeof name, "cache_v.%u", layer);
  ir_value *cv = ck ? ir_graph_add_state(g, name, &cache, c->error) : NULL;
  ir_value *keys = lower_op(c, IR_OP_KV_READ, lower_op(c, IR_OP_KV_WRITE, ck, k), NULL);
  ir_value *vals = cv ? lower_op(c, IR_OP_KV_READ, lower_op(c, IR_OP_KV_WRITE, cv, v), NULL) : NULL;
  ir_value *qh = lower_permute(c, q, 1, 0, 2);    /* [H, T, D] */
  ir_value *kh = lower_permute(c, keys, 1, 0, 2); /* [Hk, P+T, D] */
  ir_value *vh = lower_permute(c, vals, 1, 2, 0); /* [Hk, D, P+T] */
  /* llama.cpp rounds q to the key cache's type for the scores (an f16 cache: f16; q8_0: q8_0,
   * for integer dot products), and the probabilities to f16 (the value cache's) */
  ir_dtype q_type = c->cache_type_k == IR_DTYPE_Q8_0 ? IR_DTYPE_Q8_0 : IR_DTYPE_F16;
  ir_value *s = lower_op(c, IR_OP_MATMUL, lower_round(c, qh, q_type), kh);
  if (!s)
    return NULL;
  if (window > 0) {
    ir_attr w = ir_attr_int(IR_ATTR_WINDOW, window);
    s = ir_build(g, IR_OP_SLIDING_WINDOW_MASK, &s, 1, &w, 1, c->error);
  } else {
    s = lower_op(c, IR_OP_CAUSAL_MASK, s, NULL);
  }
  if (!s)
    return NULL;
  ir_attr sc = ir_attr_float(IR_ATTR_SCALE, scale);
  ir_value *p = ir_build(g, IR_OP_SOFTMAX, &s, 1, &sc, 1, c->error);
  ir_value *o = lower_permute(c, lower_op(c, IR_OP_MATMUL, lower_round(c, p, IR_DTYPE_F16), vh), 1,
                              0, 2); /* [T, H, Dv] */
  if (!o)
    return NULL;
  ir_dim d2[2] = {o->type.dims[0]};
  if (!ir_dim_mul(o->type.dims[1], o->type.dims[2], &d2[1])) {
    rt_error(c->error, CHORD_ERROR_INVALID, "attention: symbolic head dims");
    return NULL;
  }
  return lower_reshape(c, o, 2, d2);
}
