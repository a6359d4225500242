/* chord_compiled_model as LLVM constants (emit_program.h). The struct's fields, in
 * runtime/compiled.h's order: four i32 (abi, n_values, n_kernels, reserved), four pointers
 * (version, triple, cpu, graph), the graph's i64 size, two pointers (kernels, nodes): the C
 * layout on every 64-bit target chord compiles for. */
#include "codegen/llvm/emit_program.h"

#include <string.h>

#include "chord.h"
#include "runtime/compiled.h"
#include "runtime/support/alloc.h"

/* A private constant NUL-terminated string. */
static LLVMValueRef string_constant(LLVMModuleRef m, const char *text, size_t size) {
  LLVMContextRef ctx = LLVMGetModuleContext(m);
  LLVMValueRef init = LLVMConstStringInContext2(ctx, text, size, false);
  LLVMValueRef g = LLVMAddGlobal(m, LLVMTypeOf(init), "chord_compiled_string");
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, true);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  return g;
}

static LLVMValueRef array_constant(LLVMModuleRef m, LLVMTypeRef element, LLVMValueRef *items,
                                   size_t n, const char *name) {
  LLVMValueRef init = LLVMConstArray2(element, items, n);
  LLVMValueRef g = LLVMAddGlobal(m, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, true);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return g;
}

bool emit_program(LLVMModuleRef m, const emit_program_desc *d) {
  LLVMContextRef ctx = LLVMGetModuleContext(m);
  LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx), i64 = LLVMInt64TypeInContext(ctx);
  LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0);
  size_t n_items = d->n_kernels > d->n_values ? d->n_kernels : d->n_values;
  LLVMValueRef *items = rt_malloc((n_items ? n_items : 1) * sizeof *items);
  if (!items)
    return false;
  bool ok = true;

  LLVMTypeRef kernel_type = LLVMStructTypeInContext(ctx, (LLVMTypeRef[]){i32, i32, ptr}, 3, false);
  for (size_t i = 0; i < d->n_kernels && ok; i++) {
    LLVMValueRef fn = LLVMGetNamedFunction(m, d->kernels[i].name);
    ok = fn != NULL;
    LLVMValueRef fields[] = {LLVMConstInt(i32, (unsigned)d->kernels[i].kind, false),
                             LLVMConstInt(i32, (unsigned)d->kernels[i].dtype, false), fn};
    if (ok)
      items[i] = LLVMConstStructInContext(ctx, fields, 3, false);
  }
  LLVMValueRef kernels =
      ok ? array_constant(m, kernel_type, items, d->n_kernels, "chord_compiled_kernels") : NULL;
  for (uint32_t i = 0; i < d->n_values && ok; i++) {
    items[i] = d->nodes[i] ? LLVMGetNamedFunction(m, d->nodes[i]) : LLVMConstPointerNull(ptr);
    ok = items[i] != NULL;
  }
  LLVMValueRef nodes =
      ok ? array_constant(m, ptr, items, d->n_values, "chord_compiled_nodes") : NULL;
  rt_free(items);
  if (!ok)
    return false;

  const char *version = chord_version();
  LLVMValueRef fields[] = {
      LLVMConstInt(i32, CHORD_COMPILED_ABI, false),
      LLVMConstInt(i32, d->n_values, false),
      LLVMConstInt(i32, d->n_kernels, false),
      LLVMConstInt(i32, 0, false),
      string_constant(m, version, strlen(version)),
      string_constant(m, d->triple, strlen(d->triple)),
      string_constant(m, d->cpu, strlen(d->cpu)),
      string_constant(m, d->graph, d->graph_size),
      LLVMConstInt(i64, d->graph_size, false),
      kernels,
      nodes,
  };
  enum { N_FIELDS = sizeof fields / sizeof fields[0] };
  LLVMValueRef init = LLVMConstStructInContext(ctx, fields, N_FIELDS, false);
  LLVMValueRef g = LLVMAddGlobal(m, LLVMTypeOf(init), CHORD_COMPILED_SYMBOL);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, true);
  return true;
}
