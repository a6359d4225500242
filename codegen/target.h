/* The target interface: what every place that runs a graph implements — the reference
 * interpreter today, the LLVM CPU target and the GPU targets later. Passes and the runtime's
 * generation loop only see this table, never a particular target.
 *
 * The life of a graph on a target:
 *   supports_op  can the target run this node (checked for every node before compiling)
 *   compile      emit and compile code for the whole graph (shapes are known, T and P aside)
 *   load         bind the program to weights (mapped GGUF) and allocate its state (KV cache)
 *   step         run one step of n tokens at positions P .. P+n-1; P then grows by n
 *   logits       the output rows of the last step
 *   set_positions  forget cached positions from n on (0: a fresh conversation)
 *   shift        forget positions keep .. keep + discard - 1, moving the later ones down (a
 *                context shift: their keys re-rotated to their new positions)
 * A program may be loaded more than once; instances never share state. */
#ifndef CHORD_CODEGEN_TARGET_H
#define CHORD_CODEGEN_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "chord.h"
#include "frontends/gguf/gguf.h"
#include "ir/ir.h"

typedef struct target_options {
  int n_threads; /* worker threads (CPU targets); 0: one */
} target_options;

typedef struct target_info {
  const char *name;
  const char *description;
  bool (*supports_op)(const ir_value *v);
  /* The graph must outlive the program. */
  chord_status (*compile)(const ir_graph *graph, const target_options *options, void **program,
                          chord_error *error);
  void (*free_program)(void *program);
  /* The weights must outlive the instance. */
  chord_status (*load)(void *program, const gguf_file *weights, void **instance,
                       chord_error *error);
  void (*free_instance)(void *instance);
  chord_status (*step)(void *instance, const int32_t *tokens, const int32_t *positions,
                       int64_t n_tokens, chord_error *error);
  /* f32 [rows, n_vocab] of the last step, valid until the next step; NULL before the first. */
  const float *(*logits)(void *instance, int64_t *rows, int64_t *n_vocab);
  int64_t (*positions)(const void *instance);
  chord_status (*set_positions)(void *instance, int64_t n, chord_error *error);
  chord_status (*shift)(void *instance, int64_t keep, int64_t discard, chord_error *error);
} target_info;

/* The target named name ("interp", ...), or NULL. */
const target_info *target_find(const char *name);
/* "interp, cpu" (for messages and --help). */
void target_list_names(char *buf, size_t size);
/* Checks supports_op for every node; the error names the first node the target cannot run. */
chord_status target_check_graph(const target_info *target, const ir_graph *graph,
                                chord_error *error);

#endif
