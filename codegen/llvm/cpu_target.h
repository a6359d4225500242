/* What the CPU target generates for a graph: the LLVM IR module of its kernels (one set per
 * weight type the graph's matmuls use, codegen/llvm/emit_qdot.h, and the node kernels), optimized
 * as the target optimizes it, the host's assembly for it, or its object code (`chord ir
 * --emit=llvm|asm`, `chord compile --emit llvm|asm|obj`). */
#ifndef CHORD_CODEGEN_LLVM_CPU_TARGET_H
#define CHORD_CODEGEN_LLVM_CPU_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "chord.h"
#include "ir/ir.h"
#include "runtime/interp/interp.h"

typedef enum cpu_emit_kind {
  CPU_EMIT_LLVM,   /* the optimized module as LLVM IR text */
  CPU_EMIT_ASM,    /* this host's assembly for it */
  CPU_EMIT_OBJECT, /* this host's relocatable object file (ELF on Linux) */
} cpu_emit_kind;

typedef struct cpu_emit_options {
  cpu_emit_kind kind;
  /* the machine to compile for (codegen/llvm/aot_target.h); NULL: this host */
  const struct jit_host *target;
  /* with the table a compiled program runs from (chord_compiled_model, runtime/compiled.h):
   * the graph's text and which kernel runs which value */
  bool program;
} cpu_emit_options;

/* The kernels' code for graph as options->kind: *data (for rt_free) and its *size in bytes; text
 * kinds end with a NUL not counted in *size. Objects are position-independent. */
chord_status cpu_target_emit(const ir_graph *graph, const cpu_emit_options *options, void **data,
                             size_t *size, chord_error *error);

struct target_info;
extern const struct target_info target_cpu;

/* The kernels a program of target_cpu lends the interpreter's walker: the matmuls by weight type,
 * the node kernels by value (NULL where a node runs as the interpreter's C). For tests that run
 * a graph with and without them. */
const interp_kernels *cpu_target_kernels(const void *program);

#endif
