/* The sampler chain: parameters and their checks (one table), the penalty history, the stages in
 * llama-cli's order (one table) and the draw. docs/sampling.md describes it for users. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/sample/sample_internal.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

enum { MAX_STAGES = 8 };

struct sampler {
  sampler_params params;
  int32_t n_vocab;
  uint64_t seed; /* in use: params.seed, or the random one */
  sampler_rng rng;
  sampler_candidate *candidates; /* n_vocab: the working array of each call */
  sampler_scratch scratch;
  /* The last penalty_last_n accepted tokens (a ring) and each token's count among them; NULL
   * when the penalties are off. */
  int32_t *history;
  int32_t *counts;
  size_t history_capacity, history_size, history_first;
  /* The active stages after the penalties, in order; none in greedy mode. */
  int n_stages;
  const struct chain_stage *stages[MAX_STAGES];
};

/* ---- parameters ------------------------------------------------------------------------------ */

sampler_params sampler_params_default(void) {
  return (sampler_params){
      .temp = 0.8f,
      .top_k = 40,
      .typical_p = 1.0f,
      .top_p = 0.95f,
      .min_p = 0.05f,
      .min_keep = 0,
      .penalty_last_n = 64,
      .repeat_penalty = 1.0f,
      .frequency_penalty = 0.0f,
      .presence_penalty = 0.0f,
      .seed = SAMPLER_SEED_RANDOM,
  };
}

typedef enum param_type { PARAM_FLOAT, PARAM_INT } param_type;

/* One row per parameter: its llama.cpp name (as its sampling print shows it), flag, field and
 * valid range, the range also in words for the message. */
typedef struct param_info {
  const char *name;
  const char *flag;
  param_type type;
  size_t offset;
  double min, max;
  bool min_excluded;
  const char *range;
} param_info;

#define FIELD(f) offsetof(sampler_params, f)
static const param_info param_table[] = {
    {"repeat_last_n", "--repeat-last-n", PARAM_INT, FIELD(penalty_last_n), 0, INT32_MAX, false,
     ">= 0 (resolve -1, the context size, before)"},
    {"repeat_penalty", "--repeat-penalty", PARAM_FLOAT, FIELD(repeat_penalty), 0, FLT_MAX, true,
     "finite and > 0"},
    {"frequency_penalty", "--frequency-penalty", PARAM_FLOAT, FIELD(frequency_penalty), -FLT_MAX,
     FLT_MAX, false, "finite"},
    {"presence_penalty", "--presence-penalty", PARAM_FLOAT, FIELD(presence_penalty), -FLT_MAX,
     FLT_MAX, false, "finite"},
    {"top_k", "--top-k", PARAM_INT, FIELD(top_k), INT32_MIN, INT32_MAX, false, "an int32"},
    {"typical_p", "--typical", PARAM_FLOAT, FIELD(typical_p), 0, 1, false, "in [0, 1]"},
    {"top_p", "--top-p", PARAM_FLOAT, FIELD(top_p), 0, 1, false, "in [0, 1]"},
    {"min_p", "--min-p", PARAM_FLOAT, FIELD(min_p), 0, 1, false, "in [0, 1]"},
    {"min_keep", "--min-keep", PARAM_INT, FIELD(min_keep), 0, INT32_MAX, false, ">= 0"},
    {"temp", "--temp", PARAM_FLOAT, FIELD(temp), -FLT_MAX, FLT_MAX, false, "finite"},
};
#undef FIELD
enum { PARAM_COUNT = sizeof param_table / sizeof param_table[0] };

static double param_value(const sampler_params *params, const param_info *info) {
  const char *field = (const char *)params + info->offset;
  if (info->type == PARAM_FLOAT) {
    float f;
    memcpy(&f, field, sizeof f);
    return f;
  }
  int32_t i;
  memcpy(&i, field, sizeof i);
  return i;
}

chord_status sampler_params_validate(const sampler_params *params, chord_error *error) {
  for (int i = 0; i < PARAM_COUNT; i++) {
    const param_info *info = &param_table[i];
    const double v = param_value(params, info);
    /* written so that NaN fails every comparison and is rejected */
    const bool above_min = info->min_excluded ? v > info->min : v >= info->min;
    if (!(above_min && v <= info->max))
      return rt_error(error, CHORD_ERROR_INVALID, "sampler: %s (%s) is %g; it must be %s",
                      info->name, info->flag, v, info->range);
  }
  return CHORD_OK;
}

void sampler_params_format(const sampler_params *params, char *buf, size_t size) {
  size_t used = 0;
  if (size == 0)
    return;
  buf[0] = '\0';
  for (int i = 0; i < PARAM_COUNT && used < size; i++) {
    const param_info *info = &param_table[i];
    const double v = param_value(params, info);
    const char *sep = i ? ", " : "";
    int n;
    if (info->type == PARAM_FLOAT)
      n = snprintf(buf + used, size - used, "%s%s = %.3f", sep, info->name, v);
    else
      n = snprintf(buf + used, size - used, "%s%s = %d", sep, info->name, (int)v);
    used += n > 0 ? (size_t)n : 0;
  }
  if (used < size) {
    if (params->seed == SAMPLER_SEED_RANDOM)
      snprintf(buf + used, size - used, ", seed = random");
    else
      snprintf(buf + used, size - used, ", seed = %llu", (unsigned long long)params->seed);
  }
}

/* ---- the chain ------------------------------------------------------------------------------- */

static bool penalties_active(const sampler_params *p) {
  return p->penalty_last_n > 0 && !(p->repeat_penalty == 1.0f && p->frequency_penalty == 0.0f &&
                                    p->presence_penalty == 0.0f);
}
static bool top_k_active(const sampler_params *p) { return p->top_k > 0; }
static bool typical_active(const sampler_params *p) { return p->typical_p < 1.0f; }
static bool top_p_active(const sampler_params *p) { return p->top_p < 1.0f; }
static bool min_p_active(const sampler_params *p) { return p->min_p > 0.0f; }
static bool temp_active(const sampler_params *p) { return p->temp != 1.0f; }

static void top_k_apply(sampler *s, sampler_candidates *c) {
  sampler_top_k(c, s->params.top_k, &s->scratch);
}
static void typical_apply(sampler *s, sampler_candidates *c) {
  sampler_typical(c, s->params.typical_p, (size_t)s->params.min_keep, &s->scratch);
}
static void top_p_apply(sampler *s, sampler_candidates *c) {
  sampler_top_p(c, s->params.top_p, (size_t)s->params.min_keep, &s->scratch);
}
static void min_p_apply(sampler *s, sampler_candidates *c) {
  sampler_min_p(c, s->params.min_p, (size_t)s->params.min_keep, &s->scratch);
}
static void temp_apply(sampler *s, sampler_candidates *c) {
  sampler_temperature(c, s->params.temp);
}

typedef struct chain_stage {
  const char *name; /* llama.cpp's name of the sampler */
  bool (*active)(const sampler_params *params);
  void (*apply)(sampler *s, sampler_candidates *c);
} chain_stage;

/* llama-cli's default order (common_params_sampling::samplers) without the samplers that are off
 * by default and not implemented here (dry, top-n-sigma, xtc). The penalties run first, outside
 * this table, because they need the candidates in id order. Temperature comes last, so every
 * truncation sees the distribution at temperature 1. */
static const chain_stage chain_table[] = {
    {"top-k", top_k_active, top_k_apply},       /* the k most likely */
    {"typical", typical_active, typical_apply}, /* surprise closest to the entropy, to mass p */
    {"top-p", top_p_active, top_p_apply},       /* the most likely, to mass p */
    {"min-p", min_p_active, min_p_apply},       /* at least p times the most likely */
    {"temp", temp_active, temp_apply},          /* logits / temp */
};
enum { CHAIN_COUNT = sizeof chain_table / sizeof chain_table[0] };
_Static_assert((int)CHAIN_COUNT <= (int)MAX_STAGES, "the sampler has room for every stage");

static bool greedy(const sampler *s) { return s->params.temp <= 0.0f; }

void sampler_chain_format(const sampler *s, char *buf, size_t size) {
  int used = snprintf(buf, size, "logits");
  if (penalties_active(&s->params) && used >= 0 && (size_t)used < size)
    used += snprintf(buf + used, size - (size_t)used, " -> penalties");
  for (int i = 0; i < s->n_stages && used >= 0 && (size_t)used < size; i++)
    used += snprintf(buf + used, size - (size_t)used, " -> %s", s->stages[i]->name);
  if (used >= 0 && (size_t)used < size)
    snprintf(buf + used, size - (size_t)used, greedy(s) ? " -> greedy" : " -> dist");
}

/* ---- lifetime -------------------------------------------------------------------------------- */

static uint64_t pick_seed(uint64_t seed) {
  return seed == SAMPLER_SEED_RANDOM ? sampler_rng_entropy_seed() : seed;
}

chord_status sampler_init(sampler **out, const sampler_params *params, int32_t n_vocab,
                          chord_error *error) {
  *out = NULL;
  chord_status status = sampler_params_validate(params, error);
  if (status != CHORD_OK)
    return status;
  if (n_vocab <= 0)
    return rt_error(error, CHORD_ERROR_INVALID,
                    "sampler: the vocabulary size is %d; it must be > 0", n_vocab);
  sampler *s = rt_calloc(1, sizeof *s);
  if (!s)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory creating the sampler");
  s->params = *params;
  s->n_vocab = n_vocab;
  const size_t n = (size_t)n_vocab;
  s->candidates = rt_calloc(n, sizeof *s->candidates);
  s->scratch.candidates = rt_calloc(n, sizeof *s->scratch.candidates);
  s->scratch.pairs = rt_calloc(n, sizeof *s->scratch.pairs);
  s->scratch.pairs_tmp = rt_calloc(n, sizeof *s->scratch.pairs_tmp);
  s->scratch.capacity = n;
  bool ok = s->candidates && s->scratch.candidates && s->scratch.pairs && s->scratch.pairs_tmp;
  if (ok && penalties_active(params)) {
    s->history_capacity = (size_t)params->penalty_last_n;
    s->history = rt_calloc(s->history_capacity, sizeof *s->history);
    s->counts = rt_calloc(n, sizeof *s->counts);
    ok = s->history && s->counts;
  }
  if (!ok) {
    sampler_free(s);
    return rt_error(error, CHORD_ERROR_NO_MEMORY,
                    "out of memory creating the sampler (vocabulary of %d, penalty window of %d)",
                    n_vocab, penalties_active(params) ? params->penalty_last_n : 0);
  }
  if (!greedy(s))
    for (int i = 0; i < CHAIN_COUNT; i++)
      if (chain_table[i].active(params))
        s->stages[s->n_stages++] = &chain_table[i];
  s->seed = pick_seed(params->seed);
  sampler_rng_seed(&s->rng, s->seed);
  *out = s;
  return CHORD_OK;
}

void sampler_free(sampler *s) {
  if (!s)
    return;
  rt_free(s->candidates);
  rt_free(s->scratch.candidates);
  rt_free(s->scratch.pairs);
  rt_free(s->scratch.pairs_tmp);
  rt_free(s->history);
  rt_free(s->counts);
  rt_free(s);
}

void sampler_reset(sampler *s) {
  if (s->counts)
    memset(s->counts, 0, (size_t)s->n_vocab * sizeof *s->counts);
  s->history_size = 0;
  s->history_first = 0;
  s->seed = pick_seed(s->params.seed);
  sampler_rng_seed(&s->rng, s->seed);
}

uint64_t sampler_seed(const sampler *s) { return s->seed; }

/* ---- penalties ------------------------------------------------------------------------------- */

chord_status sampler_accept(sampler *s, int32_t token, chord_error *error) {
  if (token < 0 || token >= s->n_vocab)
    return rt_error(error, CHORD_ERROR_INVALID,
                    "sampler: token id %d is out of range (vocabulary of %d)", token, s->n_vocab);
  if (!s->history)
    return CHORD_OK;
  if (s->history_size == s->history_capacity) {
    s->counts[s->history[s->history_first]]--; /* the oldest leaves the window */
    s->history[s->history_first] = token;
    s->history_first = (s->history_first + 1) % s->history_capacity;
  } else {
    s->history[(s->history_first + s->history_size) % s->history_capacity] = token;
    s->history_size++;
  }
  s->counts[token]++;
  return CHORD_OK;
}

static float penalized_logit(const sampler *s, float logit, int32_t count) {
  const sampler_params *p = &s->params;
  return sampler_penalize(logit, count, p->repeat_penalty, p->frequency_penalty,
                          p->presence_penalty);
}

/* Needs the candidates in id order (candidates[t].id == t), which they are before any stage.
 * Touches only the tokens in the window: O(penalty_last_n), not O(n_vocab). */
static void apply_penalties(sampler *s, sampler_candidates *c) {
  for (size_t i = 0; i < s->history_size; i++) {
    const int32_t t = s->history[i];
    const int32_t count = s->counts[t];
    if (count > 0) {
      c->data[t].logit = penalized_logit(s, c->data[t].logit, count);
      s->counts[t] = -count; /* once per token, however often it is in the window */
    }
  }
  for (size_t i = 0; i < s->history_size; i++) {
    const int32_t t = s->history[i];
    if (s->counts[t] < 0)
      s->counts[t] = -s->counts[t];
  }
}

/* ---- sampling -------------------------------------------------------------------------------- */

/* The error for logits with a NaN or +inf, or with every one -inf. */
static chord_status bad_logits(const float *logits, int32_t n, chord_error *error) {
  for (int32_t i = 0; i < n; i++)
    if (!(logits[i] < INFINITY))
      return rt_error(error, CHORD_ERROR_INVALID, "sampler: the logit of token %d is %s", i,
                      isnan(logits[i]) ? "NaN" : "+inf");
  return rt_error(error, CHORD_ERROR_INVALID, "sampler: every logit is -inf");
}

/* Extreme penalties can overflow: the candidates they changed are checked again. */
static chord_status check_penalized(const sampler_candidate *data, size_t n, chord_error *error) {
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    if (!(data[i].logit < INFINITY))
      return rt_error(error, CHORD_ERROR_INVALID,
                      "sampler: the logit of token %d is %s after the penalties", data[i].id,
                      isnan(data[i].logit) ? "NaN" : "+inf");
    any |= data[i].logit > -INFINITY;
  }
  if (!any)
    return rt_error(error, CHORD_ERROR_INVALID, "sampler: every logit is -inf after the penalties");
  return CHORD_OK;
}

static bool penalized(const sampler *s) { return s->history && s->history_size > 0; }

/* The k of top-k (1 for greedy) when the top k can be taken straight from the logits, else 0.
 * With penalties, a token of the penalized top k is either penalized itself (those are added) or
 * among the best k + (window size) raw logits; that pool must fit the heap and the array. */
static size_t top_k_from_logits(const sampler *s) {
  const size_t k = greedy(s) ? 1 : s->params.top_k > 0 ? (size_t)s->params.top_k : 0;
  const size_t extra = penalized(s) ? s->history_size : 0;
  if (k == 0 || k + 2 * extra > (size_t)s->n_vocab || k + extra > SAMPLER_HEAP_MAX)
    return 0;
  return k;
}

/* The top k after the penalties, best first, without building all n_vocab candidates. */
static chord_status select_top_k(sampler *s, const float *logits, size_t k, sampler_candidates *c,
                                 chord_error *error) {
  sampler_candidate *pool = s->candidates;
  const size_t m = k + (penalized(s) ? s->history_size : 0);
  if (sampler_select_top_logits(logits, (size_t)s->n_vocab, m, pool) || pool[0].logit == -INFINITY)
    return bad_logits(logits, s->n_vocab, error);
  size_t size = m;
  if (penalized(s)) {
    for (size_t i = 0; i < m; i++) {
      const int32_t t = pool[i].id, count = s->counts[t];
      if (count > 0) {
        pool[i].logit = penalized_logit(s, pool[i].logit, count);
        s->counts[t] = -count; /* done */
      }
    }
    for (size_t i = 0; i < s->history_size; i++) {
      const int32_t t = s->history[i], count = s->counts[t];
      if (count > 0) {
        pool[size++] = (sampler_candidate){t, penalized_logit(s, logits[t], count), 0.0f};
        s->counts[t] = -count;
      }
    }
    for (size_t i = 0; i < s->history_size; i++)
      if (s->counts[s->history[i]] < 0)
        s->counts[s->history[i]] = -s->counts[s->history[i]];
    chord_status status = check_penalized(pool, size, error);
    if (status != CHORD_OK)
      return status;
    sampler_select_top(pool, size, k, s->scratch.candidates);
    memcpy(pool, s->scratch.candidates, k * sizeof *pool);
  }
  *c = (sampler_candidates){pool, k, true};
  return CHORD_OK;
}

/* All n_vocab candidates, in id order, after the penalties. */
static chord_status fill_candidates(sampler *s, const float *logits, sampler_candidates *c,
                                    chord_error *error) {
  *c = (sampler_candidates){s->candidates, (size_t)s->n_vocab, false};
  bool bad = false, any = false; /* checked in the same pass */
  for (int32_t i = 0; i < s->n_vocab; i++) {
    const float l = logits[i];
    c->data[i] = (sampler_candidate){i, l, 0.0f};
    bad |= !(l < INFINITY);
    any |= l > -INFINITY;
  }
  if (bad || !any)
    return bad_logits(logits, s->n_vocab, error);
  if (!penalized(s))
    return CHORD_OK;
  apply_penalties(s, c);
  return check_penalized(c->data, c->size, error);
}

chord_status sampler_apply(sampler *s, const float *logits, sampler_candidates *out,
                           chord_error *error) {
  sampler_candidates c;
  chord_status status;
  int first_stage = 0;
  const size_t k = top_k_from_logits(s);
  if (k > 0) {
    /* the default chain: top-k first, straight from the logits */
    status = select_top_k(s, logits, k, &c, error);
    first_stage = 1;
    RT_ASSERT(greedy(s) || s->stages[0]->apply == top_k_apply);
  } else {
    status = fill_candidates(s, logits, &c, error);
  }
  if (status != CHORD_OK)
    return status;
  if (greedy(s)) {
    /* what llama.cpp's temperature <= 0 leaves: the argmax (the first of equal logits) alone;
     * the truncations keep it anyway */
    size_t best = 0;
    for (size_t i = 1; i < c.size; i++)
      if (c.data[i].logit > c.data[best].logit)
        best = i;
    c.data[0] = c.data[best];
    c.data[0].p = 1.0f;
    c.size = 1;
    c.sorted = true;
  } else {
    for (int i = first_stage; i < s->n_stages; i++)
      s->stages[i]->apply(s, &c);
    sampler_softmax(&c);
  }
  *out = c;
  return CHORD_OK;
}

/* llama.cpp's dist: the first candidate at which the running probability passes u * total.
 * "Passes" is strict here, so a zero-probability candidate is never drawn. */
static int32_t draw(sampler *s, const sampler_candidates *c) {
  if (c->size == 1)
    return c->data[0].id; /* llama.cpp draws no number then either */
  double total = 0.0;
  for (size_t i = 0; i < c->size; i++)
    total += c->data[i].p;
  const double target = sampler_rng_uniform(&s->rng) * total;
  double run = 0.0;
  size_t last_possible = 0;
  for (size_t i = 0; i < c->size; i++) {
    if (c->data[i].p <= 0.0f)
      continue;
    run += c->data[i].p;
    last_possible = i;
    if (run > target)
      return c->data[i].id;
  }
  return c->data[last_possible].id; /* rounding left the target just above the sum */
}

chord_status sampler_sample(sampler *s, const float *logits, int32_t *token, chord_error *error) {
  sampler_candidates c;
  chord_status status = sampler_apply(s, logits, &c, error);
  if (status != CHORD_OK)
    return status;
  *token = draw(s, &c);
  return CHORD_OK;
}
