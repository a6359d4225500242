/* The sampler chain: each stage alone on hand-computed cases (through sampler_apply with the
 * other stages off), the stages on a vocabulary of Gemma's size against a plain sort, the
 * penalty formulas, greedy, the seeded draw (its stream, its reproducibility and its
 * distribution by a chi-square test), the parameter checks and allocation failures. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/sample/sample_internal.h"
#include "runtime/sample/sampler.h"
#include "runtime/support/alloc.h"

enum { GEMMA_VOCAB = 262144 };

/* ---- helpers --------------------------------------------------------------------------------- */

/* Every stage off, temperature 1, a fixed seed: the chain only computes the softmax. */
static sampler_params plain_params(void) {
  sampler_params p = sampler_params_default();
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.typical_p = 1.0f;
  p.temp = 1.0f;
  p.seed = 1;
  return p;
}

static sampler *make(const sampler_params *p, int32_t n_vocab) {
  sampler *s = NULL;
  chord_error error;
  chord_status status = sampler_init(&s, p, n_vocab, &error);
  cr_assert_eq(status, CHORD_OK, "%s", error.message);
  return s;
}

static sampler_candidates apply(sampler *s, const float *logits) {
  sampler_candidates c;
  chord_error error;
  cr_assert_eq(sampler_apply(s, logits, &c, &error), CHORD_OK, "%s", error.message);
  return c;
}

static int32_t sample(sampler *s, const float *logits) {
  int32_t token = -1;
  chord_error error;
  cr_assert_eq(sampler_sample(s, logits, &token, &error), CHORD_OK, "%s", error.message);
  return token;
}

static void accept(sampler *s, int32_t token) {
  chord_error error;
  cr_assert_eq(sampler_accept(s, token, &error), CHORD_OK, "%s", error.message);
}

/* The candidates are exactly these ids, in this order. */
static void assert_ids(const sampler_candidates *c, const int32_t *ids, size_t n) {
  cr_assert_eq(c->size, n, "%zu candidates, want %zu", c->size, n);
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(c->data[i].id, ids[i], "candidate %zu is token %d, want %d", i, c->data[i].id,
                 ids[i]);
}

/* The candidates are exactly these ids, in any order. */
static void assert_id_set(const sampler_candidates *c, const int32_t *ids, size_t n) {
  cr_assert_eq(c->size, n, "%zu candidates, want %zu", c->size, n);
  for (size_t i = 0; i < n; i++) {
    bool found = false;
    for (size_t j = 0; j < c->size; j++)
      found |= c->data[j].id == ids[i];
    cr_assert(found, "token %d is missing", ids[i]);
  }
}

static const sampler_candidate *find(const sampler_candidates *c, int32_t id) {
  for (size_t i = 0; i < c->size; i++)
    if (c->data[i].id == id)
      return &c->data[i];
  return NULL;
}

/* softmax of logits[0..n) / temp, in double */
static void softmax_ref(const float *logits, size_t n, double temp, double *p) {
  double max = -INFINITY, sum = 0.0;
  for (size_t i = 0; i < n; i++)
    max = fmax(max, logits[i] / temp);
  for (size_t i = 0; i < n; i++)
    sum += p[i] = exp(logits[i] / temp - max);
  for (size_t i = 0; i < n; i++)
    p[i] /= sum;
}

static void assert_probs(const sampler_candidates *c, const float *logits, size_t n, double temp) {
  double want[16];
  cr_assert(n <= 16);
  softmax_ref(logits, n, temp, want);
  for (size_t i = 0; i < c->size; i++)
    cr_assert_float_eq(c->data[i].p, want[c->data[i].id], 1e-6, "p of token %d: %g, want %g",
                       c->data[i].id, c->data[i].p, want[c->data[i].id]);
}

/* Deterministic test logits: normal(0, scale), from the sampler's own generator. */
static float *random_logits(size_t n, float scale, uint64_t seed) {
  float *logits = malloc(n * sizeof *logits);
  cr_assert_not_null(logits);
  sampler_rng rng;
  sampler_rng_seed(&rng, seed);
  for (size_t i = 0; i < n; i++) {
    const double u1 = 1.0 - sampler_rng_uniform(&rng), u2 = sampler_rng_uniform(&rng);
    logits[i] = (float)(scale * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
  }
  return logits;
}

/* The reference order: a comparison sort by (logit descending, id ascending). */
static const float *order_logits;
static int order_cmp(const void *a, const void *b) {
  const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  if (order_logits[x] != order_logits[y])
    return order_logits[x] > order_logits[y] ? -1 : 1;
  return x < y ? -1 : x > y;
}
static int32_t *sorted_ids(const float *logits, size_t n) {
  int32_t *ids = malloc(n * sizeof *ids);
  cr_assert_not_null(ids);
  for (size_t i = 0; i < n; i++)
    ids[i] = (int32_t)i;
  order_logits = logits;
  qsort(ids, n, sizeof *ids, order_cmp);
  return ids;
}

/* ---- parameters ------------------------------------------------------------------------------ */

Test(sampler_params, defaults_match_llama_cpp) {
  sampler_params p = sampler_params_default();
  cr_assert_float_eq(p.temp, 0.8f, 0);
  cr_assert_eq(p.top_k, 40);
  cr_assert_float_eq(p.typical_p, 1.0f, 0);
  cr_assert_float_eq(p.top_p, 0.95f, 0);
  cr_assert_float_eq(p.min_p, 0.05f, 0);
  cr_assert_eq(p.min_keep, 0);
  cr_assert_eq(p.penalty_last_n, 64);
  cr_assert_float_eq(p.repeat_penalty, 1.0f, 0);
  cr_assert_float_eq(p.frequency_penalty, 0.0f, 0);
  cr_assert_float_eq(p.presence_penalty, 0.0f, 0);
  cr_assert_eq(p.seed, SAMPLER_SEED_RANDOM);
  chord_error error;
  cr_assert_eq(sampler_params_validate(&p, &error), CHORD_OK, "%s", error.message);
}

/* Sets one field to a bad value; validation and init must both refuse, naming the field and its
 * flag. */
#define EXPECT_INVALID(field, value, name)                                                         \
  do {                                                                                             \
    sampler_params p = sampler_params_default();                                                   \
    p.field = (value);                                                                             \
    chord_error error = {0};                                                                       \
    cr_assert_eq(sampler_params_validate(&p, &error), CHORD_ERROR_INVALID, "%s = %s accepted",     \
                 #field, #value);                                                                  \
    cr_assert(strstr(error.message, name), "message for %s = %s: %s", #field, #value,              \
              error.message);                                                                      \
    sampler *s = (sampler *)&p;                                                                    \
    cr_assert_eq(sampler_init(&s, &p, 8, &error), CHORD_ERROR_INVALID);                            \
    cr_assert_null(s);                                                                             \
  } while (0)

Test(sampler_params, out_of_range_values_are_rejected_by_name) {
  EXPECT_INVALID(top_p, 1.5f, "top_p (--top-p)");
  EXPECT_INVALID(top_p, -0.1f, "top_p (--top-p)");
  EXPECT_INVALID(top_p, NAN, "top_p (--top-p)");
  EXPECT_INVALID(min_p, 2.0f, "min_p (--min-p)");
  EXPECT_INVALID(min_p, -1.0f, "min_p (--min-p)");
  EXPECT_INVALID(typical_p, -0.5f, "typical_p (--typical)");
  EXPECT_INVALID(typical_p, 1.01f, "typical_p (--typical)");
  EXPECT_INVALID(repeat_penalty, 0.0f, "repeat_penalty (--repeat-penalty)");
  EXPECT_INVALID(repeat_penalty, -1.0f, "repeat_penalty (--repeat-penalty)");
  EXPECT_INVALID(repeat_penalty, INFINITY, "repeat_penalty (--repeat-penalty)");
  EXPECT_INVALID(frequency_penalty, NAN, "frequency_penalty (--frequency-penalty)");
  EXPECT_INVALID(presence_penalty, -INFINITY, "presence_penalty (--presence-penalty)");
  EXPECT_INVALID(penalty_last_n, -1, "repeat_last_n (--repeat-last-n)");
  EXPECT_INVALID(min_keep, -3, "min_keep (--min-keep)");
  EXPECT_INVALID(temp, NAN, "temp (--temp)");
  EXPECT_INVALID(temp, INFINITY, "temp (--temp)");
}

Test(sampler_params, messages_say_the_range) {
  sampler_params p = sampler_params_default();
  p.top_p = 1.5f;
  chord_error error;
  cr_assert_eq(sampler_params_validate(&p, &error), CHORD_ERROR_INVALID);
  cr_assert_str_eq(error.message, "sampler: top_p (--top-p) is 1.5; it must be in [0, 1]");
  p = sampler_params_default();
  p.penalty_last_n = -1;
  cr_assert_eq(sampler_params_validate(&p, &error), CHORD_ERROR_INVALID);
  cr_assert_str_eq(error.message, "sampler: repeat_last_n (--repeat-last-n) is -1; it must be >= 0 "
                                  "(resolve -1, the context size, before)");
}

Test(sampler_params, range_ends_are_accepted) {
  sampler_params p = sampler_params_default();
  p.top_p = 0.0f;
  p.min_p = 1.0f;
  p.typical_p = 0.0f;
  p.temp = -1.0f;
  p.top_k = -5;
  p.penalty_last_n = 0;
  p.frequency_penalty = -2.0f;
  p.presence_penalty = -2.0f;
  chord_error error;
  cr_assert_eq(sampler_params_validate(&p, &error), CHORD_OK, "%s", error.message);
}

Test(sampler_params, vocabulary_must_not_be_empty) {
  sampler_params p = sampler_params_default();
  sampler *s = (sampler *)&p;
  chord_error error;
  cr_assert_eq(sampler_init(&s, &p, 0, &error), CHORD_ERROR_INVALID);
  cr_assert_null(s);
  cr_assert(strstr(error.message, "vocabulary size is 0"), "%s", error.message);
}

Test(sampler_params, format_lists_every_parameter) {
  sampler_params p = sampler_params_default();
  char buf[512];
  sampler_params_format(&p, buf, sizeof buf);
  cr_assert_str_eq(buf, "repeat_last_n = 64, repeat_penalty = 1.000, frequency_penalty = 0.000, "
                        "presence_penalty = 0.000, top_k = 40, typical_p = 1.000, top_p = 0.950, "
                        "min_p = 0.050, min_keep = 0, temp = 0.800, seed = random");
  p.seed = 7;
  sampler_params_format(&p, buf, 24); /* cut, but terminated */
  cr_assert_eq(strlen(buf), 23);
}

Test(sampler_chain, format_names_the_active_stages_in_order) {
  char buf[256];
  sampler_params p = sampler_params_default();
  sampler *s = make(&p, 8);
  sampler_chain_format(s, buf, sizeof buf);
  cr_assert_str_eq(buf, "logits -> top-k -> top-p -> min-p -> temp -> dist");
  sampler_free(s);

  p.repeat_penalty = 1.1f;
  p.typical_p = 0.9f;
  s = make(&p, 8);
  sampler_chain_format(s, buf, sizeof buf);
  cr_assert_str_eq(buf,
                   "logits -> penalties -> top-k -> typical -> top-p -> min-p -> temp -> dist");
  sampler_free(s);

  p.temp = 0.0f;
  s = make(&p, 8);
  sampler_chain_format(s, buf, sizeof buf);
  cr_assert_str_eq(buf, "logits -> penalties -> greedy");
  sampler_free(s);

  p = plain_params();
  s = make(&p, 8);
  sampler_chain_format(s, buf, sizeof buf);
  cr_assert_str_eq(buf, "logits -> dist");
  sampler_free(s);
}

/* ---- the random generator -------------------------------------------------------------------- */

Test(sampler_rng, matches_the_published_generators) {
  /* computed by an independent Python implementation of splitmix64 + xoshiro256** as published
   * (its splitmix64 from 0 starts with 0xe220a8397b1dcdaf, the published first value) */
  static const uint64_t seed0[] = {0x99ec5f36cb75f2b4u, 0xbf6e1f784956452au, 0x1a5f849d4933e6e0u,
                                   0x6aa594f1262d2d2cu};
  static const uint64_t seed42[] = {0x15780b2e0c2ec716u, 0x6104d9866d113a7eu, 0xae17533239e499a1u,
                                    0xecb8ad4703b360a1u};
  sampler_rng a, b;
  sampler_rng_seed(&a, 0);
  sampler_rng_seed(&b, 42);
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(sampler_rng_next(&a), seed0[i], "seed 0, output %d", i);
    cr_assert_eq(sampler_rng_next(&b), seed42[i], "seed 42, output %d", i);
  }
}

Test(sampler_rng, uniform_is_in_the_unit_interval) {
  sampler_rng rng;
  sampler_rng_seed(&rng, 3);
  double sum = 0.0;
  for (int i = 0; i < 100000; i++) {
    const double u = sampler_rng_uniform(&rng);
    cr_assert(u >= 0.0 && u < 1.0, "%.17g", u);
    sum += u;
  }
  cr_assert_float_eq(sum / 100000, 0.5, 0.005);
}

Test(sampler_rng, entropy_seeds_are_usable) {
  const uint64_t a = sampler_rng_entropy_seed(), b = sampler_rng_entropy_seed();
  cr_assert_neq(a, SAMPLER_SEED_RANDOM);
  cr_assert_neq(a, b, "two random seeds in a row are equal");
}

/* ---- top-k ----------------------------------------------------------------------------------- */

Test(sampler_top_k, keeps_the_k_largest_sorted) {
  static const float logits[] = {1.0f, 3.0f, 2.0f, 0.0f, 2.5f};
  sampler_params p = plain_params();
  p.top_k = 2;
  sampler *s = make(&p, 5);
  sampler_candidates c = apply(s, logits);
  assert_ids(&c, (const int32_t[]){1, 4}, 2);
  cr_assert(c.sorted);
  const float kept[] = {3.0f, 2.5f};
  cr_assert_float_eq(c.data[0].p, 1.0 / (1.0 + exp(kept[1] - kept[0])), 1e-6);
  cr_assert_float_eq(c.data[1].p, 1.0 / (1.0 + exp(kept[0] - kept[1])), 1e-6);
  sampler_free(s);
}

Test(sampler_top_k, off_when_not_positive_and_capped_at_the_vocabulary) {
  static const float logits[] = {1.0f, 3.0f, 2.0f, 0.0f, 2.5f};
  const int32_t ks[] = {0, -1, 5, 100};
  for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
    sampler_params p = plain_params();
    p.top_k = ks[i];
    sampler *s = make(&p, 5);
    sampler_candidates c = apply(s, logits);
    cr_assert_eq(c.size, 5, "top_k %d kept %zu", ks[i], c.size);
    assert_probs(&c, logits, 5, 1.0);
    sampler_free(s);
  }
}

Test(sampler_top_k, equal_logits_keep_the_lower_ids) {
  static const float logits[] = {1.0f, 2.0f, 2.0f, 2.0f, 0.0f, 2.0f};
  sampler_params p = plain_params();
  p.top_k = 2;
  sampler *s = make(&p, 6);
  sampler_candidates c = apply(s, logits);
  assert_ids(&c, (const int32_t[]){1, 2}, 2);
  sampler_free(s);
}

Test(sampler_top_k, gemma_sized_vocabulary_matches_a_full_sort) {
  float *logits = random_logits(GEMMA_VOCAB, 3.0f, 11);
  /* a few exact ties near the top, so the order of equal logits is exercised too */
  int32_t *want = sorted_ids(logits, GEMMA_VOCAB);
  logits[want[5]] = logits[want[3]];
  logits[want[7]] = logits[want[3]];
  free(want);
  want = sorted_ids(logits, GEMMA_VOCAB);
  const int32_t ks[] = {1, 40, 1000, 5000}; /* heap selection and radix sort */
  for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++) {
    sampler_params p = plain_params();
    p.top_k = ks[k];
    sampler *s = make(&p, GEMMA_VOCAB);
    sampler_candidates c = apply(s, logits);
    cr_assert_eq(c.size, (size_t)ks[k]);
    for (int32_t i = 0; i < ks[k]; i++)
      cr_assert_eq(c.data[i].id, want[i], "top_k %d: candidate %d is %d, want %d", ks[k], i,
                   c.data[i].id, want[i]);
    sampler_free(s);
  }
  free(want);
  free(logits);
}

/* ---- top-p ----------------------------------------------------------------------------------- */

/* probabilities 0.2, 0.5, 0.3 for tokens 0, 1, 2: sorted, 1 (0.5), 2 (0.8 cumulative), 0 (1.0) */
static const float nucleus_logits[] = {-1.6094379f, -0.6931472f, -1.2039728f};

static sampler_candidates top_p_case(float top_p, int32_t min_keep, sampler **s) {
  sampler_params p = plain_params();
  p.top_p = top_p;
  p.min_keep = min_keep;
  *s = make(&p, 3);
  return apply(*s, nucleus_logits);
}

Test(sampler_top_p, keeps_the_smallest_set_reaching_p) {
  sampler *s;
  sampler_candidates c = top_p_case(0.6f, 0, &s);
  assert_ids(&c, (const int32_t[]){1, 2}, 2); /* 0.5 < 0.6: token 2 crosses p and stays */
  cr_assert_float_eq(c.data[0].p, 0.5 / 0.8, 1e-6);
  cr_assert_float_eq(c.data[1].p, 0.3 / 0.8, 1e-6);
  sampler_free(s);
  c = top_p_case(0.45f, 0, &s);
  assert_ids(&c, (const int32_t[]){1}, 1);
  cr_assert_float_eq(c.data[0].p, 1.0, 1e-6);
  sampler_free(s);
  c = top_p_case(0.9f, 0, &s);
  assert_ids(&c, (const int32_t[]){1, 2, 0}, 3);
  sampler_free(s);
  c = top_p_case(0.0f, 0, &s); /* p = 0 still keeps the best */
  assert_ids(&c, (const int32_t[]){1}, 1);
  sampler_free(s);
}

Test(sampler_top_p, min_keep_keeps_more) {
  sampler *s;
  sampler_candidates c = top_p_case(0.45f, 2, &s);
  assert_ids(&c, (const int32_t[]){1, 2}, 2);
  sampler_free(s);
  c = top_p_case(0.45f, 3, &s);
  assert_ids(&c, (const int32_t[]){1, 2, 0}, 3);
  sampler_free(s);
}

/* Top-p alone on Gemma's vocabulary: the kept tokens are the sorted prefix whose probability
 * first reaches p. A peaked distribution ends within the first try of 256 candidates, a flat
 * one needs the full sort. */
static void check_top_p_large(float scale, float top_p, size_t min_size, size_t max_size) {
  float *logits = random_logits(GEMMA_VOCAB, scale, 5);
  int32_t *want = sorted_ids(logits, GEMMA_VOCAB);
  double *prob = malloc(GEMMA_VOCAB * sizeof *prob);
  cr_assert_not_null(prob);
  softmax_ref(logits, GEMMA_VOCAB, 1.0, prob);
  sampler_params p = plain_params();
  p.top_p = top_p;
  sampler *s = make(&p, GEMMA_VOCAB);
  sampler_candidates c = apply(s, logits);
  cr_assert(c.size >= min_size && c.size <= max_size, "scale %g: kept %zu", scale, c.size);
  double cum = 0.0;
  for (size_t i = 0; i < c.size; i++) {
    cr_assert_eq(c.data[i].id, want[i], "candidate %zu is %d, want %d", i, c.data[i].id, want[i]);
    if (i + 1 < c.size)
      cum += prob[want[i]];
  }
  cr_assert(cum < top_p + 1e-4, "the set without its last token already reaches p: %g", cum);
  cum += prob[want[c.size - 1]];
  cr_assert(cum >= top_p - 1e-4, "the set does not reach p: %g", cum);
  sampler_free(s);
  free(prob);
  free(want);
  free(logits);
}

Test(sampler_top_p, gemma_sized_peaked_distribution) { check_top_p_large(8.0f, 0.95f, 1, 256); }

Test(sampler_top_p, gemma_sized_flat_distribution) {
  check_top_p_large(0.05f, 0.95f, 1000, GEMMA_VOCAB);
}

/* ---- min-p ----------------------------------------------------------------------------------- */

/* logits 0, -1, -2, -3 shuffled: token 1 is the best; the ratios to it are e^0, e^-1, e^-2, e^-3 */
static const float min_p_logits[] = {-2.0f, 0.0f, -3.0f, -1.0f};

static sampler_candidates min_p_case(float min_p, int32_t min_keep, int32_t top_k, sampler **s) {
  sampler_params p = plain_params();
  p.min_p = min_p;
  p.min_keep = min_keep;
  p.top_k = top_k; /* top_k 4 sorts first: min-p's sorted path */
  *s = make(&p, 4);
  return apply(*s, min_p_logits);
}

Test(sampler_min_p, keeps_tokens_above_p_times_the_best) {
  for (int32_t top_k = 0; top_k <= 4; top_k += 4) {
    sampler *s;
    sampler_candidates c = min_p_case(0.3f, 0, top_k, &s); /* e^-1 = 0.37 >= 0.3 > e^-2 */
    assert_id_set(&c, (const int32_t[]){1, 3}, 2);
    sampler_free(s);
    c = min_p_case(0.1f, 0, top_k, &s); /* e^-2 = 0.135 >= 0.1 > e^-3 */
    assert_id_set(&c, (const int32_t[]){1, 3, 0}, 3);
    sampler_free(s);
    c = min_p_case(1.0f, 0, top_k, &s);
    assert_id_set(&c, (const int32_t[]){1}, 1);
    sampler_free(s);
  }
}

Test(sampler_min_p, unsorted_candidates_keep_their_order) {
  sampler *s;
  sampler_candidates c = min_p_case(0.1f, 0, 0, &s);
  assert_ids(&c, (const int32_t[]){0, 1, 3}, 3);
  sampler_free(s);
}

Test(sampler_min_p, min_keep_keeps_the_best_below_the_threshold) {
  for (int32_t top_k = 0; top_k <= 4; top_k += 4) {
    sampler *s;
    sampler_candidates c = min_p_case(0.3f, 3, top_k, &s);
    assert_ids(&c, (const int32_t[]){1, 3, 0}, 3); /* sorted once min_keep is needed */
    sampler_free(s);
  }
}

Test(sampler_min_p, gemma_sized_vocabulary_matches_the_threshold) {
  float *logits = random_logits(GEMMA_VOCAB, 2.0f, 17);
  float max = -INFINITY;
  for (size_t i = 0; i < GEMMA_VOCAB; i++)
    max = fmaxf(max, logits[i]);
  sampler_params p = plain_params();
  p.min_p = 0.05f;
  sampler *s = make(&p, GEMMA_VOCAB);
  sampler_candidates c = apply(s, logits);
  const float min_logit = max + logf(0.05f);
  size_t want = 0;
  for (size_t i = 0; i < GEMMA_VOCAB; i++)
    want += logits[i] >= min_logit;
  cr_assert_eq(c.size, want);
  for (size_t i = 0; i < c.size; i++)
    cr_assert(logits[c.data[i].id] >= min_logit);
  sampler_free(s);
  free(logits);
}

/* ---- typical --------------------------------------------------------------------------------- */

/* probabilities 1/2, 1/4, 1/8, 1/8: entropy 1.75 ln 2; surprises ln 2, 2 ln 2, 3 ln 2, 3 ln 2, so
 * the distances to the entropy are 0.75, 0.25, 1.25, 1.25 (times ln 2): the order is 1, 0, 2, 3 */
static const float typical_logits[] = {-0.6931472f, -1.3862944f, -2.0794415f, -2.0794415f};

static sampler_candidates typical_case(float typical_p, int32_t min_keep, sampler **s) {
  sampler_params p = plain_params();
  p.typical_p = typical_p;
  p.min_keep = min_keep;
  *s = make(&p, 4);
  return apply(*s, typical_logits);
}

Test(sampler_typical, keeps_the_locally_typical_tokens) {
  sampler *s;
  sampler_candidates c = typical_case(0.5f, 0, &s); /* 0.25, then 0.75 > 0.5 */
  assert_ids(&c, (const int32_t[]){1, 0}, 2);
  cr_assert_float_eq(c.data[0].p, 1.0 / 3.0, 1e-6);
  cr_assert_float_eq(c.data[1].p, 2.0 / 3.0, 1e-6);
  sampler_free(s);
  c = typical_case(0.2f, 0, &s); /* the most probable token is not typical */
  assert_ids(&c, (const int32_t[]){1}, 1);
  sampler_free(s);
  c = typical_case(0.8f, 0, &s); /* 0.875 > 0.8; equal scores in id order */
  assert_ids(&c, (const int32_t[]){1, 0, 2}, 3);
  sampler_free(s);
  c = typical_case(0.25f, 0, &s); /* strictly more than p: 0.25 is not enough */
  assert_ids(&c, (const int32_t[]){1, 0}, 2);
  sampler_free(s);
}

Test(sampler_typical, min_keep_keeps_more) {
  sampler *s;
  sampler_candidates c = typical_case(0.2f, 3, &s);
  assert_ids(&c, (const int32_t[]){1, 0, 2}, 3);
  sampler_free(s);
}

Test(sampler_typical, underflowing_probabilities_do_not_poison_the_entropy) {
  /* exp(-200) is 0 in float: llama.cpp's entropy would be NaN here */
  float logits[64];
  for (int i = 0; i < 64; i++)
    logits[i] = -200.0f;
  logits[10] = 0.0f;
  logits[20] = -0.5f;
  sampler_params p = plain_params();
  p.typical_p = 0.9f;
  sampler *s = make(&p, 64);
  sampler_candidates c = apply(s, logits);
  cr_assert(c.size >= 1 && c.size <= 2, "kept %zu", c.size);
  for (size_t i = 0; i < c.size; i++) {
    cr_assert(c.data[i].id == 10 || c.data[i].id == 20, "kept token %d", c.data[i].id);
    cr_assert(!isnan(c.data[i].p));
  }
  sampler_free(s);
}

/* ---- temperature ----------------------------------------------------------------------------- */

Test(sampler_temperature, scales_the_logits) {
  static const float logits[] = {1.0f, 2.0f, 3.0f};
  const float temps[] = {0.5f, 1.0f, 2.0f};
  float top[3];
  for (int t = 0; t < 3; t++) {
    sampler_params p = plain_params();
    p.temp = temps[t];
    sampler *s = make(&p, 3);
    sampler_candidates c = apply(s, logits);
    cr_assert_eq(c.size, 3);
    assert_probs(&c, logits, 3, temps[t]);
    const sampler_candidate *best = find(&c, 2);
    cr_assert_float_eq(best->logit, 3.0f / temps[t], 1e-6);
    top[t] = best->p;
    sampler_free(s);
  }
  cr_assert(top[0] > top[1] && top[1] > top[2], "lower temperature, sharper: %g %g %g", top[0],
            top[1], top[2]);
}

Test(sampler_temperature, truncation_sees_temperature_one) {
  /* min-p 0.1 keeps e^-2 = 0.135 at temperature 1; had the temperature 0.5 come first, the ratio
   * would be e^-4 = 0.018 and token 1 would go */
  static const float logits[] = {0.0f, -2.0f};
  sampler_params p = plain_params();
  p.min_p = 0.1f;
  p.temp = 0.5f;
  sampler *s = make(&p, 2);
  sampler_candidates c = apply(s, logits);
  cr_assert_eq(c.size, 2);
  assert_probs(&c, logits, 2, 0.5);
  sampler_free(s);
}

/* ---- penalties ------------------------------------------------------------------------------- */

static sampler_candidates penalized(float repeat, float frequency, float presence, int32_t last_n,
                                    const int32_t *history, size_t n_history, const float *logits,
                                    int32_t n_vocab, sampler **s) {
  sampler_params p = plain_params();
  p.repeat_penalty = repeat;
  p.frequency_penalty = frequency;
  p.presence_penalty = presence;
  p.penalty_last_n = last_n;
  *s = make(&p, n_vocab);
  for (size_t i = 0; i < n_history; i++)
    accept(*s, history[i]);
  return apply(*s, logits);
}

static const float penalty_logits[] = {2.0f, -2.0f, 1.0f, 0.5f, 0.0f};

Test(sampler_penalties, repeat_divides_positive_logits_and_multiplies_negative_ones) {
  sampler *s;
  sampler_candidates c =
      penalized(2.0f, 0.0f, 0.0f, 64, (const int32_t[]){0, 0, 1, 4}, 4, penalty_logits, 5, &s);
  const float want[] = {1.0f, -4.0f, 1.0f, 0.5f, 0.0f}; /* once per token, whatever the count */
  for (int32_t i = 0; i < 5; i++)
    cr_assert_float_eq(find(&c, i)->logit, want[i], 1e-6, "token %d: %g", i, find(&c, i)->logit);
  sampler_free(s);
}

Test(sampler_penalties, frequency_counts_and_presence_does_not) {
  sampler *s;
  sampler_candidates c =
      penalized(1.0f, 0.5f, 1.0f, 64, (const int32_t[]){0, 0, 1, 0}, 4, penalty_logits, 5, &s);
  /* token 0: 3 times, 2 - 3 * 0.5 - 1; token 1: once, -2 - 0.5 - 1 */
  const float want[] = {-0.5f, -3.5f, 1.0f, 0.5f, 0.0f};
  for (int32_t i = 0; i < 5; i++)
    cr_assert_float_eq(find(&c, i)->logit, want[i], 1e-6, "token %d: %g", i, find(&c, i)->logit);
  sampler_free(s);
}

Test(sampler_penalties, all_three_together) {
  sampler *s;
  sampler_candidates c =
      penalized(1.25f, 0.25f, 0.5f, 64, (const int32_t[]){0, 1, 1}, 3, penalty_logits, 5, &s);
  /* token 0: 2 / 1.25 - (0.25 + 0.5); token 1: -2 * 1.25 - (2 * 0.25 + 0.5) */
  cr_assert_float_eq(find(&c, 0)->logit, 0.85f, 1e-6);
  cr_assert_float_eq(find(&c, 1)->logit, -3.5f, 1e-6);
  cr_assert_float_eq(find(&c, 2)->logit, 1.0f, 0);
  sampler_free(s);
  cr_assert_float_eq(sampler_penalize(0.0f, 1, 3.0f, 0.0f, 0.0f), 0.0f, 0);
  cr_assert(isinf(sampler_penalize(-INFINITY, 2, 1.5f, 0.1f, 0.1f)));
}

Test(sampler_penalties, only_the_last_n_tokens_count) {
  sampler *s;
  /* window of 2: the first 0 has left, the second one is still in */
  sampler_candidates c =
      penalized(1.0f, 1.0f, 0.0f, 2, (const int32_t[]){0, 1, 0, 2}, 4, penalty_logits, 5, &s);
  const float want[] = {1.0f, -2.0f, 0.0f, 0.5f, 0.0f};
  for (int32_t i = 0; i < 5; i++)
    cr_assert_float_eq(find(&c, i)->logit, want[i], 1e-6, "token %d: %g", i, find(&c, i)->logit);
  sampler_free(s);
  c = penalized(1.0f, 1.0f, 0.0f, 2, (const int32_t[]){0, 0, 0, 0, 0}, 5, penalty_logits, 5, &s);
  cr_assert_float_eq(find(&c, 0)->logit, 0.0f, 1e-6); /* counted twice, not five times */
  sampler_free(s);
}

Test(sampler_penalties, off_when_the_window_is_empty_or_the_values_neutral) {
  sampler *s;
  sampler_candidates c =
      penalized(2.0f, 1.0f, 1.0f, 0, (const int32_t[]){0, 1}, 2, penalty_logits, 5, &s);
  cr_assert_float_eq(find(&c, 0)->logit, 2.0f, 0);
  sampler_free(s);
  c = penalized(1.0f, 0.0f, 0.0f, 64, (const int32_t[]){0, 1}, 2, penalty_logits, 5, &s);
  cr_assert_float_eq(find(&c, 0)->logit, 2.0f, 0);
  sampler_free(s);
}

Test(sampler_penalties, reset_forgets_the_history) {
  sampler *s;
  sampler_candidates c =
      penalized(2.0f, 0.0f, 0.0f, 64, (const int32_t[]){0}, 1, penalty_logits, 5, &s);
  cr_assert_float_eq(find(&c, 0)->logit, 1.0f, 1e-6);
  sampler_reset(s);
  c = apply(s, penalty_logits);
  cr_assert_float_eq(find(&c, 0)->logit, 2.0f, 0);
  sampler_free(s);
}

Test(sampler_penalties, apply_before_greedy) {
  static const float logits[] = {5.0f, 4.0f, -1.0f};
  sampler_params p = plain_params();
  p.temp = 0.0f;
  p.repeat_penalty = 2.0f;
  sampler *s = make(&p, 3);
  cr_assert_eq(sample(s, logits), 0);
  accept(s, 0); /* 5 / 2 = 2.5 < 4 */
  cr_assert_eq(sample(s, logits), 1);
  sampler_free(s);
}

/* Penalties on Gemma's vocabulary against a plain reference: the best tokens are penalized and
 * a negative presence penalty lifts weak ones into the top k. A short window takes the top k
 * straight from the logits, a long one (beyond the heap's reach) the full candidate array. */
static void check_penalized_top_k(size_t window, float temp) {
  float *logits = random_logits(GEMMA_VOCAB, 3.0f, 53);
  int32_t *raw = sorted_ids(logits, GEMMA_VOCAB);
  sampler_params p = plain_params();
  p.top_k = 40;
  p.temp = temp;
  p.penalty_last_n = (int32_t)window;
  p.repeat_penalty = 1.5f;
  p.frequency_penalty = 0.25f;
  p.presence_penalty = -8.0f;
  sampler *s = make(&p, GEMMA_VOCAB);
  int32_t *count = calloc(GEMMA_VOCAB, sizeof *count);
  cr_assert_not_null(count);
  for (size_t i = 0; i < window; i++) {
    /* the best ten, some twice, and weaker ones from far down the list */
    const int32_t t = i < 20 ? raw[i % 10] : raw[100 + (i * 7919) % 100000];
    accept(s, t);
    count[t]++;
  }
  float *want_logits = malloc(GEMMA_VOCAB * sizeof *want_logits);
  cr_assert_not_null(want_logits);
  for (size_t t = 0; t < GEMMA_VOCAB; t++)
    want_logits[t] =
        count[t] ? sampler_penalize(logits[t], count[t], 1.5f, 0.25f, -8.0f) : logits[t];
  int32_t *want = sorted_ids(want_logits, GEMMA_VOCAB);
  if (temp > 0) {
    sampler_candidates c = apply(s, logits);
    cr_assert_eq(c.size, 40);
    for (size_t i = 0; i < 40; i++) {
      cr_assert_eq(c.data[i].id, want[i], "window %zu: candidate %zu is %d, want %d", window, i,
                   c.data[i].id, want[i]);
      cr_assert_float_eq(c.data[i].logit, want_logits[want[i]], 1e-6);
    }
  } else {
    cr_assert_eq(sample(s, logits), want[0]);
  }
  /* the case tests what it should: a token from outside the raw top k (+ the window, when the
   * top k comes from the logits: the token must be added after the selection) made it */
  const size_t outside = window <= 64 ? 40 + window : 40;
  int32_t *raw_rank = malloc(GEMMA_VOCAB * sizeof *raw_rank);
  cr_assert_not_null(raw_rank);
  for (int32_t i = 0; i < GEMMA_VOCAB; i++)
    raw_rank[raw[i]] = i;
  bool lifted = false;
  for (size_t i = 0; i < 40; i++)
    lifted |= (size_t)raw_rank[want[i]] >= outside;
  free(raw_rank);
  cr_assert(lifted || temp <= 0);
  sampler_free(s);
  free(want);
  free(want_logits);
  free(count);
  free(raw);
  free(logits);
}

Test(sampler_penalties, gemma_sized_top_k_from_the_logits) { check_penalized_top_k(64, 1.0f); }
Test(sampler_penalties, gemma_sized_top_k_from_all_candidates) {
  check_penalized_top_k(2000, 1.0f);
}
Test(sampler_penalties, gemma_sized_greedy) {
  check_penalized_top_k(64, 0.0f);
  check_penalized_top_k(2000, 0.0f);
}

/* ---- greedy ---------------------------------------------------------------------------------- */

Test(sampler_greedy, is_the_argmax_first_index_on_ties) {
  static const float logits[] = {1.0f, 3.0f, -INFINITY, 3.0f, 2.0f, 3.0f};
  const float temps[] = {0.0f, -0.5f, -100.0f};
  for (int t = 0; t < 3; t++) {
    sampler_params p = sampler_params_default(); /* the truncations on: they cannot matter */
    p.temp = temps[t];
    sampler *s = make(&p, 6);
    for (int i = 0; i < 10; i++)
      cr_assert_eq(sample(s, logits), 1, "temp %g", temps[t]);
    sampler_candidates c = apply(s, logits);
    assert_ids(&c, (const int32_t[]){1}, 1);
    cr_assert_float_eq(c.data[0].p, 1.0f, 0);
    sampler_free(s);
  }
}

Test(sampler_greedy, gemma_sized_vocabulary) {
  float *logits = random_logits(GEMMA_VOCAB, 3.0f, 23);
  int32_t *want = sorted_ids(logits, GEMMA_VOCAB);
  sampler_params p = sampler_params_default();
  p.temp = 0.0f;
  sampler *s = make(&p, GEMMA_VOCAB);
  cr_assert_eq(sample(s, logits), want[0]);
  sampler_free(s);
  free(want);
  free(logits);
}

/* ---- the draw -------------------------------------------------------------------------------- */

static const float draw_logits[] = {-2.3025851f, -1.6094379f, -1.2039728f, -0.9162907f};

Test(sampler_draw, a_seed_gives_a_fixed_sequence) {
  /* computed from the published generators in double precision (each draw at least 0.008 away
   * from a boundary): this is what makes a seed reproducible on every machine */
  static const int32_t want[] = {0, 2, 3, 3, 3, 3, 3, 3, 3, 2, 3, 1, 3, 2, 3, 3};
  sampler_params p = plain_params();
  p.seed = 42;
  sampler *s = make(&p, 4);
  for (int i = 0; i < 16; i++)
    cr_assert_eq(sample(s, draw_logits), want[i], "draw %d", i);
  sampler_free(s);
}

static void draw_sequence(uint64_t seed, const float *logits, int32_t n_vocab, int32_t *out,
                          int n) {
  sampler_params p = sampler_params_default();
  p.seed = seed;
  sampler *s = make(&p, n_vocab);
  for (int i = 0; i < n; i++)
    out[i] = sample(s, logits);
  sampler_free(s);
}

Test(sampler_draw, same_seed_same_tokens_different_seed_different_tokens) {
  float *logits = random_logits(1000, 1.0f, 31);
  int32_t a[200], b[200], c[200];
  draw_sequence(1234, logits, 1000, a, 200);
  draw_sequence(1234, logits, 1000, b, 200);
  draw_sequence(1235, logits, 1000, c, 200);
  cr_assert_arr_eq(a, b, sizeof a);
  int same = 0;
  for (int i = 0; i < 200; i++)
    same += a[i] == c[i];
  cr_assert_lt(same, 150, "seeds 1234 and 1235 agree on %d of 200 tokens", same);
  free(logits);
}

Test(sampler_draw, reset_restarts_the_stream) {
  int32_t first[50], again[50];
  sampler_params p = plain_params();
  p.seed = 9;
  sampler *s = make(&p, 4);
  for (int i = 0; i < 50; i++)
    first[i] = sample(s, draw_logits);
  sampler_reset(s);
  for (int i = 0; i < 50; i++)
    again[i] = sample(s, draw_logits);
  cr_assert_arr_eq(first, again, sizeof first);
  cr_assert_eq(sampler_seed(s), 9);
  sampler_free(s);
}

Test(sampler_draw, a_random_seed_is_reported_and_reproduces) {
  sampler_params p = plain_params();
  p.seed = SAMPLER_SEED_RANDOM;
  sampler *s = make(&p, 4);
  const uint64_t seed = sampler_seed(s);
  cr_assert_neq(seed, SAMPLER_SEED_RANDOM);
  int32_t a[50], b[50];
  for (int i = 0; i < 50; i++)
    a[i] = sample(s, draw_logits);
  sampler_free(s);
  p.seed = seed;
  s = make(&p, 4);
  for (int i = 0; i < 50; i++)
    b[i] = sample(s, draw_logits);
  cr_assert_arr_eq(a, b, sizeof a);
  sampler_free(s);
}

Test(sampler_draw, never_draws_an_impossible_token) {
  static const float logits[] = {-INFINITY, 0.0f, -INFINITY, 0.0f, -INFINITY};
  sampler_params p = plain_params();
  sampler *s = make(&p, 5);
  int seen[5] = {0};
  for (int i = 0; i < 2000; i++)
    seen[sample(s, logits)]++;
  cr_assert_eq(seen[0] + seen[2] + seen[4], 0);
  cr_assert(seen[1] > 800 && seen[3] > 800, "%d %d", seen[1], seen[3]);
  sampler_free(s);
}

/* Pearson's chi-square of observed counts against n * p. */
static double chi_square(const int *count, const double *p, int k, int n) {
  double chi = 0.0;
  for (int i = 0; i < k; i++) {
    const double e = n * p[i];
    chi += (count[i] - e) * (count[i] - e) / e;
  }
  return chi;
}

/* 27.88: the 0.999 quantile of chi-square with 9 degrees of freedom */
#define CHI_SQUARE_9_999 27.88

static const float chi_logits[] = {0.0f, 0.5f, 1.0f, -1.0f, 2.0f, 0.2f, -0.5f, 1.5f, 0.8f, -2.0f};

static void draw_counts(float temp, int *count, int n) {
  sampler_params p = plain_params();
  p.temp = temp;
  p.seed = 20240601;
  sampler *s = make(&p, 10);
  memset(count, 0, 10 * sizeof *count);
  for (int i = 0; i < n; i++)
    count[sample(s, chi_logits)]++;
  sampler_free(s);
}

Test(sampler_draw, distribution_matches_the_softmax) {
  int count[10];
  double p[10];
  draw_counts(1.0f, count, 20000);
  softmax_ref(chi_logits, 10, 1.0, p);
  const double chi = chi_square(count, p, 10, 20000);
  cr_assert_lt(chi, CHI_SQUARE_9_999, "chi-square %g", chi);
}

Test(sampler_draw, distribution_follows_the_temperature) {
  int count[10];
  double p[10];
  draw_counts(0.5f, count, 20000);
  softmax_ref(chi_logits, 10, 0.5, p);
  const double chi = chi_square(count, p, 10, 20000);
  cr_assert_lt(chi, CHI_SQUARE_9_999, "chi-square %g against temperature 0.5", chi);
  softmax_ref(chi_logits, 10, 1.0, p); /* the test can tell the temperatures apart */
  const double wrong = chi_square(count, p, 10, 20000);
  cr_assert_gt(wrong, 1000.0, "chi-square %g against temperature 1", wrong);
}

Test(sampler_draw, defaults_on_a_gemma_sized_vocabulary_pick_from_the_top_40) {
  float *logits = random_logits(GEMMA_VOCAB, 2.0f, 41);
  int32_t *want = sorted_ids(logits, GEMMA_VOCAB);
  sampler_params p = sampler_params_default();
  p.seed = 5;
  sampler *s = make(&p, GEMMA_VOCAB);
  for (int i = 0; i < 20; i++) {
    const int32_t token = sample(s, logits);
    bool top = false;
    for (int j = 0; j < 40; j++)
      top |= want[j] == token;
    cr_assert(top, "draw %d: token %d is not in the top 40", i, token);
  }
  sampler_free(s);
  free(want);
  free(logits);
}

/* ---- errors ---------------------------------------------------------------------------------- */

Test(sampler_errors, bad_logits_are_rejected) {
  /* top_k 0 builds every candidate; top_k 2 selects from the logits directly */
  for (int32_t top_k = 0; top_k <= 2; top_k += 2) {
    sampler_params p = plain_params();
    p.top_k = top_k;
    sampler *s = make(&p, 4);
    chord_error error;
    int32_t token = 77;
    cr_assert_eq(sampler_sample(s, (const float[]){0.0f, 1.0f, 2.0f, NAN}, &token, &error),
                 CHORD_ERROR_INVALID);
    cr_assert_str_eq(error.message, "sampler: the logit of token 3 is NaN");
    cr_assert_eq(token, 77, "the output is untouched on failure");
    cr_assert_eq(sampler_sample(s, (const float[]){0.0f, INFINITY, 2.0f, NAN}, &token, &error),
                 CHORD_ERROR_INVALID);
    cr_assert_str_eq(error.message, "sampler: the logit of token 1 is +inf");
    const float none[] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    cr_assert_eq(sampler_sample(s, none, &token, &error), CHORD_ERROR_INVALID);
    cr_assert_str_eq(error.message, "sampler: every logit is -inf");
    sampler_free(s);
  }
}

Test(sampler_errors, penalties_that_overflow_are_reported) {
  static const float logits[] = {-1e30f, -1e30f, -INFINITY, -INFINITY, -INFINITY};
  for (int32_t top_k = 0; top_k <= 1; top_k++) {
    sampler_params p = plain_params();
    p.top_k = top_k;
    p.repeat_penalty = 1e30f;
    sampler *s = make(&p, 5);
    accept(s, 0);
    accept(s, 1);
    chord_error error;
    int32_t token;
    cr_assert_eq(sampler_sample(s, logits, &token, &error), CHORD_ERROR_INVALID);
    cr_assert_str_eq(error.message, "sampler: every logit is -inf after the penalties");
    sampler_free(s);
  }
}

Test(sampler_errors, accepted_tokens_must_be_in_the_vocabulary) {
  sampler_params p = plain_params();
  p.repeat_penalty = 1.1f;
  sampler *s = make(&p, 4);
  chord_error error;
  cr_assert_eq(sampler_accept(s, 4, &error), CHORD_ERROR_INVALID);
  cr_assert_str_eq(error.message, "sampler: token id 4 is out of range (vocabulary of 4)");
  cr_assert_eq(sampler_accept(s, -1, &error), CHORD_ERROR_INVALID);
  cr_assert_eq(sampler_accept(s, 3, &error), CHORD_OK);
  sampler_free(s);
}

Test(sampler_errors, every_allocation_failure_is_clean) {
  /* SQLite-style: fail the n-th allocation, then n+1, ... until init succeeds; the penalties are
   * on so that every allocation is reached */
  static const float logits[] = {0.5f, 1.0f, -1.0f, 0.0f, 2.0f, 0.25f};
  sampler_params p = sampler_params_default();
  p.repeat_penalty = 1.3f;
  p.seed = 3;
  long n = 0;
  for (;; n++) {
    sampler *s = (sampler *)&p;
    chord_error error;
    rt_alloc_fail_after(n);
    chord_status status = sampler_init(&s, &p, 6, &error);
    if (status == CHORD_OK) {
      /* sampling takes no memory: it works with every further allocation failing */
      int32_t token = -1;
      cr_assert_eq(sampler_accept(s, 4, &error), CHORD_OK, "%s", error.message);
      cr_assert_eq(sampler_sample(s, logits, &token, &error), CHORD_OK, "%s", error.message);
      rt_alloc_fail_after(-1);
      cr_assert(token >= 0 && token < 6);
      sampler_free(s);
      break;
    }
    rt_alloc_fail_after(-1);
    cr_assert_eq(status, CHORD_ERROR_NO_MEMORY, "allocation %ld: %s", n, error.message);
    cr_assert_null(s);
    cr_assert(n < 100);
  }
  cr_assert_geq(n, 7, "only %ld allocations were failed", n);
}
