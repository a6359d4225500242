/* The reference interpreter: runs a graph in plain C with f32 accumulation, op by op, following
 * the semantics column of ir/ops.def. Slow, simple and obviously right: the oracle for every pass
 * and target. Weights are looked up by tensor name in explicit bindings, then in an open GGUF
 * file, and dequantized a row at a time where the op allows it. KV-cache state persists across
 * runs; each run is one step of T tokens after P cached positions. */
#ifndef CHORD_RUNTIME_INTERP_H
#define CHORD_RUNTIME_INTERP_H

#include <stdint.h>

#include "chord.h"
#include "frontends/gguf/gguf.h"
#include "ir/ir.h"

typedef struct interp_session interp_session;

/* Whether the interpreter implements op: every op of ir/ops.def (interp_init refuses a graph
 * with one it lacks, naming it). */
bool interp_has_op(ir_op op);

/* weights may be NULL (then every weight must be bound with interp_bind_weight). The KV cache
 * holds as many positions as the state values' (constant) first dim. The graph and the file must
 * outlive the session. */
chord_status interp_init(interp_session **out, const ir_graph *graph, const gguf_file *weights,
                         chord_error *error);
void interp_free(interp_session *session);

/* Threads for matmul (default 1): a pool of workers kept for the session (runtime/platform/pool.h).
 */
void interp_set_threads(interp_session *session, int n_threads);

/* Compiled kernels a target can lend the interpreter for its integer matmuls (the CPU target's
 * JIT code, codegen/llvm/emit_qdot.h): gemv[type][tiled] computes y[r] for weight rows
 * r in [0, rows) against one activation row decoded as interp_qdot.h's qdot_row (levels, scales,
 * sums of 16 and of 32), in the order of qdot (tiled = 0) or qdot_slabs (tiled = 1). It must give
 * the interpreter's results bit for bit; NULL entries keep the interpreter's C. */
typedef void (*interp_gemv_fn)(const uint8_t *w, int64_t row_bytes, int64_t rows, const int8_t *a_q,
                               const float *a_d, const int16_t *a_s16, const int16_t *a_s32,
                               int64_t k, float *y);
/* A node's compiled kernel (codegen/llvm/emit_ops.h): buffers[0] the result, buffers[1 + i]
 * operand i (dense f32 or i32), for quantize buffers[1 + n_operands] the result's encoding. A
 * matmul's computes the (batch, column) items [first, last), so that the walker can split them
 * over its threads; the others compute the whole node. */
typedef void (*interp_node_fn)(void *const *buffers, int64_t tokens, int64_t positions,
                               int64_t first, int64_t last);
/* The same for four activation rows j at once, each weight block decoded once for the four:
 * y[j * y_stride + r], each value exactly gemv's. */
typedef void (*interp_gemm4_fn)(const uint8_t *w, int64_t row_bytes, int64_t rows,
                                const int8_t *const *a_q, const float *const *a_d,
                                const int16_t *const *a_s16, const int16_t *const *a_s32, int64_t k,
                                float *y, int64_t y_stride);
/* The float matmul of an f16 weight read in place (codegen/llvm/emit_fdot.h): y[j * y_stride + r]
 * for weight rows r < rows and activation rows j < m (a + j * a_stride, f32), each value exactly
 * simd_dot64's (one_row) or simd_dot16's; k a positive multiple of INTERP_FGEMM_K_MULTIPLE. */
typedef void (*interp_fgemm_fn)(const uint8_t *w, int64_t row_bytes, int64_t rows, const float *a,
                                int64_t a_stride, int64_t m, int64_t k, bool one_row, float *y,
                                int64_t y_stride);
#define INTERP_FGEMM_K_MULTIPLE 64
typedef struct interp_kernels {
  interp_gemv_fn gemv[IR_DTYPE_COUNT][2];
  interp_gemm4_fn gemm4[IR_DTYPE_COUNT][2]; /* NULL: gemv row by row */
  /* the tiled order for eight activation rows at once (arrays of eight); NULL: gemm4 */
  interp_gemm4_fn gemm8[IR_DTYPE_COUNT];
  interp_fgemm_fn fgemm[IR_DTYPE_COUNT]; /* by weight type; NULL: the interpreter's C */
  /* node[i] runs value i of the graph, or is NULL (the interpreter's C); n_nodes entries */
  const interp_node_fn *node;
  uint32_t n_nodes;
} interp_kernels;

/* The matmul kernels of interp_kernels by kind, so that a target binds them from a list (the
 * JIT's look-ups, an ahead-of-time module's table: runtime/compiled.h) with one mapping. */
typedef enum interp_kernel_kind {
  INTERP_KERNEL_GEMV,        /* gemv[dtype][0] */
  INTERP_KERNEL_GEMV_TILED,  /* gemv[dtype][1] */
  INTERP_KERNEL_GEMM4,       /* gemm4[dtype][0] */
  INTERP_KERNEL_GEMM4_TILED, /* gemm4[dtype][1] */
  INTERP_KERNEL_GEMM8,       /* gemm8[dtype] */
  INTERP_KERNEL_FGEMM,       /* fgemm[dtype] */
  INTERP_KERNEL_KIND_COUNT
} interp_kernel_kind;
/* Puts fn in kernels' slot of kind and dtype; false if there is no such slot. */
bool interp_kernels_set(interp_kernels *kernels, interp_kernel_kind kind, int dtype, void *fn);

/* Whether a node kernel for v gets operand o as the f16 bits of a KV cache, in place, instead of
 * f32 values: flash_attention's keys or values straight from kv_read of an f16 state (the
 * interpreter keeps such a cache as f16). Kernels widen what they load. */
bool interp_reads_half_cache(const ir_value *v, uint32_t o);

/* The kernels must outlive the session; NULL: none. */
void interp_set_kernels(interp_session *session, const interp_kernels *kernels);

/* Binds the weight named tensor_name to data of type dtype laid out as the weight's IR type. The
 * data must outlive the session. Bindings take precedence over the GGUF file. */
chord_status interp_bind_weight(interp_session *session, const char *tensor_name, ir_dtype dtype,
                                const void *data, chord_error *error);

/* Inputs for the next run, by name: i32 or f32 according to the input's type; count must equal
 * the element count of the input's shape at the run's T and P (the data is copied at the run). */
chord_status interp_set_input(interp_session *session, const char *name, const void *data,
                              int64_t count, chord_error *error);

/* Runs one step of n_tokens tokens; afterwards P grows by n_tokens. */
chord_status interp_run(interp_session *session, int64_t n_tokens, chord_error *error);

/* The bytes of the arena the session holds: the largest memory plan so far with a margin (every
 * activation of a step lives there; the KV cache and the weights do not). */
size_t interp_arena_size(const interp_session *session);

/* The bytes of the arena a step of T = tokens, P = positions plans for g, as interp_run plans it,
 * and how many of them the graph's outputs take (what `chord ir --stats` reports). */
chord_status interp_plan_activations(const ir_graph *g, int64_t tokens, int64_t positions,
                                     size_t *bytes, size_t *output_bytes, chord_error *error);

/* Positions already in the KV cache (P of the next run). */
int64_t interp_positions(const interp_session *session);

/* Forgets cached positions keep .. keep + discard - 1: the later ones move down by discard and
 * the keys among them (the KV-cache states a rope result is written to) are rotated by -discard
 * positions with the rope node's arithmetic and rounded to the cache type, as llama.cpp's context
 * shift does; P shrinks by discard. */
chord_status interp_shift(interp_session *session, int64_t keep, int64_t discard,
                          chord_error *error);

/* Output i of the last run: f32 data (i32 outputs are converted), its dims (outermost first) and
 * rank; NULL if there is no such output. Valid until the next run. */
const float *interp_output(const interp_session *session, uint32_t i, int64_t dims[IR_MAX_DIMS],
                           uint32_t *rank);

/* For targets built on the interpreter target (codegen/llvm/cpu_target.c): its table, and the
 * kernels its sessions get (they must outlive the program). */
struct target_info;
extern const struct target_info target_interp;
void interp_program_set_kernels(void *interp_program, const interp_kernels *kernels);
/* The interpreter target's instance functions, for a table that shares its instances. */
void interp_target_free_instance(void *instance);
chord_status interp_target_step(void *instance, const int32_t *tokens, const int32_t *positions,
                                int64_t n_tokens, chord_error *error);
const float *interp_target_logits(void *instance, int64_t *rows, int64_t *n_vocab);
int64_t interp_target_positions(const void *instance);
chord_status interp_target_set_positions(void *instance, int64_t n, chord_error *error);
chord_status interp_target_shift(void *instance, int64_t keep, int64_t discard, chord_error *error);

#endif
