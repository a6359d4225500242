/* Op counts of a graph by kind and by decoder layer: what `chord ir --stats` and `chord opt
 * --stats` print, so that a pass's effect on each layer is visible at a glance.
 *
 * A node belongs to the latest layer whose weights or KV cache it reads, directly or through its
 * operands: weights named blk.N.* and state named *.N (cache_k.N) are layer N, token_embd.* and
 * the graph's inputs come before every layer ("embed"), any other weight (output_norm, output)
 * after them ("head"). So the norm that opens layer N+1 counts toward layer N, which keeps the
 * counts of every layer alike. */
#ifndef CHORD_IR_STATS_H
#define CHORD_IR_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "ir/ir.h"

typedef struct ir_stats {
  uint32_t n_inputs, n_weights, n_state, n_nodes, n_outputs;
  uint64_t weight_bytes;
  uint32_t n_layers; /* rows of `counts`: embed, layer 0 .. n_layers-1, head */
  uint32_t *counts;  /* [row * IR_OP_COUNT + op] */
} ir_stats;

chord_status ir_stats_compute(const ir_graph *g, ir_stats *out, chord_error *error);
void ir_stats_free(ir_stats *s);
/* A summary line, the op counts by kind, and (for graphs with layers) a table of layers by kind. */
chord_status ir_stats_print(const ir_stats *s, FILE *out, chord_error *error);

#endif
