/* Special-token recognition: splitting text into raw fragments and the control, user-defined
 * and unknown tokens found in it, with llama.cpp's results (tokenizer_st_partition).
 *
 * llama.cpp takes the special tokens longest first and, for each, cuts every remaining raw
 * fragment at its occurrences from left to right; a token with RSTRIP (LSTRIP) also swallows
 * the whitespace after (before) it. We reach the same partition without scanning the text once
 * per special token (Gemma has 6414 of them): one walk over a trie of their texts finds which
 * tokens occur at all, and only those are placed, in llama.cpp's order, over a map of the bytes
 * already claimed. An occurrence is free when none of its bytes is claimed, which is exactly
 * when llama.cpp's search inside one fragment would find it. */
#include <stdlib.h>
#include <string.h>

#include "runtime/support/alloc.h"
#include "runtime/support/error.h"
#include "runtime/tokenizer/tok_internal.h"

chord_status tok_trie_build(tok_vocab *v, chord_error *error) {
  uint32_t capacity = 64;
  v->trie = rt_malloc(capacity * sizeof *v->trie);
  if (!v->trie)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory building the special tokens");
  v->trie[0] = (tok_trie_node){-1, -1, TOK_NO_RANK, 0};
  v->n_trie = 1;
  for (int b = 0; b < 256; b++)
    v->trie_root[b] = -1;
  for (uint32_t k = 0; k < v->n_special; k++) {
    tok_id id = v->special_order[k];
    size_t n;
    const uint8_t *t = (const uint8_t *)tok_strings_get(&v->texts, id, &n);
    int32_t node = 0;
    for (size_t i = 0; i < n; i++) {
      int32_t child = i == 0 ? v->trie_root[t[i]] : v->trie[node].child;
      while (child >= 0 && v->trie[child].byte != t[i])
        child = v->trie[child].sibling;
      if (child < 0) {
        if (v->n_trie == capacity) {
          tok_trie_node *grown = rt_realloc(v->trie, 2 * capacity * sizeof *grown);
          if (!grown)
            return rt_error(error, CHORD_ERROR_NO_MEMORY,
                            "out of memory building the special tokens");
          v->trie = grown;
          capacity *= 2;
        }
        child = (int32_t)v->n_trie++;
        v->trie[child] = (tok_trie_node){-1, -1, TOK_NO_RANK, t[i]};
        if (i == 0) {
          v->trie_root[t[i]] = child;
        } else {
          v->trie[child].sibling = v->trie[node].child;
          v->trie[node].child = child;
        }
      }
      node = child;
    }
    if (n)
      v->trie[node].rank = k; /* texts are unique, so a node ends at most one token */
  }
  return CHORD_OK;
}

static bool fragments_push(tok_fragments *f, size_t offset, size_t size, tok_id token) {
  if (f->count == f->capacity) {
    size_t cap = f->capacity ? f->capacity * 2 : 16;
    tok_fragment *items = rt_realloc(f->items, cap * sizeof *items);
    if (!items)
      return false;
    f->items = items;
    f->capacity = cap;
  }
  f->items[f->count++] = (tok_fragment){offset, size, token};
  return true;
}

static inline bool active(const tok_vocab *v, tok_id id, bool parse_special) {
  return parse_special || !(v->attrs[id] & (TOK_ATTR_CONTROL | TOK_ATTR_UNKNOWN));
}

static int by_rank(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

typedef struct placed {
  size_t offset;
  tok_id token;
} placed;

static int by_offset(const void *a, const void *b) {
  size_t x = ((const placed *)a)->offset, y = ((const placed *)b)->offset;
  return (x > y) - (x < y);
}

/* C-locale isspace on a byte, as llama.cpp strips around LSTRIP/RSTRIP tokens. */
static inline bool strip_space(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* The first occurrence of needle (n > 0 bytes) in hay, or NULL; memmem is not in C17. */
static const uint8_t *find_bytes(const uint8_t *hay, size_t size, const uint8_t *needle, size_t n) {
  while (size >= n) {
    const uint8_t *p = memchr(hay, needle[0], size - n + 1);
    if (!p)
      return NULL;
    if (memcmp(p, needle, n) == 0)
      return p;
    size -= (size_t)(p - hay) + 1;
    hay = p + 1;
  }
  return NULL;
}

static inline bool any_claimed(const uint8_t *claimed, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (claimed[i])
      return true;
  return false;
}

chord_status tok_partition(const tok_vocab *v, const uint8_t *text, size_t size, bool parse_special,
                           tok_fragments *out, chord_error *error) {
  out->count = 0;
  if (!size)
    return CHORD_OK;
  uint32_t *ranks = NULL; /* the special tokens that occur, as ranks in llama.cpp's order */
  size_t n_ranks = 0, cap_ranks = 0;
  uint8_t *seen = NULL;    /* one bit per special token */
  uint8_t *claimed = NULL; /* per byte: 0 free, 1 a placed token, 2 whitespace stripped */
  placed *found = NULL;
  size_t n_found = 0, cap_found = 0;

  if (v->n_special && !(seen = rt_calloc((v->n_special + 7) / 8, 1)))
    goto oom;
  for (size_t p = 0; p < size && v->n_special; p++) {
    int32_t node = v->trie_root[text[p]];
    for (size_t i = p; node >= 0;) {
      uint32_t rank = v->trie[node].rank;
      if (rank != TOK_NO_RANK && active(v, v->special_order[rank], parse_special)) {
        if (!(seen[rank / 8] & (1u << (rank % 8)))) {
          seen[rank / 8] |= (uint8_t)(1u << (rank % 8));
          if (n_ranks == cap_ranks) {
            cap_ranks = cap_ranks ? cap_ranks * 2 : 16;
            uint32_t *grown = rt_realloc(ranks, cap_ranks * sizeof *grown);
            if (!grown)
              goto oom;
            ranks = grown;
          }
          ranks[n_ranks++] = rank;
        }
      }
      if (++i >= size)
        break;
      int32_t child = v->trie[node].child;
      while (child >= 0 && v->trie[child].byte != text[i])
        child = v->trie[child].sibling;
      node = child;
    }
  }
  rt_free(seen);
  seen = NULL;

  if (n_ranks == 0) {
    rt_free(ranks);
    if (!fragments_push(out, 0, size, TOK_NULL))
      return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory tokenizing");
    return CHORD_OK;
  }
  qsort(ranks, n_ranks, sizeof *ranks, by_rank);

  if (!(claimed = rt_calloc(size, 1)))
    goto oom;
  for (size_t r = 0; r < n_ranks; r++) {
    tok_id id = v->special_order[ranks[r]];
    uint32_t attr = v->attrs[id];
    size_t n;
    const uint8_t *t = (const uint8_t *)tok_strings_get(&v->texts, id, &n);
    for (size_t pos = 0; pos + n <= size;) {
      const uint8_t *hit = find_bytes(text + pos, size - pos, t, n);
      if (!hit)
        break;
      size_t m = (size_t)(hit - text);
      if (any_claimed(claimed + m, n)) { /* it would span fragments: llama.cpp cannot see it */
        pos = m + 1;
        continue;
      }
      memset(claimed + m, 1, n);
      if (n_found == cap_found) {
        cap_found = cap_found ? cap_found * 2 : 16;
        placed *grown = rt_realloc(found, cap_found * sizeof *grown);
        if (!grown)
          goto oom;
        found = grown;
      }
      found[n_found++] = (placed){m, id};
      pos = m + n;
      if (attr & TOK_ATTR_LSTRIP)
        for (size_t k = m; k > 0 && !claimed[k - 1] && strip_space(text[k - 1]); k--)
          claimed[k - 1] = 2;
      if (attr & TOK_ATTR_RSTRIP)
        for (; pos < size && !claimed[pos] && strip_space(text[pos]); pos++)
          claimed[pos] = 2;
    }
  }
  qsort(found, n_found, sizeof *found, by_offset);

  /* Raw fragments are the unclaimed runs; stripped whitespace is dropped. */
  size_t next = 0, run = SIZE_MAX;
  for (size_t p = 0; p < size; p++) {
    if (!claimed[p]) {
      if (run == SIZE_MAX)
        run = p;
      continue;
    }
    if (run != SIZE_MAX && !fragments_push(out, run, p - run, TOK_NULL))
      goto oom;
    run = SIZE_MAX;
    if (next < n_found && found[next].offset == p) {
      size_t n;
      tok_strings_get(&v->texts, found[next].token, &n);
      if (!fragments_push(out, p, n, found[next].token))
        goto oom;
      next++;
    }
  }
  if (run != SIZE_MAX && !fragments_push(out, run, size - run, TOK_NULL))
    goto oom;
  rt_free(claimed);
  rt_free(found);
  rt_free(ranks);
  return CHORD_OK;

oom:
  rt_free(seen);
  rt_free(ranks);
  rt_free(claimed);
  rt_free(found);
  return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory tokenizing");
}
