/* The reference interpreter as a target (codegen/target.h): "compiling" keeps the graph, loading
 * opens an interpreter session. It runs every op, so it is the fallback and the oracle. */
#include "codegen/target.h"
#include "runtime/interp/interp.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

typedef struct interp_program {
  const ir_graph *graph;
  int n_threads;
  const interp_kernels *kernels; /* lent by a target built on this one, or NULL */
  bool out_rows;                 /* the graph has the %out_rows input (lower.h) */
} interp_program;

typedef struct interp_instance {
  const interp_program *program;
  const gguf_file *weights;
  interp_session *session;
  bool stepped; /* logits exist */
} interp_instance;

static bool interp_supports_op(const ir_value *v) {
  (void)v;
  return true;
}

static chord_status interp_compile(const ir_graph *graph, const target_options *options, void **out,
                                   chord_error *error) {
  interp_program *p = rt_calloc(1, sizeof *p);
  if (!p)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory");
  p->graph = graph;
  p->out_rows = ir_graph_find(graph, IR_VALUE_INPUT, "out_rows", 8) != NULL;
  p->n_threads = options && options->n_threads > 0 ? options->n_threads : 1;
  *out = p;
  return CHORD_OK;
}

static void interp_free_program(void *program) { rt_free(program); }

void interp_program_set_kernels(void *program, const interp_kernels *kernels) {
  ((interp_program *)program)->kernels = kernels;
}

static chord_status open_session(interp_instance *in, chord_error *error) {
  chord_status st = interp_init(&in->session, in->program->graph, in->weights, error);
  if (st == CHORD_OK) {
    interp_set_threads(in->session, in->program->n_threads);
    interp_set_kernels(in->session, in->program->kernels);
  }
  in->stepped = false;
  return st;
}

static chord_status interp_load(void *program, const gguf_file *weights, void **out,
                                chord_error *error) {
  interp_instance *in = rt_calloc(1, sizeof *in);
  if (!in)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "interp: out of memory");
  in->program = program;
  in->weights = weights;
  chord_status st = open_session(in, error);
  if (st != CHORD_OK) {
    rt_free(in);
    return st;
  }
  *out = in;
  return CHORD_OK;
}

void interp_target_free_instance(void *instance) {
  interp_instance *in = instance;
  if (in)
    interp_free(in->session);
  rt_free(in);
}

chord_status interp_target_step(void *instance, const int32_t *tokens, const int32_t *positions,
                                int64_t n_tokens, chord_error *error) {
  interp_instance *in = instance;
  chord_status st = interp_set_input(in->session, "tokens", tokens, n_tokens, error);
  if (st == CHORD_OK)
    st = interp_set_input(in->session, "pos", positions, n_tokens, error);
  int32_t last = (int32_t)(n_tokens - 1); /* lower.h: the row whose logits are wanted */
  if (st == CHORD_OK && in->program->out_rows)
    st = interp_set_input(in->session, "out_rows", &last, 1, error);
  if (st == CHORD_OK)
    st = interp_run(in->session, n_tokens, error);
  in->stepped = st == CHORD_OK;
  return st;
}

const float *interp_target_logits(void *instance, int64_t *rows, int64_t *n_vocab) {
  interp_instance *in = instance;
  int64_t dims[IR_MAX_DIMS];
  uint32_t rank;
  const float *data = in->stepped ? interp_output(in->session, 0, dims, &rank) : NULL;
  if (!data || rank != 2)
    return NULL;
  *rows = dims[0];
  *n_vocab = dims[1];
  return data;
}

int64_t interp_target_positions(const void *instance) {
  const interp_instance *in = instance;
  return interp_positions(in->session);
}

chord_status interp_target_set_positions(void *instance, int64_t n, chord_error *error) {
  interp_instance *in = instance;
  if (n == interp_positions(in->session))
    return CHORD_OK;
  if (n != 0)
    return rt_error(error, CHORD_ERROR_UNSUPPORTED,
                    "interp: can only forget the whole KV cache, not keep %lld positions",
                    (long long)n);
  /* the cache contents past P are never read, but a fresh session is the simplest reset */
  interp_free(in->session);
  in->session = NULL;
  return open_session(in, error);
}

chord_status interp_target_shift(void *instance, int64_t keep, int64_t discard,
                                 chord_error *error) {
  interp_instance *in = instance;
  return interp_shift(in->session, keep, discard, error);
}

const target_info target_interp = {
    .name = "interp",
    .description = "the reference interpreter: plain C, f32, every op (slow; the oracle)",
    .supports_op = interp_supports_op,
    .compile = interp_compile,
    .free_program = interp_free_program,
    .load = interp_load,
    .free_instance = interp_target_free_instance,
    .step = interp_target_step,
    .logits = interp_target_logits,
    .positions = interp_target_positions,
    .set_positions = interp_target_set_positions,
    .shift = interp_target_shift,
};
