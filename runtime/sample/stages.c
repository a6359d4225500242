/* The stages of the chain, each with the semantics of its llama.cpp sampler
 * (src/llama-sampling.cpp): the same thresholds, the same min_keep rules, the same arithmetic in
 * float. Where llama.cpp leaves an order unspecified (std::sort of equal elements) these keep
 * the lower id first, so the draw is reproducible. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "runtime/sample/sample_internal.h"

/* Unsorted top-p on more candidates than this first tries the best TOP_P_FIRST_TRY ones and
 * sorts everything only if their probability stays below p (as llama.cpp does). */
enum { TOP_P_UNSORTED_MIN = 1024, TOP_P_FIRST_TRY = 256 };

void sampler_softmax(sampler_candidates *c) {
  float max = c->data[0].logit;
  if (!c->sorted)
    for (size_t i = 1; i < c->size; i++)
      max = fmaxf(max, c->data[i].logit);
  float sum = 0.0f;
  for (size_t i = 0; i < c->size; i++) {
    const float e = expf(c->data[i].logit - max);
    c->data[i].p = e;
    sum += e;
  }
  for (size_t i = 0; i < c->size; i++)
    c->data[i].p /= sum;
}

void sampler_top_k(sampler_candidates *c, int32_t k, sampler_scratch *scratch) {
  if (k <= 0)
    return;
  const size_t keep = (size_t)k < c->size ? (size_t)k : c->size;
  if (!c->sorted) {
    if (keep < c->size && keep <= SAMPLER_HEAP_MAX) {
      sampler_select_top(c->data, c->size, keep, scratch->candidates);
      memcpy(c->data, scratch->candidates, keep * sizeof *c->data);
      c->sorted = true;
    } else {
      sampler_sort(c, scratch);
    }
  }
  c->size = keep;
}

void sampler_typical(sampler_candidates *c, float p, size_t min_keep, sampler_scratch *scratch) {
  if (p >= 1.0f)
    return;
  sampler_sort(c, scratch);
  sampler_softmax(c);
  /* llama.cpp adds -p*log(p) for every token and gets NaN once a probability underflows to 0;
   * such a token contributes nothing to the entropy, so it is skipped */
  float entropy = 0.0f;
  for (size_t i = 0; i < c->size; i++)
    if (c->data[i].p > 0.0f)
      entropy += -c->data[i].p * logf(c->data[i].p);
  /* by |surprise - entropy|, ascending; a stable sort keeps equal scores in logit order */
  for (size_t i = 0; i < c->size; i++)
    scratch->pairs[i] =
        sampler_pair(sampler_key_ascending(fabsf(-logf(c->data[i].p) - entropy)), i);
  sampler_sort_by_keys(c->data, c->size, scratch);
  float cum = 0.0f;
  size_t last = c->size;
  for (size_t i = 0; i < c->size; i++) {
    cum += c->data[i].p;
    /* strictly more than p, unlike top-p's "at least" */
    if (cum > p && (min_keep == 0 || i + 1 >= min_keep)) {
      last = i + 1;
      break;
    }
  }
  c->size = last;
  c->sorted = false;
}

void sampler_top_p(sampler_candidates *c, float p, size_t min_keep, sampler_scratch *scratch) {
  if (p >= 1.0f)
    return;
  sampler_softmax(c);
  /* walk the candidates best first: the heap's few if that is likely enough, else all sorted */
  const sampler_candidate *order = c->data;
  size_t ordered = c->size;
  if (!c->sorted && c->size > TOP_P_UNSORTED_MIN) {
    ordered = TOP_P_FIRST_TRY;
    sampler_select_top(c->data, c->size, ordered, scratch->candidates);
    order = scratch->candidates;
  } else {
    sampler_sort(c, scratch);
  }
  float cum = 0.0f;
  size_t last = c->size;
  for (size_t i = 0; i < c->size; i++) {
    if (i == ordered) {
      /* the first try ran out before p: sort everything, once. The sorted prefix is the same
       * candidates in the same order, so the running sum carries on. */
      sampler_sort(c, scratch);
      order = c->data;
      ordered = c->size;
    }
    cum += order[i].p;
    if (cum >= p && i + 1 >= min_keep) {
      last = i + 1;
      break;
    }
  }
  if (order != c->data)
    memcpy(c->data, order, last * sizeof *c->data);
  c->size = last;
  c->sorted = true;
}

void sampler_min_p(sampler_candidates *c, float p, size_t min_keep, sampler_scratch *scratch) {
  if (p <= 0.0f || c->size == 0)
    return;
  /* p_i >= p * p_max  <=>  logit_i >= logit_max + log(p): no softmax needed */
  if (!c->sorted) {
    float max = -FLT_MAX;
    for (size_t i = 0; i < c->size; i++)
      max = fmaxf(max, c->data[i].logit);
    const float min_logit = max + logf(p);
    size_t kept = 0;
    for (size_t i = 0; i < c->size; i++)
      kept += c->data[i].logit >= min_logit;
    if (kept > 0 && kept >= min_keep) {
      size_t out = 0;
      for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit >= min_logit)
          c->data[out++] = c->data[i];
      c->size = kept;
      return;
    }
    /* too few for min_keep: llama.cpp then sorts and keeps min_keep */
    sampler_sort(c, scratch);
  }
  const float min_logit = c->data[0].logit + logf(p);
  size_t i = 1; /* the best token always stays */
  for (; i < c->size; i++)
    if (c->data[i].logit < min_logit && i >= min_keep)
      break;
  c->size = i;
}

void sampler_temperature(sampler_candidates *c, float temp) {
  for (size_t i = 0; i < c->size; i++)
    c->data[i].logit /= temp;
}

float sampler_penalize(float logit, int32_t count, float repeat, float frequency, float presence) {
  /* dividing a negative logit would make the token likelier: those are multiplied instead */
  if (logit <= 0.0f)
    logit *= repeat;
  else
    logit /= repeat;
  return logit - ((float)count * frequency + (float)(count > 0) * presence);
}
