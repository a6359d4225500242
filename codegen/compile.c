/* chord_compile (include/chord.h): lower the model, run the pass pipeline of the optimization
 * level, and compile the graph for the chosen target. The compiler's entry point: it is in
 * libchord, not in the runtime library a compiled executable links (runtime/compiled.c makes
 * that one's program). */
#include <string.h>

#include "codegen/target.h"
#include "frontends/gguf/lower.h"
#include "passes/pass.h"
#include "runtime/program_internal.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

chord_status chord_compile(chord_model *model, const chord_compile_options *options,
                           chord_program **out, chord_error *error) {
  *out = NULL;
  chord_compile_options o;
  chord_compile_options_default(&o);
  if (options)
    o = *options;
  if (!o.target)
    o.target = "cpu";
  const target_info *target = target_find(o.target);
  if (!target) {
    char names[128];
    target_list_names(names, sizeof names);
    return rt_error(error, CHORD_ERROR_INVALID, "unknown target '%s' (available: %s)", o.target,
                    names);
  }
  if (o.opt_level < 0 || o.opt_level > 2)
    return rt_error(error, CHORD_ERROR_INVALID, "no optimization level %d (0, 1 or 2)",
                    o.opt_level);
  if (o.n_ctx < 0 || o.n_batch < 0 || o.n_threads < 0)
    return rt_error(error, CHORD_ERROR_INVALID,
                    "negative context size, batch size or thread count");
  ir_dtype cache_k = IR_DTYPE_F16;
  if (o.cache_type_k && (!ir_dtype_from_name(o.cache_type_k, &cache_k) ||
                         (cache_k != IR_DTYPE_F16 && cache_k != IR_DTYPE_Q8_0)))
    return rt_error(error, CHORD_ERROR_INVALID, "no key cache type '%s' (f16 or q8_0)",
                    o.cache_type_k);
  chord_program *p = rt_calloc(1, sizeof *p);
  if (!p)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory compiling the model");
  p->model = model;
  p->target = target;
  p->n_batch = o.n_batch ? o.n_batch : 512;
  p->n_threads = o.n_threads ? o.n_threads : 1;
  lower_options lo = {
      .n_ctx = o.n_ctx ? o.n_ctx : 4096, .last_logits_only = true, .cache_type_k = cache_k};
  pass_pipeline pipeline;
  target_options to = {.n_threads = p->n_threads};
  chord_status st = lower_model(model->file, &lo, &p->graph, error);
  if (st == CHORD_OK)
    st = o.passes ? pass_pipeline_parse(o.passes, &pipeline, error)
                  : pass_pipeline_for_level(o.opt_level, &pipeline, error);
  if (st == CHORD_OK)
    st = pass_pipeline_run(p->graph, &pipeline, &(pass_run_options){0}, error);
  if (st == CHORD_OK)
    st = target_check_graph(target, p->graph, error);
  if (st == CHORD_OK)
    st = target->compile(p->graph, &to, &p->code, error);
  if (st != CHORD_OK) {
    chord_program_free(p);
    return st;
  }
  p->n_ctx = program_graph_context_size(p->graph);
  *out = p;
  return CHORD_OK;
}
