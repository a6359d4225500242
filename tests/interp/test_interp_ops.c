/* The reference interpreter's ops on small graphs in the text form, against values computed by
 * hand (or with a few lines of independent arithmetic here). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ir/fused_body.h"
#include "ir/ir.h"
#include "runtime/interp/interp.h"

typedef struct run {
  ir_graph *graph;
  interp_session *session;
  chord_error error;
} run;

static void run_open(run *r, const char *text) {
  memset(r, 0, sizeof *r);
  cr_assert_eq(ir_parse(text, strlen(text), "test.cir", &r->graph, &r->error), CHORD_OK, "%s",
               r->error.message);
  cr_assert_eq(ir_verify(r->graph, &r->error), CHORD_OK, "%s", r->error.message);
  cr_assert_eq(interp_init(&r->session, r->graph, NULL, &r->error), CHORD_OK, "%s",
               r->error.message);
}

static void run_input(run *r, const char *name, const void *data, int64_t count) {
  cr_assert_eq(interp_set_input(r->session, name, data, count, &r->error), CHORD_OK, "%s",
               r->error.message);
}

static const float *run_step(run *r, int64_t tokens, int64_t expect_count) {
  cr_assert_eq(interp_run(r->session, tokens, &r->error), CHORD_OK, "%s", r->error.message);
  int64_t dims[IR_MAX_DIMS];
  uint32_t rank;
  const float *y = interp_output(r->session, 0, dims, &rank);
  cr_assert_not_null(y);
  int64_t count = 1;
  for (uint32_t d = 0; d < rank; d++)
    count *= dims[d];
  cr_assert_eq(count, expect_count);
  return y;
}

static void run_close(run *r) {
  interp_free(r->session);
  ir_graph_free(r->graph);
}

static void expect(const float *y, const float *want, int n, float tol) {
  for (int i = 0; i < n; i++)
    cr_expect(y[i] == want[i] || fabsf(y[i] - want[i]) <= tol, "element %d: %.7g, expected %.7g", i,
              y[i], want[i]);
}

Test(interp_ops, elementwise_broadcast) {
  run r;
  run_open(&r, "graph @g {\n input %a : f32[2, 3]\n input %b : f32[3]\n"
               " %s = add %a, %b : f32[2, 3]\n %m = mul %s, %b : f32[2, 3]\n"
               " %y = scale %m {scale = 0.5} : f32[2, 3]\n output %y\n}\n");
  float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {1, -1, 2};
  run_input(&r, "a", a, 6);
  run_input(&r, "b", b, 3);
  const float *y = run_step(&r, 1, 6);
  /* ((a + b) * b) / 2 */
  float want[6] = {1, -0.5f, 5, 2.5f, -2, 8};
  expect(y, want, 6, 0);
  run_close(&r);
}

Test(interp_ops, rms_norm_and_layer_norm) {
  run r;
  run_open(&r, "graph @g {\n input %x : f32[1, 4]\n %n = rms_norm %x {eps = 0.0} : f32[1, 4]\n"
               " %l = layer_norm %n {eps = 0.0} : f32[1, 4]\n output %n\n output %l\n}\n");
  float x[4] = {1, 1, 1, 5}; /* mean square 7 */
  run_input(&r, "x", x, 4);
  const float *y = run_step(&r, 1, 4);
  float s = 1.0f / sqrtf(7.0f);
  float want[4] = {s, s, s, 5 * s};
  expect(y, want, 4, 1e-6f);
  int64_t dims[IR_MAX_DIMS];
  uint32_t rank;
  const float *l = interp_output(r.session, 1, dims, &rank);
  /* layer norm of (1,1,1,5)*s: mean 2s, deviations (-1,-1,-1,3)s, variance 3 s^2 */
  float d = 1.0f / sqrtf(3.0f);
  float want_l[4] = {-d, -d, -d, 3 * d};
  expect(l, want_l, 4, 1e-5f);
  run_close(&r);
}

Test(interp_ops, silu_gelu) {
  run r;
  run_open(&r, "graph @g {\n input %x : f32[3]\n %s = silu %x : f32[3]\n"
               " %t = gelu %x : f32[3]\n %e = gelu %x {approx = erf} : f32[3]\n"
               " output %s\n output %t\n output %e\n}\n");
  float x[3] = {-1, 0, 2};
  run_input(&r, "x", x, 3);
  const float *s = run_step(&r, 1, 3);
  float want_s[3] = {-0.2689414f, 0, 1.7615942f};
  expect(s, want_s, 3, 1e-6f);
  int64_t dims[IR_MAX_DIMS];
  uint32_t rank;
  float want_t[3] = {-0.1588080f, 0, 1.9545977f}; /* tanh form */
  expect(interp_output(r.session, 1, dims, &rank), want_t, 3, 1e-6f);
  float want_e[3] = {-0.1586553f, 0, 1.9544997f}; /* erf form */
  expect(interp_output(r.session, 2, dims, &rank), want_e, 3, 1e-6f);
  run_close(&r);
}

Test(interp_ops, softmax_scale_softcap_mask) {
  run r;
  run_open(&r, "graph @g {\n input %x : f32[1, 3]\n input %m : f32[3]\n"
               " %p = softmax %x, %m {scale = 2.0} : f32[1, 3]\n"
               " %c = softmax %x {softcap = 1.0} : f32[1, 3]\n output %p\n output %c\n}\n");
  float x[3] = {0, 0.5f, 1}, m[3] = {0, 0, -INFINITY};
  run_input(&r, "x", x, 3);
  run_input(&r, "m", m, 3);
  const float *p = run_step(&r, 1, 3);
  float e = expf(1.0f);
  float want[3] = {1 / (1 + e), e / (1 + e), 0};
  expect(p, want, 3, 1e-6f);
  int64_t dims[IR_MAX_DIMS];
  uint32_t rank;
  const float *c = interp_output(r.session, 1, dims, &rank);
  float t[3] = {0, tanhf(0.5f), tanhf(1)}, z = expf(t[0]) + expf(t[1]) + expf(t[2]);
  float want_c[3] = {expf(t[0]) / z, expf(t[1]) / z, expf(t[2]) / z};
  expect(c, want_c, 3, 1e-6f);
  run_close(&r);
}

Test(interp_ops, matmul_weight_layout_and_gqa) {
  run r;
  run_open(&r, "graph @g {\n input %a : f32[2, 1, 2]\n input %b : f32[1, 3, 2]\n"
               " %y = matmul %a, %b : f32[2, 1, 3]\n output %y\n}\n");
  float a[4] = {1, 2, 3, 4}, b[6] = {1, 0, 0, 1, 1, 1};
  run_input(&r, "a", a, 4);
  run_input(&r, "b", b, 6);
  const float *y = run_step(&r, 1, 6);
  float want[6] = {1, 2, 3, 3, 4, 7}; /* both a batches use b's only batch */
  expect(y, want, 6, 0);
  run_close(&r);
}

Test(interp_ops, quantized_weight_rows) {
  run r;
  run_open(&r, "graph @g {\n input %ids : i32[T]\n weight @w : f16[2, 2]\n"
               " %x = get_rows @w, %ids : f32[T, 2]\n %wd = dequantize @w : f32[2, 2]\n"
               " %y = matmul %x, %wd : f32[T, 2]\n output %y\n}\n");
  /* f16 bits of 1, 2, -1, 0.5 */
  static const uint16_t w[4] = {0x3c00, 0x4000, 0xbc00, 0x3800};
  cr_assert_eq(interp_bind_weight(r.session, "w", IR_DTYPE_F16, w, &r.error), CHORD_OK);
  int32_t ids[2] = {1, 0};
  run_input(&r, "ids", ids, 2);
  const float *y = run_step(&r, 2, 4);
  /* rows (-1, 0.5) and (1, 2) times w's rows (1, 2) and (-1, 0.5) */
  float want[4] = {0, 1.25f, 5, 0};
  expect(y, want, 4, 0);
  run_close(&r);
}

Test(interp_ops, get_rows_out_of_range) {
  run r;
  run_open(&r, "graph @g {\n input %ids : i32[T]\n weight @w : f32[2, 2]\n"
               " %x = get_rows @w, %ids : f32[T, 2]\n output %x\n}\n");
  static const float w[4] = {1, 2, 3, 4};
  interp_bind_weight(r.session, "w", IR_DTYPE_F32, w, &r.error);
  int32_t ids[1] = {2};
  run_input(&r, "ids", ids, 1);
  cr_assert_eq(interp_run(r.session, 1, &r.error), CHORD_ERROR_INVALID);
  cr_assert(strstr(r.error.message, "out of range"), "%s", r.error.message);
  run_close(&r);
}

Test(interp_ops, rope_normal_and_neox) {
  run r;
  run_open(&r,
           "graph @g {\n input %x : f32[T, 1, 4]\n input %pos : i32[T]\n"
           " %a = rope %x, %pos {mode = normal, n_rot = 4, freq_base = 10000.0} : f32[T, 1, 4]\n"
           " %b = rope %x, %pos {mode = neox, n_rot = 2, freq_base = 10000.0} : f32[T, 1, 4]\n"
           " output %a\n output %b\n}\n");
  float x[4] = {1, 0, 1, 0};
  int32_t pos[1] = {1};
  run_input(&r, "x", x, 4);
  run_input(&r, "pos", pos, 1);
  const float *a = run_step(&r, 1, 4);
  /* pairs (0,1) angle 1, (2,3) angle 10000^(-1/2) = 0.01 */
  float want_a[4] = {cosf(1), sinf(1), cosf(0.01f), sinf(0.01f)};
  expect(a, want_a, 4, 1e-6f);
  int64_t dims[IR_MAX_DIMS];
  uint32_t rank;
  /* neox with n_rot 2: the pair (0, 1) by angle 1; dims 2, 3 pass through */
  float want_b[4] = {cosf(1), sinf(1), 1, 0};
  expect(interp_output(r.session, 1, dims, &rank), want_b, 4, 1e-6f);
  run_close(&r);
}

Test(interp_ops, masks_see_the_cache) {
  run r;
  run_open(&r, "graph @g {\n input %x : f32[T, P+T]\n"
               " %c = causal_mask %x : f32[T, P+T]\n"
               " %w = sliding_window_mask %x {window = 2} : f32[T, P+T]\n"
               " output %c\n output %w\n}\n");
  float x[9] = {0};
  run_input(&r, "x", x, 9);
  const float *c = run_step(&r, 3, 9);
  float I = INFINITY;
  float want_c[9] = {0, -I, -I, 0, 0, -I, 0, 0, 0};
  expect(c, want_c, 9, 0);
  int64_t dims[IR_MAX_DIMS];
  uint32_t rank;
  float want_w[9] = {0, -I, -I, 0, 0, -I, -I, 0, 0};
  const float *w = interp_output(r.session, 1, dims, &rank);
  for (int i = 0; i < 9; i++)
    cr_expect(w[i] == want_w[i], "element %d: %g", i, w[i]);
  run_close(&r);
}

Test(interp_ops, kv_cache_across_steps) {
  run r;
  run_open(&r, "graph @g {\n input %x : f32[T, 1]\n state %cache : f16[4, 1]\n"
               " %c = kv_write %cache, %x : f16[4, 1]\n %k = kv_read %c : f32[P+T, 1]\n"
               " output %k\n}\n");
  float first[2] = {1, 2}, second[1] = {3.0009765625f}; /* rounds to f16 3.0 */
  run_input(&r, "x", first, 2);
  const float *k = run_step(&r, 2, 2);
  float want1[2] = {1, 2};
  expect(k, want1, 2, 0);
  run_input(&r, "x", second, 1);
  k = run_step(&r, 1, 3);
  float want2[3] = {1, 2, 3};
  expect(k, want2, 3, 0);
  cr_assert_eq(interp_positions(r.session), 3);
  run_close(&r);
}

Test(interp_ops, layout_ops) {
  run r;
  run_open(&r, "graph @g {\n input %x : f32[2, 3]\n"
               " %p = permute %x {perm = [1, 0]} : f32[3, 2]\n"
               " %t = transpose %p : f32[2, 3]\n"
               " %c = concat %p, %p {axis = 1} : f32[3, 4]\n"
               " %v = view %c {shape = [2], offset = 3} : f32[2]\n"
               " %r = reshape %t {shape = [6]} : f32[6]\n"
               " %a = argmax %x : i32[2, 1]\n"
               " output %c\n output %v\n output %r\n output %a\n}\n");
  float x[6] = {1, 2, 3, 6, 5, 4};
  run_input(&r, "x", x, 6);
  const float *c = run_step(&r, 1, 12);
  float want_c[12] = {1, 6, 1, 6, 2, 5, 2, 5, 3, 4, 3, 4};
  expect(c, want_c, 12, 0);
  int64_t dims[IR_MAX_DIMS];
  uint32_t rank;
  float want_v[2] = {6, 2};
  expect(interp_output(r.session, 1, dims, &rank), want_v, 2, 0);
  expect(interp_output(r.session, 2, dims, &rank), x, 6, 0);
  float want_a[2] = {2, 0};
  expect(interp_output(r.session, 3, dims, &rank), want_a, 2, 0);
  run_close(&r);
}

Test(interp_ops, hadamard) {
  run r;
  run_open(&r, "graph @g {\n input %x : f32[2, 4]\n %y = hadamard %x : f32[2, 4]\n"
               " output %y\n}\n");
  float x[8] = {1, 0, 0, 0, 1, 2, 3, 4};
  run_input(&r, "x", x, 8);
  const float *y = run_step(&r, 1, 8);
  /* H4 x / 2, H4 = [[1,1,1,1],[1,-1,1,-1],[1,1,-1,-1],[1,-1,-1,1]] */
  float want[8] = {0.5f, 0.5f, 0.5f, 0.5f, 5, -1, -2, 0};
  expect(y, want, 8, 0);
  run_close(&r);
}

Test(interp_ops, every_op_has_a_function) {
  for (int op = 0; op < IR_OP_COUNT; op++)
    cr_expect(interp_has_op((ir_op)op), "%s has no function in the interpreter",
              ir_op_get((ir_op)op)->name);
  cr_expect_not(interp_has_op(IR_OP_COUNT));
}

/* Deterministic values in [-3, 3): the same inputs every run. */
static void fill(float *x, int n, uint32_t seed) {
  for (int i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    x[i] = (float)(seed >> 8) / (float)(1u << 24) * 6.0f - 3.0f;
  }
}

/* Two bodies that call every function, over operands of three shapes that broadcast ([T, 8],
 * [8], [T, 1]); the unfused chains beside them, with sub and neg spelled through scale by -1
 * (exact in IEEE arithmetic) and the number 1.5 fed as an input. */
Test(interp_ops, fused_region_matches_the_unfused_chain) {
  run r;
  run_open(&r, "graph @g {\n input %a : f32[T, 8]\n input %b : f32[8]\n input %c : f32[T, 1]\n"
               " input %k : f32[1]\n"
               " %s = silu %a : f32[T, 8]\n %m = mul %s, %b : f32[T, 8]\n"
               " %g = gelu %c : f32[T, 1]\n %q = scale %g {scale = 0.25} : f32[T, 1]\n"
               " %y1 = add %m, %q : f32[T, 8]\n"
               " %e = gelu %a {approx = erf} : f32[T, 8]\n %bk = add %b, %k : f32[8]\n"
               " %n = scale %bk {scale = -1.0} : f32[8]\n %nn = scale %n {scale = -1.0} : f32[8]\n"
               " %y2 = add %e, %nn : f32[T, 8]\n"
               " %f1 = fused_region %a, %b, %c"
               " {body = \"add(mul(silu($0), $1), scale(gelu($2), 0.25))\"} : f32[T, 8]\n"
               " %f2 = fused_region %b, %a {body = \"sub(gelu_erf($1),\\n\\tneg(add($0, 1.5)))\"}"
               " : f32[T, 8]\n"
               " output %y1\n output %y2\n output %f1\n output %f2\n}\n");
  enum { T = 3 };
  float a[T * 8], b[8], c[T], k[1] = {1.5f};
  fill(a, T * 8, 1);
  fill(b, 8, 2);
  fill(c, T, 3);
  run_input(&r, "a", a, T * 8);
  run_input(&r, "b", b, 8);
  run_input(&r, "c", c, T);
  run_input(&r, "k", k, 1);
  const float *y1 = run_step(&r, T, T * 8);
  int64_t dims[IR_MAX_DIMS];
  uint32_t rank;
  const float *y2 = interp_output(r.session, 1, dims, &rank);
  const float *f1 = interp_output(r.session, 2, dims, &rank);
  cr_assert_eq(rank, 2);
  cr_assert(dims[0] == T && dims[1] == 8);
  const float *f2 = interp_output(r.session, 3, dims, &rank);
  for (int i = 0; i < T * 8; i++) {
    cr_expect(memcmp(&f1[i], &y1[i], sizeof(float)) == 0, "f1[%d] = %.9g, unfused %.9g", i, f1[i],
              y1[i]);
    cr_expect(memcmp(&f2[i], &y2[i], sizeof(float)) == 0, "f2[%d] = %.9g, unfused %.9g", i, f2[i],
              y2[i]);
  }
  /* and against the formula itself, so that a chain and a body wrong the same way still fail */
  int i = 2 * 8 + 5;
  float silu = a[i] / (1.0f + expf(-a[i]));
  float gelu =
      0.5f * c[2] * (1.0f + tanhf(0.7978845608028654f * (c[2] + 0.044715f * c[2] * c[2] * c[2])));
  cr_expect_float_eq(f1[i], silu * b[5] + gelu * 0.25f, 1e-6f);
  run_close(&r);
}

/* A fused_region over operands x : f32[T, 4] and y : f32[4] with the given body: the parse
 * error, or "" when it parses. */
static void fused_body_error(const char *body, char *message, size_t size) {
  char text[2048];
  snprintf(text, sizeof text,
           "graph @g {\n input %%x : f32[T, 4]\n input %%y : f32[4]\n"
           " %%z = fused_region %%x, %%y {body = \"%s\"} : f32[T, 4]\n output %%z\n}\n",
           body);
  ir_graph *g = NULL;
  chord_error error = {0};
  message[0] = '\0';
  if (ir_parse(text, strlen(text), "test.cir", &g, &error) != CHORD_OK)
    snprintf(message, size, "%s", error.message);
  ir_graph_free(g);
}

Test(interp_ops, fused_region_bad_bodies_name_the_column) {
  static const struct {
    const char *body, *error;
  } cases[] = {
      {"mul(silu($0) $1)", "body column 14: expected ',' or ')' after argument 1 of mul, not '$'"},
      {"foo($0)", "body column 1: unknown function 'foo' (the functions are add, sub, mul, "},
      {"add($0, Silu($1))", "body column 9: unknown function 'Silu'"},
      {"scale($0, $1)", "body column 11: argument 2 of scale must be a number"},
      {"silu($0, $1)", "body column 1: silu takes 1 argument, not 2"},
      {"add($0)", "body column 1: add takes 2 arguments, not 1"},
      {"add($0, 1.5) x", "body column 14: unexpected 'x' after the expression"},
      {"", "body column 1: expected an operand ($N), a number or a function call, not the end"},
      {"silu()", "body column 6: expected an operand ($N), a number or a function call, not ')'"},
      {"add($0,\\n  $1", "body column 13: expected ',' or ')' after argument 2 of add, not the "
                         "end of the body"},
      {"silu $0", "body column 6: expected '(' after silu, not '$'"},
      {"$x", "body column 2: expected an operand index after '$', not 'x'"},
      {"scale($0, 1e+)", "body column 14: expected digits in the exponent of a number"},
      {"scale($0, -.)", "body column 11: expected digits in a number"},
      {"add(-$0, $1)", "body column 5: expected digits in a number (neg(x) negates an expression)"},
      {"scale($0, 1e999)", "body column 11: number 1e999 is out of range"},
      {"mul($0, \\x01)", "body column 9: expected an operand ($N), a number or a function call, "
                         "not '\\x01'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char message[1024];
    fused_body_error(cases[i].body, message, sizeof message);
    cr_expect(strstr(message, cases[i].error), "body \"%s\": got \"%s\", expected \"%s\"",
              cases[i].body, message, cases[i].error);
  }
  char message[1024];
  fused_body_error("add(  $1,\\t-2.5e-1 )", message, sizeof message);
  cr_expect_str_eq(message, "", "white space and numbers: %s", message);
}

Test(interp_ops, fused_region_body_limits) {
  char body[1024] = "", message[1024];
  for (int i = 0; i < IR_FUSED_MAX_NESTING + 1; i++)
    strcat(body, "neg(");
  strcat(body, "$0");
  for (int i = 0; i < IR_FUSED_MAX_NESTING + 1; i++)
    strcat(body, ")");
  fused_body_error(body, message, sizeof message);
  cr_expect(strstr(message, "body column 257: calls nest deeper than 64"), "%s", message);
  /* add(add($0, $1), ...) 40 deep: 4 steps a level, past the 128 steps before the nesting limit */
  body[0] = '\0';
  for (int i = 0; i < 40; i++)
    strcat(body, "add(add($0,$1),");
  strcat(body, "$1");
  for (int i = 0; i < 40; i++)
    strcat(body, ")");
  fused_body_error(body, message, sizeof message);
  cr_expect(strstr(message, "the body is longer than 128 operands, numbers and calls"), "%s",
            message);
}

Test(interp_ops, fused_region_operand_out_of_range) {
  char message[1024];
  fused_body_error("mul($0, $2)", message, sizeof message);
  cr_expect(strstr(message, "fused_region %x : f32[T, 4], %y : f32[4]: body column 9: $2 is not "
                            "an operand: the region has 2 ($0..$1)"),
            "%s", message);
  fused_body_error("$99999999999999999999", message, sizeof message);
  cr_expect(strstr(message, "body column 1: $"), "%s", message);
  /* the verifier checks a body changed after the build, like any other shape rule input */
  run r;
  run_open(&r, "graph @g {\n input %x : f32[2]\n"
               " %y = fused_region %x {body = \"silu($0)\"} : f32[2]\n output %y\n}\n");
  ir_value *y = r.graph->values[1];
  y->attrs[0].as.s = "silu($1)";
  cr_assert_eq(ir_verify(r.graph, &r.error), CHORD_ERROR_INVALID);
  cr_expect(strstr(r.error.message, "(fused_region): body column 6: $1 is not an operand: the "
                                    "region has 1 ($0..$0)"),
            "%s", r.error.message);
  /* the interpreter parses the body itself too: it never evaluates one the verifier would refuse */
  float x[2] = {0};
  run_input(&r, "x", x, 2);
  cr_assert_eq(interp_run(r.session, 1, &r.error), CHORD_ERROR_INVALID);
  cr_expect(strstr(r.error.message, "$1 is not an operand"), "%s", r.error.message);
  run_close(&r);
}

/* rope_freqs: each pair's angle divided by its factor before freq_scale (ggml_rope_ext's c). */
Test(interp_ops, rope_frequency_factors) {
  run r;
  run_open(&r, "graph @g {\n input %x : f32[T, 1, 4]\n input %y : f32[T, 1, 4]\n"
               " input %pos : i32[T]\n weight @rope_freqs.weight : f32[2]\n"
               " %a = rope %x, %pos, @rope_freqs.weight {mode = normal, n_rot = 4,"
               " freq_base = 10000.0} : f32[T, 1, 4]\n"
               " %b = rope %y, %pos, @rope_freqs.weight {mode = neox, n_rot = 4,"
               " freq_base = 10000.0, freq_scale = 0.5, scaling = linear} : f32[T, 1, 4]\n"
               " output %a\n output %b\n}\n");
  static const float factors[2] = {2.0f, 0.5f};
  cr_assert_eq(interp_bind_weight(r.session, "rope_freqs.weight", IR_DTYPE_F32, factors, &r.error),
               CHORD_OK);
  float x[4] = {1, 0, 1, 0}, y[4] = {1, 1, 0, 0}; /* each pair starts at (1, 0) */
  int32_t pos[1] = {1};
  run_input(&r, "x", x, 4);
  run_input(&r, "y", y, 4);
  run_input(&r, "pos", pos, 1);
  const float *a = run_step(&r, 1, 4);
  /* pair (0,1): angle 1 / 2; pair (2,3): 10000^(-1/2) / 0.5 = 0.02 */
  float want_a[4] = {cosf(0.5f), sinf(0.5f), cosf(0.02f), sinf(0.02f)};
  expect(a, want_a, 4, 1e-6f);
  int64_t dims[IR_MAX_DIMS];
  uint32_t rank;
  /* neox pairs (0,2) and (1,3), angles halved again by freq_scale: 0.25 and 0.01 */
  float want_b[4] = {cosf(0.25f), cosf(0.01f), sinf(0.25f), sinf(0.01f)};
  expect(interp_output(r.session, 1, dims, &rank), want_b, 4, 1e-6f);
  run_close(&r);
}

static void rope_error(const char *operand_type, const char *attrs, const char *want) {
  char text[1024];
  snprintf(text, sizeof text,
           "graph @g {\n input %%x : f32[T, 1, 4]\n input %%pos : i32[T]\n input %%f : %s\n"
           " %%a = rope %%x, %%pos, %%f {mode = normal, n_rot = 4, freq_base = 10000.0%s}"
           " : f32[T, 1, 4]\n output %%a\n}\n",
           operand_type, attrs);
  ir_graph *g = NULL;
  chord_error error = {0};
  cr_assert_neq(ir_parse(text, strlen(text), "test.cir", &g, &error), CHORD_OK, "%s", want);
  cr_expect(strstr(error.message, want), "%s", error.message);
  ir_graph_free(g);
}

Test(interp_ops, rope_frequency_factor_errors) {
  rope_error("f32[4]", "", "the frequency factors must be f32[2] (n_rot/2), not f32[4]");
  rope_error("f16[2]", "", "the frequency factors must be f32[2] (n_rot/2), not f16[2]");
  rope_error("f32[1, 2]", "", "the frequency factors must be f32[2] (n_rot/2), not f32[1, 2]");
  rope_error("f32[2]", ", scaling = llama3",
             "scaling = llama3 and frequency factors both rescale the frequencies");
}

/* flash_attention is the chain fuse-attention replaces, in the same arithmetic: bit for bit,
 * over a step of 3 query rows (simd_dot16's order) and then one of 1 (simd_dot64's), a head dim
 * of 20 (both dot orders' tails), two query heads on one kv head and a window. k and v are in the
 * cache's layout [S, Hk, D]; the chain reads them permuted. */
Test(interp_ops, flash_attention_matches_the_unfused_chain) {
  run r;
  run_open(&r, "graph @g {\n input %q : f32[2, T, 20]\n input %k : f32[P+T, 1, 20]\n"
               " input %v : f32[P+T, 1, 20]\n"
               " %q16 = quantize %q {dtype = f16} : f16[2, T, 20]\n"
               " %qr = dequantize %q16 : f32[2, T, 20]\n"
               " %kh = permute %k {perm = [1, 0, 2]} : f32[1, P+T, 20]\n"
               " %s = matmul %qr, %kh : f32[2, T, P+T]\n"
               " %m = sliding_window_mask %s {window = 2} : f32[2, T, P+T]\n"
               " %p = softmax %m {scale = 0.5} : f32[2, T, P+T]\n"
               " %p16 = quantize %p {dtype = f16} : f16[2, T, P+T]\n"
               " %pr = dequantize %p16 : f32[2, T, P+T]\n"
               " %vt = permute %v {perm = [1, 2, 0]} : f32[1, 20, P+T]\n"
               " %o = matmul %pr, %vt : f32[2, T, 20]\n"
               " %f = flash_attention %qr, %k, %v {scale = 0.5, window = 2, dtype = f16} : "
               "f32[2, T, 20]\n"
               " output %o\n output %f\n}\n");
  float q[120], k[80], v[80];
  for (int i = 0; i < 120; i++)
    q[i] = sinf((float)i * 0.7f) * 1.7f;
  for (int i = 0; i < 80; i++) {
    k[i] = cosf((float)i * 1.3f);
    v[i] = (float)(i % 5) - 2.0f + 0.001f * (float)i;
  }
  int64_t dims[IR_MAX_DIMS];
  uint32_t rank;
  run_input(&r, "q", q, 120);
  run_input(&r, "k", k, 60);
  run_input(&r, "v", v, 60);
  const float *o = run_step(&r, 3, 120);
  expect(interp_output(r.session, 1, dims, &rank), o, 120, 0.0f);
  run_input(&r, "q", q, 40);
  run_input(&r, "k", k, 80);
  run_input(&r, "v", v, 80);
  o = run_step(&r, 1, 40);
  expect(interp_output(r.session, 1, dims, &rank), o, 40, 0.0f);
  run_close(&r);
}
