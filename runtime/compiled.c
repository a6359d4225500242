/* Programs compiled ahead of time (include/chord.h, runtime/compiled.h): the graph a compile left
 * as text is parsed and checked, and the interpreter's walker runs it with the module's kernels,
 * as the CPU target runs it with its JIT's. Nothing here generates code: this is the runtime
 * library's side of `chord compile --emit obj|exe`. */
#include <string.h>

#include "codegen/target.h"
#include "runtime/compiled.h"
#include "runtime/interp/interp.h"
#include "runtime/program_internal.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

typedef struct compiled_program {
  void *interp; /* the interpreter target's program, lent the module's kernels */
  interp_kernels kernels;
} compiled_program;

static bool compiled_supports_op(const ir_value *v) { return target_interp.supports_op(v); }

static chord_status compiled_compile(const ir_graph *graph, const target_options *options,
                                     void **program, chord_error *error) {
  (void)graph, (void)options;
  *program = NULL;
  return rt_error(error, CHORD_ERROR_UNSUPPORTED,
                  "target compiled runs a module chord compile made; it does not compile");
}

static void compiled_free_program(void *program) {
  compiled_program *p = program;
  if (p)
    target_interp.free_program(p->interp);
  rt_free(p);
}

static chord_status compiled_load(void *program, const gguf_file *weights, void **instance,
                                  chord_error *error) {
  return target_interp.load(((compiled_program *)program)->interp, weights, instance, error);
}

/* Not in target_find's table: a program gets it only from chord_program_from_compiled. */
static const target_info target_compiled = {
    .name = "compiled",
    .description = "kernels compiled ahead of time (chord compile), linked into this program",
    .supports_op = compiled_supports_op,
    .compile = compiled_compile,
    .free_program = compiled_free_program,
    .load = compiled_load,
    .free_instance = interp_target_free_instance,
    .step = interp_target_step,
    .logits = interp_target_logits,
    .positions = interp_target_positions,
    .set_positions = interp_target_set_positions,
    .shift = interp_target_shift,
};

const char *chord_compiled_triple(const chord_compiled *c) { return c ? c->triple : ""; }
const char *chord_compiled_cpu(const chord_compiled *c) { return c ? c->cpu : ""; }

/* The module's promises, checked before its graph is trusted. */
static chord_status check_module(const chord_compiled *c, chord_error *error) {
  if (!c)
    return rt_error(error, CHORD_ERROR_INVALID, "no compiled module given");
  if (c->abi != CHORD_COMPILED_ABI)
    return rt_error(error, CHORD_ERROR_FORMAT,
                    "the compiled module has layout %u, this runtime reads %u: compile the model "
                    "again with this chord",
                    c->abi, CHORD_COMPILED_ABI);
  if (!c->version || strcmp(c->version, chord_version()) != 0)
    return rt_error(error, CHORD_ERROR_FORMAT,
                    "the compiled module was made by chord %s, this runtime is chord %s: compile "
                    "the model again with this chord",
                    c->version ? c->version : "?", chord_version());
  if (!c->graph || strlen(c->graph) != c->graph_size)
    return rt_error(error, CHORD_ERROR_FORMAT, "the compiled module's graph is damaged");
  return CHORD_OK;
}

/* The graph of the module, parsed and verified, with as many values as its node table. */
static chord_status module_graph(const chord_compiled *c, ir_graph **out, chord_error *error) {
  chord_status st = ir_parse(c->graph, (size_t)c->graph_size, "<compiled graph>", out, error);
  if (st == CHORD_OK)
    st = ir_verify(*out, error);
  if (st == CHORD_OK && (*out)->n_values != c->n_values)
    st = rt_error(error, CHORD_ERROR_FORMAT,
                  "the compiled module's graph has %u values, its kernel table %u",
                  (*out)->n_values, c->n_values);
  if (st != CHORD_OK) {
    ir_graph_free(*out);
    *out = NULL;
  }
  return st;
}

static chord_status bind_kernels(compiled_program *p, const chord_compiled *c, chord_error *error) {
  for (uint32_t i = 0; i < c->n_kernels; i++) {
    const compiled_kernel *k = &c->kernels[i];
    if (k->kind >= INTERP_KERNEL_KIND_COUNT || !k->fn ||
        !interp_kernels_set(&p->kernels, (interp_kernel_kind)k->kind, (int)k->dtype, k->fn))
      return rt_error(error, CHORD_ERROR_FORMAT,
                      "the compiled module's matmul kernel %u (kind %u, type %u) is not one this "
                      "runtime knows",
                      i, k->kind, k->dtype);
  }
  p->kernels.node = c->nodes;
  p->kernels.n_nodes = c->n_values;
  return CHORD_OK;
}

chord_status chord_program_from_compiled(chord_model *model, const chord_compiled *compiled,
                                         const chord_compile_options *options, chord_program **out,
                                         chord_error *error) {
  *out = NULL;
  chord_compile_options o;
  chord_compile_options_default(&o);
  if (options)
    o = *options;
  if (o.n_batch < 0 || o.n_threads < 0)
    return rt_error(error, CHORD_ERROR_INVALID, "negative batch size or thread count");
  chord_status st = check_module(compiled, error);
  if (st != CHORD_OK)
    return st;
  chord_program *p = rt_calloc(1, sizeof *p);
  compiled_program *code = rt_calloc(1, sizeof *code);
  if (!p || !code) {
    rt_free(p);
    rt_free(code);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory loading the compiled program");
  }
  p->model = model;
  p->target = &target_compiled;
  p->code = code;
  p->n_batch = o.n_batch ? o.n_batch : 512;
  p->n_threads = o.n_threads ? o.n_threads : 1;
  target_options to = {.n_threads = p->n_threads};
  st = module_graph(compiled, &p->graph, error);
  if (st == CHORD_OK)
    st = target_interp.compile(p->graph, &to, &code->interp, error);
  if (st == CHORD_OK)
    st = bind_kernels(code, compiled, error);
  if (st != CHORD_OK) {
    chord_program_free(p);
    return st;
  }
  interp_program_set_kernels(code->interp, &code->kernels);
  p->n_ctx = program_graph_context_size(p->graph);
  *out = p;
  return CHORD_OK;
}
