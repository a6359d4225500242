/* interp_shift, the context shift of the KV cache: on a graph that writes rope(x) to a key cache
 * and x itself to a value cache, forgetting positions 1..3 of 6 must leave the value rows of a
 * session that only ever saw the kept tokens, bit for bit, and its key rows up to the f16 rounding
 * of rotating a stored key once more (llama.cpp's shift rounds the same way) -- and the moved keys
 * must really have been rotated: they are far from the keys at their old positions. For plain and
 * neox rope, whole and partial rotation, and a q8_0 cache of Hadamard-rotated keys (the lowering's
 * -ctk q8_0). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"
#include "runtime/interp/interp.h"

enum { HEADS = 2, D = 64, ROW = HEADS * D, CTX = 16 };

/* mode, n_rot, then the key cache's type and the key (%k, or %h: rotated by hadamard, as the
 * lowering does for a q8_0 cache) */
static const char *GRAPH =
    "graph @g {\n input %%x : f32[T, 2, 64]\n input %%pos : i32[T]\n"
    " %%k = rope %%x, %%pos {mode = %s, n_rot = %d, freq_base = 10000.0} : f32[T, 2, 64]\n"
    " %%h = hadamard %%k : f32[T, 2, 64]\n"
    " state %%ck : %s[16, 2, 64]\n state %%cv : f16[16, 2, 64]\n"
    " %%wk = kv_write %%ck, %%%s : %s[16, 2, 64]\n %%rk = kv_read %%wk : f32[P+T, 2, 64]\n"
    " %%wv = kv_write %%cv, %%x : f16[16, 2, 64]\n %%rv = kv_read %%wv : f32[P+T, 2, 64]\n"
    " output %%rk\n output %%rv\n output %%h\n}\n";

static float X[8][ROW];

static void make_inputs(void) {
  uint32_t seed = 11;
  for (int t = 0; t < 8; t++)
    for (int e = 0; e < ROW; e++) {
      seed = seed * 1664525u + 1013904223u;
      X[t][e] = ((float)(seed >> 8) / (float)(1u << 24) - 0.5f) * 8.0f;
    }
}

/* Runs one step of the given rows of X at positions from p; the outputs afterwards. */
static void step(interp_session *s, const int *rows, int n, int p) {
  float x[8 * ROW];
  int32_t pos[8];
  chord_error error;
  for (int i = 0; i < n; i++) {
    memcpy(x + i * ROW, X[rows[i]], sizeof X[0]);
    pos[i] = p + i;
  }
  cr_assert_eq(interp_set_input(s, "x", x, n * ROW, &error), CHORD_OK, "%s", error.message);
  cr_assert_eq(interp_set_input(s, "pos", pos, n, &error), CHORD_OK, "%s", error.message);
  cr_assert_eq(interp_run(s, n, &error), CHORD_OK, "%s", error.message);
}

static const float *output(interp_session *s, uint32_t i, int64_t rows) {
  int64_t dims[IR_MAX_DIMS];
  uint32_t rank;
  const float *y = interp_output(s, i, dims, &rank);
  cr_assert_not_null(y);
  cr_assert_eq(dims[0], rows);
  return y;
}

/* tolerance: of the moved keys against keys computed at their new positions, relative to the
 * row's largest */
static void check_shift(const char *mode, int n_rot, const char *cache, float tolerance) {
  char text[1024];
  bool q8 = strcmp(cache, "q8_0") == 0;
  snprintf(text, sizeof text, GRAPH, mode, n_rot, cache, q8 ? "h" : "k", cache);
  ir_graph *g = NULL;
  chord_error error;
  cr_assert_eq(ir_parse(text, strlen(text), "shift.cir", &g, &error), CHORD_OK, "%s",
               error.message);
  cr_assert_eq(ir_verify(g, &error), CHORD_OK, "%s", error.message);
  interp_session *shifted, *fresh, *unshifted;
  cr_assert_eq(interp_init(&shifted, g, NULL, &error), CHORD_OK);
  cr_assert_eq(interp_init(&fresh, g, NULL, &error), CHORD_OK);
  cr_assert_eq(interp_init(&unshifted, g, NULL, &error), CHORD_OK);

  const int all[6] = {0, 1, 2, 3, 4, 5}, kept[3] = {0, 4, 5}, next[1] = {6};
  step(shifted, all, 6, 0);
  cr_assert_eq(interp_shift(shifted, 1, 3, &error), CHORD_OK, "%s", error.message);
  cr_assert_eq(interp_positions(shifted), 3);
  step(shifted, next, 1, 3);
  step(fresh, kept, 3, 0);
  step(fresh, next, 1, 3);
  step(unshifted, all, 6, 0); /* the keys of rows 4 and 5 at their old positions */

  const float *ks = output(shifted, 0, 4), *kf = output(fresh, 0, 4);
  const float *vs = output(shifted, 1, 4), *vf = output(fresh, 1, 4);
  cr_expect_eq(memcmp(vs, vf, 4 * ROW * sizeof(float)), 0, "the value rows moved wrong");
  cr_expect_eq(memcmp(ks, kf, ROW * sizeof(float)), 0, "the kept key row changed");
  cr_expect_eq(memcmp(ks + 3 * ROW, kf + 3 * ROW, ROW * sizeof(float)), 0, "the new key row");
  const float *ku = output(unshifted, 0, 6);
  float worst = 0, moved_from_old = 0;
  for (int r = 1; r <= 2; r++) {
    float top = 1.0f;
    for (int e = 0; e < ROW; e++)
      top = fmaxf(top, fabsf(kf[r * ROW + e]));
    for (int e = 0; e < ROW; e++) {
      float a = ks[r * ROW + e], b = kf[r * ROW + e], old = ku[(r + 3) * ROW + e];
      worst = fmaxf(worst, fabsf(a - b) / top);
      moved_from_old = fmaxf(moved_from_old, fabsf(a - old));
    }
  }
  cr_expect_lt(worst, tolerance, "%s rope, n_rot %d, %s cache: moved keys off by %g", mode, n_rot,
               cache, worst);
  cr_expect_gt(moved_from_old, 0.5f, "%s rope, n_rot %d, %s cache: the moved keys were not rotated",
               mode, n_rot, cache);
  cr_expect_eq(interp_shift(shifted, 2, 3, &error), CHORD_ERROR_INVALID);
  interp_free(shifted);
  interp_free(fresh);
  interp_free(unshifted);
  ir_graph_free(g);
}

Test(kv_shift, moves_values_and_rerotates_keys) {
  make_inputs();
  /* two f16 roundings (2^-11 each) and the rotation's own */
  check_shift("neox", 64, "f16", 3e-3f);
  check_shift("normal", 64, "f16", 3e-3f);
  check_shift("neox", 32, "f16", 3e-3f);
  /* q8_0 keys stored Hadamard-rotated: undone, rotated by rope, redone, quantized again (two
   * roundings of half a step, 1/254 of a block's largest each) */
  check_shift("neox", 64, "q8_0", 1.2e-2f);
  check_shift("normal", 32, "q8_0", 1.2e-2f);
}
