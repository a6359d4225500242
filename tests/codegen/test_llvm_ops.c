/* The CPU target's node kernels (codegen/llvm/emit_ops.h) against the reference interpreter's C,
 * bit for bit: small graphs in the text form run twice by the interpreter's walker, once with the
 * kernels target_cpu compiled for them and once without, on inputs that mix ordinary values with
 * the awkward ones (zeros of both signs, infinities, NaN, subnormals, values past expf's range),
 * over steps of 3, 2 and 1 tokens (P is not zero after the first; one row takes the matmuls'
 * other order), comparing the outputs of every step. Each case names the
 * nodes that must have a kernel, so a case cannot pass by falling back to the interpreter. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/cpu_target.h"
#include "codegen/target.h"
#include "ir/ir.h"
#include "runtime/interp/interp.h"

typedef enum case_inputs {
  ANY_VALUES, /* ordinary values mixed with the special ones, steps of 3, 2 and 1 tokens */
  /* no special values: attention's dot products would carry one NaN or infinity into every
   * output, and a wrong kernel would still match */
  FINITE,
  /* finite, and a first step of 70 tokens before two of one: the one-row steps then see more
   * positions than a block of 64 (attention's lanes all in use, the padded tail) */
  FINITE_LONG,
} case_inputs;

typedef struct op_case {
  const char *text;
  const char *kernels; /* the node names (comma-separated) that must run compiled */
  case_inputs inputs;
} op_case;

/* x is f32[T, 4, 64] for every case, pos i32[T]. */
#define HEAD "graph @g {\n input %x : f32[T, 4, 64]\n input %pos : i32[T]\n"

static const op_case CASES[] = {
    {HEAD " %a = scale %x {scale = 0.37} : f32[T, 4, 64]\n %b = silu %x : f32[T, 4, 64]\n"
          " %c = tanh %x : f32[T, 4, 64]\n %d = gelu %x : f32[T, 4, 64]\n"
          " %e = gelu %x {approx = erf} : f32[T, 4, 64]\n"
          " %f = gelu %x {approx = tanh_f16} : f32[T, 4, 64]\n"
          " output %a\n output %b\n output %c\n output %d\n output %e\n output %f\n}\n",
     "a,b,c,d,e,f", ANY_VALUES},
    /* expf down to subnormal and zero results and up to infinity (x * 6 in [-120, 120]) */
    {HEAD " %s = scale %x {scale = 6.0} : f32[T, 4, 64]\n %a = silu %s : f32[T, 4, 64]\n"
          " %b = softmax %x {scale = 6.0} : f32[T, 4, 64]\n output %a\n output %b\n}\n",
     "s,a,b", ANY_VALUES},
    {HEAD " %r = view %x {shape = [64], offset = 64} : f32[64]\n"
          " %s = view %x {shape = [1], offset = 3} : f32[1]\n"
          " %a = add %x, %r : f32[T, 4, 64]\n %b = mul %a, %x : f32[T, 4, 64]\n"
          " %c = add %s, %b : f32[T, 4, 64]\n output %c\n}\n",
     "a,b,c", ANY_VALUES},
    {HEAD " %a = rms_norm %x {eps = 1e-6} : f32[T, 4, 64]\n"
          " %b = layer_norm %x {eps = 1e-5} : f32[T, 4, 64]\n output %a\n output %b\n}\n",
     "a,b", ANY_VALUES},
    {HEAD " %a = softmax %x {scale = 0.125} : f32[T, 4, 64]\n"
          " %b = softmax %x {scale = 1.0, softcap = 30.0} : f32[T, 4, 64]\n"
          " %m = reshape %x {shape = [4, T, 64]} : f32[4, T, 64]\n"
          " %c = causal_mask %m : f32[4, T, 64]\n %d = softmax %c {scale = 1.0} : f32[4, T, 64]\n"
          " %e = sliding_window_mask %m {window = 3} : f32[4, T, 64]\n"
          " output %a\n output %b\n output %d\n output %e\n}\n",
     "a,b,c,d,e", ANY_VALUES},
    {HEAD " %a = rope %x, %pos {mode = neox, n_rot = 64, freq_base = 10000.0} : f32[T, 4, 64]\n"
          " %b = rope %x, %pos {mode = normal, n_rot = 32, freq_base = 500000.0} : f32[T, 4, 64]\n"
          " %c = rope %x, %pos {mode = neox, n_rot = 64, freq_base = 10000.0, scaling = linear,"
          " freq_scale = 0.25} : f32[T, 4, 64]\n output %a\n output %b\n output %c\n}\n",
     "a,b,c", ANY_VALUES},
    {HEAD " %a = permute %x {perm = [1, 0, 2]} : f32[4, T, 64]\n"
          " %b = permute %x {perm = [1, 2, 0]} : f32[4, 64, T]\n"
          " %c = transpose %x : f32[T, 64, 4]\n output %a\n output %b\n output %c\n}\n",
     "a,b,c", ANY_VALUES},
    /* fused_region: every body function, operands of the result's shape, a row, a scalar */
    {HEAD " %r = view %x {shape = [64], offset = 64} : f32[64]\n"
          " %s = view %x {shape = [1], offset = 3} : f32[1]\n"
          " %y = scale %x {scale = 0.5} : f32[T, 4, 64]\n"
          " %a = fused_region %x, %r, %s, %y {body = \"add(mul(silu($0), $1), sub(scale(neg($2), "
          "0.25), gelu($3)))\"} : f32[T, 4, 64]\n"
          " %b = fused_region %a, %x {body = \"mul(gelu_erf($0), add(gelu_f16($1), -1.5))\"} : "
          "f32[T, 4, 64]\n output %a\n output %b\n}\n",
     "a,b", ANY_VALUES},
    {HEAD " %a = hadamard %x : f32[T, 4, 64]\n %r = reshape %x {shape = [T, 2, 128]} : "
          "f32[T, 2, 128]\n %b = hadamard %r : f32[T, 2, 128]\n output %a\n output %b\n}\n",
     "a,b", ANY_VALUES},
    {HEAD " %a = quantize %x {dtype = q8_0} : q8_0[T, 4, 64]\n %b = dequantize %a : f32[T, 4, 64]\n"
          " %c = quantize %x {dtype = f16} : f16[T, 4, 64]\n %d = dequantize %c : f32[T, 4, 64]\n"
          " output %b\n output %d\n}\n",
     "a,c", ANY_VALUES},
    /* attention's float matmuls: f16-rounded rows against computed keys (2 kv heads for 4),
     * then probabilities against transposed values, with a symbolic contracted dim (2T, counted
     * as zero-padded) and a constant one (70: a block of 64 and a tail) */
    {HEAD " input %kv : f32[2, 70, 64]\n"
          " %p = permute %x {perm = [1, 0, 2]} : f32[4, T, 64]\n"
          " %q = quantize %p {dtype = f16} : f16[4, T, 64]\n %qd = dequantize %q : f32[4, T, 64]\n"
          " %k = reshape %p {shape = [2, 2*T, 64]} : f32[2, 2*T, 64]\n"
          " %s = matmul %qd, %k : f32[4, T, 2*T]\n"
          " %sq = quantize %s {dtype = f16} : f16[4, T, 2*T]\n"
          " %sd = dequantize %sq : f32[4, T, 2*T]\n"
          " %vt = permute %k {perm = [0, 2, 1]} : f32[2, 64, 2*T]\n"
          " %o = matmul %sd, %vt : f32[4, T, 64]\n"
          " %kn = scale %kv {scale = 1.0} : f32[2, 70, 64]\n"
          " %s2 = matmul %qd, %kn : f32[4, T, 70]\n"
          " %s2q = quantize %s2 {dtype = f16} : f16[4, T, 70]\n"
          " %s2d = dequantize %s2q : f32[4, T, 70]\n"
          " %v2 = permute %kn {perm = [0, 2, 1]} : f32[2, 64, 70]\n"
          " %o2 = matmul %s2d, %v2 : f32[4, T, 64]\n"
          " output %s\n output %o\n output %s2\n output %o2\n}\n",
     "s,o,s2,o2", FINITE},
    /* flash_attention (fuse-attention's op) on keys and values in the cache's layout [S, Hk, D]:
     * causal over 2T positions (zero-padded in the values' dot), windowed over 70 (a block of 64
     * and a tail added in double for one row) */
    {HEAD " input %kv : f32[70, 2, 64]\n"
          " %p = permute %x {perm = [1, 0, 2]} : f32[4, T, 64]\n"
          " %q = quantize %p {dtype = f16} : f16[4, T, 64]\n %qd = dequantize %q : f32[4, T, 64]\n"
          " %k = reshape %x {shape = [2*T, 2, 64]} : f32[2*T, 2, 64]\n"
          " %v = scale %k {scale = -0.7} : f32[2*T, 2, 64]\n"
          " %a = flash_attention %qd, %k, %v {scale = 0.125, dtype = f16} : f32[4, T, 64]\n"
          " %kn = scale %kv {scale = 1.0} : f32[70, 2, 64]\n"
          " %vn = scale %kv {scale = 0.5} : f32[70, 2, 64]\n"
          " %b = flash_attention %qd, %kn, %vn {scale = 0.3, window = 3, dtype = f16} : "
          "f32[4, T, 64]\n"
          " output %a\n output %b\n}\n",
     "a,b", FINITE},
    /* the same through the KV cache after a long prompt: one-row steps over 70 and 71 positions
     * (every lane of simd_dot64's order, and its padded tail), with a window of 40 */
    {HEAD " state %ck : f16[128, 2, 64]\n state %cv : f16[128, 2, 64]\n"
          " %kx = view %x {shape = [T, 2, 64], offset = 0} : f32[T, 2, 64]\n"
          " %vx = view %x {shape = [T, 2, 64], offset = 64} : f32[T, 2, 64]\n"
          " %wk = kv_write %ck, %kx : f16[128, 2, 64]\n %k = kv_read %wk : f32[P+T, 2, 64]\n"
          " %wv = kv_write %cv, %vx : f16[128, 2, 64]\n %v = kv_read %wv : f32[P+T, 2, 64]\n"
          " %p = permute %x {perm = [1, 0, 2]} : f32[4, T, 64]\n"
          " %q = quantize %p {dtype = f16} : f16[4, T, 64]\n %qd = dequantize %q : f32[4, T, 64]\n"
          " %a = flash_attention %qd, %k, %v {scale = 0.02, dtype = f16} : f32[4, T, 64]\n"
          " %b = flash_attention %qd, %k, %v {scale = 0.02, window = 40, dtype = f16} : "
          "f32[4, T, 64]\n"
          " output %a\n output %b\n}\n",
     "a,b", FINITE_LONG},
};

/* Deterministic inputs: values of a few magnitudes, and one special value in eight. */
static void fill(float *x, int64_t n, uint32_t seed, bool finite) {
  static const float special[] = {0.0f,    -0.0f,  INFINITY, -INFINITY, NAN,     1e-40f,
                                  -3e-39f, 120.0f, -120.0f,  88.9f,     -104.0f, 65520.0f};
  for (int64_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    float u = (float)(seed >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
    float scale = (seed & 3) == 0 ? 20.0f : (seed & 3) == 1 ? 0.01f : 3.0f;
    bool odd = !finite && (seed >> 29) == 0 && (seed & 64);
    x[i] = odd ? special[(seed >> 10) % 12] : u * scale;
  }
}

static ir_graph *parse(const char *text) {
  ir_graph *g = NULL;
  chord_error error = {0};
  cr_assert_eq(ir_parse(text, strlen(text), "case.cir", &g, &error), CHORD_OK, "%s", error.message);
  cr_assert_eq(ir_verify(g, &error), CHORD_OK, "%s", error.message);
  return g;
}

static void check_kernels(const ir_graph *g, const interp_kernels *k, const char *names) {
  char list[256];
  snprintf(list, sizeof list, "%s", names);
  for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) {
    const ir_value *v = NULL;
    for (uint32_t i = 0; i < g->n_values && !v; i++)
      if (g->values[i]->name && strcmp(g->values[i]->name, name) == 0)
        v = g->values[i];
    cr_assert_not_null(v, "no node %%%s", name);
    cr_assert(v->index < k->n_nodes && k->node[v->index], "%%%s has no compiled kernel", name);
  }
}

/* Appends the outputs of the last step to *out. */
static void append_outputs(const ir_graph *g, interp_session *s, float **out, int64_t *count) {
  for (uint32_t o = 0; o < g->n_outputs; o++) {
    int64_t dims[IR_MAX_DIMS], n = 1;
    uint32_t rank;
    const float *y = interp_output(s, o, dims, &rank);
    cr_assert_not_null(y);
    for (uint32_t d = 0; d < rank; d++)
      n *= dims[d];
    *out = realloc(*out, (size_t)(*count + n) * sizeof **out);
    memcpy(*out + *count, y, (size_t)n * sizeof **out);
    *count += n;
  }
}

/* Runs steps of 3, 2 and 1 tokens (70, 1, 1 for FINITE_LONG); returns the outputs of every step,
 * concatenated. */
static float *run_steps(const ir_graph *g, const interp_kernels *kernels, case_inputs inputs,
                        int64_t *count) {
  bool finite = inputs != ANY_VALUES;
  interp_session *s = NULL;
  chord_error error = {0};
  cr_assert_eq(interp_init(&s, g, NULL, &error), CHORD_OK, "%s", error.message);
  interp_set_kernels(s, kernels);
  float *out = NULL;
  int64_t steps[3] = {3, 2, 1}, p = 0;
  if (inputs == FINITE_LONG) {
    steps[0] = 70;
    steps[1] = 1;
  }
  float kv[2 * 70 * 64];
  fill(kv, 2 * 70 * 64, 5, finite);
  *count = 0;
  for (int step = 0; step < 3; step++) {
    int64_t t = steps[step], n = t * 4 * 64;
    float *x = malloc((size_t)n * sizeof *x);
    int32_t pos[70];
    fill(x, n, (uint32_t)(17 + step), finite);
    for (int64_t i = 0; i < t; i++)
      pos[i] = (int32_t)(p + i);
    cr_assert_eq(interp_set_input(s, "x", x, n, &error), CHORD_OK, "%s", error.message);
    cr_assert_eq(interp_set_input(s, "pos", pos, t, &error), CHORD_OK, "%s", error.message);
    if (ir_graph_find(g, IR_VALUE_INPUT, "kv", 2))
      cr_assert_eq(interp_set_input(s, "kv", kv, 2 * 70 * 64, &error), CHORD_OK, "%s",
                   error.message);
    cr_assert_eq(interp_run(s, t, &error), CHORD_OK, "%s", error.message);
    free(x);
    p += t;
    append_outputs(g, s, &out, count);
  }
  interp_free(s);
  return out;
}

Test(llvm_ops, kernels_match_the_interpreter_bit_for_bit) {
  for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
    ir_graph *g = parse(CASES[c].text);
    void *program = NULL;
    chord_error error = {0};
    cr_assert_eq(target_cpu.compile(g, NULL, &program, &error), CHORD_OK, "%s", error.message);
    const interp_kernels *kernels = cpu_target_kernels(program);
    check_kernels(g, kernels, CASES[c].kernels);
    int64_t n_ref, n_jit;
    float *ref = run_steps(g, NULL, CASES[c].inputs, &n_ref);
    float *jit = run_steps(g, kernels, CASES[c].inputs, &n_jit);
    cr_assert_eq(n_ref, n_jit);
    int64_t differ = 0, first = -1, finite = 0;
    for (int64_t i = 0; i < n_ref; i++) {
      finite += isfinite(ref[i]);
      uint32_t a, b;
      memcpy(&a, &ref[i], 4);
      memcpy(&b, &jit[i], 4);
      bool same = a == b || (isnan(ref[i]) && isnan(jit[i]));
      if (!same && differ++ == 0)
        first = i;
    }
    cr_expect_eq(differ, 0, "case %zu: %lld of %lld values differ, first at %lld: %.9g vs %.9g", c,
                 (long long)differ, (long long)n_ref, (long long)first,
                 first >= 0 ? ref[first] : 0.0, first >= 0 ? jit[first] : 0.0);
    cr_expect(CASES[c].inputs == ANY_VALUES || finite == n_ref,
              "case %zu: %lld of %lld values not finite", c, (long long)(n_ref - finite),
              (long long)n_ref);
    free(ref);
    free(jit);
    target_cpu.free_program(program);
    ir_graph_free(g);
  }
}
