/* The graph IR: SSA values in an arena owned by the graph, typed by a dtype and a shape whose
 * dimensions may be symbolic (T: tokens in this step, P: positions already in the KV cache).
 * Ops and attributes come from two tables, ir/ops.def and ir/attrs.def. docs/ir.md describes the
 * text form. */
#ifndef CHORD_IR_IR_H
#define CHORD_IR_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "chord.h"
#include "ir/dtype.h"

/* ---- tables ---------------------------------------------------------------------------------- */

typedef enum ir_op {
#define X(NAME, name, min_operands, max_operands, attrs, required, flags, shape_rule, semantics)   \
  IR_OP_##NAME,
#include "ir/ops.def"
#undef X
  IR_OP_COUNT
} ir_op;

typedef enum ir_attr_id {
#define X(NAME, name, kind, values) IR_ATTR_##NAME,
#include "ir/attrs.def"
#undef X
  IR_ATTR_COUNT
} ir_attr_id;

typedef enum ir_attr_kind {
  IR_ATTR_KIND_INT,
  IR_ATTR_KIND_FLOAT,
  IR_ATTR_KIND_STRING,
  IR_ATTR_KIND_INT_LIST,
  IR_ATTR_KIND_ENUM,
  IR_ATTR_KIND_SHAPE,
} ir_attr_kind;

enum {
  IR_FLAG_ELEMENTWISE = 1u << 0, /* each output element depends on the same-index inputs */
  IR_FLAG_REDUCTION = 1u << 1,   /* reduces (or normalizes) along the last dim */
  IR_FLAG_STATEFUL = 1u << 2,    /* reads or writes KV-cache state: never removed as dead */
  IR_FLAG_FUSED = 1u << 3,       /* introduced by fusion passes, never by the frontend */
  IR_FLAG_LAYOUT = 1u << 4,      /* moves elements only (reshape, view, permute, ...) */
  IR_FLAG_ALIAS = 1u << 5,       /* a runtime may make the result its first operand's storage */
};

typedef struct ir_value ir_value;
typedef struct ir_type ir_type;
/* Computes the result type of v from its operands and attributes; false with a reason in why. */
typedef bool (*ir_shape_rule)(const ir_value *v, ir_type *out, char *why, size_t why_size);

typedef struct ir_op_info {
  const char *name;
  uint32_t min_operands, max_operands;
  uint64_t attrs, required; /* bit (1 << ir_attr_id) */
  uint32_t flags;
  ir_shape_rule shape_rule;
  const char *semantics;
} ir_op_info;

typedef struct ir_attr_info {
  const char *name;
  ir_attr_kind kind;
  const char *values; /* ENUM spellings, '|'-separated */
} ir_attr_info;

const ir_op_info *ir_op_get(ir_op op);
bool ir_op_from_name(const char *name, size_t length, ir_op *out);
const ir_attr_info *ir_attr_get(ir_attr_id id);
bool ir_attr_from_name(const char *name, size_t length, ir_attr_id *out);
const char *ir_attr_kind_name(ir_attr_kind kind);
/* The index of an enum spelling for attr, or -1. */
int ir_attr_enum_index(ir_attr_id id, const char *spelling, size_t length);
/* Writes the spelling of enum value index of attr into buf; false if out of range. */
bool ir_attr_enum_spelling(ir_attr_id id, int index, char *buf, size_t size);

/* ---- types ----------------------------------------------------------------------------------- */

/* A dimension: t*T + p*P + c. Every shape of a decoder step is affine in T and P (see docs/ir.md),
 * so a linear form is enough and makes equality a field-by-field compare. */
typedef struct ir_dim {
  int64_t t, p, c;
} ir_dim;

enum { IR_MAX_DIMS = 4 };

struct ir_type {
  ir_dtype dtype;
  uint32_t rank;
  ir_dim dims[IR_MAX_DIMS];
};

/* Every coefficient of a dimension is at most IR_DIM_LIMIT (2^62) in magnitude (docs/ir.md): real
 * shapes are far smaller, and the margin means a negation never wraps and every dimension prints
 * as text that reads back (INT64_MIN has no positive literal to negate). */
#define IR_DIM_LIMIT (INT64_C(1) << 62)

static inline ir_dim ir_dim_const(int64_t c) { return (ir_dim){0, 0, c}; }
bool ir_dim_in_range(ir_dim d);
/* The arithmetic writes *out and returns true only when every coefficient of the result is within
 * the limit, so overflow is an answer, never undefined behaviour. */
bool ir_dim_add(ir_dim a, ir_dim b, ir_dim *out);
bool ir_dim_sub(ir_dim a, ir_dim b, ir_dim *out);
bool ir_dim_is_const(ir_dim d);
bool ir_dim_equal(ir_dim a, ir_dim b);
/* a * b; false when both are symbolic (the product would not be linear) or out of range. */
bool ir_dim_mul(ir_dim a, ir_dim b, ir_dim *out);
/* a / b; false unless b is a non-zero constant dividing every coefficient of a (or out of range).
 */
bool ir_dim_div(ir_dim a, ir_dim b, ir_dim *out);
/* Canonical text: P-terms, then T-terms, then the constant, e.g. "P+T", "2*T-1", "640". */
void ir_dim_format(ir_dim d, char *buf, size_t size);
bool ir_type_equal(const ir_type *a, const ir_type *b);
/* "f32[T, 640]" */
void ir_type_format(const ir_type *t, char *buf, size_t size);
/* Whether two shapes have the same element count for every T and P. */
bool ir_shape_same_count(const ir_dim *a, uint32_t rank_a, const ir_dim *b, uint32_t rank_b);

/* ---- graph ----------------------------------------------------------------------------------- */

typedef enum ir_value_kind {
  IR_VALUE_INPUT,  /* fed by the caller each step (token ids, positions) */
  IR_VALUE_WEIGHT, /* a tensor of the mapped GGUF, by name: never copied */
  IR_VALUE_STATE,  /* KV-cache state that persists across steps */
  IR_VALUE_NODE,   /* the result of an op */
} ir_value_kind;

typedef struct ir_attr {
  ir_attr_id id;
  uint32_t count; /* INT_LIST and SHAPE: elements */
  union {
    int64_t i;           /* INT; ENUM: the index into the spellings */
    double f;            /* FLOAT */
    const char *s;       /* STRING (in the graph's arena) */
    const int64_t *list; /* INT_LIST */
    const ir_dim *dims;  /* SHAPE */
  } as;
} ir_attr;

struct ir_value {
  uint32_t index; /* position in the graph: operands must come earlier */
  ir_value_kind kind;
  ir_op op;         /* IR_VALUE_NODE only */
  const char *name; /* NULL: printed as %index; for weights the GGUF tensor name */
  ir_type type;
  uint32_t n_operands, n_attrs; /* attrs sorted by id, no duplicates */
  ir_value **operands;
  ir_attr *attrs;
  uint32_t n_uses;
  uint32_t line, col; /* where the parser read it; 0 when built */
};

typedef struct ir_arena_block ir_arena_block;

typedef struct ir_graph {
  const char *name;
  ir_value **values; /* in program order */
  uint32_t n_values, cap_values;
  ir_value **outputs;
  uint32_t n_outputs, cap_outputs;
  ir_arena_block *arena;
} ir_graph;

chord_status ir_graph_init(ir_graph **out, const char *name, chord_error *error);
void ir_graph_free(ir_graph *g);
/* Arena allocation: lives as long as the graph. NULL on failure. */
void *ir_graph_alloc(ir_graph *g, size_t size);
char *ir_graph_strndup(ir_graph *g, const char *s, size_t n);

/* Graph-level values. name may be NULL for inputs and state (printed by index). */
ir_value *ir_graph_add_input(ir_graph *g, const char *name, const ir_type *type,
                             chord_error *error);
ir_value *ir_graph_add_weight(ir_graph *g, const char *tensor_name, const ir_type *type,
                              chord_error *error);
ir_value *ir_graph_add_state(ir_graph *g, const char *name, const ir_type *type,
                             chord_error *error);
chord_status ir_graph_add_output(ir_graph *g, ir_value *v, chord_error *error);
/* Finds a value by name (weights by tensor name); NULL if none. */
ir_value *ir_graph_find(const ir_graph *g, ir_value_kind kind, const char *name, size_t length);

/* Graph surgery for passes (passes/rewriter.c goes through these). Each keeps `index` equal to the
 * position in g->values. */
/* Points every use of `from` (operands and outputs) at `to`; use counts follow. */
void ir_value_replace_uses(ir_graph *g, ir_value *from, ir_value *to);
/* Removes v, which must have no uses, from the graph and drops its uses of its operands. */
void ir_graph_erase(ir_graph *g, ir_value *v);
/* Moves v to position `index` (the values from there on shift one place later). */
void ir_graph_move(ir_graph *g, ir_value *v, uint32_t index);

/* ---- builder --------------------------------------------------------------------------------- */

/* Appends op applied to operands with attrs (any order; copied and sorted), infers its type by the
 * op's shape rule and checks operand counts and attributes. NULL with a message naming the op and
 * the operands on failure. */
ir_value *ir_build(ir_graph *g, ir_op op, ir_value *const *operands, uint32_t n_operands,
                   const ir_attr *attrs, uint32_t n_attrs, chord_error *error);
/* Attribute constructors for ir_build's attrs array. */
ir_attr ir_attr_int(ir_attr_id id, int64_t v);
ir_attr ir_attr_float(ir_attr_id id, double v);
ir_attr ir_attr_enum(ir_attr_id id, int index);
ir_attr ir_attr_string(ir_attr_id id, const char *s);
ir_attr ir_attr_int_list(ir_attr_id id, const int64_t *values, uint32_t count);
ir_attr ir_attr_shape(ir_attr_id id, const ir_dim *dims, uint32_t count);
/* The attribute id of v, or NULL. */
const ir_attr *ir_value_attr(const ir_value *v, ir_attr_id id);
/* The value of v's FLOAT (or INT / ENUM) attribute id, or fallback when v does not have it. */
double ir_attr_float_or(const ir_value *v, ir_attr_id id, double fallback);
int64_t ir_attr_int_or(const ir_value *v, ir_attr_id id, int64_t fallback);
/* v's dtype attribute (quantize, flash_attention) as an ir_dtype into *out; false, *out
 * unchanged, when v has none or it names no dtype. */
bool ir_attr_dtype(const ir_value *v, ir_dtype *out);

/* Typed helpers for the common ops. */
ir_value *ir_build_unary(ir_graph *g, ir_op op, ir_value *x, chord_error *error);
ir_value *ir_build_binary(ir_graph *g, ir_op op, ir_value *a, ir_value *b, chord_error *error);
ir_value *ir_build_matmul(ir_graph *g, ir_value *a, ir_value *b, chord_error *error);
ir_value *ir_build_add(ir_graph *g, ir_value *a, ir_value *b, chord_error *error);
ir_value *ir_build_mul(ir_graph *g, ir_value *a, ir_value *b, chord_error *error);
ir_value *ir_build_scale(ir_graph *g, ir_value *x, double scale, chord_error *error);
ir_value *ir_build_rms_norm(ir_graph *g, ir_value *x, double eps, chord_error *error);
ir_value *ir_build_reshape(ir_graph *g, ir_value *x, const ir_dim *dims, uint32_t rank,
                           chord_error *error);

/* ---- verifier, printer, parser --------------------------------------------------------------- */

/* Checks operand counts, SSA order (no use before definition), operands that belong to the graph,
 * attribute presence and kinds, every type against the shape rule, and that every op result is
 * used or an output (stateful ops excepted). The message names the value and op. */
chord_status ir_verify(const ir_graph *g, chord_error *error);
/* Whether v may be written over its operand k (in_place = k, passes/plan_memory.c): operand k
 * is a computed value of v's type (not a weight, input, state or F(ALIAS) op's result), no
 * output, read by nothing after v and by no F(ALIAS) op (which would share its storage past v).
 * Otherwise false with the reason in why. The verifier checks every in_place with it. */
bool ir_can_write_over(const ir_graph *g, const ir_value *v, int64_t k, char *why, size_t size);

/* Writes the text form. */
chord_status ir_print(const ir_graph *g, FILE *out, chord_error *error);
/* Parses the text form; on failure the message is "FILE:LINE:COL: error: ...", the source line
 * and a caret under the problem. The result is built through ir_build (types checked) but not
 * verified. */
chord_status ir_parse(const char *text, size_t length, const char *file_name, ir_graph **out,
                      chord_error *error);

#endif
