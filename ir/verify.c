/* The verifier: checks a graph's invariants, naming the value and op of the first violation. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ir/internal.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

static chord_status value_error(chord_error *error, const ir_value *v, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static chord_status value_error(chord_error *error, const ir_value *v, const char *format, ...) {
  char label[160], message[768];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  ir_value_label(v, label, sizeof label);
  if (v->kind == IR_VALUE_NODE)
    return rt_error(error, CHORD_ERROR_INVALID, "%s (%s): %s", label,
                    ir_op_get(v->op) ? ir_op_get(v->op)->name : "?", message);
  return rt_error(error, CHORD_ERROR_INVALID, "%s: %s", label, message);
}

static bool in_graph(const ir_graph *g, const ir_value *v) {
  return v && v->index < g->n_values && g->values[v->index] == v;
}

static chord_status verify_attrs(const ir_value *v, chord_error *error) {
  const ir_op_info *info = ir_op_get(v->op);
  uint64_t seen = 0;
  for (uint32_t i = 0; i < v->n_attrs; i++) {
    const ir_attr *a = &v->attrs[i];
    const ir_attr_info *ai = ir_attr_get(a->id);
    if (!ai)
      return value_error(error, v, "attribute %" PRIu32 " has an unknown id", i);
    if (!(info->attrs & (1ull << a->id)))
      return value_error(error, v, "%s takes no attribute %s", info->name, ai->name);
    if (seen >> a->id)
      return value_error(error, v, "attribute %s is repeated or out of order", ai->name);
    seen |= 1ull << a->id;
    char spelling[64];
    switch (ai->kind) {
    case IR_ATTR_KIND_ENUM:
      if (!ir_attr_enum_spelling(a->id, (int)a->as.i, spelling, sizeof spelling))
        return value_error(error, v, "%s = %" PRId64 " is not one of %s", ai->name, a->as.i,
                           ai->values);
      break;
    case IR_ATTR_KIND_SHAPE:
      if (a->count > IR_MAX_DIMS)
        return value_error(error, v, "%s has %" PRIu32 " dims, more than %d", ai->name, a->count,
                           IR_MAX_DIMS);
      break;
    case IR_ATTR_KIND_STRING:
      if (!a->as.s)
        return value_error(error, v, "%s has no string", ai->name);
      break;
    case IR_ATTR_KIND_INT:
    case IR_ATTR_KIND_FLOAT:
    case IR_ATTR_KIND_INT_LIST: break;
    }
  }
  for (int id = 0; id < IR_ATTR_COUNT; id++) {
    if ((info->required & (1ull << id)) && !(seen & (1ull << id)))
      return value_error(error, v, "missing attribute %s", ir_attr_get((ir_attr_id)id)->name);
  }
  return CHORD_OK;
}

static chord_status verify_node(const ir_graph *g, const ir_value *v, chord_error *error) {
  const ir_op_info *info = ir_op_get(v->op);
  if (!info)
    return value_error(error, v, "unknown op %d", (int)v->op);
  if (v->n_operands < info->min_operands || v->n_operands > info->max_operands)
    return value_error(error, v, "has %" PRIu32 " operands; %s takes %" PRIu32 "..%" PRIu32,
                       v->n_operands, info->name, info->min_operands, info->max_operands);
  for (uint32_t i = 0; i < v->n_operands; i++) {
    const ir_value *o = v->operands[i];
    if (!in_graph(g, o))
      return value_error(error, v, "operand %" PRIu32 " is a dangling value (not in the graph)", i);
    if (o->index >= v->index) {
      char label[160];
      return value_error(error, v, "operand %" PRIu32 " %s is used before it is defined", i,
                         ir_value_label(o, label, sizeof label));
    }
  }
  chord_status status = verify_attrs(v, error);
  if (status != CHORD_OK)
    return status;
  ir_type inferred;
  char why[512] = "";
  if (!info->shape_rule(v, &inferred, why, sizeof why))
    return value_error(error, v, "%s", why);
  if (!ir_type_equal(&inferred, &v->type)) {
    char have[256], want[256];
    ir_type_format(&v->type, have, sizeof have);
    ir_type_format(&inferred, want, sizeof want);
    return value_error(error, v, "type %s differs from the inferred %s", have, want);
  }
  return CHORD_OK;
}

static chord_status verify_type(const ir_value *v, chord_error *error) {
  if (!ir_dtype_get(v->type.dtype))
    return value_error(error, v, "unknown dtype %d", (int)v->type.dtype);
  if (v->type.rank > IR_MAX_DIMS)
    return value_error(error, v, "rank %" PRIu32 " is more than %d", v->type.rank, IR_MAX_DIMS);
  /* a pass that writes a type directly must still leave something the text form can hold */
  for (uint32_t d = 0; d < v->type.rank; d++)
    if (!ir_dim_in_range(v->type.dims[d]))
      return value_error(error, v,
                         "dimension %" PRIu32 " is out of range (coefficients are at "
                         "most 2^62 in magnitude)",
                         d);
  return CHORD_OK;
}

static bool same_name(const ir_value *a, const ir_value *b) {
  bool weight_a = a->kind == IR_VALUE_WEIGHT, weight_b = b->kind == IR_VALUE_WEIGHT;
  return a->name && b->name && weight_a == weight_b && strcmp(a->name, b->name) == 0;
}

bool ir_can_write_over(const ir_graph *g, const ir_value *v, int64_t k, char *why, size_t size) {
  if (k < 0 || k >= (int64_t)v->n_operands) {
    snprintf(why, size, "in_place = %lld names no operand (it has %" PRIu32 ")", (long long)k,
             v->n_operands);
    return false;
  }
  const ir_value *o = v->operands[k];
  char label[160];
  ir_value_label(o, label, sizeof label);
  if (o->kind != IR_VALUE_NODE || (ir_op_get(o->op)->flags & IR_FLAG_ALIAS)) {
    snprintf(why, size, "in_place = %lld: operand %s is not a computed value of its own",
             (long long)k, label);
    return false;
  }
  if (!ir_type_equal(&o->type, &v->type)) {
    snprintf(why, size, "in_place = %lld: operand %s is not of the result's type", (long long)k,
             label);
    return false;
  }
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    if (g->outputs[i] == o) {
      snprintf(why, size, "in_place = %lld: operand %s is an output", (long long)k, label);
      return false;
    }
  }
  for (uint32_t i = o->index + 1; i < g->n_values; i++) {
    const ir_value *u = g->values[i];
    if (u == v || u->kind != IR_VALUE_NODE)
      continue;
    for (uint32_t j = 0; j < u->n_operands; j++) {
      if (u->operands[j] != o)
        continue;
      char user[160];
      ir_value_label(u, user, sizeof user);
      if (i > v->index) {
        snprintf(why, size, "in_place = %lld: operand %s is read after it, by %s", (long long)k,
                 label, user);
        return false;
      }
      if (ir_op_get(u->op)->flags & IR_FLAG_ALIAS) {
        snprintf(why, size, "in_place = %lld: operand %s shares its storage with %s", (long long)k,
                 label, user);
        return false;
      }
    }
  }
  return true;
}

static chord_status verify_in_place(const ir_graph *g, const ir_value *v, chord_error *error) {
  char why[512];
  if (!ir_can_write_over(g, v, ir_attr_int_or(v, IR_ATTR_IN_PLACE, -1), why, sizeof why))
    return value_error(error, v, "%s", why);
  return CHORD_OK;
}

chord_status ir_verify(const ir_graph *g, chord_error *error) {
  uint32_t *uses = rt_calloc(g->n_values ? g->n_values : 1, sizeof *uses);
  if (!uses)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory verifying the graph");
  chord_status status = CHORD_OK;
  for (uint32_t i = 0; i < g->n_values && status == CHORD_OK; i++) {
    const ir_value *v = g->values[i];
    if (!v || v->index != i) {
      status = rt_error(error, CHORD_ERROR_INVALID, "value %" PRIu32 " is out of place", i);
      break;
    }
    status = verify_type(v, error);
    if (status != CHORD_OK)
      break;
    if (v->kind == IR_VALUE_WEIGHT && (!v->name || !*v->name)) {
      status = value_error(error, v, "weight without a tensor name");
      break;
    }
    for (uint32_t j = 0; j < i && v->name; j++) {
      if (same_name(g->values[j], v)) {
        status = value_error(error, v, "name defined twice (first as value %" PRIu32 ")", j);
        break;
      }
    }
    if (status == CHORD_OK && v->kind == IR_VALUE_NODE)
      status = verify_node(g, v, error);
    if (status == CHORD_OK && v->kind == IR_VALUE_NODE) {
      for (uint32_t k = 0; k < v->n_operands; k++)
        uses[v->operands[k]->index]++;
    }
  }
  for (uint32_t i = 0; i < g->n_outputs && status == CHORD_OK; i++) {
    if (!in_graph(g, g->outputs[i]))
      status = rt_error(error, CHORD_ERROR_INVALID, "output %" PRIu32 " is a dangling value", i);
    else
      uses[g->outputs[i]->index]++;
  }
  if (status == CHORD_OK && g->n_outputs == 0)
    status = rt_error(error, CHORD_ERROR_INVALID, "graph @%s has no outputs", g->name);
  for (uint32_t i = 0; i < g->n_values && status == CHORD_OK; i++) {
    const ir_value *v = g->values[i];
    if (v->kind == IR_VALUE_NODE && uses[i] == 0 && !(ir_op_get(v->op)->flags & IR_FLAG_STATEFUL))
      status = value_error(error, v, "result is never used (and not an output)");
  }
  for (uint32_t i = 0; i < g->n_values && status == CHORD_OK; i++)
    if (g->values[i]->kind == IR_VALUE_NODE && ir_value_attr(g->values[i], IR_ATTR_IN_PLACE))
      status = verify_in_place(g, g->values[i], error);
  rt_free(uses);
  return status;
}
