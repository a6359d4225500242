/* The body of a fused_region: the element-wise chain it computes, as text over the region's
 * operands $0..$n, e.g. "mul(silu($0), $1)". The shape rule parses it (so the verifier rejects a
 * bad body) and the interpreter evaluates the parsed form element by element.
 *
 *   expr := '$' INDEX | NUMBER | NAME '(' expr (',' expr)* ')'
 *
 * NUMBER is a decimal (1, -0.5, 2.5e-3); white space between tokens is free. The functions are
 * the element-wise ops of the op table, with the same float formulas, plus sub and neg. */
#ifndef CHORD_IR_FUSED_BODY_H
#define CHORD_IR_FUSED_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* X(NAME, name, arity, literal, semantics): the functions a body may call. literal: the last
 * argument must be a NUMBER (scale's factor is an attribute of the unfused op, not a tensor).
 * A consumer pastes `name` into its own identifiers, so a function it lacks fails to compile. */
#define IR_FUSED_FUNCTIONS(X)                                                                      \
  X(ADD, add, 2, false, "a + b (the add op)")                                                      \
  X(SUB, sub, 2, false, "a - b")                                                                   \
  X(MUL, mul, 2, false, "a * b (the mul op)")                                                      \
  X(SCALE, scale, 2, true, "x * NUMBER (the scale op; the factor is rounded to f32 as there)")     \
  X(NEG, neg, 1, false, "-x")                                                                      \
  X(SILU, silu, 1, false, "x / (1 + exp(-x)) (the silu op)")                                       \
  X(GELU, gelu, 1, false, "the gelu op with approx = tanh")                                        \
  X(GELU_ERF, gelu_erf, 1, false, "the gelu op with approx = erf")                                 \
  X(GELU_F16, gelu_f16, 1, false, "the gelu op with approx = tanh_f16 (llama.cpp's f16 table)")

typedef enum ir_fused_fn {
#define X(NAME, name, arity, literal, semantics) IR_FUSED_##NAME,
  IR_FUSED_FUNCTIONS(X)
#undef X
      IR_FUSED_FN_COUNT
} ir_fused_fn;

typedef struct ir_fused_fn_info {
  const char *name;
  uint32_t arity;
  bool literal;
  const char *semantics;
} ir_fused_fn_info;

/* NULL when fn is out of range. */
const ir_fused_fn_info *ir_fused_fn_get(ir_fused_fn fn);

/* The parsed body: a postfix program. OPERAND and NUMBER push a value; CALL pops its function's
 * arity values (first argument deepest) and pushes the result. The one value left is the
 * element. */
typedef enum ir_fused_step_kind {
  IR_FUSED_STEP_OPERAND,
  IR_FUSED_STEP_NUMBER,
  IR_FUSED_STEP_CALL,
} ir_fused_step_kind;

typedef struct ir_fused_step {
  ir_fused_step_kind kind;
  uint32_t index; /* OPERAND: the operand ($index); CALL: the ir_fused_fn */
  double number;  /* NUMBER, as written (consumers round it to f32 like a scale attribute) */
} ir_fused_step;

/* Bounds that keep a program a fixed-size value and the parser's recursion shallow; a longer
 * body is an error, not a truncation. */
enum { IR_FUSED_MAX_STEPS = 128, IR_FUSED_MAX_NESTING = 64 };

typedef struct ir_fused_program {
  uint32_t n_steps;
  uint32_t depth; /* stack slots evaluation needs (at most n_steps) */
  ir_fused_step steps[IR_FUSED_MAX_STEPS];
} ir_fused_program;

/* Parses body for a region of n_operands operands (every $i must be below it). On failure
 * returns false with "body column C: ..." in why (C counts bytes of the body from 1). */
bool ir_fused_parse(const char *body, uint32_t n_operands, ir_fused_program *out, char *why,
                    size_t why_size);

#endif
