/* chord_session_shift on the default model, through the C API: forgetting the tail is exact,
 * discarding nothing changes nothing, bit for bit, and a range past the cached positions is an
 * error. Skipped without the default model. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chord.h"

typedef struct fixture {
  chord_model *model;
  chord_program *program;
} fixture;

static bool open_default(fixture *f) {
  char path[4096];
  chord_error error;
  memset(f, 0, sizeof *f);
  if (chord_default_model_path(path, sizeof path, &error) != CHORD_OK)
    return false;
  FILE *probe = fopen(path, "rb");
  if (!probe)
    return false;
  fclose(probe);
  cr_assert_eq(chord_model_open(path, &f->model, &error), CHORD_OK, "%s", error.message);
  chord_compile_options co;
  chord_compile_options_default(&co);
  co.n_ctx = 64;
  co.n_threads = 2;
  cr_assert_eq(chord_compile(f->model, &co, &f->program, &error), CHORD_OK, "%s", error.message);
  return true;
}

static void close_default(fixture *f) {
  chord_program_free(f->program);
  chord_model_free(f->model);
}

static float *logits_after(chord_session *s, const int32_t *ids, size_t n) {
  chord_error error;
  cr_assert_eq(chord_session_feed(s, ids, n, &error), CHORD_OK, "%s", error.message);
  int64_t n_vocab;
  const float *l = chord_session_logits(s, &n_vocab);
  cr_assert_not_null(l);
  float *copy = malloc((size_t)n_vocab * sizeof *copy);
  memcpy(copy, l, (size_t)n_vocab * sizeof *copy);
  return copy;
}

static float max_diff(const float *a, const float *b, int64_t n, int64_t *arg_a, int64_t *arg_b) {
  float worst = 0;
  *arg_a = *arg_b = 0;
  for (int64_t i = 0; i < n; i++) {
    worst = fmaxf(worst, fabsf(a[i] - b[i]));
    if (a[i] > a[*arg_a])
      *arg_a = i;
    if (b[i] > b[*arg_b])
      *arg_b = i;
  }
  return worst;
}

/* Forgetting the last positions (nothing after them moves) leaves exactly the cache of a session
 * that never saw them: the same logits, bit for bit, as one fed the same steps without them. (A
 * shift of middle positions cannot be compared with a fresh session: the positions after the
 * discarded ones keep keys and values computed with the discarded tokens in view, in llama.cpp
 * as here; tests/interp/test_kv_shift.c checks the moving and re-rotation of the cache itself.) */
Test(context_shift, forgetting_the_tail_is_exact) {
  fixture f;
  if (!open_default(&f))
    cr_skip_test("no default model");
  const char *text = "The old lighthouse keeper climbed the spiral stairs every evening, counting "
                     "the steps as his father had taught him, and lit the lamp";
  int32_t *ids = NULL;
  size_t n = 0;
  chord_error error;
  cr_assert_eq(chord_tokenize(f.model, text, strlen(text), true, false, &ids, &n, &error),
               CHORD_OK);
  cr_assert_gt(n, 20);
  const int64_t n_vocab = chord_model_vocab_size(f.model), keep = 14;
  chord_session *shifted, *fresh;
  cr_assert_eq(chord_session_new(f.program, NULL, &shifted, &error), CHORD_OK);
  cr_assert_eq(chord_session_new(f.program, NULL, &fresh, &error), CHORD_OK);
  free(logits_after(shifted, ids, (size_t)keep));
  free(logits_after(shifted, ids + keep, n - 1 - (size_t)keep));
  cr_assert_eq(chord_session_shift(shifted, keep, (int64_t)n - 1 - keep, &error), CHORD_OK, "%s",
               error.message);
  cr_assert_eq(chord_session_positions(shifted), keep);
  float *a = logits_after(shifted, ids + n - 1, 1);
  free(logits_after(fresh, ids, (size_t)keep));
  float *b = logits_after(fresh, ids + n - 1, 1);
  int64_t arg_a, arg_b;
  cr_expect_eq(max_diff(a, b, n_vocab, &arg_a, &arg_b), 0.0f);
  cr_expect_eq(memcmp(a, b, (size_t)n_vocab * sizeof *a), 0);
  free(a);
  free(b);
  chord_free(ids);
  chord_session_free(shifted);
  chord_session_free(fresh);
  close_default(&f);
}

Test(context_shift, discarding_nothing_changes_nothing_and_bad_ranges_fail) {
  fixture f;
  if (!open_default(&f))
    cr_skip_test("no default model");
  chord_error error;
  int32_t ids[6] = {2, 818, 5279, 529, 7001, 563};
  chord_session *s, *t;
  cr_assert_eq(chord_session_new(f.program, NULL, &s, &error), CHORD_OK);
  cr_assert_eq(chord_session_new(f.program, NULL, &t, &error), CHORD_OK);
  free(logits_after(s, ids, 5));
  free(logits_after(t, ids, 5));
  cr_assert_eq(chord_session_shift(s, 2, 0, &error), CHORD_OK, "%s", error.message);
  float *a = logits_after(s, ids + 5, 1), *b = logits_after(t, ids + 5, 1);
  cr_expect_eq(memcmp(a, b, chord_model_vocab_size(f.model) * sizeof *a), 0);
  cr_expect_eq(chord_session_shift(s, 3, 4, &error), CHORD_ERROR_INVALID);
  cr_expect_eq(chord_session_shift(s, -1, 1, &error), CHORD_ERROR_INVALID);
  cr_expect_eq(chord_session_positions(s), 6);
  free(a);
  free(b);
  chord_session_free(s);
  chord_session_free(t);
  close_default(&f);
}
