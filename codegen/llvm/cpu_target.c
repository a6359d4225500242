/* The CPU target (codegen/target.h), first stage: the quantized matmul kernels (where a model
 * spends nearly all its time) are generated as LLVM IR for the weight types the graph uses,
 * specialized to this host's CPU and compiled by ORC LLJIT (emit_qdot.h, jit.h); the graph runs
 * on the reference interpreter's walker, which calls the compiled kernels for those matmuls and its
 * own C for every other op. The kernels compute the interpreter's arithmetic in llama.cpp's order,
 * so results are the interpreter's bit for bit (tests/codegen). Code generation for the other ops
 * replaces the interpreter's C op by op. */
#include <stdio.h>

#include "codegen/llvm/cache.h"
#include "codegen/llvm/cpu_target.h"
#include "codegen/llvm/emit_qdot.h"
#include "codegen/llvm/jit.h"
#include "codegen/target.h"
#include "runtime/interp/interp.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

typedef struct cpu_program {
  void *interp; /* the interpreter target's program, lent our kernels */
  jit *jit;
  interp_kernels kernels;
} cpu_program;

static bool cpu_supports_op(const ir_value *v) { return target_interp.supports_op(v); }

/* The weight types the graph's matmuls use that have a kernel emitter: one pass over its weights.
 */
typedef struct kernel_set {
  bool types[IR_DTYPE_COUNT];
  bool any;
} kernel_set;

static kernel_set kernels_of(const ir_graph *graph) {
  kernel_set set = {0};
  for (uint32_t i = 0; i < graph->n_values; i++) {
    const ir_value *v = graph->values[i];
    if (v->kind == IR_VALUE_WEIGHT && emit_qdot_supports(v->type.dtype))
      set.types[v->type.dtype] = set.any = true;
  }
  return set;
}

/* The module of a kernel set. */
static LLVMModuleRef kernel_module(jit *j, const kernel_set *set) {
  LLVMModuleRef module = jit_new_module(j, "chord_kernels");
  for (int t = 0; t < IR_DTYPE_COUNT; t++)
    if (set->types[t])
      emit_qdot(module, (ir_dtype)t, emit_isa_for(jit_get_host(j)));
  return module;
}

/* What the kernels' object code depends on besides their IR: the cache key (cache.h). */
static void kernel_description(const jit *j, char *buf, size_t size) {
  const jit_host *host = jit_get_host(j);
  unsigned major, minor, patch;
  LLVMGetVersion(&major, &minor, &patch);
  snprintf(buf, size, "chord %d.%d.%d; llvm %u.%u.%u; %s; %s; %s; isa %d", CHORD_VERSION_MAJOR,
           CHORD_VERSION_MINOR, CHORD_VERSION_PATCH, major, minor, patch, host->triple, host->cpu,
           host->features, (int)emit_isa_for(host));
}

/* The kernels' object code into the JIT: from the cache when it has them, else optimized,
 * compiled and stored there. */
static chord_status link_kernels(cpu_program *p, LLVMModuleRef module, chord_error *error) {
  /* the key covers the generated IR itself, so a chord whose kernels changed (even at the same
   * version) never links another's objects */
  char description[8192], path[4096];
  kernel_description(p->jit, description, sizeof description);
  char *ir = jit_print_ir(module);
  if (!ir)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "cpu: out of memory");
  bool cached = code_cache_path(description, ir, path, sizeof path);
  rt_free(ir);
  rt_mapped_file hit;
  if (cached && code_cache_load(path, &hit)) {
    chord_status st = jit_add_object(p->jit, hit.data, (size_t)hit.size, error);
    rt_file_unmap(&hit);
    if (st == CHORD_OK)
      return st; /* else: compiled again, and the entry replaced */
  }
  chord_status st = jit_optimize(p->jit, module, error);
  size_t size = 0;
  void *object = st == CHORD_OK ? jit_emit_object(p->jit, module, &size, error) : NULL;
  if (!object)
    return st == CHORD_OK ? error->status : st;
  if (cached) {
    chord_error ignored; /* a cache that cannot be written only costs the next run the compile */
    (void)code_cache_store(path, object, size, &ignored);
  }
  st = jit_add_object(p->jit, object, size, error);
  rt_free(object);
  return st;
}

static chord_status build_kernels(cpu_program *p, const ir_graph *graph, chord_error *error) {
  kernel_set set = kernels_of(graph);
  if (!set.any)
    return CHORD_OK;
  LLVMModuleRef module = kernel_module(p->jit, &set);
  chord_status st = link_kernels(p, module, error);
  LLVMDisposeModule(module);
  for (int t = 0; t < IR_DTYPE_COUNT && st == CHORD_OK; t++) {
    for (int tiled = 0;
         set.types[t] && tiled <= (int)emit_qdot_has_tiled((ir_dtype)t) && st == CHORD_OK;
         tiled++) {
      char name[64];
      emit_qdot_name((ir_dtype)t, tiled ? "gemv_tiled" : "gemv", name, sizeof name);
      p->kernels.gemv[t][tiled] = (interp_gemv_fn)jit_lookup(p->jit, name, error);
      if (!p->kernels.gemv[t][tiled])
        st = error ? error->status : CHORD_ERROR_NOT_FOUND;
    }
  }
  return st;
}

static void cpu_free_program(void *program) {
  cpu_program *p = program;
  if (!p)
    return;
  target_interp.free_program(p->interp);
  jit_free(p->jit);
  rt_free(p);
}

static chord_status cpu_compile(const ir_graph *graph, const target_options *options, void **out,
                                chord_error *error) {
  *out = NULL;
  cpu_program *p = rt_calloc(1, sizeof *p);
  if (!p)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "cpu: out of memory");
  chord_status st = target_interp.compile(graph, options, &p->interp, error);
  if (st == CHORD_OK)
    st = jit_create(&p->jit, 3, error);
  if (st == CHORD_OK)
    st = build_kernels(p, graph, error);
  if (st != CHORD_OK) {
    cpu_free_program(p);
    return st;
  }
  interp_program_set_kernels(p->interp, &p->kernels);
  *out = p;
  return CHORD_OK;
}

static chord_status cpu_load(void *program, const gguf_file *weights, void **instance,
                             chord_error *error) {
  return target_interp.load(((cpu_program *)program)->interp, weights, instance, error);
}

chord_status cpu_target_emit(const ir_graph *graph, bool assembly, char **text,
                             chord_error *error) {
  *text = NULL;
  jit *j = NULL;
  chord_status st = jit_create(&j, 3, error);
  if (st != CHORD_OK)
    return st;
  kernel_set set = kernels_of(graph);
  LLVMModuleRef module = kernel_module(j, &set);
  st = jit_optimize(j, module, error);
  if (st == CHORD_OK) {
    *text = assembly ? jit_print_asm(j, module, error) : jit_print_ir(module);
    if (!*text)
      st = assembly ? error->status : rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory");
  }
  LLVMDisposeModule(module);
  jit_free(j);
  return st;
}

const target_info target_cpu = {
    .name = "cpu",
    .description = "this CPU through LLVM: matmul kernels JIT-compiled for the host (q4_0, q5_0, "
                   "q8_0, q4_K, q6_K), the other ops in the reference interpreter for now",
    .supports_op = cpu_supports_op,
    .compile = cpu_compile,
    .free_program = cpu_free_program,
    .load = cpu_load,
    /* an instance is the interpreter target's */
    .free_instance = interp_target_free_instance,
    .step = interp_target_step,
    .logits = interp_target_logits,
    .positions = interp_target_positions,
    .set_positions = interp_target_set_positions,
};
