/* The verifier: one test per diagnostic. Each builds a valid graph, breaks one invariant the way a
 * buggy pass could, and checks that the message names the value and op. */
#include <stdio.h>
#include <string.h>

#include "ir_test.h"

typedef struct fixture {
  ir_graph *g;
  ir_value *x, *w, *y, *z; /* x f32[T, 64], w f32[128, 64], y = matmul x, w, z = silu y */
  chord_error error;
} fixture;

static fixture setup(void) {
  fixture f = {.g = new_graph()};
  f.x = input(f.g, "x", type_of(IR_DTYPE_F32, 2, DIM_T, K(64), K(0)));
  f.w = weight(f.g, "blk.0.w", type_of(IR_DTYPE_F32, 2, K(128), K(64), K(0)));
  f.y = ir_build_matmul(f.g, f.x, f.w, &f.error);
  f.z = ir_build_unary(f.g, IR_OP_SILU, f.y, &f.error);
  cr_assert_not_null(f.z);
  cr_assert_eq(ir_graph_add_output(f.g, f.z, &f.error), CHORD_OK);
  cr_assert_eq(ir_verify(f.g, &f.error), CHORD_OK, "%s", f.error.message);
  return f;
}

static void expect_invalid(fixture *f, const char *message) {
  cr_assert_eq(ir_verify(f->g, &f->error), CHORD_ERROR_INVALID, "the verifier accepted it");
  cr_assert_str_eq(f->error.message, message);
  ir_graph_free(f->g);
}

Test(ir_verify, value_out_of_place) {
  fixture f = setup();
  f.y->index = 7;
  expect_invalid(&f, "value 2 is out of place");
}

Test(ir_verify, unknown_dtype) {
  fixture f = setup();
  f.x->type.dtype = IR_DTYPE_COUNT;
  expect_invalid(&f, "%x: unknown dtype 34");
}

Test(ir_verify, rank_too_large) {
  fixture f = setup();
  f.x->type.rank = 5;
  expect_invalid(&f, "%x: rank 5 is more than 4");
}

Test(ir_verify, weight_without_name) {
  fixture f = setup();
  f.w->name = "";
  expect_invalid(&f, "@\"\": weight without a tensor name");
}

Test(ir_verify, name_defined_twice) {
  fixture f = setup();
  f.z->name = "y";
  f.y->name = "y";
  expect_invalid(&f, "%y (silu): name defined twice (first as value 2)");
}

Test(ir_verify, unknown_op) {
  fixture f = setup();
  f.z->op = IR_OP_COUNT;
  char want[64];
  snprintf(want, sizeof want, "%%3 (?): unknown op %d", (int)IR_OP_COUNT);
  expect_invalid(&f, want);
}

Test(ir_verify, operand_count) {
  fixture f = setup();
  f.z->n_operands = 2;
  f.z->operands = f.y->operands;
  expect_invalid(&f, "%3 (silu): has 2 operands; silu takes 1..1");
}

Test(ir_verify, dangling_operand) {
  fixture f = setup();
  ir_graph *other = new_graph();
  ir_value *stranger = input(other, "s", type_of(IR_DTYPE_F32, 2, DIM_T, K(128), K(0)));
  f.z->operands[0] = stranger;
  cr_assert_eq(ir_verify(f.g, &f.error), CHORD_ERROR_INVALID);
  cr_assert_str_eq(f.error.message, "%3 (silu): operand 0 is a dangling value (not in the graph)");
  ir_graph_free(other);
  ir_graph_free(f.g);
}

Test(ir_verify, use_before_def) {
  fixture f = setup();
  /* swap y and z in program order: silu now comes before the matmul it reads */
  f.g->values[2] = f.z;
  f.g->values[3] = f.y;
  f.z->index = 2;
  f.y->index = 3;
  expect_invalid(&f, "%2 (silu): operand 0 %3 is used before it is defined");
}

Test(ir_verify, attribute_unknown_id) {
  fixture f = setup();
  ir_value *n = ir_build_rms_norm(f.g, f.z, 1e-6, &f.error);
  ir_graph_add_output(f.g, n, &f.error);
  n->attrs[0].id = IR_ATTR_COUNT;
  expect_invalid(&f, "%4 (rms_norm): attribute 0 has an unknown id");
}

Test(ir_verify, attribute_not_taken) {
  fixture f = setup();
  ir_value *n = ir_build_rms_norm(f.g, f.z, 1e-6, &f.error);
  ir_graph_add_output(f.g, n, &f.error);
  n->attrs[0].id = IR_ATTR_WINDOW;
  expect_invalid(&f, "%4 (rms_norm): rms_norm takes no attribute window");
}

Test(ir_verify, attribute_repeated) {
  fixture f = setup();
  ir_value *operands[] = {f.z};
  ir_attr attrs[] = {ir_attr_float(IR_ATTR_SCALE, 2), ir_attr_float(IR_ATTR_SOFTCAP, 30)};
  ir_value *s = ir_build(f.g, IR_OP_SOFTMAX, operands, 1, attrs, 2, &f.error);
  ir_graph_add_output(f.g, s, &f.error);
  s->attrs[1].id = IR_ATTR_SCALE;
  expect_invalid(&f, "%4 (softmax): attribute scale is repeated or out of order");
}

Test(ir_verify, attribute_enum_out_of_range) {
  fixture f = setup();
  ir_attr approx = ir_attr_enum(IR_ATTR_APPROX, 1);
  ir_value *gelu = ir_build(f.g, IR_OP_GELU, &f.z, 1, &approx, 1, &f.error);
  ir_graph_add_output(f.g, gelu, &f.error);
  gelu->attrs[0].as.i = 3;
  expect_invalid(&f, "%4 (gelu): approx = 3 is not one of tanh|erf|tanh_f16");
}

Test(ir_verify, attribute_shape_too_long) {
  fixture f = setup();
  ir_dim dims[] = {DIM_T, K(128)};
  ir_value *r = ir_build_reshape(f.g, f.z, dims, 2, &f.error);
  ir_graph_add_output(f.g, r, &f.error);
  r->attrs[0].count = 5;
  expect_invalid(&f, "%4 (reshape): shape has 5 dims, more than 4");
}

Test(ir_verify, attribute_string_missing) {
  fixture f = setup();
  ir_attr body = ir_attr_string(IR_ATTR_BODY, "silu($0)");
  ir_value *r = ir_build(f.g, IR_OP_FUSED_REGION, &f.z, 1, &body, 1, &f.error);
  ir_graph_add_output(f.g, r, &f.error);
  r->attrs[0].as.s = NULL;
  expect_invalid(&f, "%4 (fused_region): body has no string");
}

Test(ir_verify, attribute_missing) {
  fixture f = setup();
  ir_value *n = ir_build_rms_norm(f.g, f.z, 1e-6, &f.error);
  ir_graph_add_output(f.g, n, &f.error);
  n->n_attrs = 0;
  expect_invalid(&f, "%4 (rms_norm): missing attribute eps");
}

Test(ir_verify, shape_rule_fails) {
  fixture f = setup();
  f.w->type.dims[1] = K(32);
  expect_invalid(&f, "%2 (matmul): inner dims differ: 64 (a) vs 32 (b's last dim)");
}

Test(ir_verify, type_differs_from_inferred) {
  fixture f = setup();
  f.z->type.dims[0] = (ir_dim){1, 1, 0};
  expect_invalid(&f, "%3 (silu): type f32[P+T, 128] differs from the inferred f32[T, 128]");
}

Test(ir_verify, dangling_output) {
  fixture f = setup();
  ir_graph *other = new_graph();
  f.g->outputs[0] = input(other, "s", type_of(IR_DTYPE_F32, 1, K(1), K(0), K(0)));
  cr_assert_eq(ir_verify(f.g, &f.error), CHORD_ERROR_INVALID);
  cr_assert_str_eq(f.error.message, "output 0 is a dangling value");
  ir_graph_free(other);
  ir_graph_free(f.g);
}

Test(ir_verify, no_outputs) {
  fixture f = setup();
  f.g->n_outputs = 0;
  expect_invalid(&f, "graph @test has no outputs");
}

Test(ir_verify, result_never_used) {
  fixture f = setup();
  ir_build_scale(f.g, f.y, 2.0, &f.error);
  expect_invalid(&f, "%4 (scale): result is never used (and not an output)");
}

Test(ir_verify, stateful_results_may_go_unused) {
  fixture f = setup();
  ir_type cache = type_of(IR_DTYPE_F16, 2, K(2048), K(128), K(0));
  ir_value *state = ir_graph_add_state(f.g, "cache", &cache, &f.error);
  cr_assert_not_null(ir_build_binary(f.g, IR_OP_KV_WRITE, state, f.z, &f.error), "%s",
                     f.error.message);
  cr_assert_eq(ir_verify(f.g, &f.error), CHORD_OK, "%s", f.error.message);
  ir_graph_free(f.g);
}
