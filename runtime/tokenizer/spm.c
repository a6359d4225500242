/* SentencePiece-style tokenization (tokenizer.ggml.model = "llama"), as llama.cpp does it:
 * spaces become ▁, the text is cut into UTF-8 characters, and the adjacent pair whose
 * concatenation is the highest-scoring token is merged until no pair is a token; characters
 * that end up as no token fall back to their bytes' <0xNN> tokens.
 *
 * llama.cpp runs one merge queue over a whole fragment (for a text without special tokens, the
 * whole text). A place no merge can cross splits that into independent problems: the merges on
 * either side happen in the same order alone as together, because a merge only ever involves
 * two neighbours. Before a ▁ that follows another character is such a place unless a token with
 * a ▁ after another character lies across it (vocab.c lists those), so we cut there and keep each
 * queue small, which gives the same tokens much faster. */
#include <string.h>

#include "runtime/support/error.h"
#include "runtime/tokenizer/tok_internal.h"

typedef struct spm_symbol {
  int32_t prev, next;
  uint32_t start, n; /* bytes of the escaped text; n = 0 once merged into the left neighbour */
} spm_symbol;

/* A queued pair: the symbol at `left` and its right neighbour. The neighbour is not stored: a pair
 * is still current exactly when left's size plus its right neighbour's is the size it had when
 * queued (sizes only grow, and a symbol merged away has size 0). */
typedef struct spm_bigram {
  float score;
  int32_t left;
  uint32_t size;
} spm_bigram;

/* The queue's order: the highest score first, and of equal scores the leftmost. */
static inline bool before(const spm_bigram *a, const spm_bigram *b) {
  return a->score > b->score || (a->score == b->score && a->left < b->left);
}

/* A 4-ary heap: a million queued pairs (a long fragment) is half as deep as a binary heap, and a
 * node's children share a cache line or two. */
typedef struct spm_heap {
  spm_bigram *items;
  size_t count;
} spm_heap;

static void heap_push(spm_heap *h, spm_bigram b) {
  size_t i = h->count++;
  while (i > 0) {
    size_t parent = (i - 1) / 4;
    if (!before(&b, &h->items[parent]))
      break;
    h->items[i] = h->items[parent];
    i = parent;
  }
  h->items[i] = b;
}

static spm_bigram heap_pop(spm_heap *h) {
  spm_bigram top = h->items[0], last = h->items[--h->count];
  size_t i = 0;
  for (;;) {
    size_t first = 4 * i + 1;
    if (first >= h->count)
      break;
    size_t best = first, end = first + 4 < h->count ? first + 4 : h->count;
    for (size_t c = first + 1; c < end; c++)
      if (before(&h->items[c], &h->items[best]))
        best = c;
    if (!before(&h->items[best], &last))
      break;
    h->items[i] = h->items[best];
    i = best;
  }
  if (h->count)
    h->items[i] = last;
  return top;
}

typedef struct spm_session {
  const tok_vocab *v;
  const uint8_t *text;
  spm_symbol *symbols;
  spm_heap heap;
} spm_session;

static tok_id lookup(const tok_vocab *v, const uint8_t *text, size_t size) {
  int32_t id = tok_strings_find(&v->texts, (const char *)text, size);
  return id >= 0 && (uint32_t)id < v->n_tokens ? id : TOK_NULL;
}

static void try_add_bigram(spm_session *ss, int32_t left, int32_t right) {
  if (left < 0 || right < 0)
    return;
  const spm_symbol *l = &ss->symbols[left], *r = &ss->symbols[right];
  uint32_t size = l->n + r->n;
  tok_id id = lookup(ss->v, ss->text + l->start, size);
  if (id == TOK_NULL)
    return;
  heap_push(&ss->heap, (spm_bigram){ss->v->scores[id], left, size});
}

static bool is_space(const uint8_t *e, size_t n, size_t p) {
  return p + 3 <= n && e[p] == 0xe2 && e[p + 1] == 0x96 && e[p + 2] == 0x81;
}

/* Whether the escaped text may be cut at byte p, before a ▁ (see the top of the file). */
static bool can_cut(const tok_vocab *v, const uint8_t *e, size_t n, size_t p) {
  if (p < 3 || !is_space(e, n, p) || is_space(e, n, p - 3))
    return false;
  for (uint32_t k = 0; k < v->n_spm_spans; k++) {
    size_t len, at = v->spm_span_offset[k];
    const char *t = tok_strings_get(&v->texts, v->spm_span_token[k], &len);
    if (p >= at && p - at + len <= n && memcmp(e + p - at, t, len) == 0)
      return false;
  }
  return true;
}

/* One merge queue over e[0..n). */
static bool spm_session_run(const tok_vocab *v, tok_scratch *s, const uint8_t *e, size_t n,
                            tok_ids *out) {
  spm_session ss = {v, e, s->symbols, {s->heap, 0}};
  int32_t count = 0;
  for (size_t offs = 0; offs < n; count++) {
    size_t len = tok_utf8_length(e[offs]);
    if (len > n - offs)
      len = n - offs;
    ss.symbols[count] =
        (spm_symbol){count - 1, offs + len == n ? -1 : count + 1, (uint32_t)offs, (uint32_t)len};
    offs += len;
  }
  /* Each merge queues at most two new pairs, so 3n entries always suffice. */
  for (int32_t i = 1; i < count; i++)
    try_add_bigram(&ss, i - 1, i);
  while (ss.heap.count) {
    spm_bigram b = heap_pop(&ss.heap);
    spm_symbol *l = &ss.symbols[b.left];
    if (l->n == 0 || l->next < 0)
      continue;
    spm_symbol *r = &ss.symbols[l->next];
    if (l->n + r->n != b.size)
      continue;
    l->n += r->n;
    r->n = 0;
    l->next = r->next;
    if (r->next >= 0)
      ss.symbols[r->next].prev = b.left;
    try_add_bigram(&ss, l->prev, b.left);
    try_add_bigram(&ss, b.left, l->next);
  }

  for (int32_t i = 0; i != -1; i = ss.symbols[i].next) {
    const spm_symbol *sym = &ss.symbols[i];
    tok_id id = lookup(v, e + sym->start, sym->n);
    if (id != TOK_NULL) {
      if (!tok_ids_push(out, id))
        return false;
      continue;
    }
    for (uint32_t j = 0; j < sym->n; j++) {
      tok_id byte = v->spm_byte_token[e[sym->start + j]];
      if (byte != TOK_NULL && !tok_ids_push(out, byte))
        return false;
    }
  }
  return true;
}

chord_status tok_spm_fragment(const tok_vocab *v, tok_scratch *s, const uint8_t *text, size_t size,
                              bool space_prefix, tok_ids *out, chord_error *error) {
  /* Escape: an optional leading space, then every space as ▁ (U+2581). */
  size_t spaces = space_prefix;
  for (size_t i = 0; i < size; i++)
    spaces += text[i] == ' ';
  size_t n = size + space_prefix + 2 * spaces;
  if (!n)
    return CHORD_OK;
  if (n > UINT32_MAX / 2 || !tok_scratch_grow((void **)&s->encoded, &s->encoded_capacity, n))
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory tokenizing");
  uint8_t *e = s->encoded;
  size_t k = 0;
  if (space_prefix) {
    memcpy(e, "\xe2\x96\x81", 3);
    k = 3;
  }
  for (size_t i = 0; i < size; i++) {
    if (text[i] == ' ') {
      memcpy(e + k, "\xe2\x96\x81", 3);
      k += 3;
    } else {
      e[k++] = text[i];
    }
  }
  for (size_t start = 0; start < n;) {
    /* Cuts only where llama.cpp's character split has a boundary (invalid UTF-8 can put a ▁'s
     * bytes inside one "character"). */
    size_t end = n;
    if (v->spm_cuts) {
      end = start;
      do {
        size_t len = tok_utf8_length(e[end]);
        end = len < n - end ? end + len : n;
      } while (end < n && !can_cut(v, e, n, end));
    }
    size_t len = end - start;
    if (!tok_scratch_grow(&s->symbols, &s->symbols_capacity, len * sizeof(spm_symbol)) ||
        !tok_scratch_grow(&s->heap, &s->heap_capacity, 3 * len * sizeof(spm_bigram)) ||
        !spm_session_run(v, s, e + start, len, out))
      return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory tokenizing");
    start = end;
  }
  return CHORD_OK;
}
