/* The table an ahead-of-time module carries for the runtime (runtime/compiled.h): the symbol
 * chord_compiled_model, made of LLVM constants next to the kernels it points at. */
#ifndef CHORD_CODEGEN_LLVM_EMIT_PROGRAM_H
#define CHORD_CODEGEN_LLVM_EMIT_PROGRAM_H

#include <llvm-c/Core.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/interp/interp.h"

/* A matmul kernel of the module: its slot in interp_kernels and its function's name. */
typedef struct emit_program_kernel {
  interp_kernel_kind kind;
  int dtype;
  char name[64];
} emit_program_kernel;

typedef struct emit_program_desc {
  const char *graph; /* the graph's IR text (what the runtime parses), and its length */
  size_t graph_size;
  const emit_program_kernel *kernels;
  size_t n_kernels;
  const char *const *nodes; /* per value of the parsed graph: its node kernel's name, or NULL */
  uint32_t n_values;
  const char *triple, *cpu;
} emit_program_desc;

/* Adds chord_compiled_model to module, whose functions must include every name the description
 * gives; false if one is missing. */
bool emit_program(LLVMModuleRef module, const emit_program_desc *d);

#endif
