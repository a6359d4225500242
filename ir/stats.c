/* ir/stats.h: counts by kind and layer. */
#include "ir/stats.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

enum { LAYER_EMBED = -1, LAYER_HEAD = INT32_MAX };

/* "blk.12.attn_q.weight" -> 12; -1 when the name does not start that way. */
static int64_t block_index(const char *name) {
  if (strncmp(name, "blk.", 4) != 0 || name[4] < '0' || name[4] > '9')
    return -1;
  char *end;
  long long n = strtoll(name + 4, &end, 10);
  return *end == '.' && n < LAYER_HEAD ? n : -1;
}

/* "cache_k.12" -> 12; -1 without a numeric last component. */
static int64_t suffix_index(const char *name) {
  const char *dot = strrchr(name, '.');
  if (!dot || !dot[1])
    return -1;
  char *end;
  long long n = strtoll(dot + 1, &end, 10);
  return *end == '\0' && dot[1] >= '0' && dot[1] <= '9' && n < LAYER_HEAD ? n : -1;
}

static int64_t leaf_layer(const ir_value *v) {
  if (!v->name || v->kind == IR_VALUE_INPUT)
    return LAYER_EMBED;
  if (v->kind == IR_VALUE_STATE) {
    int64_t n = suffix_index(v->name);
    return n >= 0 ? n : LAYER_EMBED;
  }
  int64_t n = block_index(v->name);
  if (n >= 0)
    return n;
  return strncmp(v->name, "token_embd.", 11) == 0 ? LAYER_EMBED : LAYER_HEAD;
}

chord_status ir_stats_compute(const ir_graph *g, ir_stats *out, chord_error *error) {
  *out = (ir_stats){.n_outputs = g->n_outputs};
  int64_t *layer = rt_malloc(sizeof *layer * (g->n_values ? g->n_values : 1));
  if (!layer)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory counting ops");
  int64_t max_layer = -1;
  for (uint32_t i = 0; i < g->n_values; i++) {
    const ir_value *v = g->values[i];
    switch (v->kind) {
    case IR_VALUE_INPUT: out->n_inputs++; break;
    case IR_VALUE_STATE: out->n_state++; break;
    case IR_VALUE_NODE: out->n_nodes++; break;
    case IR_VALUE_WEIGHT: {
      out->n_weights++;
      uint64_t elems = 1, bytes;
      for (uint32_t d = 0; d < v->type.rank; d++)
        elems *= (uint64_t)v->type.dims[d].c;
      if (ir_dtype_row_bytes(v->type.dtype, elems, &bytes))
        out->weight_bytes += bytes;
      break;
    }
    }
    if (v->kind != IR_VALUE_NODE) {
      layer[i] = leaf_layer(v);
    } else {
      layer[i] = LAYER_EMBED;
      for (uint32_t k = 0; k < v->n_operands; k++)
        if (layer[v->operands[k]->index] > layer[i])
          layer[i] = layer[v->operands[k]->index];
    }
    if (layer[i] != LAYER_HEAD && layer[i] > max_layer)
      max_layer = layer[i];
  }
  out->n_layers = (uint32_t)(max_layer + 1);
  size_t rows = (size_t)out->n_layers + 2;
  out->counts = rt_calloc(rows * IR_OP_COUNT, sizeof *out->counts);
  if (!out->counts) {
    rt_free(layer);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory counting ops");
  }
  for (uint32_t i = 0; i < g->n_values; i++) {
    const ir_value *v = g->values[i];
    if (v->kind != IR_VALUE_NODE)
      continue;
    size_t row = layer[i] == LAYER_HEAD ? rows - 1 : (size_t)(layer[i] + 1);
    out->counts[row * IR_OP_COUNT + v->op]++;
  }
  rt_free(layer);
  return CHORD_OK;
}

void ir_stats_free(ir_stats *s) {
  rt_free(s->counts);
  s->counts = NULL;
}

static uint32_t row_total(const ir_stats *s, size_t row) {
  uint32_t n = 0;
  for (int op = 0; op < IR_OP_COUNT; op++)
    n += s->counts[row * IR_OP_COUNT + op];
  return n;
}

static uint32_t op_total(const ir_stats *s, int op) {
  uint32_t n = 0;
  for (size_t row = 0; row < (size_t)s->n_layers + 2; row++)
    n += s->counts[row * IR_OP_COUNT + op];
  return n;
}

static void row_label(const ir_stats *s, size_t row, char *buf, size_t size) {
  if (row == 0)
    snprintf(buf, size, "embed");
  else if (row == (size_t)s->n_layers + 1)
    snprintf(buf, size, "head");
  else
    snprintf(buf, size, "blk.%zu", row - 1);
}

chord_status ir_stats_print(const ir_stats *s, FILE *out, chord_error *error) {
  fprintf(out,
          "%" PRIu32 " ops, %" PRIu32 " inputs, %" PRIu32 " weights (%.1f MiB), %" PRIu32
          " state, %" PRIu32 " outputs\n",
          s->n_nodes, s->n_inputs, s->n_weights, (double)s->weight_bytes / (1024.0 * 1024.0),
          s->n_state, s->n_outputs);
  fprintf(out, "\nops by kind:\n");
  for (int op = 0; op < IR_OP_COUNT; op++) {
    uint32_t n = op_total(s, op);
    if (n)
      fprintf(out, "  %-20s %6" PRIu32 "\n", ir_op_get((ir_op)op)->name, n);
  }
  if (s->n_layers > 0) {
    /* one column per op kind that occurs, as wide as its name */
    fprintf(out, "\nops by layer:\n  %-8s %5s", "layer", "ops");
    for (int op = 0; op < IR_OP_COUNT; op++)
      if (op_total(s, op))
        fprintf(out, " %s", ir_op_get((ir_op)op)->name);
    fputc('\n', out);
    for (size_t row = 0; row < (size_t)s->n_layers + 2; row++) {
      char label[32];
      row_label(s, row, label, sizeof label);
      fprintf(out, "  %-8s %5" PRIu32, label, row_total(s, row));
      for (int op = 0; op < IR_OP_COUNT; op++)
        if (op_total(s, op))
          fprintf(out, " %*" PRIu32, (int)strlen(ir_op_get((ir_op)op)->name),
                  s->counts[row * IR_OP_COUNT + op]);
      fputc('\n', out);
    }
  }
  if (ferror(out))
    return rt_error(error, CHORD_ERROR_IO, "cannot write the statistics");
  return CHORD_OK;
}
