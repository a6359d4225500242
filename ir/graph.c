/* The graph: an arena that owns every value, attribute and name, and the builder that appends ops
 * with their types inferred by the op table's shape rules. */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/internal.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

/* Arena blocks: a bump allocator over a list of blocks freed together with the graph. */
struct ir_arena_block {
  ir_arena_block *next;
  size_t used, size;
  _Alignas(max_align_t) unsigned char data[];
};

enum { ARENA_BLOCK = 64 * 1024 };

void *ir_graph_alloc(ir_graph *g, size_t size) {
  size = (size + _Alignof(max_align_t) - 1) & ~(size_t)(_Alignof(max_align_t) - 1);
  ir_arena_block *b = g->arena;
  if (!b || b->size - b->used < size) {
    size_t block = size > ARENA_BLOCK ? size : ARENA_BLOCK;
    ir_arena_block *fresh = rt_malloc(sizeof *fresh + block);
    if (!fresh)
      return NULL;
    fresh->next = b;
    fresh->used = 0;
    fresh->size = block;
    g->arena = b = fresh;
  }
  void *p = b->data + b->used;
  b->used += size;
  memset(p, 0, size);
  return p;
}

char *ir_graph_strndup(ir_graph *g, const char *s, size_t n) {
  char *copy = ir_graph_alloc(g, n + 1);
  if (copy) {
    memcpy(copy, s, n);
    copy[n] = '\0';
  }
  return copy;
}

/* ---- what the text form can hold ------------------------------------------------------------ */

/* Why a name cannot be written in the text form (NULL when it can): the parser's rule, quoted names
 * included (docs/ir.md). An all-digit %name reads back as an unnamed value, so only weights and the
 * graph may have one. */
static const char *name_problem(const char *name, bool digits_ok) {
  if (!*name)
    return "is empty";
  bool digits = true;
  for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
    if (*c == '"' || *c == '\\' || *c < 0x20 || *c == 0x7f)
      return "holds '\"', '\\' or a control character";
    digits = digits && *c >= '0' && *c <= '9';
  }
  return digits && !digits_ok ? "is all digits (it would read back as an unnamed value)" : NULL;
}

/* Why a dimension cannot be written in the text form (NULL when it can): the parser reads no
 * coefficient past IR_DIM_LIMIT and no negative constant. */
static const char *dim_problem(ir_dim d) {
  if (!ir_dim_in_range(d))
    return "out of range (coefficients are at most 2^62 in magnitude)";
  if (ir_dim_is_const(d) && d.c < 0)
    return "negative";
  return NULL;
}

/* The first dimension of dims that cannot be written, and why; false when all can. */
static bool dims_problem(const ir_dim *dims, uint32_t count, uint32_t *which, const char **why) {
  for (uint32_t i = 0; i < count; i++) {
    if ((*why = dim_problem(dims[i]))) {
      *which = i;
      return true;
    }
  }
  return false;
}

chord_status ir_graph_init(ir_graph **out, const char *name, chord_error *error) {
  *out = NULL;
  const char *problem = name ? name_problem(name, true) : NULL;
  if (problem)
    return rt_error(error, CHORD_ERROR_INVALID, "the graph name \"%.64s\" %s", name, problem);
  ir_graph *g = rt_calloc(1, sizeof *g);
  if (!g)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory creating a graph");
  g->name = ir_graph_strndup(g, name ? name : "main", strlen(name ? name : "main"));
  if (!g->name) {
    ir_graph_free(g);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory creating a graph");
  }
  *out = g;
  return CHORD_OK;
}

void ir_graph_free(ir_graph *g) {
  if (!g)
    return;
  for (ir_arena_block *b = g->arena, *next; b; b = next) {
    next = b->next;
    rt_free(b);
  }
  rt_free(g->values);
  rt_free(g->outputs);
  rt_free(g);
}

static bool grow(void *array_ptr, uint32_t *cap, uint32_t count) {
  void **array = array_ptr;
  if (count < *cap)
    return true;
  uint32_t fresh = *cap ? *cap * 2 : 16;
  void *p = rt_realloc(*array, (size_t)fresh * sizeof(void *));
  if (!p)
    return false;
  *array = p;
  *cap = fresh;
  return true;
}

static ir_value *new_value(ir_graph *g, ir_value_kind kind, const char *name, chord_error *error) {
  const char *problem = name ? name_problem(name, kind == IR_VALUE_WEIGHT) : NULL;
  if (problem) {
    rt_error(error, CHORD_ERROR_INVALID, "the name \"%.64s\" %s", name, problem);
    return NULL;
  }
  if (!grow(&g->values, &g->cap_values, g->n_values)) {
    rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory adding a value");
    return NULL;
  }
  ir_value *v = ir_graph_alloc(g, sizeof *v);
  if (!v || (name && !(v->name = ir_graph_strndup(g, name, strlen(name))))) {
    rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory adding a value");
    return NULL;
  }
  v->kind = kind;
  v->index = g->n_values;
  g->values[g->n_values++] = v;
  return v;
}

static ir_value *add_leaf(ir_graph *g, ir_value_kind kind, const char *name, const ir_type *type,
                          chord_error *error) {
  if (type->rank > IR_MAX_DIMS || !ir_dtype_get(type->dtype)) {
    rt_error(error, CHORD_ERROR_INVALID, "bad type for %s", name ? name : "a value");
    return NULL;
  }
  uint32_t which;
  const char *problem;
  if (dims_problem(type->dims, type->rank, &which, &problem)) {
    rt_error(error, CHORD_ERROR_INVALID, "bad type for %s: dim %" PRIu32 " is %s",
             name ? name : "a value", which, problem);
    return NULL;
  }
  ir_value *v = new_value(g, kind, name, error);
  if (v)
    v->type = *type;
  return v;
}

ir_value *ir_graph_add_input(ir_graph *g, const char *name, const ir_type *type,
                             chord_error *error) {
  return add_leaf(g, IR_VALUE_INPUT, name, type, error);
}

ir_value *ir_graph_add_weight(ir_graph *g, const char *tensor_name, const ir_type *type,
                              chord_error *error) {
  if (!tensor_name || !*tensor_name) {
    rt_error(error, CHORD_ERROR_INVALID, "a weight needs its tensor name");
    return NULL;
  }
  return add_leaf(g, IR_VALUE_WEIGHT, tensor_name, type, error);
}

ir_value *ir_graph_add_state(ir_graph *g, const char *name, const ir_type *type,
                             chord_error *error) {
  return add_leaf(g, IR_VALUE_STATE, name, type, error);
}

chord_status ir_graph_add_output(ir_graph *g, ir_value *v, chord_error *error) {
  if (!grow(&g->outputs, &g->cap_outputs, g->n_outputs))
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory adding an output");
  g->outputs[g->n_outputs++] = v;
  v->n_uses++;
  return CHORD_OK;
}

ir_value *ir_graph_find(const ir_graph *g, ir_value_kind kind, const char *name, size_t length) {
  for (uint32_t i = 0; i < g->n_values; i++) {
    ir_value *v = g->values[i];
    if (v->kind == kind && v->name && strlen(v->name) == length &&
        memcmp(v->name, name, length) == 0)
      return v;
  }
  return NULL;
}

/* ---- surgery --------------------------------------------------------------------------------- */

static void renumber(ir_graph *g, uint32_t from) {
  for (uint32_t i = from; i < g->n_values; i++)
    g->values[i]->index = i;
}

void ir_value_replace_uses(ir_graph *g, ir_value *from, ir_value *to) {
  if (from == to)
    return;
  for (uint32_t i = 0; i < g->n_values; i++) {
    ir_value *v = g->values[i];
    for (uint32_t k = 0; k < v->n_operands; k++) {
      if (v->operands[k] == from) {
        v->operands[k] = to;
        from->n_uses--;
        to->n_uses++;
      }
    }
  }
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    if (g->outputs[i] == from) {
      g->outputs[i] = to;
      from->n_uses--;
      to->n_uses++;
    }
  }
}

void ir_graph_erase(ir_graph *g, ir_value *v) {
  RT_ASSERT(v->n_uses == 0 && v->index < g->n_values && g->values[v->index] == v);
  for (uint32_t k = 0; k < v->n_operands; k++)
    v->operands[k]->n_uses--;
  uint32_t at = v->index;
  memmove(&g->values[at], &g->values[at + 1], sizeof *g->values * (g->n_values - at - 1));
  g->n_values--;
  renumber(g, at);
}

void ir_graph_move(ir_graph *g, ir_value *v, uint32_t index) {
  RT_ASSERT(v->index < g->n_values && g->values[v->index] == v && index < g->n_values);
  uint32_t from = v->index;
  if (from > index)
    memmove(&g->values[index + 1], &g->values[index], sizeof *g->values * (from - index));
  else if (from < index)
    memmove(&g->values[from], &g->values[from + 1], sizeof *g->values * (index - from));
  g->values[index] = v;
  renumber(g, from < index ? from : index);
}

/* ---- attributes ------------------------------------------------------------------------------ */

ir_attr ir_attr_int(ir_attr_id id, int64_t v) { return (ir_attr){.id = id, .as.i = v}; }
ir_attr ir_attr_float(ir_attr_id id, double v) { return (ir_attr){.id = id, .as.f = v}; }
ir_attr ir_attr_enum(ir_attr_id id, int index) { return (ir_attr){.id = id, .as.i = index}; }
ir_attr ir_attr_string(ir_attr_id id, const char *s) { return (ir_attr){.id = id, .as.s = s}; }
ir_attr ir_attr_int_list(ir_attr_id id, const int64_t *values, uint32_t count) {
  return (ir_attr){.id = id, .count = count, .as.list = values};
}
ir_attr ir_attr_shape(ir_attr_id id, const ir_dim *dims, uint32_t count) {
  return (ir_attr){.id = id, .count = count, .as.dims = dims};
}

const ir_attr *ir_value_attr(const ir_value *v, ir_attr_id id) {
  for (uint32_t i = 0; i < v->n_attrs; i++) {
    if (v->attrs[i].id == id)
      return &v->attrs[i];
  }
  return NULL;
}

double ir_attr_float_or(const ir_value *v, ir_attr_id id, double fallback) {
  const ir_attr *a = ir_value_attr(v, id);
  return a ? a->as.f : fallback;
}

int64_t ir_attr_int_or(const ir_value *v, ir_attr_id id, int64_t fallback) {
  const ir_attr *a = ir_value_attr(v, id);
  return a ? a->as.i : fallback;
}

bool ir_attr_dtype(const ir_value *v, ir_dtype *out) {
  const ir_attr *a = ir_value_attr(v, IR_ATTR_DTYPE);
  char spelling[16];
  return a && ir_attr_enum_spelling(IR_ATTR_DTYPE, (int)a->as.i, spelling, sizeof spelling) &&
         ir_dtype_from_name(spelling, out);
}

/* Deep-copies an attribute's payload into the arena. */
static bool copy_attr(ir_graph *g, ir_attr *dst, const ir_attr *src) {
  *dst = *src;
  const ir_attr_info *info = ir_attr_get(src->id);
  switch (info->kind) {
  case IR_ATTR_KIND_INT:
  case IR_ATTR_KIND_FLOAT:
  case IR_ATTR_KIND_ENUM: return true;
  case IR_ATTR_KIND_STRING:
    dst->as.s = ir_graph_strndup(g, src->as.s ? src->as.s : "", src->as.s ? strlen(src->as.s) : 0);
    return dst->as.s != NULL;
  case IR_ATTR_KIND_INT_LIST: {
    int64_t *list = ir_graph_alloc(g, sizeof *list * (src->count ? src->count : 1));
    if (list && src->count)
      memcpy(list, src->as.list, sizeof *list * src->count);
    dst->as.list = list;
    return list != NULL;
  }
  case IR_ATTR_KIND_SHAPE: {
    ir_dim *dims = ir_graph_alloc(g, sizeof *dims * (src->count ? src->count : 1));
    if (dims && src->count)
      memcpy(dims, src->as.dims, sizeof *dims * src->count);
    dst->as.dims = dims;
    return dims != NULL;
  }
  }
  return false;
}

void ir_appendf(char *buf, size_t size, size_t *at, const char *format, ...) {
  if (*at >= size)
    return;
  va_list args;
  va_start(args, format);
  int n = vsnprintf(buf + *at, size - *at, format, args);
  va_end(args);
  if (n > 0)
    *at = *at + (size_t)n < size ? *at + (size_t)n : size;
}

bool ir_name_is_bare(const char *name) {
  if (!*name)
    return false;
  for (const char *c = name; *c; c++) {
    if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.' && *c != '-')
      return false;
  }
  return true;
}

const char *ir_value_label(const ir_value *v, char *buf, size_t size) {
  const char *sigil = v->kind == IR_VALUE_WEIGHT ? "@" : "%";
  int n;
  if (!v->name)
    n = snprintf(buf, size, "%%%" PRIu32, v->index);
  else if (ir_name_is_bare(v->name))
    n = snprintf(buf, size, "%s%s", sigil, v->name);
  else
    n = snprintf(buf, size, "%s\"%s\"", sigil, v->name);
  /* a label cut to fit says so (the printer streams names whole and never needs this) */
  if (n >= 0 && (size_t)n >= size && size > 3)
    memcpy(buf + size - 4, "...", 4);
  return buf;
}

/* ---- builder --------------------------------------------------------------------------------- */

ir_value *ir_build(ir_graph *g, ir_op op, ir_value *const *operands, uint32_t n_operands,
                   const ir_attr *attrs, uint32_t n_attrs, chord_error *error) {
  const ir_op_info *info = ir_op_get(op);
  if (!info) {
    rt_error(error, CHORD_ERROR_INVALID, "unknown op %d", (int)op);
    return NULL;
  }
  if (n_operands < info->min_operands || n_operands > info->max_operands) {
    if (info->min_operands == info->max_operands)
      rt_error(error, CHORD_ERROR_INVALID, "%s takes %" PRIu32 " operands, not %" PRIu32,
               info->name, info->min_operands, n_operands);
    else
      rt_error(error, CHORD_ERROR_INVALID,
               "%s takes %" PRIu32 " to %" PRIu32 " operands, not %" PRIu32, info->name,
               info->min_operands, info->max_operands, n_operands);
    return NULL;
  }
  for (uint32_t i = 0; i < n_operands; i++) {
    if (!operands[i] || operands[i]->index >= g->n_values ||
        g->values[operands[i]->index] != operands[i]) {
      rt_error(error, CHORD_ERROR_INVALID, "%s: operand %" PRIu32 " is not a value of this graph",
               info->name, i);
      return NULL;
    }
  }
  uint64_t seen = 0;
  for (uint32_t i = 0; i < n_attrs; i++) {
    const ir_attr_info *a = ir_attr_get(attrs[i].id);
    if (!a || !(info->attrs & (1ull << attrs[i].id))) {
      rt_error(error, CHORD_ERROR_INVALID, "%s takes no attribute %s", info->name,
               a ? a->name : "?");
      return NULL;
    }
    if (seen & (1ull << attrs[i].id)) {
      rt_error(error, CHORD_ERROR_INVALID, "%s: attribute %s given twice", info->name, a->name);
      return NULL;
    }
    seen |= 1ull << attrs[i].id;
    uint32_t which;
    const char *problem;
    if (a->kind == IR_ATTR_KIND_SHAPE && attrs[i].count <= IR_MAX_DIMS &&
        dims_problem(attrs[i].as.dims, attrs[i].count, &which, &problem)) {
      rt_error(error, CHORD_ERROR_INVALID, "%s: dim %" PRIu32 " of %s is %s", info->name, which,
               a->name, problem);
      return NULL;
    }
    char spelling[64];
    if (a->kind == IR_ATTR_KIND_ENUM &&
        !ir_attr_enum_spelling(attrs[i].id, (int)attrs[i].as.i, spelling, sizeof spelling)) {
      rt_error(error, CHORD_ERROR_INVALID, "%s: %s must be one of %s", info->name, a->name,
               a->values);
      return NULL;
    }
  }
  if ((seen & info->required) != info->required) {
    for (int id = 0; id < IR_ATTR_COUNT; id++) {
      if ((info->required & (1ull << id)) && !(seen & (1ull << id))) {
        rt_error(error, CHORD_ERROR_INVALID, "%s needs attribute %s", info->name,
                 ir_attr_get((ir_attr_id)id)->name);
        return NULL;
      }
    }
  }

  ir_value *v = new_value(g, IR_VALUE_NODE, NULL, error);
  if (!v)
    return NULL;
  v->op = op;
  v->operands = ir_graph_alloc(g, sizeof *v->operands * (n_operands ? n_operands : 1));
  v->attrs = ir_graph_alloc(g, sizeof *v->attrs * (n_attrs ? n_attrs : 1));
  if (!v->operands || !v->attrs)
    goto no_memory;
  v->n_operands = n_operands;
  memcpy(v->operands, operands, sizeof *operands * n_operands);
  /* attributes in table order, so printing is canonical */
  for (int id = 0; id < IR_ATTR_COUNT; id++) {
    for (uint32_t i = 0; i < n_attrs; i++) {
      if ((int)attrs[i].id == id && !copy_attr(g, &v->attrs[v->n_attrs++], &attrs[i]))
        goto no_memory;
    }
  }
  char why[512];
  why[0] = '\0';
  bool typed = info->shape_rule(v, &v->type, why, sizeof why);
  uint32_t which;
  const char *problem;
  /* the rules use checked arithmetic; this keeps every built graph printable all the same */
  if (typed && dims_problem(v->type.dims, v->type.rank, &which, &problem)) {
    snprintf(why, sizeof why, "dim %" PRIu32 " of the result is %s", which, problem);
    typed = false;
  }
  if (!typed) {
    char message[900];
    size_t at = 0;
    ir_appendf(message, sizeof message, &at, "%s", info->name);
    for (uint32_t i = 0; i < n_operands; i++) {
      char t[256], name[160];
      ir_type_format(&operands[i]->type, t, sizeof t);
      ir_appendf(message, sizeof message, &at, "%s%s : %s", i ? ", " : " ",
                 ir_value_label(operands[i], name, sizeof name), t);
    }
    rt_error(error, CHORD_ERROR_INVALID, "%s: %s", message, why);
    g->n_values--; /* the arena keeps the bytes; the value is gone */
    return NULL;
  }
  for (uint32_t i = 0; i < n_operands; i++)
    operands[i]->n_uses++;
  return v;

no_memory:
  g->n_values--;
  rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory building %s", info->name);
  return NULL;
}

ir_value *ir_build_unary(ir_graph *g, ir_op op, ir_value *x, chord_error *error) {
  return ir_build(g, op, &x, 1, NULL, 0, error);
}

ir_value *ir_build_binary(ir_graph *g, ir_op op, ir_value *a, ir_value *b, chord_error *error) {
  ir_value *operands[2] = {a, b};
  return ir_build(g, op, operands, 2, NULL, 0, error);
}

ir_value *ir_build_matmul(ir_graph *g, ir_value *a, ir_value *b, chord_error *error) {
  return ir_build_binary(g, IR_OP_MATMUL, a, b, error);
}

ir_value *ir_build_add(ir_graph *g, ir_value *a, ir_value *b, chord_error *error) {
  return ir_build_binary(g, IR_OP_ADD, a, b, error);
}

ir_value *ir_build_mul(ir_graph *g, ir_value *a, ir_value *b, chord_error *error) {
  return ir_build_binary(g, IR_OP_MUL, a, b, error);
}

ir_value *ir_build_scale(ir_graph *g, ir_value *x, double scale, chord_error *error) {
  ir_attr a = ir_attr_float(IR_ATTR_SCALE, scale);
  return ir_build(g, IR_OP_SCALE, &x, 1, &a, 1, error);
}

ir_value *ir_build_rms_norm(ir_graph *g, ir_value *x, double eps, chord_error *error) {
  ir_attr a = ir_attr_float(IR_ATTR_EPS, eps);
  return ir_build(g, IR_OP_RMS_NORM, &x, 1, &a, 1, error);
}

ir_value *ir_build_reshape(ir_graph *g, ir_value *x, const ir_dim *dims, uint32_t rank,
                           chord_error *error) {
  ir_attr a = ir_attr_shape(IR_ATTR_SHAPE, dims, rank);
  return ir_build(g, IR_OP_RESHAPE, &x, 1, &a, 1, error);
}
