/* What an ahead-of-time compile leaves for the runtime (chord compile --emit obj|exe): the symbol
 * chord_compiled_model, a struct chord_compiled laid out as below, next to the kernels it names.
 * The code generator writes it as LLVM constants (codegen/llvm/emit_program.c) and the runtime
 * reads it (runtime/compiled.c) in the same program, so change both together, and the ABI number.
 * The graph travels as IR text, parsed at start: the indices of its values are the parsed
 * graph's, which is what the code generator numbered the node table by. */
#ifndef CHORD_RUNTIME_COMPILED_H
#define CHORD_RUNTIME_COMPILED_H

#include <stdint.h>

#include "chord.h"
#include "runtime/interp/interp.h"

#define CHORD_COMPILED_ABI 1
#define CHORD_COMPILED_SYMBOL "chord_compiled_model"

/* One matmul kernel: its interp_kernel_kind, its weight type (ir_dtype) and its code. */
typedef struct compiled_kernel {
  uint32_t kind, dtype;
  void *fn;
} compiled_kernel;

struct chord_compiled {
  uint32_t abi;       /* CHORD_COMPILED_ABI */
  uint32_t n_values;  /* values of the graph: entries of nodes */
  uint32_t n_kernels; /* entries of kernels */
  uint32_t reserved;
  const char *version; /* chord_version() of the compiler: the runtime must be the same */
  const char *triple;  /* the target it was compiled for, and its CPU */
  const char *cpu;
  const char *graph; /* the optimized graph, IR text, NUL-terminated */
  uint64_t graph_size;
  const compiled_kernel *kernels;
  const interp_node_fn *nodes; /* per value: its node kernel, or NULL (the interpreter's C) */
};

#endif
