/* A hash table from names to values for the parser's symbol lookups (a graph of a 70B model has
 * tens of thousands of named values; a linear search per use would be quadratic). Keys are not
 * copied: they must outlive the table (they point into the source text or the graph's arena). A
 * tag separates name spaces that may reuse a spelling, such as %values and @weights. */
#ifndef CHORD_IR_SYMTAB_H
#define CHORD_IR_SYMTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ir_symtab_slot ir_symtab_slot;

typedef struct ir_symtab {
  ir_symtab_slot *slots; /* open addressing with linear probing; capacity a power of two */
  uint32_t capacity, count;
} ir_symtab;

void ir_symtab_free(ir_symtab *t);
/* The value stored under (tag, name), or NULL. */
void *ir_symtab_get(const ir_symtab *t, uint32_t tag, const char *name, size_t length);
/* Stores value under (tag, name), replacing an earlier one; false when out of memory. */
bool ir_symtab_put(ir_symtab *t, uint32_t tag, const char *name, size_t length, void *value);

#endif
