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

/* Threads for matmul (default 1). */
void interp_set_threads(interp_session *session, int n_threads);

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

/* Positions already in the KV cache (P of the next run). */
int64_t interp_positions(const interp_session *session);

/* Output i of the last run: f32 data (i32 outputs are converted), its dims (outermost first) and
 * rank; NULL if there is no such output. Valid until the next run. */
const float *interp_output(const interp_session *session, uint32_t i, int64_t dims[IR_MAX_DIMS],
                           uint32_t *rank);

#endif
