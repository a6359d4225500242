/* A compiled program's insides (runtime/program.c, runtime/session.c). */
#ifndef CHORD_RUNTIME_PROGRAM_INTERNAL_H
#define CHORD_RUNTIME_PROGRAM_INTERNAL_H

#include "codegen/target.h"
#include "ir/ir.h"
#include "runtime/model_internal.h"

struct chord_program {
  chord_model *model;
  const target_info *target;
  ir_graph *graph;
  void *code; /* the target's program */
  int64_t n_ctx, n_batch;
  int n_threads;
};

/* The KV-cache positions of a lowered graph (the first dimension of its state), 0 if it has none.
 */
int64_t program_graph_context_size(const ir_graph *g);

/* The program a session runs (runtime/session.c). */
const chord_program *chord_session_program(const chord_session *session);

#endif
