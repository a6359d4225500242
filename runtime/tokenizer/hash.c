/* The tokenizer's hash tables: interned strings (token texts, BPE merge sides, pieces) and BPE
 * merge rules keyed by a pair of interned ids. Open addressing with linear probing. The strings'
 * table is at most three quarters full: a 262144-token vocabulary then takes 2^19 slots (4 MiB),
 * not 2^20, and a probe compares the 32-bit hash tag before it touches a string. The merges'
 * table is at most half full. */
#include <string.h>

#include "runtime/support/alloc.h"
#include "runtime/support/error.h"
#include "runtime/tokenizer/tok_internal.h"

static inline uint64_t mix(uint64_t h) {
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  h ^= h >> 32;
  return h;
}

uint64_t tok_hash_bytes(const void *data, size_t size) {
  const uint8_t *p = data;
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (size * 0xff51afd7ed558ccdull);
  while (size >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = mix(h ^ w) * 0x9e3779b97f4a7c15ull;
    p += 8;
    size -= 8;
  }
  uint64_t tail = 0;
  memcpy(&tail, p, size);
  return mix(h ^ tail ^ (size << 56));
}

/* ---- interned strings ------------------------------------------------------------------------ */

void tok_strings_free(tok_strings *s) {
  rt_free(s->pool);
  rt_free(s->offsets);
  rt_free(s->slots);
  memset(s, 0, sizeof *s);
}

static bool strings_equal(const tok_strings *s, int32_t id, const char *data, size_t size) {
  size_t n;
  const char *t = tok_strings_get(s, id, &n);
  return n == size && memcmp(t, data, size) == 0;
}

static int32_t find_hashed(const tok_strings *s, const char *data, size_t size, uint64_t h) {
  if (!s->slots)
    return -1;
  uint32_t tag = (uint32_t)(h >> 32);
  for (uint32_t i = (uint32_t)h & s->mask;; i = (i + 1) & s->mask) {
    uint64_t slot = s->slots[i];
    if (!slot)
      return -1;
    int32_t id = (int32_t)(uint32_t)slot - 1;
    if ((uint32_t)(slot >> 32) == tag && strings_equal(s, id, data, size))
      return id;
  }
}

int32_t tok_strings_find(const tok_strings *s, const char *data, size_t size) {
  return find_hashed(s, data, size, tok_hash_bytes(data, size));
}

static void slots_insert(uint64_t *slots, uint32_t mask, uint64_t h, int32_t id) {
  uint32_t i = (uint32_t)h & mask;
  while (slots[i])
    i = (i + 1) & mask;
  slots[i] = (h >> 32) << 32 | (uint32_t)(id + 1);
}

static bool strings_rehash(tok_strings *s, uint64_t n_slots) {
  if (n_slots > (uint64_t)UINT32_MAX) /* the mask is 32 bits */
    return false;
  uint64_t *slots = rt_calloc(n_slots, sizeof *slots);
  if (!slots)
    return false;
  for (uint32_t id = 0; id < s->count; id++) {
    size_t n;
    const char *t = tok_strings_get(s, (int32_t)id, &n);
    slots_insert(slots, (uint32_t)(n_slots - 1), tok_hash_bytes(t, n), (int32_t)id);
  }
  rt_free(s->slots);
  s->slots = slots;
  s->mask = (uint32_t)(n_slots - 1);
  return true;
}

/* Slots for `strings` entries: the table's present size or more, kept at most 3/4 full. */
static uint64_t slots_for(const tok_strings *s, uint64_t strings) {
  uint64_t n_slots = s->slots ? (uint64_t)s->mask + 1 : 2048;
  while (strings * 4 > n_slots * 3)
    n_slots *= 2;
  return n_slots;
}

bool tok_strings_reserve(tok_strings *s, uint32_t count, size_t bytes) {
  uint64_t strings = (uint64_t)s->count + count;
  if (strings >= INT32_MAX - 1 || bytes >= UINT32_MAX - s->pool_size)
    return false;
  if (strings + 2 > s->capacity) {
    uint32_t *offsets = rt_realloc(s->offsets, (size_t)(strings + 2) * sizeof *offsets);
    if (!offsets)
      return false;
    if (s->capacity == 0)
      offsets[0] = 0;
    s->offsets = offsets;
    s->capacity = (uint32_t)strings + 2;
  }
  size_t pool = s->pool_size + bytes + count; /* each string's terminator */
  if (pool > s->pool_capacity) {
    char *p = rt_realloc(s->pool, pool);
    if (!p)
      return false;
    s->pool = p;
    s->pool_capacity = pool;
  }
  uint64_t n_slots = slots_for(s, strings + 1);
  return n_slots == (uint64_t)s->mask + 1 && s->slots ? true : strings_rehash(s, n_slots);
}

void tok_strings_prefetch(const tok_strings *s, uint64_t h) {
  if (s->slots)
    __builtin_prefetch(&s->slots[(uint32_t)h & s->mask]);
}

bool tok_strings_add(tok_strings *s, const char *data, size_t size, int32_t *id, bool *added) {
  return tok_strings_add_hashed(s, data, size, tok_hash_bytes(data, size), id, added);
}

bool tok_strings_add_hashed(tok_strings *s, const char *data, size_t size, uint64_t h, int32_t *id,
                            bool *added) {
  int32_t found = find_hashed(s, data, size, h);
  if (found >= 0) {
    *id = found;
    *added = false;
    return true;
  }
  if (s->count >= INT32_MAX - 1 || size >= UINT32_MAX - s->pool_size)
    return false;
  if (s->count + 2 > s->capacity) {
    uint32_t cap = s->capacity ? s->capacity * 2 : 1024;
    uint32_t *offsets = rt_realloc(s->offsets, (size_t)cap * sizeof *offsets);
    if (!offsets)
      return false;
    s->offsets = offsets;
    s->capacity = cap;
    if (s->count == 0)
      s->offsets[0] = 0;
  }
  if (s->pool_size + size + 1 > s->pool_capacity) {
    size_t cap = s->pool_capacity ? s->pool_capacity : 4096;
    while (cap < s->pool_size + size + 1)
      cap *= 2;
    char *pool = rt_realloc(s->pool, cap);
    if (!pool)
      return false;
    s->pool = pool;
    s->pool_capacity = cap;
  }
  uint64_t n_slots = slots_for(s, (uint64_t)s->count + 1);
  if ((!s->slots || n_slots != (uint64_t)s->mask + 1) && !strings_rehash(s, n_slots))
    return false;
  if (size)
    memcpy(s->pool + s->pool_size, data, size);
  s->pool[s->pool_size + size] = '\0';
  s->pool_size += size + 1;
  s->offsets[s->count + 1] = (uint32_t)s->pool_size;
  slots_insert(s->slots, s->mask, h, (int32_t)s->count);
  *id = (int32_t)s->count++;
  *added = true;
  return true;
}

/* ---- merge rules ----------------------------------------------------------------------------- */

void tok_merges_free(tok_merges *m) {
  rt_free(m->slots);
  memset(m, 0, sizeof *m);
}

static inline uint32_t pair_hash(int32_t left, int32_t right) {
  return (uint32_t)mix(((uint64_t)(uint32_t)left << 32 | (uint32_t)right) * 0x9e3779b97f4a7c15ull);
}

const tok_merge *tok_merges_find(const tok_merges *m, int32_t left, int32_t right) {
  if (!m->slots)
    return NULL;
  for (uint32_t i = pair_hash(left, right) & m->mask;; i = (i + 1) & m->mask) {
    const tok_merge *e = &m->slots[i];
    if (e->left < 0)
      return NULL;
    if (e->left == left && e->right == right)
      return e;
  }
}

bool tok_merges_init(tok_merges *m, uint32_t count) {
  uint32_t n_slots = 16;
  while (n_slots < (uint64_t)count * 2 + 1)
    n_slots *= 2;
  m->slots = rt_malloc((size_t)n_slots * sizeof *m->slots);
  if (!m->slots)
    return false;
  for (uint32_t i = 0; i < n_slots; i++)
    m->slots[i].left = -1;
  m->mask = n_slots - 1;
  m->count = 0;
  return true;
}

tok_merge *tok_merges_insert(tok_merges *m, int32_t left, int32_t right, bool *added) {
  uint32_t i = pair_hash(left, right) & m->mask;
  for (;; i = (i + 1) & m->mask) {
    tok_merge *e = &m->slots[i];
    if (e->left < 0)
      break;
    if (e->left == left && e->right == right) {
      *added = false;
      return e;
    }
  }
  RT_ASSERT(m->count < m->mask); /* tok_merges_init sized the table for every rule */
  tok_merge *e = &m->slots[i];
  e->left = left;
  e->right = right;
  m->count++;
  *added = true;
  return e;
}
