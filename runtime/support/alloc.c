#include "runtime/support/alloc.h"

#include <stdlib.h>
#include <string.h>

static long allocations_left = -1;

static int injected_failure(void) {
  if (allocations_left < 0)
    return 0;
  if (allocations_left == 0)
    return 1;
  allocations_left--;
  return 0;
}

void rt_alloc_fail_after(long allocations) { allocations_left = allocations; }

void *rt_malloc(size_t size) { return injected_failure() ? NULL : malloc(size ? size : 1); }

void *rt_calloc(size_t count, size_t size) {
  if (size && count > (size_t)-1 / size)
    return NULL;
  return injected_failure() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *rt_realloc(void *ptr, size_t size) {
  return injected_failure() ? NULL : realloc(ptr, size ? size : 1);
}

void rt_free(void *ptr) { free(ptr); }

char *rt_strndup(const char *s, size_t n) {
  char *copy = rt_malloc(n + 1);
  if (copy) {
    memcpy(copy, s, n);
    copy[n] = '\0';
  }
  return copy;
}
