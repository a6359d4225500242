/* Ordering candidates without a comparison sort of the whole vocabulary: a bounded heap picks the
 * best few (top-k, the first try of top-p) and a radix sort orders everything when a stage needs
 * it. Both are deterministic: no library sort whose order of equal elements is unspecified. */
#include <math.h>
#include <string.h>

#include "runtime/sample/sample_internal.h"
#include "runtime/support/error.h"

/* Below this, an insertion sort beats the four counting passes. */
enum { SORT_INSERTION_MAX = 32 };

static uint32_t key_bits(float x) {
  if (x == 0.0f)
    x = 0.0f; /* -0 == +0 as floats, so they must share a key */
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  /* negative floats order backwards as integers: flip them all; positive ones: set the sign */
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

uint32_t sampler_key_ascending(float x) { return key_bits(x); }
uint32_t sampler_key_descending(float x) { return ~key_bits(x); }

/* Positions make the pairs distinct and ordered, so sorting whole pairs sorts stably by key. */
static void insertion_sort(uint64_t *pairs, size_t n) {
  for (size_t i = 1; i < n; i++) {
    const uint64_t x = pairs[i];
    size_t j = i;
    for (; j > 0 && pairs[j - 1] > x; j--)
      pairs[j] = pairs[j - 1];
    pairs[j] = x;
  }
}

/* LSD radix sort of the pairs by their key half, 8 bits a pass, all four histograms in one
 * read; returns the array that holds the result (pairs or tmp). Moving 8-byte pairs rather than
 * the 12-byte candidates plus keys halves the traffic of each pass. */
static uint64_t *radix_sort(uint64_t *pairs, uint64_t *tmp, size_t n) {
  uint32_t count[4][256] = {{0}};
  for (size_t i = 0; i < n; i++) {
    const uint32_t k = (uint32_t)(pairs[i] >> 32);
    count[0][k & 0xff]++;
    count[1][(k >> 8) & 0xff]++;
    count[2][(k >> 16) & 0xff]++;
    count[3][k >> 24]++;
  }
  uint64_t *src = pairs, *dst = tmp;
  for (int pass = 0; pass < 4; pass++) {
    const int shift = 32 + 8 * pass;
    uint32_t *c = count[pass];
    /* a digit that all keys share orders nothing */
    if (c[(src[0] >> shift) & 0xff] == n)
      continue;
    uint32_t offset = 0;
    for (int b = 0; b < 256; b++) {
      const uint32_t here = c[b];
      c[b] = offset;
      offset += here;
    }
    for (size_t i = 0; i < n; i++)
      dst[c[(src[i] >> shift) & 0xff]++] = src[i];
    uint64_t *t = src;
    src = dst;
    dst = t;
  }
  return src;
}

void sampler_sort_by_keys(sampler_candidate *data, size_t n, sampler_scratch *scratch) {
  RT_ASSERT(n <= scratch->capacity && n <= UINT32_MAX);
  if (n < 2)
    return;
  uint64_t *sorted = scratch->pairs;
  if (n <= SORT_INSERTION_MAX)
    insertion_sort(sorted, n);
  else
    sorted = radix_sort(scratch->pairs, scratch->pairs_tmp, n);
  for (size_t i = 0; i < n; i++)
    scratch->candidates[i] = data[(uint32_t)sorted[i]];
  memcpy(data, scratch->candidates, n * sizeof *data);
}

/* The chain's total order: larger logit first, then lower id. */
static int better(const sampler_candidate *a, const sampler_candidate *b) {
  return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

/* heap[0] is the worst of heap[0..n): every parent is worse than its children */
static void sift_down(sampler_candidate *heap, size_t n, size_t i) {
  const sampler_candidate x = heap[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n)
      break;
    if (child + 1 < n && better(&heap[child], &heap[child + 1]))
      child++; /* the worse child */
    if (!better(&x, &heap[child]))
      break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = x;
}

/* Moving the worst to the back each time leaves the best first. */
static void heap_sort(sampler_candidate *heap, size_t n) {
  for (size_t end = n; end > 1; end--) {
    const sampler_candidate worst = heap[0];
    heap[0] = heap[end - 1];
    heap[end - 1] = worst;
    sift_down(heap, end - 1, 0);
  }
}

void sampler_select_top(const sampler_candidate *in, size_t n, size_t m, sampler_candidate *out) {
  RT_ASSERT(m >= 1 && m <= n);
  memcpy(out, in, m * sizeof *out);
  for (size_t i = m / 2; i-- > 0;)
    sift_down(out, m, i);
  for (size_t i = m; i < n; i++) {
    if (better(&in[i], &out[0])) {
      out[0] = in[i];
      sift_down(out, m, 0);
    }
  }
  heap_sort(out, m);
}

bool sampler_select_top_logits(const float *logits, size_t n, size_t m, sampler_candidate *out) {
  RT_ASSERT(m >= 1 && m <= n);
  bool bad = false;
  for (size_t i = 0; i < m; i++) {
    out[i] = (sampler_candidate){(int32_t)i, logits[i], 0.0f};
    bad |= !(logits[i] < INFINITY);
  }
  for (size_t i = m / 2; i-- > 0;)
    sift_down(out, m, i);
  float worst = out[0].logit;
  for (size_t i = m; i < n; i++) {
    const float l = logits[i];
    bad |= !(l < INFINITY);
    /* every id in the heap is lower than i, so an equal logit never enters */
    if (l > worst) {
      out[0] = (sampler_candidate){(int32_t)i, l, 0.0f};
      sift_down(out, m, 0);
      worst = out[0].logit;
    }
  }
  heap_sort(out, m);
  return bad;
}

void sampler_sort(sampler_candidates *c, sampler_scratch *scratch) {
  if (c->sorted)
    return;
  for (size_t i = 0; i < c->size; i++)
    scratch->pairs[i] = sampler_pair(sampler_key_descending(c->data[i].logit), i);
  sampler_sort_by_keys(c->data, c->size, scratch);
  c->sorted = true;
}
