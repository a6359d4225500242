/* The shared pieces of the CPU target's IR emitters (codegen/llvm/emitter.h). */
#include "codegen/llvm/emitter.h"

#include <string.h>

emit_isa emit_isa_for(const jit_host *host) {
  if (jit_host_has(host, "avx512vnni") && jit_host_has(host, "avx512vl") &&
      jit_host_has(host, "avx512bw"))
    return EMIT_ISA_AVX512;
  if (jit_host_has(host, "avx512vnni") && jit_host_has(host, "avx512vl"))
    return EMIT_ISA_VNNI;
  if (jit_host_has(host, "avxvnni"))
    return EMIT_ISA_VNNI;
  if (jit_host_has(host, "avx2"))
    return EMIT_ISA_AVX2;
  return EMIT_ISA_GENERIC;
}

void emitter_init(emitter *e, LLVMModuleRef module, emit_isa isa) {
  memset(e, 0, sizeof *e);
  e->ctx = LLVMGetModuleContext(module);
  e->module = module;
  e->isa = isa;
  e->b = LLVMCreateBuilderInContext(e->ctx);
  e->i1 = LLVMInt1TypeInContext(e->ctx);
  e->i8 = LLVMInt8TypeInContext(e->ctx);
  e->i16 = LLVMInt16TypeInContext(e->ctx);
  e->i32 = LLVMInt32TypeInContext(e->ctx);
  e->i64 = LLVMInt64TypeInContext(e->ctx);
  e->f16 = LLVMHalfTypeInContext(e->ctx);
  e->f32 = LLVMFloatTypeInContext(e->ctx);
  e->f64 = LLVMDoubleTypeInContext(e->ctx);
  e->ptr = LLVMPointerTypeInContext(e->ctx, 0);
  e->void_type = LLVMVoidTypeInContext(e->ctx);
}

void emitter_dispose(emitter *e) { LLVMDisposeBuilder(e->b); }

LLVMValueRef emit_begin(emitter *e, const char *name, LLVMTypeRef ret, LLVMTypeRef *params,
                        unsigned n_params) {
  e->fn = LLVMAddFunction(e->module, name, LLVMFunctionType(ret, params, n_params, 0));
  LLVMPositionBuilderAtEnd(e->b, LLVMAppendBasicBlockInContext(e->ctx, e->fn, "entry"));
  return e->fn;
}

LLVMTypeRef emit_vec(LLVMTypeRef t, unsigned n) { return LLVMVectorType(t, n); }

LLVMValueRef emit_i32(emitter *e, int64_t v) { return LLVMConstInt(e->i32, (uint64_t)v, 1); }

LLVMValueRef emit_i64(emitter *e, int64_t v) { return LLVMConstInt(e->i64, (uint64_t)v, 1); }

LLVMValueRef emit_f32(emitter *e, float v) { return LLVMConstReal(e->f32, (double)v); }

LLVMValueRef emit_f64(emitter *e, double v) { return LLVMConstReal(e->f64, v); }

LLVMValueRef emit_i32_vector(emitter *e, const int *values, unsigned n) {
  LLVMValueRef elems[64];
  for (unsigned i = 0; i < n; i++)
    elems[i] = emit_i32(e, values[i]);
  return LLVMConstVector(elems, n);
}

LLVMValueRef emit_splat_i32(emitter *e, int v, unsigned n) {
  int values[64];
  for (unsigned i = 0; i < n; i++)
    values[i] = v;
  return emit_i32_vector(e, values, n);
}

LLVMValueRef emit_splat(emitter *e, LLVMValueRef x, LLVMTypeRef t, unsigned n) {
  LLVMValueRef v =
      LLVMBuildInsertElement(e->b, LLVMGetUndef(emit_vec(t, n)), x, emit_i32(e, 0), "");
  return LLVMBuildShuffleVector(e->b, v, LLVMGetUndef(emit_vec(t, n)), emit_splat_i32(e, 0, n), "");
}

LLVMValueRef emit_gep(emitter *e, LLVMTypeRef t, LLVMValueRef base, LLVMValueRef index) {
  return LLVMBuildGEP2(e->b, t, base, &index, 1, "");
}

LLVMValueRef emit_byte_ptr(emitter *e, LLVMValueRef base, int64_t offset) {
  return emit_gep(e, e->i8, base, emit_i64(e, offset));
}

LLVMValueRef emit_load(emitter *e, LLVMTypeRef t, LLVMValueRef p) {
  LLVMValueRef v = LLVMBuildLoad2(e->b, t, p, "");
  LLVMSetAlignment(v, 1);
  return v;
}

void emit_store(emitter *e, LLVMValueRef v, LLVMValueRef p) {
  LLVMSetAlignment(LLVMBuildStore(e->b, v, p), 1);
}

LLVMValueRef emit_load_at(emitter *e, LLVMTypeRef t, LLVMValueRef base, LLVMValueRef index) {
  return emit_load(e, t, emit_gep(e, t, base, index));
}

void emit_store_at(emitter *e, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index) {
  emit_store(e, v, emit_gep(e, LLVMTypeOf(v), base, index));
}

LLVMValueRef emit_mul64(emitter *e, LLVMValueRef i, int64_t n) {
  return LLVMBuildMul(e->b, i, emit_i64(e, n), "");
}

LLVMValueRef emit_add64(emitter *e, LLVMValueRef i, int64_t n) {
  return LLVMBuildAdd(e->b, i, emit_i64(e, n), "");
}

LLVMValueRef emit_intrinsic(emitter *e, const char *name, LLVMTypeRef overload, LLVMValueRef *args,
                            unsigned n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  size_t count = overload ? 1 : 0;
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(e->module, id, &overload, count);
  return LLVMBuildCall2(e->b, LLVMIntrinsicGetType(e->ctx, id, &overload, count), fn, args, n, "");
}

LLVMValueRef emit_fma(emitter *e, LLVMValueRef a, LLVMValueRef x, LLVMValueRef c) {
  LLVMValueRef args[3] = {a, x, c};
  return emit_intrinsic(e, "llvm.fma", LLVMTypeOf(c), args, 3);
}

LLVMValueRef emit_libm(emitter *e, const char *name, LLVMValueRef x) {
  LLVMTypeRef type = LLVMFunctionType(e->f32, &e->f32, 1, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(e->module, name);
  if (!fn)
    fn = LLVMAddFunction(e->module, name, type);
  return LLVMBuildCall2(e->b, type, fn, &x, 1, "");
}

LLVMValueRef emit_var(emitter *e, LLVMTypeRef t, LLVMValueRef init) {
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(e->fn);
  LLVMBuilderRef at = LLVMCreateBuilderInContext(e->ctx);
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  if (first)
    LLVMPositionBuilderBefore(at, first);
  else
    LLVMPositionBuilderAtEnd(at, entry);
  LLVMValueRef slot = LLVMBuildAlloca(at, t, "");
  LLVMDisposeBuilder(at);
  if (init)
    LLVMBuildStore(e->b, init, slot);
  return slot;
}

LLVMValueRef emit_get(emitter *e, LLVMTypeRef t, LLVMValueRef var) {
  return LLVMBuildLoad2(e->b, t, var, "");
}

void emit_set(emitter *e, LLVMValueRef var, LLVMValueRef v) { LLVMBuildStore(e->b, v, var); }

LLVMValueRef emit_for(emitter *e, emit_loop *loop, LLVMValueRef begin, LLVMValueRef end,
                      int64_t step) {
  loop->counter = emit_var(e, e->i64, begin);
  loop->end = end;
  loop->step = step;
  loop->head = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "loop");
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "body");
  loop->done = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "after");
  LLVMBuildBr(e->b, loop->head);
  LLVMPositionBuilderAtEnd(e->b, loop->head);
  LLVMValueRef i = emit_get(e, e->i64, loop->counter);
  LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, i, end, ""), body, loop->done);
  LLVMPositionBuilderAtEnd(e->b, body);
  return emit_get(e, e->i64, loop->counter);
}

void emit_end(emitter *e, emit_loop *loop) {
  LLVMValueRef i = emit_get(e, e->i64, loop->counter);
  emit_set(e, loop->counter, emit_add64(e, i, loop->step));
  LLVMBuildBr(e->b, loop->head);
  LLVMPositionBuilderAtEnd(e->b, loop->done);
}

LLVMBasicBlockRef emit_if(emitter *e, LLVMValueRef cond) {
  LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "then");
  LLVMBasicBlockRef after = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "endif");
  LLVMBuildCondBr(e->b, cond, then, after);
  LLVMPositionBuilderAtEnd(e->b, then);
  return after;
}

void emit_endif(emitter *e, LLVMBasicBlockRef after) {
  LLVMBuildBr(e->b, after);
  LLVMPositionBuilderAtEnd(e->b, after);
}

LLVMValueRef emit_hsum(emitter *e, LLVMValueRef v, unsigned n) {
  LLVMValueRef x = v;
  for (unsigned width = n; width > 2; width /= 2) {
    int lo[8], hi[8];
    for (unsigned l = 0; l < width / 2; l++) {
      lo[l] = (int)l;
      hi[l] = (int)(l + width / 2);
    }
    LLVMValueRef undef = LLVMGetUndef(LLVMTypeOf(x));
    x = LLVMBuildFAdd(
        e->b, LLVMBuildShuffleVector(e->b, x, undef, emit_i32_vector(e, hi, width / 2), ""),
        LLVMBuildShuffleVector(e->b, x, undef, emit_i32_vector(e, lo, width / 2), ""), "");
  }
  if (n == 1)
    return LLVMBuildExtractElement(e->b, x, emit_i32(e, 0), "");
  return LLVMBuildFAdd(e->b, LLVMBuildExtractElement(e->b, x, emit_i32(e, 0), ""),
                       LLVMBuildExtractElement(e->b, x, emit_i32(e, 1), ""), "");
}
