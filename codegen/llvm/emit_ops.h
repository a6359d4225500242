/* LLVM IR for the graph's nodes other than the quantized matmuls: one kernel per node,
 * specialized to its op, attributes and shapes (constant dims are constants of the code; T and P,
 * the step's tokens and cached positions, are arguments). Nodes whose keys are equal share one
 * function. Every kernel computes the reference interpreter's arithmetic in its order (interp.md),
 * so results are the interpreter's bit for bit (tests/codegen).
 *
 * A kernel is
 *   void chord_<op>_N(void *const *buffers, int64_t T, int64_t P, int64_t first, int64_t last)
 * where buffers[0] is the result, buffers[1 + i] operand i (dense f32, or i32 for token ids and
 * positions), and for quantize buffers[1 + n_operands] the result's encoding (rows of blocks).
 * A matmul kernel computes the items [first, last) of emit_op_items (a caller splits them over
 * threads); the others compute the whole node and ignore them.
 *
 * What has a kernel: scale, silu, tanh, gelu (all three forms), hadamard, add and mul (operands of
 * the result's shape, rows broadcast along the last dim, or scalars), rms_norm and layer_norm,
 * softmax without a mask operand, the causal and sliding-window masks, rope (plain and linear
 * scaling, no factor tensor), permute and transpose, quantize to q8_0 and f16, and attention's
 * float matmuls (f16-rounded rows against computed keys or values, in tinyBLAS's or vec_dot's
 * lane order), and fused_region (its body's functions written out per element, operands broadcast
 * as add's). Everything else runs as the interpreter's C. */
#ifndef CHORD_CODEGEN_LLVM_EMIT_OPS_H
#define CHORD_CODEGEN_LLVM_EMIT_OPS_H

#include <llvm-c/Core.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codegen/llvm/emitter.h"
#include "ir/ir.h"

typedef void (*chord_op_fn)(void *const *buffers, int64_t tokens, int64_t positions, int64_t first,
                            int64_t last);

/* Whether there is a kernel for this node (its op, types, shapes and attributes). */
bool emit_op_supports(const ir_value *v);

/* What the node's kernel depends on, as text: nodes with equal keys can share a kernel. */
void emit_op_key(const ir_value *v, char *buf, size_t size);

/* Adds the node's kernel to the module under name; false if it has none. */
bool emit_op(LLVMModuleRef module, const ir_value *v, const char *name, emit_isa isa);

/* The contents of the constant tables the module's kernels declared (the f16 gelu table): filled
 * in after the code cache's key is taken from the printed IR, which so stays small; false without
 * memory. Call before optimizing or printing the module for a user. */
bool emit_ops_define_tables(LLVMModuleRef module);

/* A digest of the contents of the tables module declares, for the cache key (they come from the
 * C library's tanhf); 0 when it declares none. */
uint64_t emit_ops_tables_digest(LLVMModuleRef module);

#endif
