/* Byte-level BPE (tokenizer.ggml.model = "gpt2"), as llama.cpp does it: the pre-tokenizer cuts
 * the text into words, each word's bytes become GPT-2's byte-level characters, and the adjacent
 * pair with the lowest merge rank is merged until no pair has a rule. The rules are looked up
 * by the interned ids of their two sides, which is the same as llama.cpp's lookup by text: two
 * symbols have a rule exactly when their texts are the rule's two sides. */
#include <string.h>

#include "runtime/support/alloc.h"
#include "runtime/support/error.h"
#include "runtime/tokenizer/tok_internal.h"

typedef struct bpe_symbol {
  int32_t prev, next;
  uint32_t start, n; /* bytes of the word; n = 0 once merged into the left neighbour */
  int32_t piece;     /* interned id of the symbol's text, -1 if nothing has that text */
} bpe_symbol;

typedef struct bpe_bigram {
  int32_t rank, left, right;
  uint32_t size; /* the pair's byte length when queued; a different one now means it is stale */
  int32_t result;
} bpe_bigram;

/* The queue's order: the lowest rank first, and of equal ranks the leftmost. */
static inline bool before(const bpe_bigram *a, const bpe_bigram *b) {
  return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

typedef struct bpe_heap {
  bpe_bigram *items;
  size_t count;
} bpe_heap;

static void heap_push(bpe_heap *h, bpe_bigram b) {
  size_t i = h->count++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(&b, &h->items[parent]))
      break;
    h->items[i] = h->items[parent];
    i = parent;
  }
  h->items[i] = b;
}

static bpe_bigram heap_pop(bpe_heap *h) {
  bpe_bigram top = h->items[0], last = h->items[--h->count];
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= h->count)
      break;
    if (child + 1 < h->count && before(&h->items[child + 1], &h->items[child]))
      child++;
    if (!before(&h->items[child], &last))
      break;
    h->items[i] = h->items[child];
    i = child;
  }
  if (h->count)
    h->items[i] = last;
  return top;
}

static inline void add_bigram(const tok_vocab *v, bpe_symbol *symbols, bpe_heap *h, int32_t left,
                              int32_t right) {
  if (left < 0 || right < 0)
    return;
  const bpe_symbol *l = &symbols[left], *r = &symbols[right];
  if (l->piece < 0 || r->piece < 0)
    return;
  const tok_merge *m = tok_merges_find(&v->merges, l->piece, r->piece);
  if (m)
    heap_push(h, (bpe_bigram){m->rank, left, right, l->n + r->n, m->result});
}

/* Emits the token of one finished symbol, or, when its text is no token, the tokens of its
 * single bytes in the byte-level alphabet that exist (llama.cpp drops the others). */
static bool emit(const tok_vocab *v, const uint8_t *word, const bpe_symbol *sym, tok_ids *out) {
  if (sym->piece >= 0 && (uint32_t)sym->piece < v->n_tokens)
    return tok_ids_push(out, sym->piece);
  for (uint32_t i = 0; i < sym->n; i++) {
    uint8_t b = word[sym->start + i];
    for (uint8_t j = 0; j < v->byte_utf8_size[b]; j++) {
      tok_id t = v->single_byte_token[v->byte_utf8[b][j]];
      if (t != TOK_NULL && !tok_ids_push(out, t))
        return false;
    }
  }
  return true;
}

/* ---- the words of one call ------------------------------------------------------------------ */

/* A word's tokens depend on nothing but the word, and text repeats its words: a long text is
 * tokenized much faster by remembering each (short) word's tokens for the rest of the call. */
enum { CACHE_MAX_WORD = 64, CACHE_MAX_ENTRIES = 1 << 16, CACHE_MIN_TEXT = 1024 };

typedef struct word_entry {
  uint32_t key, key_size; /* in pool */
  uint32_t ids, count;    /* in ids */
} word_entry;

struct tok_word_cache {
  uint64_t *slots; /* hash high bits << 32 | (entry + 1) */
  uint32_t mask;
  word_entry *entries;
  uint32_t count;
  uint8_t *pool;
  size_t pool_size, pool_capacity;
  tok_id *ids;
  size_t n_ids, ids_capacity;
};

void tok_word_cache_free(struct tok_word_cache *c) {
  if (!c)
    return;
  rt_free(c->slots);
  rt_free(c->entries);
  rt_free(c->pool);
  rt_free(c->ids);
  rt_free(c);
}

static struct tok_word_cache *cache_new(void) {
  struct tok_word_cache *c = rt_calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->mask = 2 * CACHE_MAX_ENTRIES - 1;
  c->slots = rt_calloc((size_t)c->mask + 1, sizeof *c->slots);
  c->entries = rt_malloc(CACHE_MAX_ENTRIES * sizeof *c->entries);
  if (!c->slots || !c->entries) {
    tok_word_cache_free(c);
    return NULL;
  }
  return c;
}

/* The slot for the word: an entry with it, or the empty slot where it would go. */
static uint64_t *cache_slot(struct tok_word_cache *c, const uint8_t *word, size_t n, uint64_t h) {
  uint32_t tag = (uint32_t)(h >> 32);
  for (uint32_t i = (uint32_t)h & c->mask;; i = (i + 1) & c->mask) {
    uint64_t slot = c->slots[i];
    if (!slot)
      return &c->slots[i];
    const word_entry *e = &c->entries[(uint32_t)slot - 1];
    if ((uint32_t)(slot >> 32) == tag && e->key_size == n && memcmp(c->pool + e->key, word, n) == 0)
      return &c->slots[i];
  }
}

/* Remembers the word's tokens, out->ids[first..]; false only when out of memory. */
static bool cache_add(struct tok_word_cache *c, uint64_t *slot, uint64_t h, const uint8_t *word,
                      size_t n, const tok_ids *out, size_t first) {
  if (c->count == CACHE_MAX_ENTRIES)
    return true; /* full: the rest of the call goes without */
  size_t count = out->count - first;
  if (!tok_scratch_grow((void **)&c->pool, &c->pool_capacity, c->pool_size + n) ||
      !tok_scratch_grow((void **)&c->ids, &c->ids_capacity, (c->n_ids + count) * sizeof *c->ids))
    return false;
  memcpy(c->pool + c->pool_size, word, n);
  memcpy(c->ids + c->n_ids, out->ids + first, count * sizeof *c->ids);
  c->entries[c->count] =
      (word_entry){(uint32_t)c->pool_size, (uint32_t)n, (uint32_t)c->n_ids, (uint32_t)count};
  *slot = (h >> 32) << 32 | (c->count + 1);
  c->count++;
  c->pool_size += n;
  c->n_ids += count;
  return true;
}

/* ---- one word -------------------------------------------------------------------------------- */

typedef struct bpe_ctx {
  const tok_vocab *v;
  tok_scratch *s;
  tok_ids *out;
  bool cache; /* the text is long enough for the word cache to pay */
} bpe_ctx;

static bool bpe_merge_word(bpe_ctx *c, const uint8_t *word, size_t n);

static bool bpe_word(void *ctx, const uint8_t *word, size_t n) {
  bpe_ctx *c = ctx;
  if (!n)
    return true;
  if (!c->cache || n > CACHE_MAX_WORD)
    return bpe_merge_word(c, word, n);
  tok_scratch *s = c->s;
  if (!s->words && !(s->words = cache_new()))
    return false;
  uint64_t h = tok_hash_bytes(word, n);
  uint64_t *slot = cache_slot(s->words, word, n, h);
  if (*slot) {
    const word_entry *e = &s->words->entries[(uint32_t)*slot - 1];
    for (uint32_t i = 0; i < e->count; i++)
      if (!tok_ids_push(c->out, s->words->ids[e->ids + i]))
        return false;
    return true;
  }
  size_t first = c->out->count;
  return bpe_merge_word(c, word, n) && cache_add(s->words, slot, h, word, n, c->out, first);
}

static bool bpe_merge_word(bpe_ctx *c, const uint8_t *word, size_t n) {
  const tok_vocab *v = c->v;
  tok_scratch *s = c->s;
  if (n > UINT32_MAX / 4)
    return false;
  if (v->ignore_merges) {
    /* A word that is a token as a whole is that token, whatever the merges would give. */
    if (!tok_scratch_grow((void **)&s->encoded, &s->encoded_capacity, 2 * n))
      return false;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
      for (uint8_t j = 0; j < v->byte_utf8_size[word[i]]; j++)
        s->encoded[k++] = v->byte_utf8[word[i]][j];
    int32_t id = tok_strings_find(&v->texts, (const char *)s->encoded, k);
    if (id >= 0 && (uint32_t)id < v->n_tokens)
      return tok_ids_push(c->out, id);
  }
  if (!tok_scratch_grow(&s->symbols, &s->symbols_capacity, n * sizeof(bpe_symbol)) ||
      !tok_scratch_grow(&s->heap, &s->heap_capacity, 3 * n * sizeof(bpe_bigram)))
    return false;
  bpe_symbol *symbols = s->symbols;
  for (size_t i = 0; i < n; i++)
    symbols[i] = (bpe_symbol){(int32_t)i - 1, i + 1 == n ? -1 : (int32_t)i + 1, (uint32_t)i, 1,
                              v->byte_piece[word[i]]};
  bpe_heap h = {s->heap, 0};
  for (size_t i = 1; i < n; i++)
    add_bigram(v, symbols, &h, (int32_t)i - 1, (int32_t)i);
  while (h.count) {
    bpe_bigram b = heap_pop(&h);
    bpe_symbol *l = &symbols[b.left], *r = &symbols[b.right];
    if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
      continue;
    l->n += r->n;
    l->piece = b.result;
    r->n = 0;
    l->next = r->next;
    if (r->next >= 0)
      symbols[r->next].prev = b.left;
    add_bigram(v, symbols, &h, l->prev, b.left);
    add_bigram(v, symbols, &h, b.left, l->next);
  }
  for (int32_t i = 0; i != -1; i = symbols[i].next)
    if (!emit(v, word, &symbols[i], c->out))
      return false;
  return true;
}

chord_status tok_bpe_fragment(const tok_vocab *v, tok_scratch *s, const uint8_t *text, size_t size,
                              tok_ids *out, chord_error *error) {
  bpe_ctx c = {v, s, out, size >= CACHE_MIN_TEXT};
  return tok_pre_split(v, s, text, size, bpe_word, &c, error);
}
