/* The memory plan (runtime/memory_plan.h): a walk over the steps keeping the free blocks of the
 * arena in address order. */
#include "runtime/memory_plan.h"

#include <string.h>

#include "runtime/support/alloc.h"

typedef struct free_block {
  size_t offset, size;
} free_block;

typedef struct arena_state {
  free_block *free; /* in address order, none adjacent to another */
  uint32_t n_free;
  size_t top; /* the arena's end so far */
} arena_state;

static size_t take(arena_state *a, size_t size) {
  for (uint32_t f = 0; f < a->n_free; f++) {
    free_block *b = &a->free[f];
    if (b->size < size)
      continue;
    size_t at = b->offset;
    b->offset += size;
    b->size -= size;
    if (b->size == 0) {
      memmove(b, b + 1, (a->n_free - f - 1) * sizeof *b);
      a->n_free--;
    }
    return at;
  }
  /* a free block at the end grows into the new space */
  if (a->n_free && a->free[a->n_free - 1].offset + a->free[a->n_free - 1].size == a->top) {
    size_t at = a->free[--a->n_free].offset;
    a->top = at + size;
    return at;
  }
  size_t at = a->top;
  a->top += size;
  return at;
}

static void give_back(arena_state *a, size_t offset, size_t size) {
  uint32_t f = 0;
  while (f < a->n_free && a->free[f].offset < offset)
    f++;
  bool after_prev = f > 0 && a->free[f - 1].offset + a->free[f - 1].size == offset;
  bool before_next = f < a->n_free && offset + size == a->free[f].offset;
  if (after_prev && before_next) {
    a->free[f - 1].size += size + a->free[f].size;
    memmove(&a->free[f], &a->free[f + 1], (a->n_free - f - 1) * sizeof *a->free);
    a->n_free--;
  } else if (after_prev) {
    a->free[f - 1].size += size;
  } else if (before_next) {
    a->free[f].offset = offset;
    a->free[f].size += size;
  } else {
    memmove(&a->free[f + 1], &a->free[f], (a->n_free - f) * sizeof *a->free);
    a->free[f] = (free_block){offset, size};
    a->n_free++;
  }
}

bool memory_plan(uint32_t n, const size_t *bytes, const uint32_t *last_use, size_t align,
                 size_t *offsets, size_t *total) {
  *total = 0;
  /* the buffers that die at each step, as linked lists through next */
  uint32_t *first = rt_malloc((size_t)(n ? n : 1) * sizeof *first);
  uint32_t *next = rt_malloc((size_t)(n ? n : 1) * sizeof *next);
  arena_state a = {.free = rt_malloc((size_t)(n + 1) * sizeof *a.free)};
  if (!first || !next || !a.free) {
    rt_free(first);
    rt_free(next);
    rt_free(a.free);
    return false;
  }
  for (uint32_t i = 0; i < n; i++)
    first[i] = UINT32_MAX;
  for (uint32_t i = 0; i < n; i++) {
    offsets[i] = 0;
    if (bytes[i] && last_use[i] < n) {
      next[i] = first[last_use[i]];
      first[last_use[i]] = i;
    }
  }
  for (uint32_t i = 0; i < n; i++) {
    if (bytes[i])
      offsets[i] = take(&a, (bytes[i] + align - 1) & ~(align - 1));
    for (uint32_t d = first[i]; d != UINT32_MAX; d = next[d])
      give_back(&a, offsets[d], (bytes[d] + align - 1) & ~(align - 1));
  }
  *total = a.top;
  rt_free(first);
  rt_free(next);
  rt_free(a.free);
  return true;
}
