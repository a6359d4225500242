/* The sampler's pieces, shared by its files and its tests: the random generator, the ordering
 * primitives and the stages of the chain, each on a candidate array. */
#ifndef CHORD_RUNTIME_SAMPLE_INTERNAL_H
#define CHORD_RUNTIME_SAMPLE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/sample/sampler.h"

/* ---- rng.c: xoshiro256** (Blackman and Vigna), seeded through splitmix64 ------------------- */

typedef struct sampler_rng {
  uint64_t s[4];
} sampler_rng;

void sampler_rng_seed(sampler_rng *rng, uint64_t seed);
uint64_t sampler_rng_next(sampler_rng *rng);
double sampler_rng_uniform(sampler_rng *rng); /* in [0, 1), 53 random bits */
/* A seed from the system's entropy (getentropy, else the clock); never SAMPLER_SEED_RANDOM. */
uint64_t sampler_rng_entropy_seed(void);

/* Up to this m a bounded heap selects the best m faster than a sort of everything. */
enum { SAMPLER_HEAP_MAX = 1024 };

/* ---- order.c: selection and sorting, all in (logit descending, id ascending) order --------- */

/* Room for reordering up to `capacity` candidates: the sampler owns one of n_vocab. A sort by
 * key takes (key << 32 | position) pairs, so that equal keys keep their positions' order. */
typedef struct sampler_scratch {
  sampler_candidate *candidates;
  uint64_t *pairs, *pairs_tmp;
  size_t capacity;
} sampler_scratch;

/* Keys whose unsigned order is the float order (ascending) or its reverse (descending); -0 and
 * +0 get the same key. */
uint32_t sampler_key_ascending(float x);
uint32_t sampler_key_descending(float x);

static inline uint64_t sampler_pair(uint32_t key, size_t position) {
  return (uint64_t)key << 32 | (uint32_t)position;
}

/* Stable sort of data[0..n) by the pairs in scratch->pairs[0..n) (pairs[i] = sampler_pair(key of
 * data[i], i)), keys ascending: a radix sort, O(n). The pairs are consumed. */
void sampler_sort_by_keys(sampler_candidate *data, size_t n, sampler_scratch *scratch);

/* The best m of in[0..n) (1 <= m <= n), best first, into out[0..m): a bounded heap, O(n log m),
 * and for the small m the chain uses mostly one comparison per candidate. */
void sampler_select_top(const sampler_candidate *in, size_t n, size_t m, sampler_candidate *out);

/* The same from raw logits (ids 0..n-1), without building n candidates first: what the chain
 * does when top-k comes first, as it does by default. Returns whether a logit is NaN or +inf. */
bool sampler_select_top_logits(const float *logits, size_t n, size_t m, sampler_candidate *out);

/* Sorts c by logit, descending, unless it already is. Equal logits stay in their order, which
 * every stage keeps id-ascending, so the result is the same total order as sampler_select_top. */
void sampler_sort(sampler_candidates *c, sampler_scratch *scratch);

/* ---- stages.c: llama.cpp's samplers (src/llama-sampling.cpp), one function each ------------- */

/* p = softmax(logit) over c (the max subtracted first), in float as llama.cpp. */
void sampler_softmax(sampler_candidates *c);
/* The k best (k <= 0: all); leaves c sorted. */
void sampler_top_k(sampler_candidates *c, int32_t k, sampler_scratch *scratch);
/* Locally typical sampling: the tokens whose surprise -log p is closest to the entropy, until
 * their probability exceeds p (p >= 1: off). Leaves c in that order (not sorted). */
void sampler_typical(sampler_candidates *c, float p, size_t min_keep, sampler_scratch *scratch);
/* Nucleus: the smallest prefix of the sorted candidates whose probability reaches p, the token
 * that crosses p included (p >= 1: off). Leaves c sorted. */
void sampler_top_p(sampler_candidates *c, float p, size_t min_keep, sampler_scratch *scratch);
/* The tokens with probability >= p times the largest one (p <= 0: off); the order is kept,
 * unless min_keep needs more tokens than pass: then c is sorted first. */
void sampler_min_p(sampler_candidates *c, float p, size_t min_keep, sampler_scratch *scratch);
/* logit /= temp (temp > 0); the order is kept. */
void sampler_temperature(sampler_candidates *c, float temp);
/* A token's logit after the penalties, for `count` occurrences in the window (count > 0). */
float sampler_penalize(float logit, int32_t count, float repeat, float frequency, float presence);

#endif
