/* The builder and shape inference: each op's result type from its operands and attributes, the
 * errors of bad combinations, dimension arithmetic, and print -> parse -> print through the API. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir_test.h"
#include "runtime/support/alloc.h"

/* ---- dimensions ------------------------------------------------------------------------------ */

static const char *dim_text(ir_dim d) {
  static char buf[4][64];
  static int next;
  char *b = buf[next++ % 4];
  ir_dim_format(d, b, 64);
  return b;
}

Test(ir_dim, canonical_text) {
  cr_assert_str_eq(dim_text(K(640)), "640");
  cr_assert_str_eq(dim_text(DIM_T), "T");
  cr_assert_str_eq(dim_text((ir_dim){1, 1, 0}), "P+T");
  cr_assert_str_eq(dim_text((ir_dim){2, 0, -1}), "2*T-1");
  cr_assert_str_eq(dim_text((ir_dim){-1, 0, 3}), "-T+3");
  cr_assert_str_eq(dim_text((ir_dim){1, -1, 0}), "-P+T");
  cr_assert_str_eq(dim_text(K(-4)), "-4");
}

Test(ir_dim, multiply_and_divide_stay_linear) {
  ir_dim d;
  cr_assert(ir_dim_mul(K(32), (ir_dim){1, 1, 0}, &d));
  cr_assert_str_eq(dim_text(d), "32*P+32*T");
  cr_assert_not(ir_dim_mul(DIM_T, DIM_P, &d), "T*P is not linear");
  cr_assert(ir_dim_div((ir_dim){8, 0, 16}, K(8), &d));
  cr_assert_str_eq(dim_text(d), "T+2");
  cr_assert_not(ir_dim_div(DIM_T, K(2), &d), "T/2 is not exact");
  cr_assert_not(ir_dim_div(K(4), DIM_T, &d), "division by a symbol");
  cr_assert_not(ir_dim_div(K(4), K(0), &d));
  cr_assert_not(ir_dim_mul(K(INT64_MAX), K(2), &d), "overflow");
}

Test(ir_dim, element_counts) {
  ir_dim a[] = {DIM_T, K(512)}, b[] = {DIM_T, K(8), K(64)}, c[] = {(ir_dim){2, 0, 0}, K(64)},
         d[] = {DIM_T, K(2), K(64)}, e[] = {DIM_P, K(512)}, f[] = {K(2), (ir_dim){1, 1, 0}},
         h[] = {(ir_dim){2, 2, 0}};
  cr_assert(ir_shape_same_count(a, 2, b, 3));
  cr_assert(ir_shape_same_count(c, 2, d, 3));
  cr_assert_not(ir_shape_same_count(a, 2, e, 2));
  cr_assert(ir_shape_same_count(f, 2, h, 1));
  cr_assert_not(ir_shape_same_count(a, 2, c, 2));
}

/* ---- ops ------------------------------------------------------------------------------------- */

typedef struct fixture {
  ir_graph *g;
  ir_value *x;   /* f32[T, 512] */
  ir_value *ids; /* i32[T] */
  chord_error error;
} fixture;

static fixture setup(void) {
  fixture f = {.g = new_graph()};
  f.x = input(f.g, "x", type_of(IR_DTYPE_F32, 2, DIM_T, K(512), K(0)));
  f.ids = input(f.g, "ids", type_of(IR_DTYPE_I32, 1, DIM_T, K(0), K(0)));
  return f;
}

static chord_error *last_error;

static void expect_type(const ir_value *v, const char *want) {
  cr_assert_not_null(v, "%s", last_error ? last_error->message : "");
  cr_assert_str_eq(type_text(&v->type), want);
}

static void expect_error(ir_value *v, const chord_error *error, const char *part) {
  cr_assert_null(v, "expected a failure mentioning '%s'", part);
  cr_assert(strstr(error->message, part), "message '%s' lacks '%s'", error->message, part);
}

Test(ir_build, get_rows_and_dequantize) {
  fixture f = setup();
  ir_value *emb =
      weight(f.g, "token_embd.weight", type_of(IR_DTYPE_Q4_K, 2, K(32000), K(512), K(0)));
  ir_value *operands[] = {emb, f.ids};
  expect_type(ir_build(f.g, IR_OP_GET_ROWS, operands, 2, NULL, 0, &f.error), "f32[T, 512]");
  expect_type(ir_build_unary(f.g, IR_OP_DEQUANTIZE, emb, &f.error), "f32[32000, 512]");
  ir_value *bad[] = {emb, f.x};
  expect_error(ir_build(f.g, IR_OP_GET_ROWS, bad, 2, NULL, 0, &f.error), &f.error, "rank 1, not 2");
  ir_graph_free(f.g);
}

Test(ir_build, matmul) {
  fixture f = setup();
  ir_value *w = input(f.g, "w", type_of(IR_DTYPE_F32, 2, K(1024), K(512), K(0)));
  ir_value *y = ir_build_matmul(f.g, f.x, w, &f.error);
  expect_type(y, "f32[T, 1024]");
  cr_assert_eq(f.x->n_uses, 1);
  cr_assert_eq(w->n_uses, 1);
  expect_error(ir_build_matmul(f.g, y, w, &f.error), &f.error,
               "matmul %3 : f32[T, 1024], %w : f32[1024, 512]: inner dims differ: 1024 (a) vs 512");
  ir_value *q = weight(f.g, "q", type_of(IR_DTYPE_Q4_K, 2, K(1024), K(512), K(0)));
  expect_error(ir_build_matmul(f.g, f.x, q, &f.error), &f.error, "dequantize it, or use qmatmul");
  expect_type(ir_build_binary(f.g, IR_OP_QMATMUL, f.x, q, &f.error), "f32[T, 1024]");
  ir_graph_free(f.g);
}

Test(ir_build, matmul_grouped_query_broadcast) {
  fixture f = setup();
  ir_value *q = input(f.g, "q", type_of(IR_DTYPE_F32, 3, K(8), DIM_T, K(64)));
  ir_value *k = input(f.g, "k", type_of(IR_DTYPE_F32, 3, K(2), (ir_dim){1, 1, 0}, K(64)));
  expect_type(ir_build_matmul(f.g, q, k, &f.error), "f32[8, T, P+T]");
  ir_value *k3 = input(f.g, "k3", type_of(IR_DTYPE_F32, 3, K(3), DIM_T, K(64)));
  expect_error(ir_build_matmul(f.g, q, k3, &f.error), &f.error,
               "batch dim 3 of b does not divide 8");
  ir_graph_free(f.g);
}

Test(ir_build, elementwise_broadcast) {
  fixture f = setup();
  ir_value *w = input(f.g, "w", type_of(IR_DTYPE_F32, 1, K(512), K(0), K(0)));
  expect_type(ir_build_mul(f.g, f.x, w, &f.error), "f32[T, 512]");
  expect_type(ir_build_add(f.g, w, f.x, &f.error), "f32[T, 512]");
  ir_value *c = input(f.g, "c", type_of(IR_DTYPE_F32, 2, K(1), K(512), K(0)));
  expect_type(ir_build_add(f.g, f.x, c, &f.error), "f32[T, 512]");
  ir_value *bad = input(f.g, "bad", type_of(IR_DTYPE_F32, 1, K(640), K(0), K(0)));
  expect_error(ir_build_add(f.g, f.x, bad, &f.error), &f.error,
               "dims 512 and 640 do not broadcast");
  expect_error(ir_build_add(f.g, f.x, f.ids, &f.error), &f.error, "operand 1 must be f32, not i32");
  expect_type(ir_build_unary(f.g, IR_OP_SILU, f.x, &f.error), "f32[T, 512]");
  expect_type(ir_build_scale(f.g, f.x, 0.5, &f.error), "f32[T, 512]");
  ir_graph_free(f.g);
}

Test(ir_build, norms_and_activations) {
  fixture f = setup();
  expect_type(ir_build_rms_norm(f.g, f.x, 1e-6, &f.error), "f32[T, 512]");
  ir_attr eps = ir_attr_float(IR_ATTR_EPS, 1e-5);
  expect_type(ir_build(f.g, IR_OP_LAYER_NORM, &f.x, 1, &eps, 1, &f.error), "f32[T, 512]");
  ir_attr erf = ir_attr_enum(IR_ATTR_APPROX, ir_attr_enum_index(IR_ATTR_APPROX, "erf", 3));
  expect_type(ir_build(f.g, IR_OP_GELU, &f.x, 1, &erf, 1, &f.error), "f32[T, 512]");
  expect_type(ir_build_unary(f.g, IR_OP_GELU, f.x, &f.error), "f32[T, 512]");
  ir_graph_free(f.g);
}

Test(ir_build, rope) {
  fixture f = setup();
  ir_value *q = input(f.g, "q", type_of(IR_DTYPE_F32, 3, DIM_T, K(8), K(64)));
  ir_value *operands[] = {q, f.ids};
  ir_attr attrs[] = {ir_attr_int(IR_ATTR_N_ROT, 32), ir_attr_float(IR_ATTR_FREQ_BASE, 1e4),
                     ir_attr_enum(IR_ATTR_MODE, 1)};
  ir_value *r = ir_build(f.g, IR_OP_ROPE, operands, 2, attrs, 3, &f.error);
  expect_type(r, "f32[T, 8, 64]");
  cr_assert_eq(r->attrs[0].id, IR_ATTR_MODE, "attributes are kept in table order");
  cr_assert_eq(r->attrs[1].id, IR_ATTR_N_ROT);
  attrs[0] = ir_attr_int(IR_ATTR_N_ROT, 33);
  expect_error(ir_build(f.g, IR_OP_ROPE, operands, 2, attrs, 3, &f.error), &f.error,
               "n_rot = 33 must be even");
  attrs[0] = ir_attr_int(IR_ATTR_N_ROT, 128);
  expect_error(ir_build(f.g, IR_OP_ROPE, operands, 2, attrs, 3, &f.error), &f.error,
               "at most the head dim");
  ir_graph_free(f.g);
}

Test(ir_build, attention_pieces) {
  fixture f = setup();
  last_error = &f.error;
  ir_value *s = input(f.g, "s", type_of(IR_DTYPE_F32, 3, K(8), DIM_T, (ir_dim){1, 1, 0}));
  ir_value *m = input(f.g, "m", type_of(IR_DTYPE_F32, 2, DIM_T, (ir_dim){1, 1, 0}, K(0)));
  expect_type(ir_build_unary(f.g, IR_OP_CAUSAL_MASK, s, &f.error), "f32[8, T, P+T]");
  ir_attr window = ir_attr_int(IR_ATTR_WINDOW, 512);
  expect_type(ir_build(f.g, IR_OP_SLIDING_WINDOW_MASK, &s, 1, &window, 1, &f.error),
              "f32[8, T, P+T]");
  ir_value *operands[] = {s, m};
  ir_attr attrs[] = {ir_attr_float(IR_ATTR_SCALE, 0.125), ir_attr_float(IR_ATTR_SOFTCAP, 50)};
  expect_type(ir_build(f.g, IR_OP_SOFTMAX, operands, 2, attrs, 2, &f.error), "f32[8, T, P+T]");
  ir_value *widen[] = {m, s};
  expect_error(ir_build(f.g, IR_OP_SOFTMAX, widen, 2, NULL, 0, &f.error), &f.error,
               "the mask must broadcast to x");
  ir_graph_free(f.g);
}

Test(ir_build, kv_cache) {
  fixture f = setup();
  ir_type cache_type = type_of(IR_DTYPE_F16, 3, K(2048), K(2), K(64));
  chord_error error;
  ir_value *cache = ir_graph_add_state(f.g, "cache_k", &cache_type, &error);
  ir_value *k = input(f.g, "k", type_of(IR_DTYPE_F32, 3, DIM_T, K(2), K(64)));
  ir_value *written = ir_build_binary(f.g, IR_OP_KV_WRITE, cache, k, &f.error);
  expect_type(written, "f16[2048, 2, 64]");
  expect_type(ir_build_unary(f.g, IR_OP_KV_READ, written, &f.error), "f32[P+T, 2, 64]");
  expect_error(ir_build_unary(f.g, IR_OP_KV_READ, k, &f.error), &f.error,
               "operand 0 must be KV-cache state");
  ir_value *wrong = input(f.g, "wrong", type_of(IR_DTYPE_F32, 3, DIM_T, K(4), K(64)));
  expect_error(ir_build_binary(f.g, IR_OP_KV_WRITE, cache, wrong, &f.error), &f.error,
               "differ in dim 1");
  ir_graph_free(f.g);
}

Test(ir_build, layout_ops) {
  fixture f = setup();
  ir_dim heads[] = {DIM_T, K(8), K(64)};
  ir_value *r = ir_build_reshape(f.g, f.x, heads, 3, &f.error);
  expect_type(r, "f32[T, 8, 64]");
  ir_dim wrong[] = {DIM_T, K(8), K(32)};
  expect_error(ir_build_reshape(f.g, f.x, wrong, 3, &f.error), &f.error, "element counts differ");
  int64_t perm[] = {1, 0, 2};
  ir_attr a = ir_attr_int_list(IR_ATTR_PERM, perm, 3);
  expect_type(ir_build(f.g, IR_OP_PERMUTE, &r, 1, &a, 1, &f.error), "f32[8, T, 64]");
  int64_t not_perm[] = {1, 1, 2};
  a = ir_attr_int_list(IR_ATTR_PERM, not_perm, 3);
  expect_error(ir_build(f.g, IR_OP_PERMUTE, &r, 1, &a, 1, &f.error), &f.error, "not a permutation");
  expect_type(ir_build_unary(f.g, IR_OP_TRANSPOSE, f.x, &f.error), "f32[512, T]");
  ir_value *y = input(f.g, "y", type_of(IR_DTYPE_F32, 2, DIM_P, K(512), K(0)));
  ir_value *cat[] = {y, f.x};
  ir_attr axis = ir_attr_int(IR_ATTR_AXIS, 0);
  expect_type(ir_build(f.g, IR_OP_CONCAT, cat, 2, &axis, 1, &f.error), "f32[P+T, 512]");
  axis = ir_attr_int(IR_ATTR_AXIS, 1);
  expect_error(ir_build(f.g, IR_OP_CONCAT, cat, 2, &axis, 1, &f.error), &f.error,
               "differs from operand 0 in dim 0");
  ir_dim row[] = {K(256)};
  ir_attr view[] = {ir_attr_shape(IR_ATTR_SHAPE, row, 1), ir_attr_int(IR_ATTR_OFFSET, 256)};
  ir_value *w = input(f.g, "w", type_of(IR_DTYPE_F32, 1, K(512), K(0), K(0)));
  expect_type(ir_build(f.g, IR_OP_VIEW, &w, 1, view, 2, &f.error), "f32[256]");
  view[1] = ir_attr_int(IR_ATTR_OFFSET, 257);
  expect_error(ir_build(f.g, IR_OP_VIEW, &w, 1, view, 2, &f.error), &f.error, "past the 512");
  ir_graph_free(f.g);
}

Test(ir_build, argmax_and_fused_ops) {
  fixture f = setup();
  expect_type(ir_build_unary(f.g, IR_OP_ARGMAX, f.x, &f.error), "i32[T, 1]");
  ir_value *q = input(f.g, "q", type_of(IR_DTYPE_F32, 3, K(8), DIM_T, K(64)));
  ir_value *k = input(f.g, "k", type_of(IR_DTYPE_F32, 3, (ir_dim){1, 1, 0}, K(2), K(64)));
  ir_value *v = input(f.g, "v", type_of(IR_DTYPE_F32, 3, (ir_dim){1, 1, 0}, K(2), K(128)));
  ir_value *qkv[] = {q, k, v};
  ir_attr scale = ir_attr_float(IR_ATTR_SCALE, 0.125);
  expect_type(ir_build(f.g, IR_OP_FLASH_ATTENTION, qkv, 3, &scale, 1, &f.error), "f32[8, T, 128]");
  ir_value *gate = input(f.g, "gate", type_of(IR_DTYPE_F32, 2, DIM_T, K(512), K(0)));
  ir_value *ops[] = {f.x, gate};
  ir_attr body = ir_attr_string(IR_ATTR_BODY, "mul(silu($0), $1)");
  ir_value *fused = ir_build(f.g, IR_OP_FUSED_REGION, ops, 2, &body, 1, &f.error);
  expect_type(fused, "f32[T, 512]");
  cr_assert_str_eq(fused->attrs[0].as.s, "mul(silu($0), $1)");
  ir_graph_free(f.g);
}

Test(ir_build, operand_and_attribute_errors) {
  fixture f = setup();
  ir_value *three[] = {f.x, f.x, f.x};
  expect_error(ir_build(f.g, IR_OP_ADD, three, 3, NULL, 0, &f.error), &f.error,
               "add takes 2 operands, not 3");
  expect_error(ir_build(f.g, IR_OP_CONCAT, three, 1, NULL, 0, &f.error), &f.error,
               "concat takes 2 to 8 operands, not 1");
  expect_error(ir_build(f.g, IR_OP_RMS_NORM, &f.x, 1, NULL, 0, &f.error), &f.error,
               "rms_norm needs attribute eps");
  ir_attr eps[] = {ir_attr_float(IR_ATTR_EPS, 1e-6), ir_attr_float(IR_ATTR_EPS, 1e-5)};
  expect_error(ir_build(f.g, IR_OP_RMS_NORM, &f.x, 1, eps, 2, &f.error), &f.error,
               "attribute eps given twice");
  ir_attr window = ir_attr_int(IR_ATTR_WINDOW, 4);
  expect_error(ir_build(f.g, IR_OP_SILU, &f.x, 1, &window, 1, &f.error), &f.error,
               "silu takes no attribute window");
  ir_attr bad_enum = ir_attr_enum(IR_ATTR_APPROX, 7);
  expect_error(ir_build(f.g, IR_OP_GELU, &f.x, 1, &bad_enum, 1, &f.error), &f.error,
               "approx must be one of tanh|erf");
  ir_graph *other = new_graph();
  ir_value *stranger = input(other, "s", type_of(IR_DTYPE_F32, 1, K(512), K(0), K(0)));
  expect_error(ir_build_add(f.g, f.x, stranger, &f.error), &f.error,
               "operand 1 is not a value of this graph");
  cr_assert_eq(f.g->n_values, 2, "failed builds leave no value behind");
  ir_graph_free(other);
  ir_graph_free(f.g);
}

Test(ir_build, op_table_is_complete) {
  for (int op = 0; op < IR_OP_COUNT; op++) {
    const ir_op_info *info = ir_op_get((ir_op)op);
    cr_assert_not_null(info->shape_rule, "%s has no shape rule", info->name);
    cr_assert(info->semantics && strlen(info->semantics) > 10, "%s lacks semantics", info->name);
    cr_assert_eq(info->required & ~info->attrs, 0, "%s requires an attribute it does not take",
                 info->name);
    ir_op back;
    cr_assert(ir_op_from_name(info->name, strlen(info->name), &back) && back == (ir_op)op);
  }
}

/* ---- text form through the API --------------------------------------------------------------- */

static char *print_to_string(const ir_graph *g) {
  char *buf = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&buf, &size);
  chord_error error;
  cr_assert_eq(ir_print(g, out, &error), CHORD_OK);
  fclose(out);
  return buf;
}

Test(ir_text, built_graph_round_trips_with_exact_floats) {
  fixture f = setup();
  static const double values[] = {1e-6, 0.1,      1.0 / 3.0, 1e300,    5e-324,
                                  -0.0, 500000.0, -2.5,      HUGE_VAL, 123456789012345678.0};
  ir_value *x = f.x;
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    x = ir_build_scale(f.g, x, values[i], &f.error);
    cr_assert_not_null(x);
  }
  ir_value *ops[] = {x, f.x};
  /* a body is checked by the shape rule: only white space can exercise the escapes */
  ir_attr body = ir_attr_string(IR_ATTR_BODY, "add(\t$0,\n\r $1)");
  x = ir_build(f.g, IR_OP_FUSED_REGION, ops, 2, &body, 1, &f.error);
  cr_assert_not_null(x);
  cr_assert_eq(ir_graph_add_output(f.g, x, &f.error), CHORD_OK);
  cr_assert_eq(ir_verify(f.g, &f.error), CHORD_OK, "%s", f.error.message);

  char *first = print_to_string(f.g);
  ir_graph *parsed;
  cr_assert_eq(ir_parse(first, strlen(first), "first", &parsed, &f.error), CHORD_OK, "%s",
               f.error.message);
  cr_assert_eq(ir_verify(parsed, &f.error), CHORD_OK, "%s", f.error.message);
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    double got = parsed->values[2 + i]->attrs[0].as.f;
    cr_assert(memcmp(&got, &values[i], sizeof got) == 0, "value %zu: %.17g read back as %.17g", i,
              values[i], got);
  }
  cr_assert_str_eq(parsed->values[parsed->n_values - 1]->attrs[0].as.s, body.as.s);
  char *second = print_to_string(parsed);
  cr_assert_str_eq(first, second);
  free(first);
  free(second);
  ir_graph_free(parsed);
  ir_graph_free(f.g);
}

static const char small_graph[] = "graph @g {\n"
                                  "  input %x : f32[T, 64]\n"
                                  "  weight @w : q8_0[128, 64]\n"
                                  "  %w32 = dequantize @w : f32[128, 64]\n"
                                  "  %y = matmul %x, %w32 : f32[T, 128]\n"
                                  "  %z = rms_norm %y {eps = 1e-06} : f32[T, 128]\n"
                                  "  output %z\n"
                                  "}\n";

Test(ir_text, every_allocation_failure_is_clean) {
  /* SQLite-style: fail the n-th allocation, then n+1, ... until the parse succeeds */
  for (long n = 0;; n++) {
    ir_graph *g = NULL;
    chord_error error;
    rt_alloc_fail_after(n);
    chord_status status = ir_parse(small_graph, strlen(small_graph), "small", &g, &error);
    rt_alloc_fail_after(-1);
    if (status == CHORD_OK) {
      cr_assert_eq(ir_verify(g, &error), CHORD_OK, "%s", error.message);
      ir_graph_free(g);
      break;
    }
    cr_assert_eq(status, CHORD_ERROR_NO_MEMORY, "allocation %ld: %s", n, error.message);
    cr_assert_null(g);
    cr_assert(n < 1000);
  }
}

Test(ir_text, nul_byte_is_an_error) {
  static const char text[] = "graph @g {\n  input %x : f32[T]\0\n}\n";
  ir_graph *g;
  chord_error error;
  cr_assert_eq(ir_parse(text, sizeof text - 1, "nul.cir", &g, &error), CHORD_ERROR_FORMAT);
  cr_assert_null(g);
  cr_assert_str_eq(error.message, "nul.cir:2:20: error: NUL byte in the input\n"
                                  "  input %x : f32[T]\n"
                                  "                   ^");
}

Test(ir_text, long_lines_are_cut_in_diagnostics) {
  char text[1024];
  int n = snprintf(text, sizeof text, "graph @g {\n  input %%x : f32[T]\n  %%y = add %%x,");
  for (int i = 0; i < 300; i++)
    text[n++] = ' ';
  n += snprintf(text + n, sizeof text - (size_t)n, "@nope : f32[T]\n}\n");
  ir_graph *g;
  chord_error error;
  cr_assert_eq(ir_parse(text, (size_t)n, "long.cir", &g, &error), CHORD_ERROR_FORMAT);
  char want[512];
  snprintf(want, sizeof want,
           "long.cir:3:315: error: undeclared weight @nope\n...%80s@nope : f32[T]\n%83s^", "", "");
  cr_assert_str_eq(error.message, want);
}

Test(ir_text, many_names_round_trip) {
  /* enough values and weights to grow the parser's symbol table several times */
  enum { N = 700 };
  size_t cap = 128 * N, at = 0;
  char *text = malloc(cap), *printed = NULL;
  cr_assert_not_null(text);
  at += (size_t)snprintf(text + at, cap - at, "graph @many {\n  input %%x : f32[T, 8]\n");
  for (int i = 0; i < N; i++)
    at += (size_t)snprintf(text + at, cap - at, "  weight @w.%d : f32[8]\n", i);
  for (int i = 0; i < N; i++) {
    char previous[16] = "%x";
    if (i)
      snprintf(previous, sizeof previous, "%%v%d", i - 1);
    at += (size_t)snprintf(text + at, cap - at, "  %%v%d = add %s, @w.%d : f32[T, 8]\n", i,
                           previous, (i * 7) % N);
  }
  at += (size_t)snprintf(text + at, cap - at, "  output %%v%d\n}\n", N - 1);
  cr_assert_lt(at, cap);
  ir_graph *g;
  chord_error error;
  cr_assert_eq(ir_parse(text, at, "many", &g, &error), CHORD_OK, "%s", error.message);
  cr_assert_eq(ir_verify(g, &error), CHORD_OK, "%s", error.message);
  size_t size = 0;
  FILE *out = open_memstream(&printed, &size);
  cr_assert_eq(ir_print(g, out, &error), CHORD_OK);
  fclose(out);
  cr_assert_eq(size, at);
  cr_assert(memcmp(printed, text, at) == 0);
  free(printed);
  free(text);
  ir_graph_free(g);
}

/* ---- limits: dimension overflow, extreme dims and long or odd names ------------------------- */

Test(ir_dim, arithmetic_reports_overflow) {
  const int64_t L = IR_DIM_LIMIT;
  ir_dim d = K(7), keep = K(7);
  cr_assert(ir_dim_add(K(L - 1), K(1), &d));
  cr_assert_eq(d.c, L);
  cr_assert(ir_dim_sub(K(-L + 1), K(1), &d));
  cr_assert_eq(d.c, -L);
  d = keep;
  cr_assert_not(ir_dim_add(K(L), K(1), &d), "past the limit");
  cr_assert_not(ir_dim_add((ir_dim){INT64_MAX, 0, 0}, DIM_T, &d), "int64_t overflow");
  cr_assert_not(ir_dim_sub(K(0), (ir_dim){0, INT64_MIN, 0}, &d), "negating INT64_MIN");
  cr_assert_not(ir_dim_sub(K(-L), K(1), &d));
  cr_assert_not(ir_dim_mul(K(L / 2 + 1), (ir_dim){2, 0, 0}, &d));
  cr_assert_not(ir_dim_mul(K(INT64_MIN), K(-1), &d));
  cr_assert_not(ir_dim_div(K(INT64_MIN), K(-1), &d), "INT64_MIN / -1 must not trap");
  cr_assert_not(ir_dim_div((ir_dim){INT64_MIN, 0, 0}, K(-1), &d));
  cr_assert(ir_dim_equal(d, keep), "a failed operation leaves *out alone");
  cr_assert(ir_dim_div(K(-L), K(-1), &d));
  cr_assert_eq(d.c, L);
  cr_assert(ir_dim_in_range((ir_dim){-L, L, -L}));
  cr_assert_not(ir_dim_in_range((ir_dim){0, L + 1, 0}));
}

Test(ir_dim, element_counts_of_huge_constants) {
  /* products past 64 bits are compared exactly, not reported as different */
  const int64_t L = IR_DIM_LIMIT;
  ir_dim a[] = {K(L), K(6), DIM_T}, b[] = {K(3), DIM_T, K(2), K(L)}, c[] = {K(L), K(4), DIM_T};
  cr_assert(ir_shape_same_count(a, 3, b, 4));
  cr_assert_not(ir_shape_same_count(a, 3, c, 3));
  ir_dim over[] = {(ir_dim){0, 0, INT64_MIN}};
  cr_assert_not(ir_shape_same_count(over, 1, over, 1), "out-of-range dims have no count");
}

Test(ir_build, shape_rules_report_overflow) {
  fixture f = setup();
  ir_value *big = input(f.g, "big", type_of(IR_DTYPE_F32, 2, K(IR_DIM_LIMIT), K(64), K(0)));
  ir_value *pair[] = {big, big};
  ir_attr axis = ir_attr_int(IR_ATTR_AXIS, 0);
  expect_error(ir_build(f.g, IR_OP_CONCAT, pair, 2, &axis, 1, &f.error), &f.error,
               "the concatenated dim 0 overflows");
  ir_value *wide =
      input(f.g, "wide", type_of(IR_DTYPE_F32, 2, K(INT64_C(1) << 32), K(INT64_C(1) << 32), K(0)));
  ir_dim one = K(1);
  ir_attr shape = ir_attr_shape(IR_ATTR_SHAPE, &one, 1);
  expect_error(ir_build(f.g, IR_OP_VIEW, &wide, 1, &shape, 1, &f.error), &f.error,
               "the element count of x overflows 64 bits");
  ir_value *small = input(f.g, "small", type_of(IR_DTYPE_F32, 1, K(4), K(0), K(0)));
  ir_attr far[] = {shape, ir_attr_int(IR_ATTR_OFFSET, INT64_MAX)};
  expect_error(ir_build(f.g, IR_OP_VIEW, &small, 1, far, 2, &f.error), &f.error,
               "view of 1 elements at 9223372036854775807 past the 4 of x");
  ir_attr near[] = {shape, ir_attr_int(IR_ATTR_OFFSET, 3)};
  expect_type(ir_build(f.g, IR_OP_VIEW, &small, 1, near, 2, &f.error), "f32[1]");
  ir_graph_free(f.g);
}

Test(ir_build, dims_the_text_form_cannot_hold_are_refused) {
  fixture f = setup();
  ir_type t = type_of(IR_DTYPE_F32, 2, DIM_T, (ir_dim){0, 0, INT64_MIN}, K(0));
  cr_assert_null(ir_graph_add_input(f.g, "a", &t, &f.error));
  cr_assert_str_eq(f.error.message,
                   "bad type for a: dim 1 is out of range (coefficients are at most 2^62 in "
                   "magnitude)");
  t.dims[1] = (ir_dim){1, 0, IR_DIM_LIMIT + 1};
  cr_assert_null(ir_graph_add_state(f.g, "b", &t, &f.error));
  t.dims[1] = K(-1);
  cr_assert_null(ir_graph_add_weight(f.g, "c", &t, &f.error));
  cr_assert_str_eq(f.error.message, "bad type for c: dim 1 is negative");
  ir_dim dims[] = {DIM_T, K(INT64_MIN)};
  ir_attr shape = ir_attr_shape(IR_ATTR_SHAPE, dims, 2);
  expect_error(ir_build(f.g, IR_OP_RESHAPE, &f.x, 1, &shape, 1, &f.error), &f.error,
               "reshape: dim 1 of shape is out of range");
  cr_assert_eq(f.g->n_values, 2, "failed builds leave no value behind");
  ir_graph_free(f.g);
}

Test(ir_build, names_the_text_form_cannot_hold_are_refused) {
  fixture f = setup();
  ir_type t = type_of(IR_DTYPE_F32, 1, DIM_T, K(0), K(0));
  const char *bad[] = {"", "a\177b", "say \"hi\"", "back\\slash", "tab\there", "42"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_null(ir_graph_add_input(f.g, bad[i], &t, &f.error), "name %zu", i);
  cr_assert(strstr(f.error.message, "all digits"), "%s", f.error.message);
  cr_assert_not_null(ir_graph_add_weight(f.g, "42", &t, &f.error), "weights may be all digits");
  cr_assert_not_null(ir_graph_add_input(f.g, "pos ids \xc3\xa9", &t, &f.error));
  ir_graph *g;
  cr_assert_eq(ir_graph_init(&g, "a\177b", &f.error), CHORD_ERROR_INVALID);
  cr_assert_null(g);
  ir_graph_free(f.g);
}

/* Parses text, checks it verifies, prints it and checks the printed text is the input. */
static void expect_fixed_point(const char *text) {
  ir_graph *g;
  chord_error error;
  cr_assert_eq(ir_parse(text, strlen(text), "fixed", &g, &error), CHORD_OK, "%s", error.message);
  cr_assert_eq(ir_verify(g, &error), CHORD_OK, "%s", error.message);
  char *printed = print_to_string(g);
  cr_assert_str_eq(printed, text);
  free(printed);
  ir_graph_free(g);
}

Test(ir_text, extreme_dims_round_trip) {
  expect_fixed_point("graph @g {\n"
                     "  input %x : f32[-4611686018427387904*P+T-4611686018427387904, "
                     "4611686018427387904, 4611686018427387904*T]\n"
                     "  %y = view %x {shape = [T, 1], offset = 3} : f32[T, 1]\n"
                     "  output %y\n"
                     "}\n");
}

Test(ir_text, long_names_print_whole) {
  /* names far longer than any label buffer, two of them sharing their first 1999 bytes */
  enum { N = 2000 };
  char a[N + 1], b[N + 1], q[N + 1];
  memset(a, 'a', N);
  memcpy(b, a, N);
  b[N - 1] = 'b';
  for (int i = 0; i < N; i++)
    q[i] = i % 2 ? ' ' : 'q';
  a[N] = b[N] = q[N] = '\0';
  size_t cap = 8 * N + 256;
  char *text = malloc(cap);
  cr_assert_not_null(text);
  snprintf(text, cap,
           "graph @g {\n  input %%%s : f32[T]\n  input %%%s : f32[T]\n  weight @\"%s\" : f32[T]\n"
           "  %%s = add %%%s, %%%s : f32[T]\n  %%t = add %%s, @\"%s\" : f32[T]\n  output %%t\n}\n",
           a, b, q, a, b, q);
  expect_fixed_point(text);
  free(text);
  /* a label cut to fit a diagnostic says so */
  fixture f = setup();
  ir_value *v = input(f.g, a, type_of(IR_DTYPE_F32, 1, K(3), K(0), K(0)));
  expect_error(ir_build_add(f.g, v, f.x, &f.error), &f.error, "aaaa... : f32[3], %x : f32[T, 512]");
  ir_graph_free(f.g);
}
