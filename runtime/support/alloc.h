/* The one allocation hook: all library allocations go through these, so tests can make the N-th
 * allocation fail (SQLite-style fault injection) and check that every failure is clean. */
#ifndef CHORD_RUNTIME_ALLOC_H
#define CHORD_RUNTIME_ALLOC_H

#include <stddef.h>

void *rt_malloc(size_t size);
void *rt_calloc(size_t count, size_t size); /* zeroed; NULL on count*size overflow */
void *rt_realloc(void *ptr, size_t size);
void rt_free(void *ptr);
char *rt_strndup(const char *s, size_t n);

/* Fault injection for tests: after `allocations` more successful allocations, every further one
 * fails. A negative value turns injection off (the default). */
void rt_alloc_fail_after(long allocations);

#endif
