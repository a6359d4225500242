/* What the CPU target generates for a graph, as text: the LLVM IR module of its kernels (one set
 * per weight type the graph's matmuls use, codegen/llvm/emit_qdot.h), optimized as the target
 * optimizes it, or the host's assembly for it (`chord ir --emit=llvm|asm`). */
#ifndef CHORD_CODEGEN_LLVM_CPU_TARGET_H
#define CHORD_CODEGEN_LLVM_CPU_TARGET_H

#include <stdbool.h>

#include "chord.h"
#include "ir/ir.h"

/* *text is for rt_free. */
chord_status cpu_target_emit(const ir_graph *graph, bool assembly, char **text, chord_error *error);

#endif
