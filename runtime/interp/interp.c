/* The reference interpreter (runtime/interp/interp.h): one function per op, dispatched through a
 * table indexed by op (interp_has_op says which ops have one; a test checks that all do). Every
 * buffer is dense f32 (or i32 for token ids), outermost dim first. */
#include "runtime/interp/interp.h"

#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "ir/fused_body.h"
#include "runtime/interp/interp_gelu.h"
#include "runtime/interp/interp_qdot.h"
#include "runtime/interp/interp_simd.h"
#include "runtime/memory_plan.h"
#include "runtime/platform/pool.h"
#include "runtime/quant/quant.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

static const double INTERP_PI = 3.14159265358979323846;

/* A value's storage during a run. Weights (and dequantize of a weight) are not materialized:
 * matmul and get_rows decode them a row at a time; other users materialize them. */
typedef struct interp_buffer {
  uint32_t rank;
  int64_t dims[IR_MAX_DIMS];
  int64_t count;
  float *f;            /* f32 data (owned unless borrowed) */
  int32_t *i;          /* i32 data (owned) */
  const uint8_t *rows; /* a weight's encoded data, when not materialized */
  ir_dtype row_type;
  bool borrowed; /* f points into state or another buffer */
  /* The result of quantize (and dequantize of it) also keeps its encoding, rows of blocks of
   * encoded_type, so that matmul can take the integers as llama.cpp does (interp_qdot.h). */
  uint8_t *encoded;
  ir_dtype encoded_type;
  bool encoded_borrowed; /* encoded points into a quantized KV cache's blocks */
  void *planned;         /* f or i when it is the value's place in the step's arena */
} interp_buffer;

typedef struct interp_binding {
  const char *name;
  ir_dtype dtype;
  const void *data;
} interp_binding;

typedef struct interp_input {
  void *data;
  int64_t count;
} interp_input;

struct interp_session {
  const ir_graph *graph;
  const gguf_file *file;
  interp_buffer *buffers; /* one per value */
  /* one per value (state values only): the cache contents, in f32 (f32 caches, and a q8_0
   * cache's values) or as their f16/bf16 bits (state_half; state is NULL for those) */
  float **state;
  uint16_t **state_half;
  uint8_t **state_blocks; /* one per value: a quantized cache's blocks, row by row, or NULL */
  interp_input *inputs;   /* one per value (input values only) */
  uint32_t *last_use;     /* index of the last user of each value */
  interp_binding *bindings;
  uint32_t n_bindings, cap_bindings;
  int64_t positions, tokens;
  rt_pool *pool; /* the matmuls' workers (interp_set_threads), or NULL */
  /* the step's memory plan (runtime/memory_plan.h): each value's bytes and offset in the arena */
  size_t *plan_bytes, *plan_offsets;
  uint8_t *arena;
  size_t arena_size;
  const interp_kernels *kernels; /* lent by a target, or NULL */
};

/* d at a step of T = tokens, P = positions */
static int64_t dim_at(ir_dim d, int64_t tokens, int64_t positions) {
  return d.t * tokens + d.p * positions + d.c;
}

static int64_t dim_eval(const interp_session *s, ir_dim d) {
  return dim_at(d, s->tokens, s->positions);
}

static void buffer_release(interp_buffer *b) {
  if (!b->borrowed && (void *)b->f != b->planned)
    rt_free(b->f);
  if ((void *)b->i != b->planned)
    rt_free(b->i);
  if (!b->encoded_borrowed)
    rt_free(b->encoded);
  memset(b, 0, sizeof *b);
}

static chord_status buffer_shape(interp_session *s, const ir_value *v, interp_buffer *b,
                                 chord_error *error) {
  b->rank = v->type.rank;
  b->count = 1;
  for (uint32_t d = 0; d < b->rank; d++) {
    b->dims[d] = dim_eval(s, v->type.dims[d]);
    if (b->dims[d] < 0)
      return rt_error(error, CHORD_ERROR_INVALID,
                      "%%%" PRIu32 ": negative dimension at T=%" PRId64 ", P=%" PRId64, v->index,
                      s->tokens, s->positions);
    b->count *= b->dims[d];
  }
  return CHORD_OK;
}

static chord_status buffer_alloc(interp_session *s, const ir_value *v, interp_buffer *b,
                                 chord_error *error) {
  chord_status st = buffer_shape(s, v, b, error);
  if (st != CHORD_OK)
    return st;
  size_t planned = s->plan_bytes ? s->plan_bytes[v->index] : 0;
  if (planned) { /* its place in the arena (interp_run's plan) */
    void *p = s->arena + s->plan_offsets[v->index];
    if (v->type.dtype == IR_DTYPE_I32)
      b->i = p;
    else
      b->f = p;
    b->planned = p;
    return CHORD_OK;
  }
  /* not zeroed: every op writes each element of its result (zeroing was 10% of a decode step) */
  size_t n = (size_t)(b->count ? b->count : 1);
  if (v->type.dtype == IR_DTYPE_I32)
    b->i = rt_malloc(n * sizeof(int32_t));
  else
    b->f = rt_malloc(n * sizeof(float));
  if (!b->i && !b->f)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory for %%%" PRIu32, v->index);
  return CHORD_OK;
}

static uint64_t row_bytes(ir_dtype type, int64_t k) {
  uint64_t n = 0;
  ir_dtype_row_bytes(type, (uint64_t)k, &n);
  return n;
}

/* Row r (of length k) of b as f32: a pointer into b, or decoded into tmp. */
static const float *buffer_row(const interp_buffer *b, int64_t r, int64_t k, float *tmp) {
  if (b->f)
    return b->f + r * k;
  quant_dequantize(b->row_type, b->rows + (uint64_t)r * row_bytes(b->row_type, k), tmp, k);
  return tmp;
}

/* Makes b dense f32 (decoding a weight in full: only for users that need it whole). */
static chord_status buffer_materialize(interp_buffer *b, chord_error *error) {
  if (b->f || b->i)
    return CHORD_OK;
  int64_t k = b->rank ? b->dims[b->rank - 1] : 1;
  int64_t rows = k ? b->count / k : 0;
  b->f = rt_malloc((size_t)(b->count ? b->count : 1) * sizeof(float));
  if (!b->f)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory decoding a weight");
  for (int64_t r = 0; r < rows; r++)
    quant_dequantize(b->row_type, b->rows + (uint64_t)r * row_bytes(b->row_type, k), b->f + r * k,
                     k);
  b->rows = NULL;
  return CHORD_OK;
}

static interp_buffer *operand_buffer(interp_session *s, const ir_value *v, uint32_t i) {
  return &s->buffers[v->operands[i]->index];
}

/* The operand whose storage v's result is, not a buffer of its own, or -1. The alias ops
 * (F(ALIAS)) are their first operand's: kv_write (the cache), kv_read (the cache's first rows),
 * dequantize (a weight's rows, or an activation's rounding, whose values and encoding are already
 * what dequantize gives). An element-wise op with in_place = k (passes/plan_memory.c) writes over
 * operand k, which dies there. Either takes no arena space, and the operand lives as long as the
 * result (interp_init, release_after). */
static int64_t aliased_operand(const ir_value *v) {
  if (v->kind != IR_VALUE_NODE)
    return -1;
  if (ir_op_get(v->op)->flags & IR_FLAG_ALIAS)
    return 0;
  return ir_attr_int_or(v, IR_ATTR_IN_PLACE, -1);
}

static bool aliases_operand(const ir_value *v) { return aliased_operand(v) >= 0; }

/* b (shaped) takes x's storage without owning it: values, encoded rows, encoding. */
static void buffer_alias(interp_buffer *b, const interp_buffer *x) {
  b->f = x->f;
  b->borrowed = x->f != NULL; /* rows decoded later (buffer_materialize) are b's own */
  b->rows = x->rows;
  b->row_type = x->row_type;
  b->encoded = x->encoded;
  b->encoded_type = x->encoded_type;
  b->encoded_borrowed = true;
}

/* Stores n values as the bits of an f16 or bf16 cache, rounded as round_to rounds them. */
static void store_half(ir_dtype dtype, const float *x, uint16_t *bits, int64_t n) {
  if (dtype == IR_DTYPE_F16)
    for (int64_t e = 0; e < n; e++)
      bits[e] = quant_f32_to_f16(x[e]);
  else
    quant_quantize_bf16(x, bits, n);
}

/* ---- element-wise ---------------------------------------------------------------------------- */

/* The flat index into an operand of dims bd (rank br) broadcast to the result's index. */
static int64_t broadcast_index(const interp_buffer *y, const interp_buffer *b, int64_t flat) {
  int64_t idx = 0, stride = 1;
  for (int d = (int)y->rank - 1, e = (int)b->rank - 1; d >= 0; d--, e--) {
    int64_t coord = flat % y->dims[d];
    flat /= y->dims[d];
    if (e < 0)
      continue;
    if (b->dims[e] != 1)
      idx += coord * stride;
    stride *= b->dims[e];
  }
  return idx;
}

/* The element formulas, shared by the ops and by fused_region bodies so that a fused chain gives
 * the unfused chain's floats bit for bit. */
/* ggml's vectorized silu (its own exponential); ggml takes libm's expf only for a row's last
 * n % 16 elements, which real models do not have (their widths are multiples of 16). */
static float silu(float x) { return simd_silu(x); }

static chord_status op_binary(interp_session *s, const ir_value *v, interp_buffer *y,
                              chord_error *error) {
  interp_buffer *a = operand_buffer(s, v, 0), *b = operand_buffer(s, v, 1);
  chord_status st = buffer_materialize(a, error);
  if (st == CHORD_OK)
    st = buffer_materialize(b, error);
  if (st != CHORD_OK)
    return st;
  bool add = v->op == IR_OP_ADD;
  for (int64_t i = 0; i < y->count; i++) {
    float x0 = a->f[broadcast_index(y, a, i)], x1 = b->f[broadcast_index(y, b, i)];
    y->f[i] = add ? x0 + x1 : x0 * x1;
  }
  return CHORD_OK;
}

static chord_status op_unary(interp_session *s, const ir_value *v, interp_buffer *y,
                             chord_error *error) {
  interp_buffer *x = operand_buffer(s, v, 0);
  chord_status st = buffer_materialize(x, error);
  if (st != CHORD_OK)
    return st;
  float scale = (float)ir_attr_float_or(v, IR_ATTR_SCALE, 1.0);
  int64_t approx = ir_attr_int_or(v, IR_ATTR_APPROX, 0); /* tanh, erf, tanh_f16 */
  for (int64_t i = 0; i < y->count; i++) {
    float t = x->f[i];
    if (v->op == IR_OP_SCALE)
      t *= scale;
    else if (v->op == IR_OP_SILU)
      t = silu(t);
    else if (v->op == IR_OP_TANH)
      t = tanhf(t);
    else
      t = approx == 1   ? interp_gelu_erf(t)
          : approx == 2 ? interp_gelu_tanh_f16(t)
                        : interp_gelu_tanh(t);
    y->f[i] = t;
  }
  return CHORD_OK;
}

/* fused_region's functions (ir/fused_body.h) on their arguments, first argument first. The table
 * is built from the function list, so a function added there without one here fails to compile. */
typedef float (*interp_fused_fn)(const float *arg);

static float fused_add(const float *arg) { return arg[0] + arg[1]; }
static float fused_sub(const float *arg) { return arg[0] - arg[1]; }
static float fused_mul(const float *arg) { return arg[0] * arg[1]; }
static float fused_scale(const float *arg) { return arg[0] * arg[1]; } /* as op_unary's scale */
static float fused_neg(const float *arg) { return -arg[0]; }
static float fused_silu(const float *arg) { return silu(arg[0]); }
static float fused_gelu(const float *arg) { return interp_gelu_tanh(arg[0]); }
static float fused_gelu_erf(const float *arg) { return interp_gelu_erf(arg[0]); }
static float fused_gelu_f16(const float *arg) { return interp_gelu_tanh_f16(arg[0]); }

static const interp_fused_fn fused_fns[IR_FUSED_FN_COUNT] = {
#define X(NAME, name, arity, literal, semantics) [IR_FUSED_##NAME] = fused_##name,
    IR_FUSED_FUNCTIONS(X)
#undef X
};

/* The operand count fused_region takes at most (ir/ops.def). */
enum { INTERP_FUSED_OPERANDS = 8 };

static chord_status op_fused_region(interp_session *s, const ir_value *v, interp_buffer *y,
                                    chord_error *error) {
  const ir_attr *body = ir_value_attr(v, IR_ATTR_BODY);
  ir_fused_program program;
  char why[256];
  if (!ir_fused_parse(body ? body->as.s : NULL, v->n_operands, &program, why, sizeof why))
    return rt_error(error, CHORD_ERROR_INVALID, "%%%" PRIu32 " (fused_region): %s", v->index, why);
  if (v->n_operands > INTERP_FUSED_OPERANDS)
    return rt_error(error, CHORD_ERROR_INVALID,
                    "%%%" PRIu32 " (fused_region): %" PRIu32 " operands, more than %d", v->index,
                    v->n_operands, INTERP_FUSED_OPERANDS);
  interp_buffer *in[INTERP_FUSED_OPERANDS];
  for (uint32_t o = 0; o < v->n_operands; o++) {
    in[o] = operand_buffer(s, v, o);
    chord_status st = buffer_materialize(in[o], error);
    if (st != CHORD_OK)
      return st;
  }
  float stack[IR_FUSED_MAX_STEPS];
  for (int64_t i = 0; i < y->count; i++) {
    uint32_t top = 0;
    for (uint32_t k = 0; k < program.n_steps; k++) {
      const ir_fused_step *step = &program.steps[k];
      switch (step->kind) {
      case IR_FUSED_STEP_OPERAND: {
        const interp_buffer *x = in[step->index];
        stack[top++] = x->f[broadcast_index(y, x, i)];
        break;
      }
      case IR_FUSED_STEP_NUMBER: stack[top++] = (float)step->number; break;
      case IR_FUSED_STEP_CALL:
        top -= ir_fused_fn_get((ir_fused_fn)step->index)->arity;
        stack[top] = fused_fns[step->index](&stack[top]);
        top++;
        break;
      }
    }
    y->f[i] = stack[0];
  }
  return CHORD_OK;
}

/* ---- reductions along the last dim ----------------------------------------------------------- */

static chord_status op_norm(interp_session *s, const ir_value *v, interp_buffer *y,
                            chord_error *error) {
  interp_buffer *x = operand_buffer(s, v, 0);
  chord_status st = buffer_materialize(x, error);
  if (st != CHORD_OK)
    return st;
  int64_t k = y->rank ? y->dims[y->rank - 1] : 1, rows = k ? y->count / k : 0;
  /* In ggml's arithmetic (ggml_compute_forward_rms_norm_f32 / _norm_f32): products in f32, sums
   * in double, the mean, variance and scale in f32; bit for bit, because later roundings to q8
   * and f16 amplify one-ulp differences. */
  float eps = (float)ir_attr_float_or(v, IR_ATTR_EPS, 0);
  bool layer = v->op == IR_OP_LAYER_NORM;
  for (int64_t r = 0; r < rows; r++) {
    const float *in = x->f + r * k;
    float *out = y->f + r * k;
    float mean = 0.0f;
    if (layer) {
      double sum = 0;
      for (int64_t j = 0; j < k; j++)
        sum += (double)in[j];
      mean = (float)(sum / (double)k);
    }
    double sum2 = 0;
    for (int64_t j = 0; j < k; j++) {
      float d = in[j] - mean;
      sum2 += (double)(d * d);
    }
    float variance = (float)(sum2 / (double)k);
    float scale = 1.0f / sqrtf(variance + eps);
    for (int64_t j = 0; j < k; j++)
      out[j] = (in[j] - mean) * scale;
  }
  return CHORD_OK;
}

/* The end of ggml_vec_soft_max_f32 over one row whose scaled, masked logits are in out and whose
 * largest is top: exponentials 16 at a time (simd_expf), each vector summed in f32 (simd_sum16)
 * and the vectors' sums in double, then a multiply by the f32 reciprocal. Keys past k count as
 * zeros, as the masked cells of llama.cpp's padded KV cache do. */
static void softmax_finish(float *out, int64_t k, float top) {
  double sum = 0;
  for (int64_t j0 = 0; j0 < k; j0 += 16) {
    float lanes[16] = {0};
    for (int64_t j = j0; j < k && j < j0 + 16; j++) {
      out[j] = top == -INFINITY ? 0.0f : simd_expf(out[j] - top);
      lanes[j - j0] = out[j];
    }
    sum += (double)simd_sum16(lanes);
  }
  float inv = sum > 0 ? (float)(1.0 / sum) : 0.0f;
  for (int64_t j = 0; j < k; j++)
    out[j] *= inv;
}

static chord_status op_softmax(interp_session *s, const ir_value *v, interp_buffer *y,
                               chord_error *error) {
  interp_buffer *x = operand_buffer(s, v, 0), *mask = NULL;
  chord_status st = buffer_materialize(x, error);
  if (st == CHORD_OK && v->n_operands > 1) {
    mask = operand_buffer(s, v, 1);
    st = buffer_materialize(mask, error);
  }
  if (st != CHORD_OK)
    return st;
  /* ggml's soft_max arithmetic: scale and mask in f32, then softmax_finish */
  float scale = (float)ir_attr_float_or(v, IR_ATTR_SCALE, 1.0);
  float cap = (float)ir_attr_float_or(v, IR_ATTR_SOFTCAP, 0.0);
  int64_t k = y->rank ? y->dims[y->rank - 1] : 1, rows = k ? y->count / k : 0;
  for (int64_t r = 0; r < rows; r++) {
    float *out = y->f + r * k;
    float top = -INFINITY;
    for (int64_t j = 0; j < k; j++) {
      float c = x->f[r * k + j] * scale;
      if (cap > 0)
        c = cap * tanhf(c / cap);
      if (mask)
        c += mask->f[broadcast_index(y, mask, r * k + j)];
      out[j] = c;
      if (out[j] > top)
        top = out[j];
    }
    softmax_finish(out, k, top);
  }
  return CHORD_OK;
}

static chord_status op_argmax(interp_session *s, const ir_value *v, interp_buffer *y,
                              chord_error *error) {
  interp_buffer *x = operand_buffer(s, v, 0);
  chord_status st = buffer_materialize(x, error);
  if (st != CHORD_OK)
    return st;
  int64_t k = x->rank ? x->dims[x->rank - 1] : 1, rows = k ? x->count / k : 0;
  for (int64_t r = 0; r < rows; r++) {
    int64_t best = 0;
    for (int64_t j = 1; j < k; j++)
      if (x->f[r * k + j] > x->f[r * k + best])
        best = j;
    y->i[r] = (int32_t)best;
  }
  return CHORD_OK;
}

/* x [..., T, S]: query i sits at position P+i. */
static chord_status op_mask(interp_session *s, const ir_value *v, interp_buffer *y,
                            chord_error *error) {
  interp_buffer *x = operand_buffer(s, v, 0);
  chord_status st = buffer_materialize(x, error);
  if (st != CHORD_OK)
    return st;
  int64_t window = v->op == IR_OP_SLIDING_WINDOW_MASK ? ir_attr_int_or(v, IR_ATTR_WINDOW, 0) : 0;
  int64_t cols = y->dims[y->rank - 1], rows = y->dims[y->rank - 2];
  for (int64_t e = 0; e < y->count; e++) {
    int64_t j = e % cols, i = (e / cols) % rows, q = s->positions + i;
    bool masked = j > q || (window > 0 && j <= q - window);
    y->f[e] = masked ? -INFINITY : x->f[e];
  }
  return CHORD_OK;
}

/* ---- matmul, get_rows, rope ------------------------------------------------------------------ */

typedef struct matmul_job {
  const interp_buffer *a, *b;
  interp_buffer *y;
  int64_t m, n, k;
  int64_t a_batches;
  /* Integer dot products (interp_qdot.h): set when a keeps a q8_0/q8_K encoding and b is a
   * weight of a type that reads it; a_rows holds a's rows decoded once. */
  qdot_row *a_rows;
  int64_t n_a_rows;
  const uint8_t *b_blocks; /* b's encoded rows: a weight's, or a quantized KV cache's */
  ir_dtype b_type;
  interp_gemv_fn gemv;   /* a target's compiled kernel for a_rows, or NULL */
  interp_gemm4_fn gemm4; /* the same for four rows at once, or NULL */
  interp_gemm4_fn gemm8; /* the same for eight rows at once (tiled order), or NULL */
  interp_fgemm_fn fgemm; /* a target's compiled float matmul of b's f16 rows, or NULL */
  /* llama.cpp's tinyBLAS kernels (simd_dot16 order) take the float matmuls: a rounded to f16
   * (f16 weights, and attention's q and probabilities against the f16 KV cache) or an f32
   * weight */
  bool float_lanes;
  /* the contracted dim grows with the positions (attention's probabilities times v): llama.cpp
   * pads it with zero cells to a multiple of 256 */
  bool k_padded;
  atomic_bool failed; /* a worker could not allocate its buffers */
} matmul_job;

/* The b batch (flat) used by a's batch ab: b's batch dims align to the end of a's and each
 * either equals a's or divides it (a's index / ratio: grouped-query attention). */
static int64_t matmul_b_batch(const interp_buffer *a, const interp_buffer *b, int64_t ab) {
  int64_t flat = 0, stride = 1;
  int ra = (int)a->rank - 2, rb = (int)b->rank - 2;
  for (int d = ra - 1, e = rb - 1; d >= 0; d--, e--) {
    int64_t coord = ab % a->dims[d];
    ab /= a->dims[d];
    if (e < 0)
      continue;
    flat += coord / (a->dims[d] / b->dims[e]) * stride;
    stride *= b->dims[e];
  }
  return flat;
}

/* Weight rows per chunk of a compiled matmul's work (rt_pool_for_chunks): a few tiles of
 * matmul_range_qdot and matmul_range_fgemm, so that the 2048 rows of a small model's projection
 * still make 32 chunks. */
enum { MATMUL_CHUNK = 64 };

/* Items [first, last) by integer dot products: each weight row decoded once, then dotted with
 * every row of a (already decoded). */
static void matmul_range_qdot(matmul_job *job, uint64_t first, uint64_t last) {
  ir_dtype type = job->b_type;
  uint64_t bytes = row_bytes(type, job->k);
  if (job->gemv) {
    /* the weight rows [first, last) against each activation row, in tiles of rows small enough
     * to stay in cache while every activation row passes over them */
    enum { TILE = 32 };
    for (uint64_t tile = first; tile < last; tile += TILE) {
      int64_t rows = (int64_t)(last - tile < TILE ? last - tile : TILE);
      int64_t m = 0;
      /* eight or four activation rows per pass over the tile */
      for (int group = 8; group >= 4; group /= 2) {
        interp_gemm4_fn gemm = group == 8 ? job->gemm8 : job->gemm4;
        for (; gemm && m + group <= job->m; m += group) {
          const qdot_row *a = &job->a_rows[m];
          const int8_t *q[8];
          const float *d[8];
          const int16_t *s16[8], *s32[8];
          for (int j = 0; j < group; j++)
            q[j] = a[j].q, d[j] = a[j].d, s16[j] = a[j].sum16, s32[j] = a[j].min;
          gemm(job->b->rows + tile * bytes, (int64_t)bytes, rows, q, d, s16, s32, job->k,
               job->y->f + m * job->n + (int64_t)tile, job->n);
        }
      }
      for (; m < job->m; m++) {
        const qdot_row *a = &job->a_rows[m];
        job->gemv(job->b->rows + tile * bytes, (int64_t)bytes, rows, a->q, a->d, a->sum16, a->min,
                  job->k, job->y->f + m * job->n + (int64_t)tile);
      }
    }
    return;
  }
  qdot_row w;
  if (!qdot_row_init(&w, job->k)) {
    atomic_store(&job->failed, true);
    return;
  }
  bool tiled = qdot_tiled(type, job->m);
  for (uint64_t item = first; item < last; item++) {
    int64_t ab = (int64_t)item / job->n, n = (int64_t)item % job->n;
    int64_t bb = job->b->rank > 2 ? matmul_b_batch(job->a, job->b, ab) : 0;
    qdot_decode(type, job->b_blocks + (uint64_t)(bb * job->n + n) * bytes, &w);
    for (int64_t m = 0; m < job->m; m++) {
      const qdot_row *a = &job->a_rows[ab * job->m + m];
      job->y->f[(ab * job->m + m) * job->n + n] =
          tiled ? qdot_slabs(type, &w, a) : qdot(type, &w, a);
    }
  }
  qdot_row_free(&w);
}

/* Weight rows [first, last) of a float matmul by the target's kernel, in blocks small enough
 * for the cache: a tile of weight rows against a block of activation rows at a time. */
static void matmul_range_fgemm(matmul_job *job, uint64_t first, uint64_t last) {
  enum { TILE = 64, BLOCK = 48 };
  uint64_t bytes = row_bytes(job->b_type, job->k);
  for (uint64_t tile = first; tile < last; tile += TILE) {
    int64_t rows = (int64_t)(last - tile < TILE ? last - tile : TILE);
    for (int64_t m = 0; m < job->m; m += BLOCK) {
      int64_t block = job->m - m < BLOCK ? job->m - m : BLOCK;
      job->fgemm(job->b->rows + tile * bytes, (int64_t)bytes, rows, job->a->f + m * job->k, job->k,
                 block, job->k, job->m == 1, job->y->f + m * job->n + (int64_t)tile, job->n);
    }
  }
}

/* Items are (a batch, n) pairs: each decodes one row of b once and uses it for all M rows. */
static void matmul_range(void *ctx, uint64_t first, uint64_t last, int worker) {
  (void)worker;
  matmul_job *job = ctx;
  if (job->a_rows) {
    matmul_range_qdot(job, first, last);
    return;
  }
  if (job->fgemm) {
    matmul_range_fgemm(job, first, last);
    return;
  }
  float *tmp = job->b->f ? NULL : rt_malloc((size_t)job->k * sizeof(float));
  if (!job->b->f && !tmp) {
    atomic_store(&job->failed, true);
    return;
  }
  for (uint64_t item = first; item < last; item++) {
    int64_t ab = (int64_t)item / job->n, n = (int64_t)item % job->n;
    int64_t bb = job->b->rank > 2 ? matmul_b_batch(job->a, job->b, ab) : 0;
    const float *brow = buffer_row(job->b, bb * job->n + n, job->k, tmp);
    for (int64_t m = 0; m < job->m; m++) {
      const float *arow = job->a->f + (ab * job->m + m) * job->k;
      float acc = 0.0f;
      if (job->float_lanes) {
        /* one activation row: ggml's vec_dot; more: tinyBLAS */
        acc = job->m == 1 ? simd_dot64(arow, brow, job->k, job->k_padded)
                          : simd_dot16(arow, brow, job->k);
      } else {
        for (int64_t kk = 0; kk < job->k; kk++)
          acc += arow[kk] * brow[kk];
      }
      job->y->f[(ab * job->m + m) * job->n + n] = acc;
    }
  }
  rt_free(tmp);
}

/* For a weight b read in place whose type has an integer dot reading a's encoding: a's rows
 * decoded into job->a_rows. CHORD_OK without them where the plain path applies. */
static chord_status matmul_prepare_qdot(matmul_job *job, chord_error *error) {
  const interp_buffer *a = job->a, *b = job->b;
  /* a weight read in place, or the rows of a quantized KV cache (batched by head) */
  job->b_blocks = b->rows ? b->rows : b->encoded;
  job->b_type = b->rows ? b->row_type : b->encoded_type;
  if (!a->encoded || !job->b_blocks || (b->rows && b->rank != 2) ||
      a->encoded_type != qdot_activation_type(job->b_type))
    return CHORD_OK;
  const ir_dtype_info *info = ir_dtype_get(a->encoded_type);
  if (job->k % info->block_elems != 0 || ir_dtype_get(job->b_type)->block_elems > job->k)
    return CHORD_OK;
  size_t row_size = (size_t)(job->k / info->block_elems) * info->block_bytes;
  job->n_a_rows = job->k ? a->count / job->k : 0;
  job->a_rows = rt_calloc((size_t)(job->n_a_rows ? job->n_a_rows : 1), sizeof *job->a_rows);
  if (!job->a_rows)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory in matmul");
  for (int64_t m = 0; m < job->n_a_rows; m++) {
    if (!qdot_row_init(&job->a_rows[m], job->k))
      return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory in matmul");
    qdot_decode(a->encoded_type, a->encoded + (size_t)m * row_size, &job->a_rows[m]);
  }
  return CHORD_OK;
}

static void matmul_job_free(matmul_job *job) {
  for (int64_t m = 0; job->a_rows && m < job->n_a_rows; m++)
    qdot_row_free(&job->a_rows[m]);
  rt_free(job->a_rows);
}

static chord_status op_matmul(interp_session *s, const ir_value *v, interp_buffer *y,
                              chord_error *error) {
  interp_buffer *a = operand_buffer(s, v, 0), *b = operand_buffer(s, v, 1);
  chord_status st = buffer_materialize(a, error);
  if (st != CHORD_OK)
    return st;
  matmul_job job = {.a = a, .b = b, .y = y};
  atomic_init(&job.failed, false);
  job.float_lanes =
      (a->encoded && a->encoded_type == IR_DTYPE_F16) || (b->rows && b->row_type == IR_DTYPE_F32);
  const ir_value *lhs = v->operands[0];
  job.k_padded = lhs->type.rank && !ir_dim_is_const(lhs->type.dims[lhs->type.rank - 1]);
  job.k = a->dims[a->rank - 1];
  job.n = b->dims[b->rank - 2];
  job.m = a->rank >= 2 ? a->dims[a->rank - 2] : 1;
  job.a_batches = job.k && job.m ? a->count / (job.m * job.k) : 0;
  if (b->rank > 2) { /* batched: a's leading dims beyond b's count as batches too */
    st = buffer_materialize(b, error);
    if (st != CHORD_OK)
      return st;
  } else { /* one weight for every row of a */
    job.m = job.k ? a->count / job.k : 0;
    job.a_batches = 1;
  }
  st = matmul_prepare_qdot(&job, error);
  if (st == CHORD_OK && job.a_rows && s->kernels && b->rows) {
    job.gemv = s->kernels->gemv[b->row_type][qdot_tiled(b->row_type, job.m)];
    job.gemm4 = s->kernels->gemm4[b->row_type][qdot_tiled(b->row_type, job.m)];
    if (qdot_tiled(b->row_type, job.m))
      job.gemm8 = s->kernels->gemm8[b->row_type];
  }
  /* an f16 weight read in place against an activation rounded to f16 (float_lanes) */
  if (st == CHORD_OK && !job.a_rows && s->kernels && b->rows && b->rank == 2 && job.float_lanes &&
      !job.k_padded && job.k > 0 && job.k % INTERP_FGEMM_K_MULTIPLE == 0) {
    job.b_type = b->row_type;
    job.fgemm = s->kernels->fgemm[b->row_type];
  }
  if (st == CHORD_OK) {
    uint64_t items = (uint64_t)(job.a_batches * job.n);
    /* weight rows in chunks taken as threads get free (a thread slowed by another process on its
     * core takes fewer); each result depends only on its own row, so not on the split */
    if (job.gemv || job.fgemm)
      rt_pool_for_chunks(items >= 256 ? s->pool : NULL, items, MATMUL_CHUNK, matmul_range, &job);
    else
      rt_pool_for(items >= 256 ? s->pool : NULL, items, matmul_range, &job);
    if (atomic_load(&job.failed))
      st = rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory in matmul");
  }
  matmul_job_free(&job);
  return st;
}

static chord_status op_get_rows(interp_session *s, const ir_value *v, interp_buffer *y,
                                chord_error *error) {
  interp_buffer *table = operand_buffer(s, v, 0), *ids = operand_buffer(s, v, 1);
  int64_t rows = table->dims[0], d = table->dims[table->rank - 1];
  float *tmp = table->f ? NULL : rt_malloc((size_t)d * sizeof(float));
  if (!table->f && !tmp)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory in get_rows");
  for (int64_t i = 0; i < ids->count; i++) {
    int32_t id = ids->i[i];
    if (id < 0 || id >= rows) {
      rt_free(tmp);
      return rt_error(error, CHORD_ERROR_INVALID,
                      "%%%" PRIu32 " (get_rows): id %" PRId32 " out of range [0, %" PRId64 ")",
                      v->index, id, rows);
    }
    memcpy(y->f + i * d, buffer_row(table, id, d, tmp), (size_t)d * sizeof(float));
  }
  rt_free(tmp);
  return CHORD_OK;
}

/* llama3 scaling without a rope_freqs tensor: the factor that divides pair i's frequency (the
 * wavelength bands of Llama 3.1), 1 outside the scaled bands. */
static double rope_llama3_factor(const ir_value *v, int64_t i, int64_t n_rot) {
  double base = ir_attr_float_or(v, IR_ATTR_FREQ_BASE, 10000.0);
  double freq = pow(base, -2.0 * (double)i / (double)n_rot);
  double fs = ir_attr_float_or(v, IR_ATTR_FREQ_SCALE, 1.0);
  double factor = fs > 0 && fs != 1.0 ? 1.0 / fs : 8.0;
  double low = ir_attr_float_or(v, IR_ATTR_LOW_FREQ_FACTOR, 1.0);
  double high = ir_attr_float_or(v, IR_ATTR_HIGH_FREQ_FACTOR, 4.0);
  double ctx = (double)ir_attr_int_or(v, IR_ATTR_ORIG_CTX, 8192);
  double wavelen = 2.0 * INTERP_PI / freq, low_wl = ctx / low, high_wl = ctx / high;
  if (wavelen > low_wl)
    return factor;
  if (wavelen < high_wl)
    return 1.0;
  double smooth = (ctx / wavelen - low) / (high - low);
  return freq / ((1.0 - smooth) * freq / factor + smooth * freq);
}

/* YaRN's correction range: the pairs between which it ramps from extrapolation to interpolation. */
static void rope_yarn_range(const ir_value *v, int64_t n_rot, float base, float range[2]) {
  float fast = (float)ir_attr_float_or(v, IR_ATTR_BETA_FAST, 32.0);
  float slow = (float)ir_attr_float_or(v, IR_ATTR_BETA_SLOW, 1.0);
  float ctx = (float)ir_attr_int_or(v, IR_ATTR_ORIG_CTX, 4096), pi = (float)INTERP_PI;
  float lo = floorf((float)n_rot * logf(ctx / (fast * 2.0f * pi)) / (2.0f * logf(base)));
  float hi = ceilf((float)n_rot * logf(ctx / (slow * 2.0f * pi)) / (2.0f * logf(base)));
  range[0] = fmaxf(0.0f, lo);
  range[1] = fminf((float)(n_rot - 1), hi);
}

/* cos and sin (times the magnitude scale) of every rotary pair at position pos, in ggml's f32
 * arithmetic (ggml_rope_cache_init): the angle starts at pos and is multiplied by
 * powf(base, -2/n_rot) from pair to pair, divided by the pair's frequency factor, scaled (linear,
 * YaRN), and its cosf/sinf taken. The order of those roundings is what makes the result
 * llama.cpp's. */
static void rope_angles(const ir_value *v, int64_t pos, int64_t n_rot, const float *factors,
                        float *cs) {
  float base = (float)ir_attr_float_or(v, IR_ATTR_FREQ_BASE, 10000.0);
  float theta_scale = powf(base, -2.0f / (float)n_rot);
  int64_t scaling = ir_attr_int_or(v, IR_ATTR_SCALING, 0);
  bool yarn = scaling == 2;
  float freq_scale =
      scaling == 1 || yarn ? (float)ir_attr_float_or(v, IR_ATTR_FREQ_SCALE, 1.0) : 1.0f;
  float ext = yarn ? (float)ir_attr_float_or(v, IR_ATTR_EXT_FACTOR, 0.0) : 0.0f;
  float mscale = yarn ? (float)ir_attr_float_or(v, IR_ATTR_ATTN_FACTOR, 1.0) : 1.0f;
  float range[2] = {0.0f, 0.0f};
  if (ext != 0.0f) {
    rope_yarn_range(v, n_rot, base, range);
    mscale *= 1.0f + 0.1f * logf(1.0f / freq_scale);
  }
  float theta = (float)pos;
  for (int64_t i = 0; i < n_rot / 2; i++) {
    float ff = factors ? factors[i] : scaling == 3 ? (float)rope_llama3_factor(v, i, n_rot) : 1.0f;
    float extrap = theta / ff, angle = freq_scale * extrap;
    if (ext != 0.0f) {
      float y = ((float)i - range[0]) / fmaxf(0.001f, range[1] - range[0]);
      float mix = (1.0f - fminf(1.0f, fmaxf(0.0f, y))) * ext;
      angle = angle * (1.0f - mix) + extrap * mix;
    }
    cs[2 * i] = cosf(angle) * mscale;
    cs[2 * i + 1] = sinf(angle) * mscale;
    theta *= theta_scale;
  }
}

static chord_status op_rope(interp_session *s, const ir_value *v, interp_buffer *y,
                            chord_error *error) {
  interp_buffer *x = operand_buffer(s, v, 0), *pos = operand_buffer(s, v, 1);
  interp_buffer *factors = v->n_operands > 2 ? operand_buffer(s, v, 2) : NULL;
  chord_status st = buffer_materialize(x, error);
  if (st == CHORD_OK && factors)
    st = buffer_materialize(factors, error);
  if (st != CHORD_OK)
    return st;
  int64_t t_count = y->dims[0], heads = y->dims[1], d = y->dims[2];
  int64_t n_rot = ir_attr_int_or(v, IR_ATTR_N_ROT, d);
  bool neox = ir_attr_int_or(v, IR_ATTR_MODE, 0) == 1;
  float *cs = rt_malloc((size_t)(n_rot > 0 ? n_rot : 1) * sizeof(float));
  if (!cs)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory in rope");
  memcpy(y->f, x->f, (size_t)y->count * sizeof(float));
  for (int64_t t = 0; t < t_count; t++) {
    rope_angles(v, pos->i[t], n_rot, factors ? factors->f : NULL, cs);
    for (int64_t h = 0; h < heads; h++) {
      float *row = y->f + (t * heads + h) * d;
      for (int64_t i = 0; i < n_rot / 2; i++) {
        int64_t i0 = neox ? i : 2 * i, i1 = neox ? i + n_rot / 2 : 2 * i + 1;
        float x0 = row[i0], x1 = row[i1], c = cs[2 * i], sn = cs[2 * i + 1];
        /* ggml's compiled rotation fuses the first product of each line */
        row[i0] = fmaf(x0, c, -(x1 * sn));
        row[i1] = fmaf(x0, sn, x1 * c);
      }
    }
  }
  rt_free(cs);
  return CHORD_OK;
}

/* x rounded to an element type (f16, bf16; f32 unchanged). */
static float round_to(ir_dtype dtype, float x) {
  if (dtype == IR_DTYPE_F16)
    return quant_f16_to_f32(quant_f32_to_f16(x));
  if (dtype == IR_DTYPE_BF16) {
    float out;
    uint16_t h;
    quant_quantize_bf16(&x, &h, 1);
    quant_dequantize_bf16(&h, &out, 1);
    return out;
  }
  return x;
}

/* One query row of flash_attention at a time, in the arithmetic of the chain that fuse-attention
 * replaces: the scores as attention's first matmul takes them (simd_dot64 for one query row,
 * simd_dot16 for several), scaled, capped and masked as softmax after the mask op, softmax_finish,
 * the probabilities rounded to the value cache's type, and the second matmul's dot (its contracted
 * dim, the positions, counts as zero-padded). k and v are in the cache's layout [S, Hk, D] (as
 * kv_read gives them): a column of v is gathered for each dot. Only a row of scores is alive at a
 * time. */
static chord_status op_flash_attention(interp_session *s, const ir_value *v, interp_buffer *y,
                                       chord_error *error) {
  interp_buffer *q = operand_buffer(s, v, 0), *k = operand_buffer(s, v, 1);
  interp_buffer *val = operand_buffer(s, v, 2),
                *m = v->n_operands > 3 ? operand_buffer(s, v, 3) : NULL;
  chord_status st = buffer_materialize(q, error);
  if (st == CHORD_OK)
    st = buffer_materialize(k, error);
  if (st == CHORD_OK)
    st = buffer_materialize(val, error);
  if (st == CHORD_OK && m)
    st = buffer_materialize(m, error);
  if (st != CHORD_OK)
    return st;
  int64_t heads = q->dims[0], t_count = q->dims[1], d = q->dims[2];
  int64_t keys = k->dims[0], kv_heads = k->dims[1], dv = val->dims[2];
  float scale = (float)ir_attr_float_or(v, IR_ATTR_SCALE, 1.0),
        cap = (float)ir_attr_float_or(v, IR_ATTR_SOFTCAP, 0.0);
  int64_t window = ir_attr_int_or(v, IR_ATTR_WINDOW, 0);
  ir_dtype p_type = IR_DTYPE_F32; /* no rounding unless the dtype says */
  ir_attr_dtype(v, &p_type);
  bool padded = !ir_dim_is_const(v->operands[1]->type.dims[0]); /* the positions */
  float *p = rt_malloc(2 * (size_t)(keys ? keys : 1) * sizeof(float)), *column = p + keys;
  if (!p)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory in flash_attention");
  interp_buffer scores = {.rank = 3, .dims = {heads, t_count, keys}}; /* for the mask's broadcast */
  scores.count = heads * t_count * keys;
  for (int64_t h = 0; h < heads; h++) {
    int64_t hk = h / (heads / kv_heads);
    for (int64_t i = 0; i < t_count; i++) {
      const float *qr = q->f + (h * t_count + i) * d;
      int64_t pos = s->positions + i;
      float top = -INFINITY;
      for (int64_t j = 0; j < keys; j++) {
        const float *kr = k->f + (j * kv_heads + hk) * d;
        float c = (t_count == 1 ? simd_dot64(qr, kr, d, false) : simd_dot16(qr, kr, d)) * scale;
        if (cap > 0)
          c = cap * tanhf(c / cap);
        if (j > pos || (window > 0 && j <= pos - window))
          c = -INFINITY;
        if (m)
          c += m->f[broadcast_index(&scores, m, (h * t_count + i) * keys + j)];
        p[j] = c;
        if (p[j] > top)
          top = p[j];
      }
      softmax_finish(p, keys, top);
      for (int64_t j = 0; j < keys; j++)
        p[j] = round_to(p_type, p[j]);
      float *out = y->f + (h * t_count + i) * dv;
      for (int64_t e = 0; e < dv; e++) {
        for (int64_t j = 0; j < keys; j++)
          column[j] = val->f[(j * kv_heads + hk) * dv + e];
        out[e] = t_count == 1 ? simd_dot64(p, column, keys, padded) : simd_dot16(p, column, keys);
      }
    }
  }
  rt_free(p);
  return CHORD_OK;
}

/* ---- layout ---------------------------------------------------------------------------------- */

/* q8_0 and q8_1 as llama.cpp's x86 CPU backend rounds activations (quantize_row_q8_0/_q8_1 with
 * AVX): q = round-half-even(x * 127/amax), d = f16(amax/127). Its reference quantizer, which
 * chord's weight encoder follows, divides by d and rounds ties away from zero instead; measured
 * on the default model, the CPU rounding brings the first projection from 4e-4 to 1e-7 of
 * llama.cpp's (relative). Writes the values to y and, for q8_0, the block (d, 32 levels) to
 * block when it is not NULL. */
static void round_q8_activations(const float *x, float *y, uint8_t *block) {
  float amax = 0.0f;
  for (int j = 0; j < 32; j++)
    amax = fmaxf(amax, fabsf(x[j]));
  float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  uint16_t h = quant_f32_to_f16(amax / 127.0f);
  float d = quant_f16_to_f32(h);
  if (block)
    memcpy(block, &h, sizeof h);
  for (int j = 0; j < 32; j++) {
    float q = nearbyintf(x[j] * id);
    y[j] = q * d;
    if (block)
      block[2 + j] = (uint8_t)(int8_t)q;
  }
}

/* quantize: the buffer keeps f32, holding the values the encoding represents (what dequantize
 * of it gives), and the encoding itself (interp_buffer.encoded) for the integer matmuls. */
static chord_status op_quantize(interp_session *s, const ir_value *v, interp_buffer *y,
                                chord_error *error) {
  interp_buffer *x = operand_buffer(s, v, 0);
  chord_status st = buffer_materialize(x, error);
  if (st != CHORD_OK)
    return st;
  ir_dtype dtype = v->type.dtype;
  const ir_dtype_info *info = ir_dtype_get(dtype);
  int64_t k = y->dims[y->rank - 1], rows = k ? y->count / k : 0;
  quant_quantize_fn encode = quant_quantizer(dtype);
  quant_dequantize_fn decode = quant_dequantizer(dtype);
  bool x86_q8 = dtype == IR_DTYPE_Q8_0 || dtype == IR_DTYPE_Q8_1;
  if ((!x86_q8 && (!encode || !decode)) || k % info->block_elems != 0)
    return rt_error(error, CHORD_ERROR_UNSUPPORTED, "%%%" PRIu32 " (quantize): no %s encoder",
                    v->index, ir_dtype_name(v->type.dtype));
  size_t row_size = (size_t)(k / info->block_elems) * info->block_bytes;
  /* q8_1 (for q4_1/q5_1 weights) has no integer matmul here: values only */
  bool keep = dtype != IR_DTYPE_Q8_1;
  uint8_t *blocks = rt_malloc(row_size * (size_t)(rows ? rows : 1));
  if (!blocks)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory");
  for (int64_t row = 0; row < rows; row++) {
    const float *xr = x->f + row * k;
    float *yr = y->f + row * k;
    uint8_t *br = blocks + (size_t)row * row_size;
    if (x86_q8) {
      for (int64_t b = 0; b < k; b += 32)
        round_q8_activations(xr + b, yr + b, keep ? br + (b / 32) * info->block_bytes : NULL);
    } else {
      encode(xr, br, k);
      decode(br, yr, k);
    }
  }
  if (keep) {
    y->encoded = blocks;
    y->encoded_type = dtype;
  } else {
    rt_free(blocks);
  }
  return CHORD_OK;
}

/* dequantize: an alias of its operand (aliases_operand), decoded where a user needs f32. */
static chord_status op_dequantize(interp_session *s, const ir_value *v, interp_buffer *y,
                                  chord_error *error) {
  interp_buffer *x = operand_buffer(s, v, 0);
  chord_status st = x->rows ? CHORD_OK : buffer_materialize(x, error);
  if (st == CHORD_OK)
    buffer_alias(y, x);
  return st;
}

static chord_status op_copy(interp_session *s, const ir_value *v, interp_buffer *y,
                            chord_error *error) {
  interp_buffer *x = operand_buffer(s, v, 0);
  chord_status st = buffer_materialize(x, error);
  if (st != CHORD_OK)
    return st;
  int64_t offset = v->op == IR_OP_VIEW ? ir_attr_int_or(v, IR_ATTR_OFFSET, 0) : 0;
  if (offset < 0 || offset + y->count > x->count)
    return rt_error(error, CHORD_ERROR_INVALID,
                    "%%%" PRIu32 " (view): elements [%" PRId64 ", %" PRId64
                    ") are outside the operand's %" PRId64,
                    v->index, offset, offset + y->count, x->count);
  memcpy(y->f, x->f + offset, (size_t)y->count * sizeof(float));
  return CHORD_OK;
}

/* An encoded operand's rows of blocks permuted along with its values, when the permutation
 * keeps the last dim (a quantized key cache's [P+T, heads, d] to [heads, P+T, d]); otherwise the
 * result has values only. */
static chord_status permute_encoding(const interp_buffer *x, interp_buffer *y, const int64_t *perm,
                                     chord_error *error) {
  uint32_t rank = y->rank;
  if (rank < 1 || perm[rank - 1] != (int64_t)rank - 1)
    return CHORD_OK;
  int64_t k = y->dims[rank - 1], rows = k ? y->count / k : 0;
  size_t bytes = (size_t)row_bytes(x->encoded_type, k);
  int64_t xstride[IR_MAX_DIMS];
  for (int d = (int)rank - 2, st = 1; d >= 0; d--) {
    xstride[d] = st;
    st *= (int)x->dims[d];
  }
  y->encoded = rt_malloc(bytes * (size_t)(rows ? rows : 1));
  if (!y->encoded)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory in permute");
  for (int64_t r = 0; r < rows; r++) {
    int64_t rest = r, src = 0;
    for (int d = (int)rank - 2; d >= 0; d--) {
      src += (rest % y->dims[d]) * xstride[perm[d]];
      rest /= y->dims[d];
    }
    memcpy(y->encoded + (size_t)r * bytes, x->encoded + (size_t)src * bytes, bytes);
  }
  y->encoded_type = x->encoded_type;
  return CHORD_OK;
}

static chord_status op_permute(interp_session *s, const ir_value *v, interp_buffer *y,
                               chord_error *error) {
  interp_buffer *x = operand_buffer(s, v, 0);
  chord_status st = buffer_materialize(x, error);
  if (st != CHORD_OK)
    return st;
  int64_t perm[IR_MAX_DIMS];
  const ir_attr *a = ir_value_attr(v, IR_ATTR_PERM);
  for (uint32_t d = 0; d < y->rank; d++)
    perm[d] = a ? a->as.list[d] : (int64_t)d;
  if (v->op == IR_OP_TRANSPOSE && y->rank >= 2) {
    perm[y->rank - 1] = y->rank - 2;
    perm[y->rank - 2] = y->rank - 1;
  }
  int64_t xstride[IR_MAX_DIMS];
  for (int d = (int)x->rank - 1, st2 = 1; d >= 0; d--) {
    xstride[d] = st2;
    st2 *= (int)x->dims[d];
  }
  for (int64_t e = 0; e < y->count; e++) {
    int64_t rest = e, src = 0;
    for (int d = (int)y->rank - 1; d >= 0; d--) {
      src += (rest % y->dims[d]) * xstride[perm[d]];
      rest /= y->dims[d];
    }
    y->f[e] = x->f[src];
  }
  return x->encoded ? permute_encoding(x, y, perm, error) : CHORD_OK;
}

static chord_status op_concat(interp_session *s, const ir_value *v, interp_buffer *y,
                              chord_error *error) {
  int64_t axis = ir_attr_int_or(v, IR_ATTR_AXIS, 0);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; d++)
    outer *= y->dims[d];
  for (uint32_t d = (uint32_t)axis + 1; d < y->rank; d++)
    inner *= y->dims[d];
  int64_t done = 0;
  for (uint32_t o = 0; o < v->n_operands; o++) {
    interp_buffer *x = operand_buffer(s, v, o);
    chord_status st = buffer_materialize(x, error);
    if (st != CHORD_OK)
      return st;
    int64_t len = x->dims[axis] * inner;
    for (int64_t r = 0; r < outer; r++)
      memcpy(y->f + r * y->dims[axis] * inner + done, x->f + r * len, (size_t)len * sizeof(float));
    done += len;
  }
  return CHORD_OK;
}

/* out = in H / sqrt(n), llama.cpp's rotation of q and k for a quantized key cache (ops.def): in
 * scaled by 1/sqrt(n), then the fast Walsh-Hadamard butterflies with the stride doubling from 1
 * (its results, bit for bit, at head dims 64, 128 and 256). in and out may be the same row. */
static void hadamard_row(const float *in, float *out, int64_t n) {
  float scale = (float)(1.0 / sqrt((double)n));
  for (int64_t j = 0; j < n; j++)
    out[j] = in[j] * scale;
  for (int64_t h = 1; h < n; h *= 2)
    for (int64_t i = 0; i < n; i += 2 * h)
      for (int64_t j = i; j < i + h; j++) {
        float a = out[j], b = out[j + h];
        out[j] = a + b;
        out[j + h] = a - b;
      }
}

static chord_status op_hadamard(interp_session *s, const ir_value *v, interp_buffer *y,
                                chord_error *error) {
  interp_buffer *x = operand_buffer(s, v, 0);
  chord_status st = buffer_materialize(x, error);
  if (st != CHORD_OK)
    return st;
  int64_t n = y->dims[y->rank - 1], rows = n ? y->count / n : 0;
  for (int64_t r = 0; r < rows; r++)
    hadamard_row(x->f + r * n, y->f + r * n, n);
  return CHORD_OK;
}

/* ---- KV cache -------------------------------------------------------------------------------- */

/* The state a kv_write or kv_read operand stands for (through earlier kv_writes). */
static const ir_value *cache_state(const ir_value *v) {
  while (v->kind == IR_VALUE_NODE && v->op == IR_OP_KV_WRITE)
    v = v->operands[0];
  return v;
}

bool interp_reads_half_cache(const ir_value *v, uint32_t o) {
  if (v->kind != IR_VALUE_NODE || v->op != IR_OP_FLASH_ATTENTION || (o != 1 && o != 2) ||
      o >= v->n_operands)
    return false;
  const ir_value *x = v->operands[o];
  if (x->kind != IR_VALUE_NODE || x->op != IR_OP_KV_READ)
    return false;
  const ir_value *state = cache_state(x->operands[0]);
  return state->kind == IR_VALUE_STATE && state->type.dtype == IR_DTYPE_F16;
}

static chord_status op_kv_write(interp_session *s, const ir_value *v, interp_buffer *y,
                                chord_error *error) {
  interp_buffer *cache = operand_buffer(s, v, 0), *x = operand_buffer(s, v, 1);
  chord_status st = buffer_materialize(x, error);
  if (st != CHORD_OK)
    return st;
  int64_t row = cache->dims[0] ? cache->count / cache->dims[0] : 0;
  if (s->positions + x->dims[0] > cache->dims[0])
    return rt_error(error, CHORD_ERROR_INVALID,
                    "%%%" PRIu32 " (kv_write): positions %" PRId64 "..%" PRId64
                    " do not fit a cache of %" PRId64,
                    v->index, s->positions, s->positions + x->dims[0] - 1, cache->dims[0]);
  ir_dtype dtype = v->type.dtype;
  uint8_t *blocks = s->state_blocks[cache_state(v)->index];
  buffer_alias(y, cache); /* the result is the cache itself */
  if (blocks) {
    /* q8_0: rounded as llama.cpp's copy into the cache does (quantize_row_q8_0), the values
     * kept beside the blocks */
    size_t bytes = (size_t)row_bytes(dtype, row);
    for (int64_t e = 0; e < x->count; e += 32)
      round_q8_activations(x->f + e, cache->f + s->positions * row + e,
                           blocks + (size_t)s->positions * bytes + (size_t)(e / 32) * 34);
    y->encoded = blocks;
    y->encoded_type = dtype;
    y->encoded_borrowed = true;
  } else if (cache->f) {
    for (int64_t e = 0; e < x->count; e++)
      cache->f[s->positions * row + e] = round_to(dtype, x->f[e]);
  } else { /* an f16 or bf16 cache keeps the bits */
    store_half(dtype, x->f, s->state_half[cache_state(v)->index] + s->positions * row, x->count);
  }
  return CHORD_OK;
}

/* The rows 0 .. P+T-1 of the cache are the first rows of its state: read in place, with a
 * quantized cache's blocks (an f16 cache's bits are decoded where a user needs f32). */
static chord_status op_kv_read(interp_session *s, const ir_value *v, interp_buffer *y,
                               chord_error *error) {
  (void)error;
  buffer_alias(y, operand_buffer(s, v, 0));
  return CHORD_OK;
}

/* ---- dispatch -------------------------------------------------------------------------------- */

typedef chord_status (*interp_op_fn)(interp_session *s, const ir_value *v, interp_buffer *y,
                                     chord_error *error);

/* No switch: a new op in the middle of ops.def is caught by interp_ops.every_op_has_a_function,
 * one at the end by the assertion below. */
static const interp_op_fn op_functions[] = {
    [IR_OP_GET_ROWS] = op_get_rows,
    [IR_OP_DEQUANTIZE] = op_dequantize, /* of a non-weight; weights are aliased in run_value */
    [IR_OP_MATMUL] = op_matmul,
    [IR_OP_ADD] = op_binary,
    [IR_OP_MUL] = op_binary,
    [IR_OP_SCALE] = op_unary,
    [IR_OP_RMS_NORM] = op_norm,
    [IR_OP_LAYER_NORM] = op_norm,
    [IR_OP_ROPE] = op_rope,
    [IR_OP_SOFTMAX] = op_softmax,
    [IR_OP_CAUSAL_MASK] = op_mask,
    [IR_OP_SLIDING_WINDOW_MASK] = op_mask,
    [IR_OP_SILU] = op_unary,
    [IR_OP_GELU] = op_unary,
    [IR_OP_TANH] = op_unary,
    [IR_OP_QUANTIZE] = op_quantize,
    [IR_OP_RESHAPE] = op_copy,
    [IR_OP_VIEW] = op_copy,
    [IR_OP_PERMUTE] = op_permute,
    [IR_OP_TRANSPOSE] = op_permute,
    [IR_OP_CONCAT] = op_concat,
    [IR_OP_KV_WRITE] = op_kv_write,
    [IR_OP_KV_READ] = op_kv_read,
    [IR_OP_ARGMAX] = op_argmax,
    [IR_OP_QMATMUL] = op_matmul,
    [IR_OP_FLASH_ATTENTION] = op_flash_attention,
    [IR_OP_FUSED_REGION] = op_fused_region,
    [IR_OP_HADAMARD] = op_hadamard,
};
_Static_assert(sizeof op_functions / sizeof op_functions[0] == IR_OP_COUNT,
               "op_functions needs an entry for every op of ir/ops.def");

bool interp_has_op(ir_op op) { return (unsigned)op < IR_OP_COUNT && op_functions[op] != NULL; }

static const interp_binding *find_binding(const interp_session *s, const char *name) {
  for (uint32_t i = 0; i < s->n_bindings; i++)
    if (strcmp(s->bindings[i].name, name) == 0)
      return &s->bindings[i];
  return NULL;
}

static chord_status load_weight(interp_session *s, const ir_value *v, interp_buffer *b,
                                chord_error *error) {
  chord_status st = buffer_shape(s, v, b, error);
  if (st != CHORD_OK)
    return st;
  const interp_binding *bound = find_binding(s, v->name);
  if (bound) {
    b->rows = bound->data;
    b->row_type = bound->dtype;
  } else {
    const gguf_tensor *t = s->file ? gguf_find_tensor(s->file, v->name) : NULL;
    if (!t)
      return rt_error(error, CHORD_ERROR_NOT_FOUND, "weight @%s: no such tensor%s", v->name,
                      s->file ? " in the model" : " bound (no model attached)");
    if ((int64_t)t->n_elems != b->count || t->type != v->type.dtype)
      return rt_error(error, CHORD_ERROR_FORMAT,
                      "weight @%s: the file has %s with %" PRIu64 " elements, the graph wants %s "
                      "with %" PRId64,
                      v->name, ir_dtype_name(t->type), t->n_elems, ir_dtype_name(v->type.dtype),
                      b->count);
    b->rows = t->data;
    b->row_type = t->type;
  }
  if (!quant_dequantizer(b->row_type))
    return rt_error(error, CHORD_ERROR_UNSUPPORTED, "weight @%s: no decoder for %s", v->name,
                    ir_dtype_name(b->row_type));
  return CHORD_OK;
}

typedef struct kernel_job {
  interp_node_fn kernel;
  void *const *buffers;
  int64_t tokens, positions;
} kernel_job;

static void kernel_range(void *ctx, uint64_t first, uint64_t last, int worker) {
  (void)worker;
  const kernel_job *job = ctx;
  job->kernel(job->buffers, job->tokens, job->positions, (int64_t)first, (int64_t)last);
}

/* A node through a target's compiled kernel (interp_kernels.node): the operands as dense arrays
 * (an f32 weight read where it is mapped), and for quantize the encoding allocated for it to
 * write, so that matmul finds it as op_quantize leaves it. */
static chord_status run_kernel(interp_session *s, const ir_value *v, interp_buffer *y,
                               interp_node_fn kernel, chord_error *error) {
  void *buffers[2 + INTERP_FUSED_OPERANDS];
  if (v->n_operands > INTERP_FUSED_OPERANDS)
    return rt_error(error, CHORD_ERROR_INVALID, "%%%" PRIu32 ": too many operands for a kernel",
                    v->index);
  buffers[0] = y->f ? (void *)y->f : (void *)y->i;
  for (uint32_t o = 0; o < v->n_operands; o++) {
    interp_buffer *x = operand_buffer(s, v, o);
    if (interp_reads_half_cache(v, o)) { /* the cache's bits, read in place */
      buffers[1 + o] = s->state_half[cache_state(v->operands[o]->operands[0])->index];
      continue;
    }
    if (!x->f && !x->i && x->rows && x->row_type == IR_DTYPE_F32) {
      buffers[1 + o] = (void *)x->rows;
      continue;
    }
    chord_status st = buffer_materialize(x, error);
    if (st != CHORD_OK)
      return st;
    buffers[1 + o] = x->f ? (void *)x->f : (void *)x->i;
  }
  if (v->op == IR_OP_QUANTIZE) {
    size_t bytes = (size_t)row_bytes(v->type.dtype, y->count);
    y->encoded = rt_malloc(bytes ? bytes : 1);
    if (!y->encoded)
      return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory");
    y->encoded_type = v->type.dtype;
    buffers[1 + v->n_operands] = y->encoded;
  }
  kernel_job job = {kernel, buffers, s->tokens, s->positions};
  const interp_buffer *a = v->n_operands ? operand_buffer(s, v, 0) : NULL;
  if (v->op == IR_OP_MATMUL) {
    /* a matmul's items as op_matmul splits them: (batch, column) pairs over the threads */
    const interp_buffer *b = operand_buffer(s, v, 1);
    int64_t m = a->dims[a->rank - 2], k = a->dims[a->rank - 1];
    uint64_t items = (uint64_t)((m && k ? a->count / (m * k) : 0) * b->dims[b->rank - 2]);
    rt_pool_for(items >= 256 ? s->pool : NULL, items, kernel_range, &job);
  } else if (v->op == IR_OP_FLASH_ATTENTION) {
    /* the query rows (head, token): each a pass over all the keys and values, worth a thread */
    uint64_t items = (uint64_t)(a->dims[0] * a->dims[1]);
    rt_pool_for(items >= 2 ? s->pool : NULL, items, kernel_range, &job);
  } else {
    kernel(buffers, s->tokens, s->positions, 0, INT64_MAX);
  }
  return CHORD_OK;
}

static chord_status run_value(interp_session *s, const ir_value *v, chord_error *error) {
  interp_buffer *b = &s->buffers[v->index];
  buffer_release(b);
  if (v->kind == IR_VALUE_WEIGHT)
    return load_weight(s, v, b, error);
  if (v->kind == IR_VALUE_STATE) {
    chord_status st = buffer_shape(s, v, b, error);
    b->f = s->state[v->index];
    b->borrowed = b->f != NULL;
    if (s->state_half[v->index]) { /* read as rows of its type, like a weight */
      b->rows = (const uint8_t *)s->state_half[v->index];
      b->row_type = v->type.dtype;
    }
    return st;
  }
  if (v->kind == IR_VALUE_INPUT) {
    chord_status st = buffer_alloc(s, v, b, error);
    if (st != CHORD_OK)
      return st;
    const interp_input *in = &s->inputs[v->index];
    if (!in->data || in->count != b->count)
      return rt_error(error, CHORD_ERROR_INVALID,
                      "input %%%s: %" PRId64 " elements set, %" PRId64 " needed at T=%" PRId64,
                      v->name ? v->name : "?", in->data ? in->count : 0, b->count, s->tokens);
    memcpy(b->i ? (void *)b->i : (void *)b->f, in->data, (size_t)b->count * 4);
    return CHORD_OK;
  }
  chord_status st =
      aliases_operand(v) ? buffer_shape(s, v, b, error) : buffer_alloc(s, v, b, error);
  if (st == CHORD_OK && ir_value_attr(v, IR_ATTR_IN_PLACE)) { /* the op writes over operand k */
    b->f = operand_buffer(s, v, (uint32_t)aliased_operand(v))->f;
    b->borrowed = true;
  }
  if (st == CHORD_OK && v->op == IR_OP_GET_ROWS) {
    interp_buffer *table = operand_buffer(s, v, 0);
    if (!table->rows && !table->f)
      st = buffer_materialize(table, error);
  }
  if (st == CHORD_OK) {
    interp_node_fn kernel =
        s->kernels && v->index < s->kernels->n_nodes ? s->kernels->node[v->index] : NULL;
    st = kernel ? run_kernel(s, v, b, kernel, error) : op_functions[v->op](s, v, b, error);
  }
  return st;
}

/* ---- session --------------------------------------------------------------------------------- */

/* Each value's last user, as the walker frees buffers: outputs live to the end, and an alias
 * borrows its operand's storage (aliases_operand), so the operand lives as long as the alias does
 * (from the last value back, so that chains of them carry through). */
static void find_last_uses(const ir_graph *g, uint32_t *last_use) {
  for (uint32_t i = 0; i < g->n_values; i++) {
    const ir_value *v = g->values[i];
    last_use[i] = i;
    for (uint32_t o = 0; o < v->n_operands; o++)
      last_use[v->operands[o]->index] = i;
  }
  for (uint32_t i = 0; i < g->n_outputs; i++)
    last_use[g->outputs[i]->index] = UINT32_MAX;
  for (uint32_t i = g->n_values; i-- > 0;) {
    int64_t k = aliased_operand(g->values[i]);
    if (k >= 0 && last_use[g->values[i]->operands[k]->index] < last_use[i])
      last_use[g->values[i]->operands[k]->index] = last_use[i];
  }
}

chord_status interp_init(interp_session **out, const ir_graph *graph, const gguf_file *weights,
                         chord_error *error) {
  *out = NULL;
  interp_session *s = rt_calloc(1, sizeof *s);
  uint32_t n = graph->n_values;
  if (!s)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory");
  s->graph = graph;
  s->file = weights;
  s->buffers = rt_calloc(n ? n : 1, sizeof *s->buffers);
  s->state = rt_calloc(n ? n : 1, sizeof *s->state);
  s->state_blocks = rt_calloc(n ? n : 1, sizeof *s->state_blocks);
  s->state_half = rt_calloc(n ? n : 1, sizeof *s->state_half);
  s->inputs = rt_calloc(n ? n : 1, sizeof *s->inputs);
  s->last_use = rt_calloc(n ? n : 1, sizeof *s->last_use);
  s->plan_bytes = rt_calloc(n ? n : 1, sizeof *s->plan_bytes);
  s->plan_offsets = rt_calloc(n ? n : 1, sizeof *s->plan_offsets);
  if (!s->buffers || !s->state || !s->state_half || !s->state_blocks || !s->inputs ||
      !s->last_use || !s->plan_bytes || !s->plan_offsets) {
    interp_free(s);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory");
  }
  for (uint32_t i = 0; i < n; i++) {
    const ir_value *v = graph->values[i];
    if (v->kind == IR_VALUE_NODE && !interp_has_op(v->op)) {
      const ir_op_info *info = ir_op_get(v->op);
      interp_free(s);
      return rt_error(error, CHORD_ERROR_UNSUPPORTED, "%%%" PRIu32 " (%s): not in the interpreter",
                      i, info ? info->name : "unknown op");
    }
    if (v->kind != IR_VALUE_STATE)
      continue;
    int64_t count = 1;
    for (uint32_t d = 0; d < v->type.rank; d++) {
      if (!ir_dim_is_const(v->type.dims[d])) {
        interp_free(s);
        return rt_error(error, CHORD_ERROR_INVALID, "state %%%s: dimensions must be constants",
                        v->name ? v->name : "?");
      }
      count *= v->type.dims[d].c;
    }
    bool half = v->type.dtype == IR_DTYPE_F16 || v->type.dtype == IR_DTYPE_BF16;
    if (half) /* the bits: as f32 the cache would take twice llama.cpp's bytes */
      s->state_half[i] = rt_calloc((size_t)(count ? count : 1), sizeof(uint16_t));
    else
      s->state[i] = rt_calloc((size_t)(count ? count : 1), sizeof(float));
    if (!s->state[i] && !s->state_half[i]) {
      interp_free(s);
      return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory for the KV cache");
    }
    if (ir_dtype_get(v->type.dtype)->block_elems == 1)
      continue;
    /* a quantized cache (q8_0): blocks beside the values */
    int64_t row = v->type.rank && v->type.dims[0].c ? count / v->type.dims[0].c : 0;
    if (v->type.dtype != IR_DTYPE_Q8_0 || row % 32 != 0) {
      interp_free(s);
      return rt_error(error, CHORD_ERROR_UNSUPPORTED,
                      "state %%%s: a %s cache (q8_0 rows of whole blocks are supported)",
                      v->name ? v->name : "?", ir_dtype_name(v->type.dtype));
    }
    s->state_blocks[i] = rt_calloc((size_t)row_bytes(v->type.dtype, count), 1);
    if (!s->state_blocks[i]) {
      interp_free(s);
      return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory for the KV cache");
    }
  }
  find_last_uses(graph, s->last_use);
  *out = s;
  return CHORD_OK;
}

void interp_free(interp_session *s) {
  if (!s)
    return;
  uint32_t n = s->graph->n_values;
  for (uint32_t i = 0; i < n; i++) {
    if (s->buffers)
      buffer_release(&s->buffers[i]);
    if (s->state)
      rt_free(s->state[i]);
    if (s->state_half)
      rt_free(s->state_half[i]);
    if (s->state_blocks)
      rt_free(s->state_blocks[i]);
    if (s->inputs)
      rt_free(s->inputs[i].data);
  }
  rt_free(s->buffers);
  rt_free(s->state);
  rt_free(s->state_half);
  rt_free(s->state_blocks);
  rt_free(s->inputs);
  rt_free(s->last_use);
  rt_free(s->plan_bytes);
  rt_free(s->plan_offsets);
  rt_free(s->arena);
  rt_free(s->bindings);
  rt_pool_free(s->pool);
  rt_free(s);
}

void interp_set_kernels(interp_session *s, const interp_kernels *kernels) { s->kernels = kernels; }

bool interp_kernels_set(interp_kernels *k, interp_kernel_kind kind, int dtype, void *fn) {
  if (dtype < 0 || dtype >= IR_DTYPE_COUNT)
    return false;
  switch (kind) {
  case INTERP_KERNEL_GEMV: k->gemv[dtype][0] = (interp_gemv_fn)fn; return true;
  case INTERP_KERNEL_GEMV_TILED: k->gemv[dtype][1] = (interp_gemv_fn)fn; return true;
  case INTERP_KERNEL_GEMM4: k->gemm4[dtype][0] = (interp_gemm4_fn)fn; return true;
  case INTERP_KERNEL_GEMM4_TILED: k->gemm4[dtype][1] = (interp_gemm4_fn)fn; return true;
  case INTERP_KERNEL_GEMM8: k->gemm8[dtype] = (interp_gemm4_fn)fn; return true;
  case INTERP_KERNEL_FGEMM: k->fgemm[dtype] = (interp_fgemm_fn)fn; return true;
  case INTERP_KERNEL_KIND_COUNT: break;
  }
  return false;
}

void interp_set_threads(interp_session *s, int n_threads) {
  if (rt_pool_threads(s->pool) == (n_threads < 1 ? 1 : n_threads))
    return;
  rt_pool_free(s->pool);
  s->pool = rt_pool_create(n_threads); /* NULL (the calling thread alone) for 1, or on failure */
}

chord_status interp_bind_weight(interp_session *s, const char *tensor_name, ir_dtype dtype,
                                const void *data, chord_error *error) {
  if (s->n_bindings == s->cap_bindings) {
    uint32_t cap = s->cap_bindings ? 2 * s->cap_bindings : 8;
    interp_binding *b = rt_realloc(s->bindings, cap * sizeof *b);
    if (!b)
      return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory");
    s->bindings = b;
    s->cap_bindings = cap;
  }
  s->bindings[s->n_bindings++] = (interp_binding){tensor_name, dtype, data};
  return CHORD_OK;
}

chord_status interp_set_input(interp_session *s, const char *name, const void *data, int64_t count,
                              chord_error *error) {
  const ir_value *v = ir_graph_find(s->graph, IR_VALUE_INPUT, name, strlen(name));
  if (!v)
    return rt_error(error, CHORD_ERROR_NOT_FOUND, "no input %%%s in the graph", name);
  interp_input *in = &s->inputs[v->index];
  void *copy = rt_malloc((size_t)(count ? count : 1) * 4);
  if (!copy)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory");
  memcpy(copy, data, (size_t)count * 4);
  rt_free(in->data);
  in->data = copy;
  in->count = count;
  return CHORD_OK;
}

/* The bytes value v needs in the arena at a step of T = tokens, P = positions: none for
 * weights, states and aliases (aliases_operand); at least one element otherwise. */
static size_t value_bytes(const ir_value *v, int64_t tokens, int64_t positions) {
  if (v->kind == IR_VALUE_WEIGHT || v->kind == IR_VALUE_STATE || aliases_operand(v))
    return 0;
  int64_t count = 1;
  for (uint32_t d = 0; d < v->type.rank; d++) {
    int64_t n = dim_at(v->type.dims[d], tokens, positions);
    if (n <= 0) /* empty, or negative (buffer_shape reports it) */
      return 4;
    if (count > INT64_MAX / 4 / n)
      return 0; /* beyond any arena: left to buffer_alloc to fail on */
    count *= n;
  }
  return (size_t)count * 4;
}

/* Plans the step's buffers (runtime/memory_plan.h) and makes the arena large enough. */
static chord_status plan_step(interp_session *s, chord_error *error) {
  uint32_t n = s->graph->n_values;
  for (uint32_t i = 0; i < n; i++)
    s->plan_bytes[i] = value_bytes(s->graph->values[i], s->tokens, s->positions);
  size_t total;
  if (!memory_plan(n, s->plan_bytes, s->last_use, 64, s->plan_offsets, &total))
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory planning the step");
  if (total > s->arena_size) {
    /* with room to spare: each decode step needs a little more (the scores grow with P), and a
     * fresh mapping every step would cost its page faults every step */
    size_t size = total + total / 4 + (1u << 20);
    rt_free(s->arena);
    s->arena = rt_malloc(size);
    s->arena_size = s->arena ? size : 0;
    if (!s->arena)
      return rt_error(error, CHORD_ERROR_NO_MEMORY,
                      "interp: out of memory for the step's %zu bytes of activations", total);
  }
  return CHORD_OK;
}

size_t interp_arena_size(const interp_session *s) { return s->arena_size; }

chord_status interp_plan_activations(const ir_graph *g, int64_t tokens, int64_t positions,
                                     size_t *bytes, size_t *output_bytes, chord_error *error) {
  uint32_t n = g->n_values;
  uint32_t *last_use = rt_malloc((n ? n : 1) * sizeof *last_use);
  size_t *sizes = rt_malloc((n ? n : 1) * sizeof *sizes);
  size_t *offsets = rt_malloc((n ? n : 1) * sizeof *offsets);
  bool ok = last_use && sizes && offsets;
  if (ok) {
    find_last_uses(g, last_use);
    for (uint32_t i = 0; i < n; i++)
      sizes[i] = value_bytes(g->values[i], tokens, positions);
    ok = memory_plan(n, sizes, last_use, 64, offsets, bytes);
    *output_bytes = 0;
    for (uint32_t i = 0; i < g->n_outputs; i++)
      *output_bytes += sizes[g->outputs[i]->index];
  }
  rt_free(last_use);
  rt_free(sizes);
  rt_free(offsets);
  return ok ? CHORD_OK : rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory planning");
}

/* Releases value u's buffer if node i was its last user, and when u aliased its operand, that
 * operand too if the alias was the last to read it (interp_init extended its life to the
 * alias's): an encoding is heap memory, freed here rather than a step later. */
static void release_after(interp_session *s, uint32_t u, uint32_t i) {
  if (s->last_use[u] != i)
    return;
  buffer_release(&s->buffers[u]);
  const ir_value *v = s->graph->values[u];
  if (aliases_operand(v))
    release_after(s, v->operands[aliased_operand(v)]->index, i);
}

chord_status interp_run(interp_session *s, int64_t n_tokens, chord_error *error) {
  s->tokens = n_tokens;
  const ir_graph *g = s->graph;
  for (uint32_t i = 0; i < g->n_values; i++) /* the last step's buffers, arena ones included */
    buffer_release(&s->buffers[i]);
  chord_status st = plan_step(s, error);
  for (uint32_t i = 0; i < g->n_values && st == CHORD_OK; i++) {
    const ir_value *v = g->values[i];
    st = run_value(s, v, error);
    for (uint32_t o = 0; o < v->n_operands && st == CHORD_OK; o++)
      release_after(s, v->operands[o]->index, i);
  }
  if (st == CHORD_OK)
    s->positions += n_tokens;
  return st;
}

int64_t interp_positions(const interp_session *s) { return s->positions; }

/* Re-ropes n cache rows of [heads, d] by delta positions, as llama.cpp's K shift does: the rope
 * node's own arithmetic (rope_angles) at position delta, then the rounding to the cache type. */
static chord_status shift_rope(interp_session *s, const ir_value *rope, bool rotated, float *rows,
                               uint8_t *blocks, int64_t n, int64_t heads, int64_t d, ir_dtype dtype,
                               int64_t delta, chord_error *error) {
  int64_t n_rot = ir_attr_int_or(rope, IR_ATTR_N_ROT, d);
  bool neox = ir_attr_int_or(rope, IR_ATTR_MODE, 0) == 1;
  interp_buffer factors = {0};
  chord_status st = CHORD_OK;
  if (rope->n_operands > 2) { /* the rope_freqs weight: read for this and released */
    const ir_value *w = rope->operands[2];
    st = w->kind == IR_VALUE_WEIGHT
             ? load_weight(s, w, &factors, error)
             : rt_error(error, CHORD_ERROR_UNSUPPORTED, "interp: rope factors are not a weight");
    if (st == CHORD_OK)
      st = buffer_materialize(&factors, error);
  }
  float *cs = st == CHORD_OK ? rt_malloc((size_t)(n_rot > 0 ? n_rot : 1) * sizeof(float)) : NULL;
  if (st == CHORD_OK && !cs)
    st = rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory shifting the KV cache");
  if (st == CHORD_OK) {
    rope_angles(rope, delta, n_rot, factors.f, cs);
    for (int64_t r = 0; r < n * heads; r++) {
      float *row = rows + r * d;
      if (rotated) /* the keys were rotated after rope (hadamard): undo it, H H = I */
        hadamard_row(row, row, d);
      for (int64_t i = 0; i < n_rot / 2; i++) {
        int64_t i0 = neox ? i : 2 * i, i1 = neox ? i + n_rot / 2 : 2 * i + 1;
        float x0 = row[i0], x1 = row[i1], c = cs[2 * i], sn = cs[2 * i + 1];
        row[i0] = round_to(dtype, fmaf(x0, c, -(x1 * sn)));
        row[i1] = round_to(dtype, fmaf(x0, sn, x1 * c));
      }
      if (rotated)
        hadamard_row(row, row, d);
    }
    /* a q8_0 cache: rotated in f32 and quantized again (llama.cpp casts, ropes, copies back) */
    for (int64_t e = 0; blocks && e < n * heads * d; e += 32)
      round_q8_activations(rows + e, rows + e, blocks + (size_t)(e / 32) * 34);
  }
  rt_free(cs);
  buffer_release(&factors);
  return st;
}

chord_status interp_shift(interp_session *s, int64_t keep, int64_t discard, chord_error *error) {
  if (keep < 0 || discard < 0 || keep + discard > s->positions)
    return rt_error(error, CHORD_ERROR_INVALID,
                    "interp: cannot discard positions %" PRId64 "..%" PRId64 " of %" PRId64, keep,
                    keep + discard - 1, s->positions);
  if (discard == 0)
    return CHORD_OK;
  const ir_graph *g = s->graph;
  int64_t moved = s->positions - keep - discard;
  for (uint32_t i = 0; i < g->n_values; i++) {
    const ir_value *v = g->values[i];
    if (v->kind != IR_VALUE_NODE || v->op != IR_OP_KV_WRITE)
      continue;
    const ir_value *cache = cache_state(v), *data = v->operands[1];
    if (cache->kind != IR_VALUE_STATE || cache->type.rank < 1)
      continue;
    float *state = s->state[cache->index];
    uint16_t *half = s->state_half[cache->index];
    int64_t row = 1;
    for (uint32_t d = 1; d < cache->type.rank; d++)
      row *= cache->type.dims[d].c;
    /* the positions after the discarded ones move down to keep */
    if (half)
      memmove(half + keep * row, half + (keep + discard) * row,
              (size_t)(moved * row) * sizeof(uint16_t));
    else
      memmove(state + keep * row, state + (keep + discard) * row,
              (size_t)(moved * row) * sizeof(float));
    uint8_t *blocks = s->state_blocks[cache->index];
    size_t bytes = blocks ? (size_t)row_bytes(cache->type.dtype, row) : 0;
    if (blocks)
      memmove(blocks + (size_t)keep * bytes, blocks + (size_t)(keep + discard) * bytes,
              (size_t)moved * bytes);
    /* keys were stored rotated for their old positions: rotate them by -discard (through the
     * Hadamard rotation of a quantized cache, when they have one) */
    bool rotated = data->kind == IR_VALUE_NODE && data->op == IR_OP_HADAMARD;
    if (rotated)
      data = data->operands[0];
    if (data->kind == IR_VALUE_NODE && data->op == IR_OP_ROPE && cache->type.rank == 3) {
      /* an f16/bf16 cache's moved rows go through f32 and back (exact: shift_rope rounds each
       * value to the cache's type) */
      int64_t n = moved * row;
      float *rows = half ? rt_malloc((size_t)(n ? n : 1) * sizeof(float)) : state + keep * row;
      if (!rows)
        return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory shifting the cache");
      if (half)
        quant_dequantize(cache->type.dtype, (const uint8_t *)(half + keep * row), rows, n);
      chord_status st = shift_rope(
          s, data, rotated, rows, blocks ? blocks + (size_t)keep * bytes : NULL, moved,
          cache->type.dims[1].c, cache->type.dims[2].c, cache->type.dtype, -discard, error);
      if (half && st == CHORD_OK)
        store_half(cache->type.dtype, rows, half + keep * row, n);
      if (half)
        rt_free(rows);
      if (st != CHORD_OK)
        return st;
    }
  }
  s->positions -= discard;
  return CHORD_OK;
}

const float *interp_output(const interp_session *s, uint32_t i, int64_t dims[IR_MAX_DIMS],
                           uint32_t *rank) {
  if (i >= s->graph->n_outputs)
    return NULL;
  interp_buffer *b = &s->buffers[s->graph->outputs[i]->index];
  if (b->i && !b->f) { /* i32 results are given as f32 */
    b->f = rt_malloc((size_t)(b->count ? b->count : 1) * sizeof(float));
    if (!b->f)
      return NULL;
    for (int64_t e = 0; e < b->count; e++)
      b->f[e] = (float)b->i[e];
  }
  if (!b->f && buffer_materialize(b, NULL) != CHORD_OK)
    return NULL;
  memcpy(dims, b->dims, sizeof b->dims);
  *rank = b->rank;
  return b->f;
}
