/* cse: merges an op into an earlier one with the same op, operands (the same values, in order) and
 * attributes; the types are then equal too. Stateful ops are never merged: two kv_writes of the
 * same values are two writes, and a kv_read before a write differs from one after it. Program
 * order makes one forward sweep enough: the users of a merged op are visited after it, with their
 * operands already rewritten. */
#include <string.h>

#include "passes/internal.h"
#include "passes/pass.h"
#include "passes/rewriter.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

static uint64_t mix(uint64_t h, uint64_t x) {
  h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h;
}

static bool same_attr(const ir_attr *a, const ir_attr *b) {
  if (a->id != b->id || a->count != b->count)
    return false;
  switch (ir_attr_get(a->id)->kind) {
  case IR_ATTR_KIND_INT:
  case IR_ATTR_KIND_ENUM: return a->as.i == b->as.i;
  case IR_ATTR_KIND_FLOAT: return memcmp(&a->as.f, &b->as.f, sizeof a->as.f) == 0; /* bits */
  case IR_ATTR_KIND_STRING: return strcmp(a->as.s, b->as.s) == 0;
  case IR_ATTR_KIND_INT_LIST:
    return a->count == 0 || memcmp(a->as.list, b->as.list, sizeof *a->as.list * a->count) == 0;
  case IR_ATTR_KIND_SHAPE:
    for (uint32_t i = 0; i < a->count; i++) {
      if (!ir_dim_equal(a->as.dims[i], b->as.dims[i]))
        return false;
    }
    return true;
  }
  return false;
}

static bool same_op(const ir_value *a, const ir_value *b) {
  if (a->op != b->op || a->n_operands != b->n_operands || a->n_attrs != b->n_attrs)
    return false;
  for (uint32_t i = 0; i < a->n_operands; i++) {
    if (a->operands[i] != b->operands[i])
      return false;
  }
  for (uint32_t i = 0; i < a->n_attrs; i++) {
    if (!same_attr(&a->attrs[i], &b->attrs[i]))
      return false;
  }
  return true;
}

/* Operands by identity; attributes only by id (same_op compares their values). */
static uint64_t hash_op(const ir_value *v) {
  uint64_t h = mix(0, (uint64_t)v->op);
  for (uint32_t i = 0; i < v->n_operands; i++)
    h = mix(h, (uint64_t)(uintptr_t)v->operands[i]);
  for (uint32_t i = 0; i < v->n_attrs; i++)
    h = mix(h, (uint64_t)v->attrs[i].id);
  return h;
}

chord_status pass_cse(ir_graph *g, chord_error *error) {
  size_t cap = 16;
  while (cap < (size_t)g->n_values * 2)
    cap *= 2;
  ir_value **table = rt_calloc(cap, sizeof *table); /* open addressing, linear probing */
  if (!table)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory in cse");
  pass_rewriter rw;
  pass_rewriter_init(&rw, g, error);
  for (uint32_t i = 0; i < g->n_values; i++) {
    ir_value *v = g->values[i];
    if (v->kind != IR_VALUE_NODE || pass_is_stateful(v))
      continue;
    size_t slot = hash_op(v) & (cap - 1);
    while (table[slot] && !same_op(table[slot], v))
      slot = (slot + 1) & (cap - 1);
    if (!table[slot]) {
      table[slot] = v;
      continue;
    }
    pass_rewriter_replace(&rw, v, table[slot]);
    if (i >= g->n_values || g->values[i] != v)
      i--; /* v was erased (no uses left): the next value now sits at i */
  }
  rt_free(table);
  return CHORD_OK;
}
