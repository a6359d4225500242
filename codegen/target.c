/* The target table. A new target adds one line here and a directory under codegen/. */
#include "codegen/target.h"

#include <stdio.h>
#include <string.h>

#include "runtime/support/error.h"

extern const target_info target_interp;
extern const target_info target_cpu;

static const target_info *const targets[] = {
    &target_interp,
    &target_cpu,
};
enum { TARGET_COUNT = sizeof targets / sizeof targets[0] };

const target_info *target_find(const char *name) {
  for (int i = 0; i < TARGET_COUNT; i++)
    if (strcmp(targets[i]->name, name) == 0)
      return targets[i];
  return NULL;
}

void target_list_names(char *buf, size_t size) {
  size_t at = 0;
  if (size)
    buf[0] = '\0';
  for (int i = 0; i < TARGET_COUNT && at < size; i++) {
    int n = snprintf(buf + at, size - at, "%s%s", i ? ", " : "", targets[i]->name);
    if (n < 0)
      break;
    at += (size_t)n;
  }
}

chord_status target_check_graph(const target_info *target, const ir_graph *graph,
                                chord_error *error) {
  for (uint32_t i = 0; i < graph->n_values; i++) {
    const ir_value *v = graph->values[i];
    if (v->kind == IR_VALUE_NODE && !target->supports_op(v))
      return rt_error(error, CHORD_ERROR_UNSUPPORTED,
                      "target %s cannot run %%%u (%s); try -O0 or another --target", target->name,
                      v->index, ir_op_get(v->op)->name);
  }
  return CHORD_OK;
}
