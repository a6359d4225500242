/* A program's life after it was made (by chord_compile, codegen/compile.c, or from an ahead-of-time
 * compiled module, runtime/compiled.c): its defaults, its size, freeing it. */
#include "runtime/program_internal.h"
#include "runtime/support/alloc.h"

void chord_compile_options_default(chord_compile_options *options) {
  *options = (chord_compile_options){.target = "cpu", .opt_level = 0};
}

int64_t program_graph_context_size(const ir_graph *g) {
  /* the lowering's KV-cache states are [positions, heads, head size] */
  for (uint32_t i = 0; i < g->n_values; i++)
    if (g->values[i]->kind == IR_VALUE_STATE && g->values[i]->type.rank > 0)
      return g->values[i]->type.dims[0].c;
  return 0;
}

void chord_program_free(chord_program *p) {
  if (!p)
    return;
  if (p->code)
    p->target->free_program(p->code);
  ir_graph_free(p->graph);
  rt_free(p);
}

int64_t chord_program_context_size(const chord_program *p) { return p->n_ctx; }
const char *chord_program_target(const chord_program *p) { return p->target->name; }
