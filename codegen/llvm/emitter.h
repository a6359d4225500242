/* What every LLVM IR emitter of the CPU target shares (emit_qdot.c, emit_ops.c): the context,
 * module and builder, the scalar types, constants, vector helpers, intrinsic and libm calls, and
 * counted loops over variables kept in stack slots (LLVM's mem2reg turns them into registers, so
 * emitters write loops without phi bookkeeping). */
#ifndef CHORD_CODEGEN_LLVM_EMITTER_H
#define CHORD_CODEGEN_LLVM_EMITTER_H

#include <llvm-c/Core.h>
#include <stdbool.h>
#include <stdint.h>

#include "codegen/llvm/jit.h"

/* The byte dot products the quantized kernels are written with: plain LLVM vector arithmetic
 * (any host), or the x86 instructions llama.cpp's kernels use. Every choice gives the same
 * integers. */
typedef enum emit_isa {
  EMIT_ISA_GENERIC,
  EMIT_ISA_AVX2, /* vpmaddubsw + vpmaddwd */
  EMIT_ISA_VNNI, /* vpdpbusd (AVX-VNNI or AVX-512 VNNI with VL) */
  /* VNNI on 64-byte vectors (AVX-512 BW and VNNI): the K-quants take two chunks per instruction */
  EMIT_ISA_AVX512,
} emit_isa;

/* The best the host has. */
emit_isa emit_isa_for(const jit_host *host);

typedef struct emitter {
  LLVMContextRef ctx;
  LLVMModuleRef module;
  LLVMBuilderRef b;
  emit_isa isa;
  LLVMValueRef fn; /* the function being written (emit_begin) */
  LLVMTypeRef i1, i8, i16, i32, i64, f16, f32, f64, ptr, void_type;
} emitter;

void emitter_init(emitter *e, LLVMModuleRef module, emit_isa isa);
void emitter_dispose(emitter *e);

/* A new function of the module with an entry block the builder is positioned in. */
LLVMValueRef emit_begin(emitter *e, const char *name, LLVMTypeRef ret, LLVMTypeRef *params,
                        unsigned n_params);

LLVMTypeRef emit_vec(LLVMTypeRef t, unsigned n);
LLVMValueRef emit_i32(emitter *e, int64_t v);
LLVMValueRef emit_i64(emitter *e, int64_t v);
LLVMValueRef emit_f32(emitter *e, float v);
LLVMValueRef emit_f64(emitter *e, double v);
/* A constant vector of n i32 (shuffle masks, shift counts), and one of n copies of v. */
LLVMValueRef emit_i32_vector(emitter *e, const int *values, unsigned n);
LLVMValueRef emit_splat_i32(emitter *e, int v, unsigned n);
/* n copies of the scalar x (of type t). */
LLVMValueRef emit_splat(emitter *e, LLVMValueRef x, LLVMTypeRef t, unsigned n);

/* &base[index] for elements of type t; base + offset bytes. */
LLVMValueRef emit_gep(emitter *e, LLVMTypeRef t, LLVMValueRef base, LLVMValueRef index);
LLVMValueRef emit_byte_ptr(emitter *e, LLVMValueRef base, int64_t offset);
/* An unaligned load of type t at p; an unaligned store. */
LLVMValueRef emit_load(emitter *e, LLVMTypeRef t, LLVMValueRef p);
void emit_store(emitter *e, LLVMValueRef v, LLVMValueRef p);
/* base[index] of type t, loaded or stored. */
LLVMValueRef emit_load_at(emitter *e, LLVMTypeRef t, LLVMValueRef base, LLVMValueRef index);
void emit_store_at(emitter *e, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index);
LLVMValueRef emit_mul64(emitter *e, LLVMValueRef i, int64_t n);
LLVMValueRef emit_add64(emitter *e, LLVMValueRef i, int64_t n);

/* A call of an LLVM intrinsic; overload is its one overloaded type, or NULL. */
LLVMValueRef emit_intrinsic(emitter *e, const char *name, LLVMTypeRef overload, LLVMValueRef *args,
                            unsigned n);
/* llvm.fma: a * x + c, rounded once. */
LLVMValueRef emit_fma(emitter *e, LLVMValueRef a, LLVMValueRef x, LLVMValueRef c);
/* A call of the C library's float function name (tanhf, cosf, ...) on x: the process's libm, so
 * the results are the interpreter's. */
LLVMValueRef emit_libm(emitter *e, const char *name, LLVMValueRef x);

/* The sum of a <n x float> (n a power of two, at most 16) in the order of ggml's x86 horizontal
 * sums (hsum_float_8, _mm512_reduce_add_ps as simd_sum16 writes it): the upper half added to the
 * lower half until two lanes are left, then lane 0 + lane 1. */
LLVMValueRef emit_hsum(emitter *e, LLVMValueRef v, unsigned n);

/* A variable of type t (a stack slot in the entry block) holding init. */
LLVMValueRef emit_var(emitter *e, LLVMTypeRef t, LLVMValueRef init);
LLVMValueRef emit_get(emitter *e, LLVMTypeRef t, LLVMValueRef var);
void emit_set(emitter *e, LLVMValueRef var, LLVMValueRef v);

/* for (i = begin; i < end; i += step): emit_for returns i (i64) with the builder in the body;
 * emit_end closes the loop and leaves the builder after it. */
typedef struct emit_loop {
  LLVMValueRef counter, end;
  int64_t step;
  LLVMBasicBlockRef head, done;
} emit_loop;
LLVMValueRef emit_for(emitter *e, emit_loop *loop, LLVMValueRef begin, LLVMValueRef end,
                      int64_t step);
void emit_end(emitter *e, emit_loop *loop);

/* if (cond) { ... }: emit_if leaves the builder in the then-block; emit_endif after it. */
LLVMBasicBlockRef emit_if(emitter *e, LLVMValueRef cond);
void emit_endif(emitter *e, LLVMBasicBlockRef after);

#endif
