/* What the CPU target generates for a graph, as text: the LLVM IR module of its kernels (one set
 * per weight type the graph's matmuls use, codegen/llvm/emit_qdot.h), optimized as the target
 * optimizes it, or the host's assembly for it (`chord ir --emit=llvm|asm`). */
#ifndef CHORD_CODEGEN_LLVM_CPU_TARGET_H
#define CHORD_CODEGEN_LLVM_CPU_TARGET_H

#include <stdbool.h>

#include "chord.h"
#include "ir/ir.h"
#include "runtime/interp/interp.h"

/* *text is for rt_free. */
chord_status cpu_target_emit(const ir_graph *graph, bool assembly, char **text, chord_error *error);

struct target_info;
extern const struct target_info target_cpu;

/* The kernels a program of target_cpu lends the interpreter's walker: the matmuls by weight type,
 * the node kernels by value (NULL where a node runs as the interpreter's C). For tests that run
 * a graph with and without them. */
const interp_kernels *cpu_target_kernels(const void *program);

#endif
