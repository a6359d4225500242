/* The pattern rewriter, with MLIR's contract: a pattern has a name; its match looks at the graph
 * without changing it (it gets const pointers); every change goes through the rewriter below; the
 * driver applies patterns until nothing matches, for at most a bounded number of sweeps, and
 * reports the patterns still firing when the bound is hit. */
#ifndef CHORD_PASSES_REWRITER_H
#define CHORD_PASSES_REWRITER_H

#include "ir/ir.h"

typedef struct pass_rewriter pass_rewriter;

typedef struct pass_pattern {
  const char *name;
  ir_op root; /* the op the pattern is rooted at */
  /* Whether the pattern applies at root. Must not change anything. */
  bool (*match)(const ir_graph *g, const ir_value *root);
  /* Rewrites root through the rewriter; called only after match returned true. */
  chord_status (*rewrite)(pass_rewriter *rw, ir_value *root);
} pass_pattern;

struct pass_rewriter {
  ir_graph *g;
  ir_value *root;      /* new ops are inserted just before it */
  chord_error *error;  /* where a failing rewrite leaves its message */
  uint32_t n_rewrites; /* changes made so far */
};

/* A rewriter for changes made outside the pattern driver (e.g. by CSE). */
void pass_rewriter_init(pass_rewriter *rw, ir_graph *g, chord_error *error);
/* Builds op (as ir_build) just before the current root; NULL with the message in rw->error. */
ir_value *pass_rewriter_build(pass_rewriter *rw, ir_op op, ir_value *const *operands,
                              uint32_t n_operands, const ir_attr *attrs, uint32_t n_attrs);
/* Points every use of old at replacement (which must come before old's users), gives old's name
 * to an unnamed replacement, and erases old and whatever that leaves dead. */
void pass_rewriter_replace(pass_rewriter *rw, ir_value *old, ir_value *replacement);
/* Erases v (which must be unused) and, recursively, operands it leaves unused; stateful ops,
 * inputs, weights and state are kept. */
void pass_rewriter_erase(pass_rewriter *rw, ir_value *v);

enum { PASS_REWRITE_MAX_SWEEPS = 16 };

/* Applies the patterns over g until a sweep changes nothing, for at most max_sweeps sweeps (a sweep
 * visits every op once; ops created during a sweep are visited by the next). Hitting the bound is
 * an error naming the patterns that fired in the last sweep. *n_rewrites (may be NULL) gets the
 * number of rewrites. */
chord_status pass_rewrite_greedy(ir_graph *g, const pass_pattern *patterns, uint32_t n_patterns,
                                 uint32_t max_sweeps, uint32_t *n_rewrites, chord_error *error);

#endif
