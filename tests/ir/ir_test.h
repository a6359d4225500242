/* Shared helpers of the IR's Criterion tests: a graph with the usual leaves. */
#ifndef CHORD_TESTS_IR_TEST_H
#define CHORD_TESTS_IR_TEST_H

#include <criterion/criterion.h>

#include "ir/ir.h"

static const ir_dim DIM_T = {1, 0, 0};
static const ir_dim DIM_P = {0, 1, 0};

static inline ir_type type_of(ir_dtype dtype, uint32_t rank, ir_dim d0, ir_dim d1, ir_dim d2) {
  ir_type t = {dtype, rank, {d0, d1, d2, ir_dim_const(0)}};
  return t;
}

static inline ir_dim K(int64_t c) { return ir_dim_const(c); }

static inline ir_graph *new_graph(void) {
  ir_graph *g;
  chord_error error;
  cr_assert_eq(ir_graph_init(&g, "test", &error), CHORD_OK);
  return g;
}

static inline ir_value *input(ir_graph *g, const char *name, ir_type t) {
  chord_error error;
  ir_value *v = ir_graph_add_input(g, name, &t, &error);
  cr_assert_not_null(v);
  return v;
}

static inline ir_value *weight(ir_graph *g, const char *name, ir_type t) {
  chord_error error;
  ir_value *v = ir_graph_add_weight(g, name, &t, &error);
  cr_assert_not_null(v);
  return v;
}

static inline const char *type_text(const ir_type *t) {
  static char buf[4][256];
  static int next;
  char *b = buf[next++ % 4];
  ir_type_format(t, b, 256);
  return b;
}

#endif
