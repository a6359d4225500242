/* The evaluator: walks the syntax tree, writing text to the output, with Jinja2's runtime rules:
 * names resolve through the scopes of loops and macros to the render's variables and then the
 * globals; a missing name, key or attribute is an Undefined that prints as "" and fails only
 * when used; a for loop's body gets a fresh scope on every iteration; macros see the scope they
 * were defined in, as it is when they are called.
 *
 * Errors unwind with longjmp to jinja_template_render: every allocation of a render is in its
 * arena, so nothing leaks on the way out. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/chat/jinja_internal.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

/* Macro calls nested deeper than this are a runaway recursion. */
enum { MAX_CALL_DEPTH = 100 };

/* setjmp's value: an error that jinja_fail recorded, or an allocation that failed. */
enum { UNWIND_OUT_OF_MEMORY = 1, UNWIND_ERROR = 2 };

typedef struct scope_var {
  const jinja_string *name;
  jinja_value value;
} scope_var;

struct jinja_scope {
  jinja_scope *parent;
  scope_var *vars;
  size_t count, capacity;
  const jinja_dict *dict; /* the render's variables, in the outermost scope */
};

_Noreturn void jinja_fail(jinja_eval *ev, size_t pos, const char *format, ...) {
  char message[900];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  jinja_format_error(ev->error, CHORD_ERROR_INVALID, ev->tmpl->name, ev->tmpl->source,
                     ev->tmpl->size, pos, message);
  longjmp(*ev->fail, UNWIND_ERROR);
}

_Noreturn void jinja_fail_undefined(jinja_eval *ev, size_t pos, jinja_value undefined) {
  const jinja_string *hint = undefined.as.undefined_hint;
  jinja_fail(ev, pos, "%s", hint ? hint->data : "undefined value");
}

static jinja_value undefined_printf(jinja_eval *ev, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static jinja_value undefined_printf(jinja_eval *ev, const char *format, ...) {
  char text[512];
  va_list args;
  va_start(args, format);
  vsnprintf(text, sizeof text, format, args);
  va_end(args);
  return jinja_undefined(jinja_cstr(ev->arena, text));
}

/* ---- scopes ---------------------------------------------------------------------------------- */

static jinja_scope *scope_push(jinja_eval *ev, jinja_scope *parent) {
  jinja_scope *s = jinja_alloc(ev->arena, sizeof *s);
  *s = (jinja_scope){.parent = parent};
  return s;
}

static bool name_is(const jinja_string *a, const jinja_string *b) {
  return a->size == b->size && memcmp(a->data, b->data, a->size) == 0;
}

static void scope_set(jinja_eval *ev, jinja_scope *s, const jinja_string *name, jinja_value value) {
  for (size_t i = 0; i < s->count; i++) {
    if (name_is(s->vars[i].name, name)) {
      s->vars[i].value = value;
      return;
    }
  }
  if (s->count == s->capacity) {
    size_t capacity = s->capacity ? 2 * s->capacity : 8;
    scope_var *vars = jinja_alloc(ev->arena, capacity * sizeof *vars);
    if (s->count)
      memcpy(vars, s->vars, s->count * sizeof *vars);
    s->vars = vars;
    s->capacity = capacity;
  }
  s->vars[s->count++] = (scope_var){name, value};
}

static bool scope_lookup(const jinja_scope *s, const jinja_string *name, jinja_value *out) {
  for (; s; s = s->parent) {
    for (size_t i = 0; i < s->count; i++) {
      if (name_is(s->vars[i].name, name)) {
        *out = s->vars[i].value;
        return true;
      }
    }
    if (s->dict) {
      const jinja_dict_entry *e = jinja_dict_find_cstr(s->dict, name->data);
      if (e) {
        *out = e->value;
        return true;
      }
    }
  }
  return false;
}

static jinja_value native_value(jinja_eval *ev, const jinja_native *native, jinja_value self,
                                const char *owner) {
  jinja_callable *c = jinja_alloc(ev->arena, sizeof *c);
  *c = (jinja_callable){.kind = CALLABLE_NATIVE, .native = native, .self = self, .owner = owner};
  return (jinja_value){.kind = JINJA_CALLABLE, .as.callable = c};
}

static jinja_value lookup_name(jinja_eval *ev, const jinja_string *name) {
  jinja_value v;
  if (scope_lookup(ev->scope, name, &v))
    return v;
  const jinja_native *global = jinja_find_global(name->data);
  if (global)
    return native_value(ev, global, jinja_none(), NULL);
  return undefined_printf(ev, "'%s' is undefined", name->data);
}

/* ---- attribute and item access --------------------------------------------------------------- */

/* How Jinja2 names an object in "has no attribute" messages (its object_type_repr). */
static const char *object_name(jinja_value obj) {
  switch (obj.kind) {
  case JINJA_NONE: return "None";
  case JINJA_DICT: return obj.as.dict->namespace ? "jinja2.utils.Namespace object" : "dict object";
  case JINJA_LOOP: return "jinja2.runtime.LoopContext object";
  case JINJA_UNDEFINED: return "jinja2.runtime.Undefined object";
  case JINJA_BOOL: return "bool object";
  case JINJA_INT: return "int object";
  case JINJA_FLOAT: return "float object";
  case JINJA_STRING: return "str object";
  case JINJA_LIST:
    return obj.as.list->kind == LIST_PLAIN   ? "list object"
           : obj.as.list->kind == LIST_TUPLE ? "tuple object"
           : obj.as.list->kind == LIST_VIEW  ? "dict view object"
                                             : "generator object";
  case JINJA_CALLABLE: return "function object";
  }
  return "object";
}

static jinja_value missing_attribute(jinja_eval *ev, jinja_value obj, const char *name) {
  return undefined_printf(ev, "'%s' has no attribute '%s'", object_name(obj), name);
}

/* A method of a str, list or dict, bound to it; the sandbox's refusal for mutating ones. */
static bool find_bound_method(jinja_eval *ev, jinja_value obj, const char *name, jinja_value *out) {
  bool unsafe;
  const jinja_native *m = jinja_find_method(obj.kind, name, &unsafe);
  if (!m)
    return false;
  /* a tuple has only the list methods that read; iterators and views have none */
  if (obj.kind == JINJA_LIST && obj.as.list->kind != LIST_PLAIN &&
      (obj.as.list->kind != LIST_TUPLE ||
       (strcmp(name, "count") != 0 && strcmp(name, "index") != 0)))
    return false;
  if (unsafe) {
    *out = undefined_printf(ev, "access to attribute '%s' of '%s' object is unsafe.", name,
                            jinja_type_name(obj));
    return true;
  }
  *out = native_value(ev, m, obj, jinja_type_name(obj));
  return true;
}

jinja_value jinja_getattr(jinja_eval *ev, size_t pos, jinja_value obj, const jinja_string *name) {
  jinja_value v;
  switch (obj.kind) {
  case JINJA_UNDEFINED: jinja_fail_undefined(ev, pos, obj);
  case JINJA_DICT:
    if (obj.as.dict->namespace) {
      const jinja_dict_entry *e = jinja_dict_find_cstr(obj.as.dict, name->data);
      return e ? e->value : missing_attribute(ev, obj, name->data);
    }
    /* Python's getattr comes first, so d.items is the method even if d has a key "items". */
    if (find_bound_method(ev, obj, name->data, &v))
      return v;
    {
      const jinja_dict_entry *e = jinja_dict_find_cstr(obj.as.dict, name->data);
      return e ? e->value : missing_attribute(ev, obj, name->data);
    }
  case JINJA_STRING:
  case JINJA_LIST:
    if (find_bound_method(ev, obj, name->data, &v))
      return v;
    return missing_attribute(ev, obj, name->data);
  case JINJA_LOOP:
    if (jinja_loop_attribute(ev, obj.as.loop, name->data, &v))
      return v;
    if (find_bound_method(ev, obj, name->data, &v))
      return v;
    return missing_attribute(ev, obj, name->data);
  case JINJA_NONE:
  case JINJA_BOOL:
  case JINJA_INT:
  case JINJA_FLOAT:
  case JINJA_CALLABLE: return missing_attribute(ev, obj, name->data);
  }
  return missing_attribute(ev, obj, name->data);
}

static jinja_value missing_item(jinja_eval *ev, jinja_value obj, jinja_value key) {
  jinja_buf buf;
  jinja_buf_init(&buf, ev->arena);
  jinja_buf_printf(&buf, "%s has no element ", object_name(obj));
  jinja_write_repr(&buf, key);
  return jinja_undefined(jinja_buf_finish(&buf));
}

static bool index_of(jinja_value key, int64_t *out) {
  if (key.kind == JINJA_INT)
    *out = key.as.integer;
  else if (key.kind == JINJA_BOOL)
    *out = key.as.boolean;
  else
    return false;
  return true;
}

/* obj[key]: the item first, then (for a string key) the attribute, as Jinja2's getitem. */
jinja_value jinja_getitem(jinja_eval *ev, size_t pos, jinja_value obj, jinja_value key) {
  if (obj.kind == JINJA_UNDEFINED)
    jinja_fail_undefined(ev, pos, obj);
  int64_t index;
  switch (obj.kind) {
  case JINJA_DICT:
    if (!obj.as.dict->namespace) {
      const jinja_dict_entry *e = jinja_dict_find(obj.as.dict, key);
      if (e)
        return e->value;
    }
    break;
  case JINJA_LIST:
    if (jinja_is_indexable(obj.as.list) && index_of(key, &index)) {
      const jinja_list *l = obj.as.list;
      if (index < 0)
        index += (int64_t)l->count;
      if (index >= 0 && index < (int64_t)l->count)
        return l->items[index];
      return missing_item(ev, obj, key);
    }
    break;
  case JINJA_STRING:
    if (index_of(key, &index)) {
      const jinja_string *s = obj.as.string;
      int64_t length = (int64_t)jinja_utf8_length(s->data, s->size);
      if (index < 0)
        index += length;
      if (index >= 0 && index < length) {
        size_t start = jinja_utf8_offset(s->data, s->size, (size_t)index), end = start;
        jinja_utf8_next(s->data, s->size, &end);
        return jinja_str_value(ev->arena, s->data + start, end - start);
      }
      return missing_item(ev, obj, key);
    }
    break;
  case JINJA_UNDEFINED:
  case JINJA_NONE:
  case JINJA_BOOL:
  case JINJA_INT:
  case JINJA_FLOAT:
  case JINJA_CALLABLE:
  case JINJA_LOOP: break;
  }
  if (key.kind == JINJA_STRING)
    return jinja_getattr(ev, pos, obj, key.as.string);
  return missing_item(ev, obj, key);
}

/* Python's slice index adjustment (PySlice_AdjustIndices). */
static void adjust_slice(int64_t length, bool has_start, int64_t start, bool has_stop, int64_t stop,
                         int64_t step, int64_t *from, int64_t *to) {
  if (step > 0) {
    start = has_start ? start : 0;
    stop = has_stop ? stop : length;
  } else {
    start = has_start ? start : length - 1;
    stop = has_stop ? stop : -length - 1;
  }
  int64_t low = step > 0 ? 0 : -1, high = step > 0 ? length : length - 1;
  if (start < 0) {
    start += length;
    if (start < low)
      start = low;
  } else if (start > high) {
    start = high;
  }
  if (stop < 0) {
    stop += length;
    if (stop < low)
      stop = low;
  } else if (stop > high) {
    stop = high;
  }
  *from = start;
  *to = stop;
}

static jinja_value eval(jinja_eval *ev, const jinja_node *n);

static void slice_part(jinja_eval *ev, const jinja_node *part, int64_t *out, bool *has,
                       const jinja_value **bad, jinja_value *value) {
  *has = false;
  if (!part)
    return;
  *value = eval(ev, part);
  if (value->kind == JINJA_NONE)
    return;
  if (!index_of(*value, out))
    *bad = value;
  *has = true;
}

/* Unlike [key], Jinja2 compiles a slice to Python's own obj[a:b:c], so what Python refuses fails
 * here rather than becoming an Undefined. */
static jinja_value eval_slice(jinja_eval *ev, const jinja_node *n, jinja_value obj) {
  int64_t start = 0, stop = 0, step = 1;
  bool has_start, has_stop, has_step;
  const jinja_value *bad = NULL;
  jinja_value parts[3];
  slice_part(ev, n->lhs, &start, &has_start, &bad, &parts[0]);
  slice_part(ev, n->rhs, &stop, &has_stop, &bad, &parts[1]);
  slice_part(ev, n->step, &step, &has_step, &bad, &parts[2]);
  if (obj.kind == JINJA_UNDEFINED)
    jinja_fail_undefined(ev, n->pos, obj);
  if (obj.kind == JINJA_DICT && !obj.as.dict->namespace)
    jinja_fail(ev, n->pos, "unhashable type: 'slice'");
  if (!(obj.kind == JINJA_STRING || (obj.kind == JINJA_LIST && jinja_is_indexable(obj.as.list))))
    jinja_fail(ev, n->pos, "'%s' object is not subscriptable", jinja_type_name(obj));
  if (bad && bad->kind == JINJA_UNDEFINED)
    jinja_fail_undefined(ev, n->pos, *bad);
  if (bad)
    jinja_fail(ev, n->pos, "slice indices must be integers or None or have an __index__ method");
  if (!has_step)
    step = 1;
  if (step == 0)
    jinja_fail(ev, n->pos, "slice step cannot be zero");
  if (obj.kind == JINJA_LIST) {
    const jinja_list *l = obj.as.list;
    int64_t from, to;
    adjust_slice((int64_t)l->count, has_start, start, has_stop, stop, step, &from, &to);
    jinja_list *out = jinja_list_make(ev->arena, 0);
    out->kind = l->kind;
    for (int64_t i = from; step > 0 ? i < to : i > to; i += step)
      jinja_list_append(ev->arena, out, l->items[i]);
    return jinja_list_value(out);
  }
  /* Strings slice by code point: find each one's bytes first. */
  const jinja_string *s = obj.as.string;
  size_t length = jinja_utf8_length(s->data, s->size);
  size_t *offsets = jinja_alloc(ev->arena, (length + 1) * sizeof *offsets);
  for (size_t i = 0, k = 0; k <= length; k++) {
    offsets[k] = i;
    if (k < length)
      jinja_utf8_next(s->data, s->size, &i);
  }
  int64_t from, to;
  adjust_slice((int64_t)length, has_start, start, has_stop, stop, step, &from, &to);
  if (step == 1)
    return jinja_str_value(ev->arena, s->data + offsets[from],
                           to > from ? offsets[to] - offsets[from] : 0);
  jinja_buf buf;
  jinja_buf_init(&buf, ev->arena);
  for (int64_t i = from; step > 0 ? i < to : i > to; i += step)
    jinja_buf_append(&buf, s->data + offsets[i], offsets[i + 1] - offsets[i]);
  return jinja_string_value(jinja_buf_finish(&buf));
}

/* ---- operators ------------------------------------------------------------------------------- */

static bool is_number(jinja_value v) {
  return v.kind == JINJA_BOOL || v.kind == JINJA_INT || v.kind == JINJA_FLOAT;
}

static bool is_integer(jinja_value v) { return v.kind == JINJA_BOOL || v.kind == JINJA_INT; }

static int64_t integer_of(jinja_value v) {
  return v.kind == JINJA_INT ? v.as.integer : (int64_t)v.as.boolean;
}

static double number_of(jinja_value v) {
  return v.kind == JINJA_FLOAT ? v.as.number : (double)integer_of(v);
}

static const char *const binary_symbols[] = {
    [BINARY_ADD] = "+",       [BINARY_SUB] = "-", [BINARY_MUL] = "*",           [BINARY_DIV] = "/",
    [BINARY_FLOORDIV] = "//", [BINARY_MOD] = "%", [BINARY_POW] = "** or pow()",
};

_Noreturn static void fail_overflow(jinja_eval *ev, size_t pos) {
  jinja_fail(ev, pos, "integer overflow (chord's integers are 64-bit)");
}

static jinja_value integer_pow(jinja_eval *ev, size_t pos, int64_t base, int64_t exponent) {
  int64_t result = 1;
  while (exponent > 0) {
    if ((exponent & 1) && __builtin_mul_overflow(result, base, &result))
      fail_overflow(ev, pos);
    exponent >>= 1;
    if (exponent && __builtin_mul_overflow(base, base, &base))
      fail_overflow(ev, pos);
  }
  return jinja_int(result);
}

/* Python's float // and %: the result of % takes the sign of the divisor. */
static double float_mod(double a, double b) {
  double mod = fmod(a, b);
  if (mod != 0.0) {
    if ((b < 0) != (mod < 0))
      mod += b;
  } else {
    mod = copysign(0.0, b);
  }
  return mod;
}

static double float_floordiv(double a, double b) {
  double mod = fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0.0 && (b < 0) != (mod < 0))
    div -= 1.0;
  if (div == 0.0)
    return copysign(0.0, a / b);
  double floor_div = floor(div);
  if (div - floor_div > 0.5)
    floor_div += 1.0;
  return floor_div;
}

static jinja_value repeat(jinja_eval *ev, size_t pos, jinja_value seq, int64_t times) {
  if (seq.kind == JINJA_STRING) {
    jinja_buf buf;
    jinja_buf_init(&buf, ev->arena);
    for (int64_t i = 0; i < times; i++)
      jinja_buf_append(&buf, seq.as.string->data, seq.as.string->size);
    return jinja_string_value(jinja_buf_finish(&buf));
  }
  const jinja_list *l = seq.as.list;
  if (times > 0 && l->count > (size_t)1 << 24)
    jinja_fail(ev, pos, "repeated list too large");
  jinja_list *out = jinja_list_make(ev->arena, 0);
  out->kind = l->kind;
  for (int64_t i = 0; i < times; i++)
    for (size_t k = 0; k < l->count; k++)
      jinja_list_append(ev->arena, out, l->items[k]);
  return jinja_list_value(out);
}

static jinja_value binary(jinja_eval *ev, size_t pos, jinja_binary_op op, jinja_value a,
                          jinja_value b, const jinja_node *lhs, const jinja_node *rhs) {
  /* str % anything is str.__mod__'s to handle, even an Undefined (which prints as "") */
  if (op == BINARY_MOD && a.kind == JINJA_STRING)
    return jinja_percent_format(ev, pos, a.as.string, b);
  if (a.kind == JINJA_UNDEFINED)
    jinja_fail_undefined(ev, lhs->pos, a);
  if (b.kind == JINJA_UNDEFINED)
    jinja_fail_undefined(ev, rhs->pos, b);
  if (is_number(a) && is_number(b)) {
    if (is_integer(a) && is_integer(b)) {
      int64_t x = integer_of(a), y = integer_of(b), r;
      switch (op) {
      case BINARY_ADD:
        if (__builtin_add_overflow(x, y, &r))
          fail_overflow(ev, pos);
        return jinja_int(r);
      case BINARY_SUB:
        if (__builtin_sub_overflow(x, y, &r))
          fail_overflow(ev, pos);
        return jinja_int(r);
      case BINARY_MUL:
        if (__builtin_mul_overflow(x, y, &r))
          fail_overflow(ev, pos);
        return jinja_int(r);
      case BINARY_DIV:
        if (y == 0)
          jinja_fail(ev, pos, "division by zero");
        return jinja_float((double)x / (double)y);
      case BINARY_FLOORDIV:
      case BINARY_MOD:
        if (y == 0)
          jinja_fail(ev, pos, "integer division or modulo by zero");
        if (x == INT64_MIN && y == -1) {
          if (op == BINARY_FLOORDIV)
            fail_overflow(ev, pos);
          return jinja_int(0);
        }
        r = x % y;
        if (r != 0 && (r < 0) != (y < 0))
          r += y;
        return op == BINARY_MOD ? jinja_int(r) : jinja_int((x - r) / y);
      case BINARY_POW:
        if (y >= 0)
          return integer_pow(ev, pos, x, y);
        if (x == 0)
          jinja_fail(ev, pos, "0.0 cannot be raised to a negative power");
        return jinja_float(pow((double)x, (double)y));
      }
    }
    double x = number_of(a), y = number_of(b);
    switch (op) {
    case BINARY_ADD: return jinja_float(x + y);
    case BINARY_SUB: return jinja_float(x - y);
    case BINARY_MUL: return jinja_float(x * y);
    case BINARY_DIV:
      if (y == 0.0)
        jinja_fail(ev, pos, "float division by zero");
      return jinja_float(x / y);
    case BINARY_FLOORDIV:
      if (y == 0.0)
        jinja_fail(ev, pos, "float floor division by zero");
      return jinja_float(float_floordiv(x, y));
    case BINARY_MOD:
      if (y == 0.0)
        jinja_fail(ev, pos, "float modulo");
      return jinja_float(float_mod(x, y));
    case BINARY_POW:
      if (x == 0.0 && y < 0)
        jinja_fail(ev, pos, "0.0 cannot be raised to a negative power");
      if (x < 0 && y != floor(y))
        jinja_fail(ev, pos, "complex results of ** are not supported");
      return jinja_float(pow(x, y));
    }
  }
  if (op == BINARY_ADD) {
    if (a.kind == JINJA_STRING && b.kind == JINJA_STRING) {
      jinja_buf buf;
      jinja_buf_init(&buf, ev->arena);
      jinja_buf_append(&buf, a.as.string->data, a.as.string->size);
      jinja_buf_append(&buf, b.as.string->data, b.as.string->size);
      return jinja_string_value(jinja_buf_finish(&buf));
    }
    if (a.kind == JINJA_LIST && b.kind == JINJA_LIST && a.as.list->kind == b.as.list->kind &&
        jinja_is_indexable(a.as.list)) {
      jinja_list *out = jinja_list_make(ev->arena, a.as.list->count + b.as.list->count);
      out->kind = a.as.list->kind;
      for (size_t i = 0; i < a.as.list->count; i++)
        jinja_list_append(ev->arena, out, a.as.list->items[i]);
      for (size_t i = 0; i < b.as.list->count; i++)
        jinja_list_append(ev->arena, out, b.as.list->items[i]);
      return jinja_list_value(out);
    }
    if (a.kind == JINJA_STRING || a.kind == JINJA_LIST)
      jinja_fail(ev, pos, "can only concatenate %s (not \"%s\") to %s", jinja_type_name(a),
                 jinja_type_name(b), jinja_type_name(a));
  }
  if (op == BINARY_MUL) {
    bool a_seq = a.kind == JINJA_STRING || (a.kind == JINJA_LIST && jinja_is_indexable(a.as.list));
    bool b_seq = b.kind == JINJA_STRING || (b.kind == JINJA_LIST && jinja_is_indexable(b.as.list));
    if (a_seq && is_integer(b))
      return repeat(ev, pos, a, integer_of(b));
    if (is_integer(a) && b_seq)
      return repeat(ev, pos, b, integer_of(a));
    if (a.kind == JINJA_STRING || a.kind == JINJA_LIST)
      jinja_fail(ev, pos, "can't multiply sequence by non-int of type '%s'", jinja_type_name(b));
  }
  jinja_fail(ev, pos, "unsupported operand type(s) for %s: '%s' and '%s'", binary_symbols[op],
             jinja_type_name(a), jinja_type_name(b));
}

jinja_value jinja_add(jinja_eval *ev, size_t pos, jinja_value a, jinja_value b) {
  jinja_node at = {.pos = (uint32_t)pos};
  return binary(ev, pos, BINARY_ADD, a, b, &at, &at);
}

static bool contains(jinja_eval *ev, size_t pos, jinja_value container, jinja_value item) {
  switch (container.kind) {
  case JINJA_UNDEFINED: return false; /* iterating an Undefined gives nothing */
  case JINJA_STRING:
    if (item.kind != JINJA_STRING)
      jinja_fail(ev, pos, "'in <string>' requires string as left operand, not %s",
                 jinja_type_name(item));
    return jinja_text_find(container.as.string, item.as.string, 0, container.as.string->size,
                           false) >= 0;
  case JINJA_LIST: {
    jinja_list *l = container.as.list;
    if (l->kind == LIST_ITERATOR) { /* Python reads an iterator up to the match */
      if (l->lazy_error)
        jinja_fail(ev, pos, "%s", l->lazy_error->data);
      while (l->next < l->count)
        if (jinja_equal(l->items[l->next++], item))
          return true;
      return false;
    }
    for (size_t i = 0; i < l->count; i++)
      if (jinja_equal(l->items[i], item))
        return true;
    return false;
  }
  case JINJA_DICT:
    if (container.as.dict->namespace)
      break;
    if ((item.kind == JINJA_LIST && item.as.list->kind != LIST_TUPLE) ||
        (item.kind == JINJA_DICT && !item.as.dict->namespace))
      jinja_fail(ev, pos, "unhashable type: '%s'", jinja_type_name(item));
    return jinja_dict_find(container.as.dict, item) != NULL;
  case JINJA_LOOP:
    for (size_t i = 0; i < container.as.loop->items->count; i++)
      if (jinja_equal(container.as.loop->items->items[i], item))
        return true;
    return false;
  case JINJA_NONE:
  case JINJA_BOOL:
  case JINJA_INT:
  case JINJA_FLOAT:
  case JINJA_CALLABLE: break;
  }
  jinja_fail(ev, pos, "argument of type '%s' is not iterable", jinja_type_name(container));
}

static bool compare(jinja_eval *ev, size_t pos, jinja_compare_op op, jinja_value a, jinja_value b) {
  switch (op) {
  case COMPARE_EQ: return jinja_equal(a, b);
  case COMPARE_NE: return !jinja_equal(a, b);
  case COMPARE_IN: return contains(ev, pos, b, a);
  case COMPARE_NOT_IN: return !contains(ev, pos, b, a);
  case COMPARE_LT:
  case COMPARE_LE:
  case COMPARE_GT:
  case COMPARE_GE: return jinja_order(ev, pos, op, a, b);
  }
  return false;
}

/* ---- calls ----------------------------------------------------------------------------------- */

static void eval_args(jinja_eval *ev, const jinja_node *call, jinja_args *args) {
  *args = (jinja_args){.pos = call->pos};
  for (const jinja_node *a = call->args; a; a = a->next)
    args->count++;
  for (const jinja_node *k = call->kwargs; k; k = k->next)
    args->keyword_count++;
  args->values = jinja_alloc(ev->arena, (args->count + 1) * sizeof *args->values);
  args->keyword_names =
      jinja_alloc(ev->arena, (args->keyword_count + 1) * sizeof *args->keyword_names);
  args->keyword_values =
      jinja_alloc(ev->arena, (args->keyword_count + 1) * sizeof *args->keyword_values);
  size_t i = 0;
  for (const jinja_node *a = call->args; a; a = a->next)
    args->values[i++] = eval(ev, a);
  i = 0;
  for (const jinja_node *k = call->kwargs; k; k = k->next) {
    args->keyword_names[i] = k->name;
    args->keyword_values[i++] = eval(ev, k->lhs);
  }
}

void jinja_bind(jinja_eval *ev, const jinja_native *native, const jinja_args *args,
                jinja_value *values, bool *given) {
  size_t n = 0;
  bool rest = false, rest_keywords = false;
  while (n < JINJA_MAX_PARAMS && native->params[n]) {
    if (native->params[n][0] == '*') {
      rest = true;
      rest_keywords = native->params[n][1] == '*';
      break;
    }
    n++;
  }
  for (size_t i = 0; i < JINJA_MAX_PARAMS; i++) {
    values[i] = jinja_undefined(NULL);
    given[i] = false;
  }
  if (args->count > n && !rest)
    jinja_fail(ev, args->pos, "%s() takes at most %zu argument%s (%zu given)", native->name, n,
               n == 1 ? "" : "s", args->count);
  for (size_t i = 0; i < args->count && i < n; i++) {
    values[i] = args->values[i];
    given[i] = true;
  }
  for (size_t k = 0; k < args->keyword_count; k++) {
    const char *name = args->keyword_names[k]->data;
    size_t i = 0;
    while (i < n && strcmp(native->params[i], name) != 0)
      i++;
    if (i == n) {
      if (rest_keywords)
        continue;
      jinja_fail(ev, args->pos, "%s() got an unexpected keyword argument '%s'", native->name, name);
    }
    if (given[i])
      jinja_fail(ev, args->pos, "%s() got multiple values for argument '%s'", native->name, name);
    values[i] = args->keyword_values[k];
    given[i] = true;
  }
}

static void exec_body(jinja_eval *ev, const jinja_node *body);

static jinja_value call_macro(jinja_eval *ev, const jinja_callable *c, const jinja_args *args) {
  const jinja_node *macro = c->macro;
  if (ev->depth >= MAX_CALL_DEPTH)
    jinja_fail(ev, args->pos, "maximum recursion depth exceeded in macro '%s'", macro->name->data);
  jinja_scope *scope = scope_push(ev, c->closure);
  size_t n_params = 0;
  for (const jinja_node *p = macro->args; p; p = p->next)
    n_params++;
  if (args->count > n_params)
    jinja_fail(ev, args->pos, "macro '%s' takes not more than %zu argument(s)", macro->name->data,
               n_params);
  for (size_t k = 0; k < args->keyword_count; k++) {
    const jinja_node *p = macro->args;
    while (p && !name_is(p->name, args->keyword_names[k]))
      p = p->next;
    if (!p)
      jinja_fail(ev, args->pos, "macro '%s' takes no keyword argument '%s'", macro->name->data,
                 args->keyword_names[k]->data);
  }
  jinja_scope *saved_scope = ev->scope;
  ev->scope = scope;
  size_t i = 0;
  for (const jinja_node *p = macro->args; p; p = p->next, i++) {
    jinja_value v;
    bool found = false;
    if (i < args->count) {
      v = args->values[i];
      found = true;
    }
    for (size_t k = 0; k < args->keyword_count && !found; k++) {
      if (name_is(p->name, args->keyword_names[k])) {
        v = args->keyword_values[k];
        found = true;
      }
    }
    if (!found) /* defaults are evaluated at the call, and may use earlier parameters */
      v = p->kind == NODE_KEYWORD
              ? eval(ev, p->lhs)
              : undefined_printf(ev, "parameter '%s' was not provided", p->name->data);
    scope_set(ev, scope, p->name, v);
  }
  jinja_buf out, *saved_out = ev->out;
  jinja_buf_init(&out, ev->arena);
  ev->out = &out;
  ev->depth++;
  exec_body(ev, macro->body);
  ev->depth--;
  ev->flow = FLOW_NORMAL;
  ev->out = saved_out;
  ev->scope = saved_scope;
  return jinja_string_value(jinja_buf_finish(&out));
}

jinja_value jinja_call(jinja_eval *ev, jinja_value callee, const jinja_args *args) {
  if (callee.kind == JINJA_UNDEFINED)
    jinja_fail_undefined(ev, args->pos, callee);
  if (callee.kind != JINJA_CALLABLE)
    jinja_fail(ev, args->pos, "'%s' object is not callable", jinja_type_name(callee));
  const jinja_callable *c = callee.as.callable;
  if (c->kind == CALLABLE_MACRO)
    return call_macro(ev, c, args);
  jinja_value values[JINJA_MAX_PARAMS];
  bool given[JINJA_MAX_PARAMS];
  jinja_bind(ev, c->native, args, values, given);
  return c->native->fn(ev, c->self, values, given, args);
}

static jinja_value apply_filter(jinja_eval *ev, const jinja_node *n, jinja_value input) {
  const jinja_native *f = jinja_find_filter(n->name->data);
  if (!f)
    jinja_fail(ev, n->pos, "no filter named '%s'", n->name->data);
  jinja_args args;
  eval_args(ev, n, &args);
  jinja_value values[JINJA_MAX_PARAMS];
  bool given[JINJA_MAX_PARAMS];
  jinja_bind(ev, f, &args, values, given);
  return f->fn(ev, input, values, given, &args);
}

/* A filter chain whose innermost operand is missing applies to `input` (a block's output). */
static jinja_value eval_filter_chain(jinja_eval *ev, const jinja_node *n, jinja_value input) {
  jinja_value operand = n->lhs ? (n->lhs->kind == NODE_FILTER ? eval_filter_chain(ev, n->lhs, input)
                                                              : eval(ev, n->lhs))
                               : input;
  return apply_filter(ev, n, operand);
}

bool jinja_run_test(jinja_eval *ev, size_t pos, const char *name, jinja_value value,
                    const jinja_args *args) {
  const jinja_native *t = jinja_find_test(name);
  if (!t)
    jinja_fail(ev, pos, "no test named '%s'", name);
  jinja_value values[JINJA_MAX_PARAMS];
  bool given[JINJA_MAX_PARAMS];
  jinja_bind(ev, t, args, values, given);
  return jinja_truthy(t->fn(ev, value, values, given, args));
}

/* ---- expressions ----------------------------------------------------------------------------- */

static jinja_value eval_literal_list(jinja_eval *ev, const jinja_node *n, bool tuple) {
  size_t count = 0;
  for (const jinja_node *a = n->args; a; a = a->next)
    count++;
  jinja_list *l = jinja_list_make(ev->arena, count);
  l->kind = tuple ? LIST_TUPLE : LIST_PLAIN;
  for (const jinja_node *a = n->args; a; a = a->next)
    jinja_list_append(ev->arena, l, eval(ev, a));
  return jinja_list_value(l);
}

static jinja_value eval(jinja_eval *ev, const jinja_node *n) {
  switch (n->kind) {
  case NODE_CONST: return n->value;
  case NODE_NAME: return lookup_name(ev, n->name);
  case NODE_GETATTR: return jinja_getattr(ev, n->lhs->pos, eval(ev, n->lhs), n->name);
  case NODE_GETITEM: {
    jinja_value obj = eval(ev, n->lhs);
    if (n->rhs->kind == NODE_SLICE)
      return eval_slice(ev, n->rhs, obj);
    jinja_value key = eval(ev, n->rhs);
    return jinja_getitem(ev, n->lhs->pos, obj, key);
  }
  case NODE_CALL: {
    jinja_value callee = eval(ev, n->lhs);
    jinja_args args;
    eval_args(ev, n, &args);
    return jinja_call(ev, callee, &args);
  }
  case NODE_FILTER: return eval_filter_chain(ev, n, jinja_undefined(NULL));
  case NODE_TEST: {
    jinja_value value = eval(ev, n->lhs);
    jinja_args args;
    eval_args(ev, n, &args);
    return jinja_bool(jinja_run_test(ev, n->pos, n->name->data, value, &args));
  }
  case NODE_NOT: return jinja_bool(!jinja_truthy(eval(ev, n->lhs)));
  case NODE_NEGATE:
  case NODE_PLUS: {
    jinja_value v = eval(ev, n->lhs);
    if (v.kind == JINJA_UNDEFINED)
      jinja_fail_undefined(ev, n->lhs->pos, v);
    if (!is_number(v))
      jinja_fail(ev, n->pos, "bad operand type for unary %c: '%s'",
                 n->kind == NODE_NEGATE ? '-' : '+', jinja_type_name(v));
    if (n->kind == NODE_PLUS)
      return v.kind == JINJA_BOOL ? jinja_int(v.as.boolean) : v;
    if (v.kind == JINJA_FLOAT)
      return jinja_float(-v.as.number);
    if (integer_of(v) == INT64_MIN)
      fail_overflow(ev, n->pos);
    return jinja_int(-integer_of(v));
  }
  case NODE_BINARY:
    return binary(ev, n->pos, (jinja_binary_op)n->op, eval(ev, n->lhs), eval(ev, n->rhs), n->lhs,
                  n->rhs);
  case NODE_CONCAT: {
    jinja_buf buf;
    jinja_buf_init(&buf, ev->arena);
    for (const jinja_node *a = n->args; a; a = a->next)
      jinja_write_str(&buf, eval(ev, a));
    return jinja_string_value(jinja_buf_finish(&buf));
  }
  case NODE_COMPARE: {
    jinja_value left = eval(ev, n->lhs);
    for (const jinja_node *o = n->args; o; o = o->next) {
      jinja_value right = eval(ev, o->rhs);
      if (!compare(ev, o->pos, (jinja_compare_op)o->op, left, right))
        return jinja_bool(false);
      left = right;
    }
    return jinja_bool(true);
  }
  case NODE_AND: {
    jinja_value left = eval(ev, n->lhs);
    return jinja_truthy(left) ? eval(ev, n->rhs) : left;
  }
  case NODE_OR: {
    jinja_value left = eval(ev, n->lhs);
    return jinja_truthy(left) ? left : eval(ev, n->rhs);
  }
  case NODE_CONDEXPR:
    if (jinja_truthy(eval(ev, n->cond)))
      return eval(ev, n->lhs);
    if (n->rhs)
      return eval(ev, n->rhs);
    {
      size_t line = 1;
      for (size_t i = 0; i < n->pos; i++)
        line += ev->tmpl->source[i] == '\n';
      return undefined_printf(ev,
                              "the inline if-expression on line %zu evaluated to false and no "
                              "else section was defined.",
                              line);
    }
  case NODE_LIST: return eval_literal_list(ev, n, false);
  case NODE_TUPLE: return eval_literal_list(ev, n, true);
  case NODE_DICT: {
    jinja_dict *d = jinja_dict_make(ev->arena);
    for (const jinja_node *pair = n->args; pair; pair = pair->next) {
      jinja_value key = eval(ev, pair->lhs);
      if (key.kind == JINJA_LIST && key.as.list->kind != LIST_TUPLE)
        jinja_fail(ev, pair->pos, "unhashable type: '%s'", jinja_type_name(key));
      if (key.kind == JINJA_DICT)
        jinja_fail(ev, pair->pos, "unhashable type: '%s'", jinja_type_name(key));
      jinja_dict_put(ev->arena, d, key, eval(ev, pair->rhs));
    }
    return jinja_dict_value(d);
  }
  case NODE_SLICE:
  case NODE_OPERAND:
  case NODE_PAIR:
  case NODE_KEYWORD:
  case NODE_NSREF:
  case NODE_DATA:
  case NODE_OUTPUT:
  case NODE_IF:
  case NODE_FOR:
  case NODE_SET:
  case NODE_SET_BLOCK:
  case NODE_MACRO:
  case NODE_FILTER_BLOCK:
  case NODE_WITH:
  case NODE_BREAK:
  case NODE_CONTINUE:
  case NODE_GENERATION: break;
  }
  RT_ASSERT(!"not an expression node");
  return jinja_undefined(NULL);
}

/* ---- statements ------------------------------------------------------------------------------ */

/* Targets are what the parser accepts: names, namespace attributes and tuples of them. */
static void assign(jinja_eval *ev, const jinja_node *target, jinja_value value) {
  if (target->kind == NODE_NAME) {
    scope_set(ev, ev->scope, target->name, value);
  } else if (target->kind == NODE_NSREF) {
    jinja_value ns = lookup_name(ev, target->lhs->name);
    if (ns.kind != JINJA_DICT || !ns.as.dict->namespace)
      jinja_fail(ev, target->lhs->pos, "cannot assign attribute on non-namespace object");
    jinja_dict_put(ev->arena, ns.as.dict, jinja_string_value(target->name), value);
  } else {
    RT_ASSERT(target->kind == NODE_TUPLE);
    size_t want = 0;
    for (const jinja_node *t = target->args; t; t = t->next)
      want++;
    if (value.kind == JINJA_UNDEFINED)
      jinja_fail_undefined(ev, target->pos, value);
    const jinja_list *items = jinja_iterate(ev, target->pos, value);
    if (items->count > want)
      jinja_fail(ev, target->pos, "too many values to unpack (expected %zu)", want);
    if (items->count < want)
      jinja_fail(ev, target->pos, "not enough values to unpack (expected %zu, got %zu)", want,
                 items->count);
    size_t i = 0;
    for (const jinja_node *t = target->args; t; t = t->next)
      assign(ev, t, items->items[i++]);
  }
}

static void exec_for(jinja_eval *ev, const jinja_node *n) {
  jinja_value iterable = eval(ev, n->iter);
  jinja_list *items = jinja_iterate(ev, n->iter->pos, iterable);
  jinja_scope *outer = ev->scope;
  if (n->cond) { /* `for x in xs if cond`: the loop sees only the items that pass */
    jinja_list *kept = jinja_list_make(ev->arena, items->count);
    for (size_t i = 0; i < items->count; i++) {
      ev->scope = scope_push(ev, outer);
      assign(ev, n->target, items->items[i]);
      bool keep = jinja_truthy(eval(ev, n->cond));
      ev->scope = outer;
      if (keep)
        jinja_list_append(ev->arena, kept, items->items[i]);
    }
    items = kept;
  }
  if (items->count == 0) {
    exec_body(ev, n->else_body);
    return;
  }
  jinja_loop *loop = jinja_alloc(ev->arena, sizeof *loop);
  *loop = (jinja_loop){.items = items};
  const jinja_string *loop_name = jinja_cstr(ev->arena, "loop");
  for (size_t i = 0; i < items->count; i++) {
    loop->index0 = i;
    ev->scope = scope_push(ev, outer);
    scope_set(ev, ev->scope, loop_name, (jinja_value){.kind = JINJA_LOOP, .as.loop = loop});
    assign(ev, n->target, items->items[i]);
    exec_body(ev, n->body);
    ev->scope = outer;
    if (ev->flow == FLOW_BREAK) {
      ev->flow = FLOW_NORMAL;
      break;
    }
    ev->flow = FLOW_NORMAL;
  }
}

/* Renders a body into a string of its own (block set, filter block). */
static const jinja_string *capture(jinja_eval *ev, const jinja_node *body) {
  jinja_buf out, *saved = ev->out;
  jinja_buf_init(&out, ev->arena);
  ev->out = &out;
  exec_body(ev, body);
  ev->out = saved;
  return jinja_buf_finish(&out);
}

static void exec_statement(jinja_eval *ev, const jinja_node *n) {
  switch (n->kind) {
  case NODE_DATA: jinja_buf_append(ev->out, n->name->data, n->name->size); return;
  case NODE_OUTPUT: jinja_write_str(ev->out, eval(ev, n->lhs)); return;
  case NODE_IF:
    if (jinja_truthy(eval(ev, n->cond)))
      exec_body(ev, n->body);
    else if (n->else_body)
      exec_body(ev, n->else_body);
    return;
  case NODE_FOR: exec_for(ev, n); return;
  case NODE_SET: assign(ev, n->target, eval(ev, n->rhs)); return;
  case NODE_SET_BLOCK: {
    jinja_value text = jinja_string_value(capture(ev, n->body));
    assign(ev, n->target, n->lhs ? eval_filter_chain(ev, n->lhs, text) : text);
    return;
  }
  case NODE_MACRO: {
    jinja_callable *c = jinja_alloc(ev->arena, sizeof *c);
    *c = (jinja_callable){.kind = CALLABLE_MACRO, .macro = n, .closure = ev->scope};
    scope_set(ev, ev->scope, n->name, (jinja_value){.kind = JINJA_CALLABLE, .as.callable = c});
    return;
  }
  case NODE_FILTER_BLOCK: {
    jinja_value text = jinja_string_value(capture(ev, n->body));
    jinja_write_str(ev->out, eval_filter_chain(ev, n->lhs, text));
    return;
  }
  case NODE_WITH: {
    jinja_scope *saved = ev->scope;
    ev->scope = scope_push(ev, saved);
    for (const jinja_node *a = n->args; a; a = a->next)
      assign(ev, a->target, eval(ev, a->rhs));
    exec_body(ev, n->body);
    ev->scope = saved;
    return;
  }
  case NODE_BREAK: ev->flow = FLOW_BREAK; return;
  case NODE_CONTINUE: ev->flow = FLOW_CONTINUE; return;
  case NODE_GENERATION: { /* a call block in transformers: its body has a scope of its own */
    jinja_scope *saved = ev->scope;
    ev->scope = scope_push(ev, saved);
    exec_body(ev, n->body);
    ev->scope = saved;
    return;
  }
  case NODE_CONST:
  case NODE_NAME:
  case NODE_GETATTR:
  case NODE_GETITEM:
  case NODE_SLICE:
  case NODE_CALL:
  case NODE_FILTER:
  case NODE_TEST:
  case NODE_NOT:
  case NODE_NEGATE:
  case NODE_PLUS:
  case NODE_BINARY:
  case NODE_CONCAT:
  case NODE_COMPARE:
  case NODE_OPERAND:
  case NODE_AND:
  case NODE_OR:
  case NODE_CONDEXPR:
  case NODE_LIST:
  case NODE_TUPLE:
  case NODE_DICT:
  case NODE_PAIR:
  case NODE_KEYWORD:
  case NODE_NSREF: break;
  }
  RT_ASSERT(!"not a statement node");
}

static void exec_body(jinja_eval *ev, const jinja_node *body) {
  for (const jinja_node *n = body; n && ev->flow == FLOW_NORMAL; n = n->next)
    exec_statement(ev, n);
}

/* ---- templates ------------------------------------------------------------------------------- */

chord_status jinja_template_parse(const char *name, const char *source, size_t size,
                                  const jinja_syntax_options *options, jinja_template **out,
                                  chord_error *error) {
  *out = NULL;
  jinja_template *tmpl = rt_calloc(1, sizeof *tmpl);
  if (!tmpl)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory reading template %s", name);
  jinja_arena_init(&tmpl->arena);
  jmp_buf on_failure;
  if (setjmp(on_failure)) {
    jinja_template_free(tmpl);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory reading template %s", name);
  }
  tmpl->arena.on_failure = &on_failure;
  tmpl->name = jinja_alloc(&tmpl->arena, strlen(name) + 1);
  strcpy(tmpl->name, name);
  /* Jinja2 reads \r\n and \r as \n, and drops one newline at the very end. */
  char *text = jinja_alloc(&tmpl->arena, size + 1);
  size_t n = 0;
  for (size_t i = 0; i < size; i++) {
    if (source[i] == '\r') {
      text[n++] = '\n';
      if (i + 1 < size && source[i + 1] == '\n')
        i++;
    } else {
      text[n++] = source[i];
    }
  }
  if (!options->keep_trailing_newline && n > 0 && text[n - 1] == '\n')
    n--;
  text[n] = '\0';
  tmpl->source = text;
  tmpl->size = n;
  size_t bad;
  if (!jinja_utf8_valid(text, n, &bad)) {
    jinja_format_error(error, CHORD_ERROR_FORMAT, tmpl->name, text, n, bad,
                       "the template is not valid UTF-8");
    jinja_template_free(tmpl);
    return CHORD_ERROR_FORMAT;
  }
  tmpl->body = jinja_parse(tmpl, options, error);
  tmpl->arena.on_failure = NULL;
  if (!tmpl->body) {
    jinja_template_free(tmpl);
    return error ? error->status : CHORD_ERROR_FORMAT;
  }
  *out = tmpl;
  return CHORD_OK;
}

void jinja_template_free(jinja_template *tmpl) {
  if (!tmpl)
    return;
  jinja_arena_free(&tmpl->arena);
  rt_free(tmpl);
}

const char *jinja_template_source(const jinja_template *tmpl) { return tmpl->source; }

static int run(jinja_eval *ev, const jinja_dict *variables) {
  jmp_buf fail;
  int unwound = setjmp(fail);
  if (unwound)
    return unwound;
  ev->fail = &fail;
  ev->arena->on_failure = &fail; /* allocation failures unwind with UNWIND_OUT_OF_MEMORY */
  jinja_buf_init(ev->out, ev->arena);
  jinja_scope *globals = scope_push(ev, NULL);
  globals->dict = variables;
  ev->scope = scope_push(ev, globals);
  exec_body(ev, ev->tmpl->body);
  ev->result = jinja_buf_finish(ev->out);
  return 0;
}

chord_status jinja_template_render(const jinja_template *tmpl, const jinja_dict *variables,
                                   const jinja_render_options *options, jinja_arena *arena,
                                   const char **out, size_t *out_size, chord_error *error) {
  *out = NULL;
  *out_size = 0;
  chord_error local_error;
  jinja_eval *ev = jinja_arena_alloc(arena, sizeof *ev);
  jinja_buf *output = jinja_arena_alloc(arena, sizeof *output);
  if (!ev || !output)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory rendering %s", tmpl->name);
  *ev = (jinja_eval){.tmpl = tmpl,
                     .arena = arena,
                     .error = error ? error : &local_error,
                     .out = output,
                     .options = options};
  jmp_buf *saved = arena->on_failure;
  int unwound = run(ev, variables);
  if (unwound == 0) {
    *out = ev->result->data;
    *out_size = ev->result->size;
  }
  arena->on_failure = saved;
  if (unwound == UNWIND_OUT_OF_MEMORY)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory rendering %s", tmpl->name);
  if (unwound == UNWIND_ERROR)
    return ev->error->status;
  return CHORD_OK;
}
