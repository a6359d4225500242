/* ir/symtab.h: FNV-1a hashes, open addressing, grown at half full. */
#include "ir/symtab.h"

#include <string.h>

#include "runtime/support/alloc.h"

struct ir_symtab_slot {
  const char *name; /* NULL: empty */
  size_t length;
  uint32_t tag, hash;
  void *value;
};

static uint32_t hash_name(uint32_t tag, const char *name, size_t length) {
  uint32_t h = 2166136261u ^ tag;
  for (size_t i = 0; i < length; i++)
    h = (h ^ (unsigned char)name[i]) * 16777619u;
  return h;
}

void ir_symtab_free(ir_symtab *t) {
  rt_free(t->slots);
  *t = (ir_symtab){0};
}

static ir_symtab_slot *probe(const ir_symtab *t, uint32_t tag, uint32_t hash, const char *name,
                             size_t length) {
  uint32_t mask = t->capacity - 1;
  for (uint32_t i = hash & mask;; i = (i + 1) & mask) {
    ir_symtab_slot *s = &t->slots[i];
    if (!s->name || (s->hash == hash && s->tag == tag && s->length == length &&
                     memcmp(s->name, name, length) == 0))
      return s;
  }
}

void *ir_symtab_get(const ir_symtab *t, uint32_t tag, const char *name, size_t length) {
  if (t->count == 0)
    return NULL;
  ir_symtab_slot *s = probe(t, tag, hash_name(tag, name, length), name, length);
  return s->name ? s->value : NULL;
}

static bool grow(ir_symtab *t) {
  uint32_t capacity = t->capacity ? t->capacity * 2 : 64;
  if (capacity < t->capacity)
    return false;
  ir_symtab bigger = {.slots = rt_calloc(capacity, sizeof *bigger.slots), .capacity = capacity};
  if (!bigger.slots)
    return false;
  for (uint32_t i = 0; i < t->capacity; i++) {
    const ir_symtab_slot *s = &t->slots[i];
    if (s->name)
      *probe(&bigger, s->tag, s->hash, s->name, s->length) = *s;
  }
  bigger.count = t->count;
  rt_free(t->slots);
  *t = bigger;
  return true;
}

bool ir_symtab_put(ir_symtab *t, uint32_t tag, const char *name, size_t length, void *value) {
  if ((t->count + 1) * 2 > t->capacity && !grow(t))
    return false;
  uint32_t hash = hash_name(tag, name, length);
  ir_symtab_slot *s = probe(t, tag, hash, name, length);
  if (!s->name)
    t->count++;
  *s = (ir_symtab_slot){name, length, tag, hash, value};
  return true;
}
