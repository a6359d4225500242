/* The LLVM side of the CPU target: the host machine as LLVM sees it, modules built with the LLVM-C
 * API, optimized with the new pass manager and compiled by ORC's LLJIT for this CPU (its name and
 * feature string, so AVX2/AVX-512/VNNI or NEON/dot-product are used where the host has them).
 *
 * A jit owns one LLJIT instance and one thread-safe context: build modules in jit_context(), hand
 * them to jit_add_module (which takes ownership), then look functions up by name. */
#ifndef CHORD_CODEGEN_LLVM_JIT_H
#define CHORD_CODEGEN_LLVM_JIT_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include <stdint.h>

#include "chord.h"

/* The host as LLVM describes it: target triple, CPU name and features ("+avx2,+fma,..."). */
typedef struct jit_host {
  char triple[128];
  char cpu[64];
  char *features; /* owned */
} jit_host;

chord_status jit_host_detect(jit_host *host, chord_error *error);
void jit_host_free(jit_host *host);
/* Whether the host's features include feature (without the '+', e.g. "avx2"). */
bool jit_host_has(const jit_host *host, const char *feature);

typedef struct jit jit;

/* opt_level 0..3: the pass pipeline (default<O{n}>) and the code generator's level. */
chord_status jit_create(jit **out, int opt_level, chord_error *error);
/* A jit for ahead-of-time code only (no LLJIT: jit_lookup and jit_add_* are not for it), making
 * position-independent objects for target (triple, CPU, features; NULL: this host). */
chord_status jit_create_aot(jit **out, int opt_level, const jit_host *target, chord_error *error);
void jit_free(jit *j);

const jit_host *jit_get_host(const jit *j);
/* The context to build modules in, and a new module in it with the host's triple and layout. */
LLVMContextRef jit_context(jit *j);
LLVMModuleRef jit_new_module(jit *j, const char *name);

/* Verifies and optimizes the module, then compiles it into the JIT; takes ownership of it (also on
 * failure). */
chord_status jit_add_module(jit *j, LLVMModuleRef module, chord_error *error);
/* The address of a compiled function; NULL with an error if it is not there. */
void *jit_lookup(jit *j, const char *name, chord_error *error);

/* A module's text (LLVM IR) and the host's assembly for it (rt_free them; NULL on failure). The
 * module is not consumed; run them before jit_add_module. */
char *jit_print_ir(LLVMModuleRef module);
char *jit_print_asm(jit *j, LLVMModuleRef module, chord_error *error);
/* The module compiled to this host's object code (optimize it first), for rt_free; NULL with an
 * error on failure. The module is not consumed. */
void *jit_emit_object(jit *j, LLVMModuleRef module, size_t *size, chord_error *error);
/* Links object code (from jit_emit_object, here or in an earlier run) into the JIT. */
chord_status jit_add_object(jit *j, const void *data, size_t size, chord_error *error);

/* Runs the optimization pipeline on a module (jit_add_module does it too). */
chord_status jit_optimize(jit *j, LLVMModuleRef module, chord_error *error);

#endif
