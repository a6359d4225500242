/* The CPU target (codegen/target.h): the graph's kernels are generated as LLVM IR, specialized
 * to its shapes, types and attributes and to this host's CPU, and compiled by ORC LLJIT: the
 * quantized and f16 matmuls for the weight types the graph uses (emit_qdot.h, emit_fdot.h) and one
 * kernel per distinct node of the other ops that have an emitter (emit_ops.h: element-wise, norms,
 * softmax, masks, rope, permutes, quantize). The interpreter's walker runs the step, calling the
 * compiled kernels for those nodes and its own C for the rest (get_rows, views and copies, the KV
 * cache, matmuls of weight types without a kernel). Every kernel computes the interpreter's
 * arithmetic in llama.cpp's order, so results are the interpreter's bit for bit (tests/codegen). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/cache.h"
#include "codegen/llvm/cpu_target.h"
#include "codegen/llvm/emit_fdot.h"
#include "codegen/llvm/emit_ops.h"
#include "codegen/llvm/emit_program.h"
#include "codegen/llvm/emit_qdot.h"
#include "codegen/llvm/jit.h"
#include "codegen/target.h"
#include "runtime/interp/interp.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

_Static_assert(EMIT_FDOT_K_MULTIPLE == INTERP_FGEMM_K_MULTIPLE,
               "the interpreter calls the float kernels on the k they take");

typedef struct cpu_program {
  void *interp; /* the interpreter target's program, lent our kernels */
  jit *jit;
  interp_kernels kernels;
  interp_node_fn *nodes; /* kernels.node: one per value of the graph */
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
    if (v->kind == IR_VALUE_WEIGHT &&
        (emit_qdot_supports(v->type.dtype) || emit_fdot_supports(v->type.dtype)))
      set.types[v->type.dtype] = set.any = true;
  }
  return set;
}

/* The node kernels of a graph: the nodes with an emitter, grouped by key (emit_op_key), one
 * function per group (op_kernel_name). */
typedef struct op_plan {
  int32_t *kernel_of;     /* per value: its group K, or -1 */
  const ir_value **first; /* per group: the node the function is emitted from */
  char **keys;
  uint32_t n_kernels;
} op_plan;

static void op_plan_free(op_plan *plan) {
  for (uint32_t k = 0; k < plan->n_kernels; k++)
    rt_free(plan->keys[k]);
  rt_free(plan->keys);
  rt_free(plan->first);
  rt_free(plan->kernel_of);
  memset(plan, 0, sizeof *plan);
}

static chord_status op_plan_make(const ir_graph *graph, op_plan *plan, chord_error *error) {
  memset(plan, 0, sizeof *plan);
  uint32_t n = graph->n_values ? graph->n_values : 1;
  plan->kernel_of = rt_malloc(n * sizeof *plan->kernel_of);
  plan->first = rt_malloc(n * sizeof *plan->first);
  plan->keys = rt_calloc(n, sizeof *plan->keys);
  if (!plan->kernel_of || !plan->first || !plan->keys) {
    op_plan_free(plan);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "cpu: out of memory");
  }
  char key[2048];
  for (uint32_t i = 0; i < graph->n_values; i++) {
    const ir_value *v = graph->values[i];
    plan->kernel_of[i] = -1;
    if (!emit_op_supports(v))
      continue;
    emit_op_key(v, key, sizeof key);
    uint32_t k = 0;
    while (k < plan->n_kernels && strcmp(plan->keys[k], key) != 0)
      k++;
    if (k == plan->n_kernels) {
      plan->keys[k] = rt_strndup(key, strlen(key));
      if (!plan->keys[k]) {
        op_plan_free(plan);
        return rt_error(error, CHORD_ERROR_NO_MEMORY, "cpu: out of memory");
      }
      plan->first[k] = v;
      plan->n_kernels++;
    }
    plan->kernel_of[i] = (int32_t)k;
  }
  return CHORD_OK;
}

/* Node kernel k's function name: chord_<op>_<k> (chord_rms_norm_3), as perf and --emit show it. */
static void op_kernel_name(const op_plan *plan, uint32_t k, char *buf, size_t size) {
  const ir_op_info *info = ir_op_get(plan->first[k]->op);
  snprintf(buf, size, "chord_%s_%u", info ? info->name : "op", k);
}

/* The module of a kernel set and a graph's node kernels. */
static LLVMModuleRef kernel_module(jit *j, const kernel_set *set, const op_plan *plan) {
  LLVMModuleRef module = jit_new_module(j, "chord_kernels");
  emit_isa isa = emit_isa_for(jit_get_host(j));
  for (int t = 0; t < IR_DTYPE_COUNT; t++)
    if (set->types[t] && !emit_qdot(module, (ir_dtype)t, isa))
      emit_fdot(module, (ir_dtype)t);
  for (uint32_t k = 0; k < plan->n_kernels; k++) {
    char name[64];
    op_kernel_name(plan, k, name, sizeof name);
    emit_op(module, plan->first[k], name, isa);
  }
  return module;
}

/* What the kernels' object code depends on besides their IR: the cache key (cache.h). */
static void kernel_description(const jit *j, LLVMModuleRef module, char *buf, size_t size) {
  const jit_host *host = jit_get_host(j);
  unsigned major, minor, patch;
  LLVMGetVersion(&major, &minor, &patch);
  snprintf(buf, size, "chord %d.%d.%d; llvm %u.%u.%u; %s; %s; %s; isa %d; tables %016llx",
           CHORD_VERSION_MAJOR, CHORD_VERSION_MINOR, CHORD_VERSION_PATCH, major, minor, patch,
           host->triple, host->cpu, host->features, (int)emit_isa_for(host),
           (unsigned long long)emit_ops_tables_digest(module));
}

/* The kernels' object code into the JIT: from the cache when it has them, else optimized,
 * compiled and stored there. */
static chord_status link_kernels(cpu_program *p, LLVMModuleRef module, chord_error *error) {
  /* the key covers the generated IR itself, so a chord whose kernels changed (even at the same
   * version) never links another's objects */
  char description[8192], path[4096];
  kernel_description(p->jit, module, description, sizeof description);
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
  chord_status st = emit_ops_define_tables(module)
                        ? jit_optimize(p->jit, module, error)
                        : rt_error(error, CHORD_ERROR_NO_MEMORY, "cpu: out of memory");
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

/* The matmul kernels of a kernel set, by slot and function name (at most
 * MAX_MATMUL_KERNELS): what the JIT looks up and an ahead-of-time module's table lists. */
enum { MAX_MATMUL_KERNELS = IR_DTYPE_COUNT * INTERP_KERNEL_KIND_COUNT };
static size_t matmul_kernels(const kernel_set *set, emit_program_kernel *out) {
  static const struct {
    interp_kernel_kind kind;
    const char *name; /* emit_qdot_name's */
  } QDOT[] = {{INTERP_KERNEL_GEMV, "gemv"},
              {INTERP_KERNEL_GEMM4, "gemm4"},
              {INTERP_KERNEL_GEMV_TILED, "gemv_tiled"},
              {INTERP_KERNEL_GEMM4_TILED, "gemm4_tiled"},
              {INTERP_KERNEL_GEMM8, "gemm8_tiled"}};
  size_t n = 0;
  for (int t = 0; t < IR_DTYPE_COUNT; t++) {
    if (!set->types[t])
      continue;
    if (emit_fdot_supports((ir_dtype)t)) {
      out[n] = (emit_program_kernel){.kind = INTERP_KERNEL_FGEMM, .dtype = t};
      emit_fdot_name((ir_dtype)t, out[n].name, sizeof out[n].name);
      n++;
      continue;
    }
    /* the first two for every type, the tiled three where the type has them */
    size_t kinds = emit_qdot_has_tiled((ir_dtype)t) ? 5 : 2;
    for (size_t k = 0; k < kinds; k++, n++) {
      out[n] = (emit_program_kernel){.kind = QDOT[k].kind, .dtype = t};
      emit_qdot_name((ir_dtype)t, QDOT[k].name, out[n].name, sizeof out[n].name);
    }
  }
  return n;
}

/* The compiled functions into p->kernels: the matmul kernels by weight type, the node kernels by
 * value. */
static chord_status look_up_kernels(cpu_program *p, const ir_graph *graph, const kernel_set *set,
                                    const op_plan *plan, chord_error *error) {
  emit_program_kernel matmuls[MAX_MATMUL_KERNELS];
  size_t n_matmuls = matmul_kernels(set, matmuls);
  for (size_t i = 0; i < n_matmuls; i++) {
    void *fn = jit_lookup(p->jit, matmuls[i].name, error);
    if (!fn)
      return error ? error->status : CHORD_ERROR_NOT_FOUND;
    interp_kernels_set(&p->kernels, matmuls[i].kind, matmuls[i].dtype, fn);
  }
  interp_node_fn *by_kernel = rt_calloc(plan->n_kernels ? plan->n_kernels : 1, sizeof *by_kernel);
  p->nodes = rt_calloc(graph->n_values ? graph->n_values : 1, sizeof *p->nodes);
  if (!by_kernel || !p->nodes) {
    rt_free(by_kernel);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "cpu: out of memory");
  }
  chord_status st = CHORD_OK;
  for (uint32_t k = 0; k < plan->n_kernels && st == CHORD_OK; k++) {
    char name[64];
    op_kernel_name(plan, k, name, sizeof name);
    by_kernel[k] = (interp_node_fn)jit_lookup(p->jit, name, error);
    if (!by_kernel[k])
      st = error ? error->status : CHORD_ERROR_NOT_FOUND;
  }
  for (uint32_t i = 0; i < graph->n_values && st == CHORD_OK; i++)
    p->nodes[i] = plan->kernel_of[i] >= 0 ? by_kernel[plan->kernel_of[i]] : NULL;
  rt_free(by_kernel);
  p->kernels.node = p->nodes;
  p->kernels.n_nodes = graph->n_values;
  return st;
}

static chord_status build_kernels(cpu_program *p, const ir_graph *graph, chord_error *error) {
  kernel_set set = kernels_of(graph);
  op_plan plan;
  chord_status st = op_plan_make(graph, &plan, error);
  if (st != CHORD_OK)
    return st;
  if (set.any || plan.n_kernels) {
    LLVMModuleRef module = kernel_module(p->jit, &set, &plan);
    st = link_kernels(p, module, error);
    LLVMDisposeModule(module);
    if (st == CHORD_OK)
      st = look_up_kernels(p, graph, &set, &plan, error);
  }
  op_plan_free(&plan);
  return st;
}

static void cpu_free_program(void *program) {
  cpu_program *p = program;
  if (!p)
    return;
  target_interp.free_program(p->interp);
  jit_free(p->jit);
  rt_free(p->nodes);
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

/* The graph as the runtime will see it: printed to IR text and parsed back (the node table is
 * numbered by the parsed graph's values, runtime/compiled.h). */
static chord_status graph_round_trip(const ir_graph *graph, char **text, size_t *size,
                                     ir_graph **parsed, chord_error *error) {
  *text = NULL;
  *parsed = NULL;
  FILE *out = open_memstream(text, size);
  if (!out)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory printing the graph");
  chord_status st = ir_print(graph, out, error);
  if (fclose(out) != 0 && st == CHORD_OK)
    st = rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory printing the graph");
  if (st == CHORD_OK)
    st = ir_parse(*text, *size, "<compiled graph>", parsed, error);
  return st;
}

/* chord_compiled_model for the module: the graph's text, the matmul kernels, the node table. */
static chord_status add_program_table(LLVMModuleRef module, const jit_host *host,
                                      const kernel_set *set, const op_plan *plan,
                                      const ir_graph *parsed, const char *text, size_t size,
                                      chord_error *error) {
  emit_program_kernel matmuls[MAX_MATMUL_KERNELS];
  size_t n_matmuls = matmul_kernels(set, matmuls);
  char(*names)[64] = rt_calloc(plan->n_kernels ? plan->n_kernels : 1, sizeof *names);
  const char **nodes = rt_calloc(parsed->n_values ? parsed->n_values : 1, sizeof *nodes);
  if (!names || !nodes) {
    rt_free(names);
    rt_free(nodes);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory");
  }
  for (uint32_t k = 0; k < plan->n_kernels; k++)
    op_kernel_name(plan, k, names[k], sizeof names[k]);
  for (uint32_t i = 0; i < parsed->n_values; i++)
    nodes[i] = plan->kernel_of[i] >= 0 ? names[plan->kernel_of[i]] : NULL;
  emit_program_desc d = {.graph = text,
                         .graph_size = size,
                         .kernels = matmuls,
                         .n_kernels = n_matmuls,
                         .nodes = nodes,
                         .n_values = parsed->n_values,
                         .triple = host->triple,
                         .cpu = host->cpu};
  bool ok = emit_program(module, &d);
  rt_free(names);
  rt_free(nodes);
  return ok ? CHORD_OK
            : rt_error(error, CHORD_ERROR_UNSUPPORTED, "cpu: a kernel of the table is missing");
}

chord_status cpu_target_emit(const ir_graph *graph, const cpu_emit_options *options, void **data,
                             size_t *size, chord_error *error) {
  *data = NULL;
  *size = 0;
  cpu_emit_kind kind = options->kind;
  jit *j = NULL;
  char *text = NULL;
  size_t text_size = 0;
  ir_graph *parsed = NULL;
  chord_status st = jit_create_aot(&j, 3, options->target, error);
  if (st == CHORD_OK && options->program)
    st = graph_round_trip(graph, &text, &text_size, &parsed, error);
  const ir_graph *g = parsed ? parsed : graph;
  kernel_set set = kernels_of(g);
  op_plan plan = {0};
  if (st == CHORD_OK)
    st = op_plan_make(g, &plan, error);
  LLVMModuleRef module = st == CHORD_OK ? kernel_module(j, &set, &plan) : NULL;
  if (st == CHORD_OK && options->program)
    st = add_program_table(module, jit_get_host(j), &set, &plan, parsed, text, text_size, error);
  op_plan_free(&plan);
  if (st == CHORD_OK)
    st = emit_ops_define_tables(module) ? jit_optimize(j, module, error)
                                        : rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory");
  if (st == CHORD_OK && kind == CPU_EMIT_OBJECT) {
    *data = jit_emit_object(j, module, size, error);
    if (!*data)
      st = error ? error->status : CHORD_ERROR_NO_MEMORY;
  } else if (st == CHORD_OK) {
    char *out = kind == CPU_EMIT_ASM ? jit_print_asm(j, module, error) : jit_print_ir(module);
    if (!out)
      st = kind == CPU_EMIT_ASM ? error->status
                                : rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory");
    else
      *data = out, *size = strlen(out);
  }
  if (module)
    LLVMDisposeModule(module);
  ir_graph_free(parsed);
  free(text); /* open_memstream's */
  jit_free(j);
  return st;
}

const interp_kernels *cpu_target_kernels(const void *program) {
  return &((const cpu_program *)program)->kernels;
}

const target_info target_cpu = {
    .name = "cpu",
    .description = "this CPU through LLVM: kernels JIT-compiled for the host (quantized matmuls, "
                   "element-wise, norms, softmax, rope, permutes, quantize), the rest in the "
                   "reference interpreter's C",
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
    .shift = interp_target_shift,
};
