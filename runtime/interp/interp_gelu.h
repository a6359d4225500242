/* GELU as llama.cpp's CPU backend computes it, for the interpreter and for the kernels that
 * must match it (codegen/llvm/emit_ops.c): the tanh approximation in ggml's order of operations,
 * the erf form, and GGML_GELU_FP16's table (input and result rounded to f16, the tails passed
 * through). */
#ifndef CHORD_RUNTIME_INTERP_GELU_H
#define CHORD_RUNTIME_INTERP_GELU_H

#include <stdint.h>

/* 0.5 x (1 + tanh(sqrt(2/pi) x (1 + 0.044715 x^2))), with the multiply-add ggml's x86 build
 * fuses. */
float interp_gelu_tanh(float x);

/* 0.5 x (1 + erf(x / sqrt(2))). */
float interp_gelu_erf(float x);

/* The table's entry for the f16 input h: interp_gelu_tanh of it, rounded to f16 (bits). */
uint16_t interp_gelu_f16_entry(uint16_t h);

/* GGML_GELU_FP16: 0 at or below -10, x at or above 10, else the table's entry for x rounded to
 * f16. */
float interp_gelu_tanh_f16(float x);

#endif
