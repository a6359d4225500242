/* Values with Python's meaning: building them, truthiness, ==, ordering, len(), iteration, and
 * str()/repr(), which decide what a template prints. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/chat/jinja_internal.h"

/* ---- building -------------------------------------------------------------------------------- */

const jinja_string *jinja_string_new(jinja_arena *arena, const char *data, size_t size) {
  jinja_string *s = jinja_arena_alloc(arena, sizeof *s + size + 1);
  if (!s)
    return NULL;
  s->size = size;
  if (size)
    memcpy(s->data, data, size);
  s->data[size] = '\0';
  return s;
}

bool jinja_make_string(jinja_arena *arena, const char *data, size_t size, jinja_value *out) {
  const jinja_string *s = jinja_string_new(arena, data, size);
  *out = jinja_string_value(s);
  return s != NULL;
}

const jinja_string *jinja_str(jinja_arena *arena, const char *data, size_t size) {
  const jinja_string *s = jinja_string_new(arena, data, size);
  if (!s)
    longjmp(*arena->on_failure, 1);
  return s;
}

const jinja_string *jinja_cstr(jinja_arena *arena, const char *text) {
  return jinja_str(arena, text, strlen(text));
}

jinja_value jinja_string_value(const jinja_string *s) {
  return (jinja_value){.kind = JINJA_STRING, .as.string = s};
}

jinja_value jinja_str_value(jinja_arena *arena, const char *data, size_t size) {
  return jinja_string_value(jinja_str(arena, data, size));
}

jinja_list *jinja_list_new(jinja_arena *arena) {
  jinja_list *list = jinja_arena_alloc(arena, sizeof *list);
  if (list)
    *list = (jinja_list){0};
  return list;
}

bool jinja_list_push(jinja_arena *arena, jinja_list *list, jinja_value item) {
  if (list->count == list->capacity) {
    size_t capacity = list->capacity ? 2 * list->capacity : 4;
    jinja_value *items = jinja_arena_alloc(arena, capacity * sizeof *items);
    if (!items)
      return false;
    if (list->count)
      memcpy(items, list->items, list->count * sizeof *items);
    list->items = items;
    list->capacity = capacity;
  }
  list->items[list->count++] = item;
  return true;
}

jinja_list *jinja_list_make(jinja_arena *arena, size_t capacity) {
  jinja_list *list = jinja_alloc(arena, sizeof *list);
  *list = (jinja_list){.capacity = capacity};
  list->items = capacity ? jinja_alloc(arena, capacity * sizeof *list->items) : NULL;
  return list;
}

jinja_list *jinja_tuple_make(jinja_arena *arena, size_t capacity) {
  jinja_list *tuple = jinja_list_make(arena, capacity);
  tuple->kind = LIST_TUPLE;
  return tuple;
}

jinja_list *jinja_iterator_make(jinja_arena *arena, jinja_list_kind kind, const char *type_name) {
  jinja_list *list = jinja_list_make(arena, 0);
  list->kind = kind;
  list->type_name = type_name;
  return list;
}

void jinja_list_append(jinja_arena *arena, jinja_list *list, jinja_value item) {
  if (!jinja_list_push(arena, list, item))
    longjmp(*arena->on_failure, 1);
}

jinja_dict *jinja_dict_make(jinja_arena *arena) {
  jinja_dict *dict = jinja_alloc(arena, sizeof *dict);
  *dict = (jinja_dict){0};
  return dict;
}

jinja_dict *jinja_dict_new(jinja_arena *arena) {
  jinja_dict *dict = jinja_arena_alloc(arena, sizeof *dict);
  if (dict)
    *dict = (jinja_dict){0};
  return dict;
}

/* Look-ups are linear: the dicts of a chat (a message, a tool's schema) have a handful of keys. */
jinja_dict_entry *jinja_dict_find(const jinja_dict *dict, jinja_value key) {
  for (size_t i = 0; i < dict->count; i++)
    if (jinja_equal(dict->entries[i].key, key))
      return &dict->entries[i];
  return NULL;
}

jinja_dict_entry *jinja_dict_find_cstr(const jinja_dict *dict, const char *key) {
  size_t n = strlen(key);
  for (size_t i = 0; i < dict->count; i++) {
    jinja_value k = dict->entries[i].key;
    if (k.kind == JINJA_STRING && k.as.string->size == n && memcmp(k.as.string->data, key, n) == 0)
      return &dict->entries[i];
  }
  return NULL;
}

bool jinja_dict_set(jinja_arena *arena, jinja_dict *dict, jinja_value key, jinja_value value) {
  jinja_dict_entry *e = jinja_dict_find(dict, key);
  if (e) {
    e->value = value;
    return true;
  }
  if (dict->count == dict->capacity) {
    size_t capacity = dict->capacity ? 2 * dict->capacity : 4;
    jinja_dict_entry *entries = jinja_arena_alloc(arena, capacity * sizeof *entries);
    if (!entries)
      return false;
    if (dict->count)
      memcpy(entries, dict->entries, dict->count * sizeof *entries);
    dict->entries = entries;
    dict->capacity = capacity;
  }
  dict->entries[dict->count++] = (jinja_dict_entry){key, value};
  return true;
}

bool jinja_dict_set_cstr(jinja_arena *arena, jinja_dict *dict, const char *key, jinja_value value) {
  jinja_value k;
  return jinja_make_string(arena, key, strlen(key), &k) && jinja_dict_set(arena, dict, k, value);
}

void jinja_dict_put(jinja_arena *arena, jinja_dict *dict, jinja_value key, jinja_value value) {
  if (!jinja_dict_set(arena, dict, key, value))
    longjmp(*arena->on_failure, 1);
}

/* ---- Python semantics ------------------------------------------------------------------------ */

bool jinja_truthy(jinja_value v) {
  switch (v.kind) {
  case JINJA_UNDEFINED:
  case JINJA_NONE: return false;
  case JINJA_BOOL: return v.as.boolean;
  case JINJA_INT: return v.as.integer != 0;
  case JINJA_FLOAT: return v.as.number != 0.0;
  case JINJA_STRING: return v.as.string->size > 0;
  case JINJA_LIST: return v.as.list->kind == LIST_ITERATOR || v.as.list->count > 0;
  case JINJA_DICT: return v.as.dict->namespace || v.as.dict->count > 0; /* a namespace has no len */
  case JINJA_CALLABLE:
  case JINJA_LOOP: return true;
  }
  return false;
}

static bool is_number(jinja_value v) {
  return v.kind == JINJA_BOOL || v.kind == JINJA_INT || v.kind == JINJA_FLOAT;
}

/* bool is an int in Python: True == 1 and True + 1 == 2. */
static double number_of(jinja_value v) {
  return v.kind == JINJA_FLOAT ? v.as.number
         : v.kind == JINJA_INT ? (double)v.as.integer
                               : (double)v.as.boolean;
}

static int64_t integer_of(jinja_value v) {
  return v.kind == JINJA_INT ? v.as.integer : (int64_t)v.as.boolean;
}

static bool equal(jinja_value a, jinja_value b, int depth);

bool jinja_equal(jinja_value a, jinja_value b) { return equal(a, b, 0); }

static bool equal(jinja_value a, jinja_value b, int depth) {
  if (depth > JINJA_MAX_VALUE_DEPTH)
    return false;
  if (is_number(a) && is_number(b)) {
    if (a.kind != JINJA_FLOAT && b.kind != JINJA_FLOAT)
      return integer_of(a) == integer_of(b);
    return number_of(a) == number_of(b);
  }
  if (a.kind != b.kind)
    return false;
  switch (a.kind) {
  case JINJA_UNDEFINED:
  case JINJA_NONE: return true;
  case JINJA_BOOL:
  case JINJA_INT:
  case JINJA_FLOAT: return false; /* handled above */
  case JINJA_STRING:
    return a.as.string->size == b.as.string->size &&
           memcmp(a.as.string->data, b.as.string->data, a.as.string->size) == 0;
  case JINJA_LIST: {
    const jinja_list *x = a.as.list, *y = b.as.list;
    if (x == y)
      return true;
    /* [1] != (1,); iterators and views compare as objects here */
    if (x->kind != y->kind || !jinja_is_indexable(x) || x->count != y->count)
      return false;
    for (size_t i = 0; i < x->count; i++)
      if (!equal(x->items[i], y->items[i], depth + 1))
        return false;
    return true;
  }
  case JINJA_DICT: {
    const jinja_dict *x = a.as.dict, *y = b.as.dict;
    if (x == y)
      return true;
    if (x->namespace || y->namespace || x->count != y->count)
      return false;
    for (size_t i = 0; i < x->count; i++) {
      const jinja_dict_entry *e = jinja_dict_find(y, x->entries[i].key);
      if (!e || !equal(x->entries[i].value, e->value, depth + 1))
        return false;
    }
    return true;
  }
  case JINJA_CALLABLE: return a.as.callable == b.as.callable;
  case JINJA_LOOP: return a.as.loop == b.as.loop;
  }
  return false;
}

static const char *const compare_symbols[] = {
    [COMPARE_EQ] = "==", [COMPARE_NE] = "!=", [COMPARE_LT] = "<",  [COMPARE_LE] = "<=",
    [COMPARE_GT] = ">",  [COMPARE_GE] = ">=", [COMPARE_IN] = "in", [COMPARE_NOT_IN] = "not in",
};

/* Returns -1, 0 or 1, or 2 when Python has no order between the two. */
static int three_way(jinja_eval *ev, size_t pos, jinja_value a, jinja_value b, int depth) {
  if (depth > JINJA_MAX_VALUE_DEPTH)
    jinja_fail(ev, pos, "maximum recursion depth exceeded in comparison");
  if (a.kind == JINJA_UNDEFINED)
    jinja_fail_undefined(ev, pos, a);
  if (b.kind == JINJA_UNDEFINED)
    jinja_fail_undefined(ev, pos, b);
  if (is_number(a) && is_number(b)) {
    if (a.kind != JINJA_FLOAT && b.kind != JINJA_FLOAT) {
      int64_t x = integer_of(a), y = integer_of(b);
      return (x > y) - (x < y);
    }
    double x = number_of(a), y = number_of(b);
    if (isnan(x) || isnan(y))
      return 3; /* every comparison with NaN is false */
    return (x > y) - (x < y);
  }
  if (a.kind == JINJA_STRING && b.kind == JINJA_STRING) {
    /* UTF-8 byte order is code point order. */
    const jinja_string *x = a.as.string, *y = b.as.string;
    size_t n = x->size < y->size ? x->size : y->size;
    int c = memcmp(x->data, y->data, n);
    if (c)
      return c < 0 ? -1 : 1;
    return (x->size > y->size) - (x->size < y->size);
  }
  if (a.kind == JINJA_LIST && b.kind == JINJA_LIST && a.as.list->kind == b.as.list->kind &&
      jinja_is_indexable(a.as.list)) {
    const jinja_list *x = a.as.list, *y = b.as.list;
    for (size_t i = 0; i < x->count && i < y->count; i++) {
      if (jinja_equal(x->items[i], y->items[i]))
        continue;
      return three_way(ev, pos, x->items[i], y->items[i], depth + 1);
    }
    return (x->count > y->count) - (x->count < y->count);
  }
  return 2;
}

bool jinja_order(jinja_eval *ev, size_t pos, jinja_compare_op op, jinja_value a, jinja_value b) {
  int c = three_way(ev, pos, a, b, 0);
  if (c == 2)
    jinja_fail(ev, pos, "'%s' not supported between instances of '%s' and '%s'",
               compare_symbols[op], jinja_type_name(a), jinja_type_name(b));
  if (c == 3)
    return false;
  switch (op) {
  case COMPARE_LT: return c < 0;
  case COMPARE_LE: return c <= 0;
  case COMPARE_GT: return c > 0;
  case COMPARE_GE: return c >= 0;
  case COMPARE_EQ:
  case COMPARE_NE:
  case COMPARE_IN:
  case COMPARE_NOT_IN: break;
  }
  return false;
}

int jinja_compare_values(jinja_eval *ev, size_t pos, jinja_value a, jinja_value b) {
  int c = three_way(ev, pos, a, b, 0);
  if (c == 2)
    jinja_fail(ev, pos, "'<' not supported between instances of '%s' and '%s'", jinja_type_name(a),
               jinja_type_name(b));
  return c == 3 ? 0 : c;
}

const char *jinja_type_name(jinja_value v) {
  switch (v.kind) {
  case JINJA_UNDEFINED: return "Undefined";
  case JINJA_NONE: return "NoneType";
  case JINJA_BOOL: return "bool";
  case JINJA_INT: return "int";
  case JINJA_FLOAT: return "float";
  case JINJA_STRING: return "str";
  case JINJA_LIST:
    switch (v.as.list->kind) {
    case LIST_PLAIN: return "list";
    case LIST_TUPLE: return "tuple";
    case LIST_ITERATOR:
    case LIST_VIEW: return v.as.list->type_name;
    }
    return "list";
  case JINJA_DICT: return v.as.dict->namespace ? "Namespace" : "dict";
  case JINJA_CALLABLE:
    return v.as.callable->kind == CALLABLE_MACRO ? "Macro" : "builtin_function_or_method";
  case JINJA_LOOP: return "LoopContext";
  }
  return "object";
}

int64_t jinja_length(jinja_eval *ev, size_t pos, jinja_value v) {
  switch (v.kind) {
  case JINJA_UNDEFINED: return 0;
  case JINJA_STRING: return (int64_t)jinja_utf8_length(v.as.string->data, v.as.string->size);
  case JINJA_LIST:
    if (v.as.list->kind != LIST_ITERATOR)
      return (int64_t)v.as.list->count;
    break;
  case JINJA_DICT:
    if (!v.as.dict->namespace)
      return (int64_t)v.as.dict->count;
    break;
  case JINJA_LOOP: return (int64_t)v.as.loop->items->count;
  case JINJA_NONE:
  case JINJA_BOOL:
  case JINJA_INT:
  case JINJA_FLOAT:
  case JINJA_CALLABLE: break;
  }
  jinja_fail(ev, pos, "object of type '%s' has no len()", jinja_type_name(v));
}

jinja_list *jinja_iterate(jinja_eval *ev, size_t pos, jinja_value v) {
  switch (v.kind) {
  case JINJA_UNDEFINED: return jinja_list_make(ev->arena, 0);
  case JINJA_LIST: {
    jinja_list *l = v.as.list;
    if (l->kind != LIST_ITERATOR)
      return l;
    /* An iterator gives what is left of it, once. */
    if (l->lazy_error)
      jinja_fail(ev, pos, "%s", l->lazy_error->data);
    jinja_list *rest = jinja_list_make(ev->arena, l->count - l->next);
    for (; l->next < l->count; l->next++)
      jinja_list_append(ev->arena, rest, l->items[l->next]);
    return rest;
  }
  case JINJA_STRING: {
    const jinja_string *s = v.as.string;
    jinja_list *chars = jinja_list_make(ev->arena, s->size);
    for (size_t i = 0; i < s->size;) {
      size_t start = i;
      jinja_utf8_next(s->data, s->size, &i);
      jinja_list_append(ev->arena, chars, jinja_str_value(ev->arena, s->data + start, i - start));
    }
    return chars;
  }
  case JINJA_DICT: {
    if (v.as.dict->namespace)
      break;
    jinja_list *keys = jinja_list_make(ev->arena, v.as.dict->count);
    for (size_t i = 0; i < v.as.dict->count; i++)
      jinja_list_append(ev->arena, keys, v.as.dict->entries[i].key);
    return keys;
  }
  case JINJA_LOOP: return v.as.loop->items;
  case JINJA_NONE:
  case JINJA_BOOL:
  case JINJA_INT:
  case JINJA_FLOAT:
  case JINJA_CALLABLE: break;
  }
  jinja_fail(ev, pos, "'%s' object is not iterable", jinja_type_name(v));
}

/* ---- str() and repr() ------------------------------------------------------------------------ */

void jinja_format_float(double value, char out[32]) {
  if (isnan(value)) {
    strcpy(out, "nan");
    return;
  }
  if (isinf(value)) {
    strcpy(out, value < 0 ? "-inf" : "inf");
    return;
  }
  /* The shortest number of significant digits that reads back exactly, as Python's repr. */
  char text[40];
  for (int digits = 1; digits <= 17; digits++) {
    snprintf(text, sizeof text, "%.*e", digits - 1, value);
    if (strtod(text, NULL) == value)
      break;
  }
  /* text is [-]D[.DDD]e[+-]XX: take its digits and exponent apart. */
  const char *p = text;
  bool negative = *p == '-';
  p += negative;
  char mantissa[20];
  size_t n = 0;
  for (; *p && *p != 'e'; p++)
    if (*p != '.')
      mantissa[n++] = *p;
  while (n > 1 && mantissa[n - 1] == '0')
    n--;
  int exponent = atoi(p + 1);
  int point = exponent + 1; /* digits before the decimal point */
  char *o = out;
  if (negative)
    *o++ = '-';
  if (point > 16 || point < -3) {
    *o++ = mantissa[0];
    if (n > 1) {
      *o++ = '.';
      memcpy(o, mantissa + 1, n - 1);
      o += n - 1;
    }
    snprintf(o, 8, "e%c%02d", exponent < 0 ? '-' : '+', abs(exponent) % 1000);
    return;
  }
  if (point <= 0) {
    *o++ = '0';
    *o++ = '.';
    for (int i = 0; i < -point; i++)
      *o++ = '0';
    memcpy(o, mantissa, n);
    o += n;
  } else if ((size_t)point >= n) {
    memcpy(o, mantissa, n);
    o += n;
    for (size_t i = n; i < (size_t)point; i++)
      *o++ = '0';
    *o++ = '.';
    *o++ = '0';
  } else {
    memcpy(o, mantissa, (size_t)point);
    o += point;
    *o++ = '.';
    memcpy(o, mantissa + point, n - (size_t)point);
    o += n - (size_t)point;
  }
  *o = '\0';
}

static void write_value(jinja_buf *buf, jinja_value v, bool repr, int depth);

static void write_dict_items(jinja_buf *buf, const jinja_dict *d, int depth) {
  jinja_buf_putc(buf, '{');
  for (size_t i = 0; i < d->count; i++) {
    if (i)
      jinja_buf_puts(buf, ", ");
    write_value(buf, d->entries[i].key, true, depth + 1);
    jinja_buf_puts(buf, ": ");
    write_value(buf, d->entries[i].value, true, depth + 1);
  }
  jinja_buf_putc(buf, '}');
}

static void write_value(jinja_buf *buf, jinja_value v, bool repr, int depth) {
  if (depth > JINJA_MAX_VALUE_DEPTH) { /* also where a namespace holds itself */
    jinja_buf_puts(buf, "...");
    return;
  }
  char number[32];
  switch (v.kind) {
  case JINJA_UNDEFINED:
    if (repr)
      jinja_buf_puts(buf, "Undefined");
    return;
  case JINJA_NONE: jinja_buf_puts(buf, "None"); return;
  case JINJA_BOOL: jinja_buf_puts(buf, v.as.boolean ? "True" : "False"); return;
  case JINJA_INT: jinja_buf_printf(buf, "%" PRId64, v.as.integer); return;
  case JINJA_FLOAT:
    jinja_format_float(v.as.number, number);
    jinja_buf_puts(buf, number);
    return;
  case JINJA_STRING:
    if (repr)
      jinja_write_string_repr(buf, v.as.string);
    else
      jinja_buf_append(buf, v.as.string->data, v.as.string->size);
    return;
  case JINJA_LIST: {
    const jinja_list *l = v.as.list;
    if (l->kind == LIST_ITERATOR) { /* Python adds the address, which no two runs share */
      jinja_buf_printf(buf, "<%s object>", l->type_name);
      return;
    }
    bool tuple = l->kind == LIST_TUPLE;
    if (l->kind == LIST_VIEW)
      jinja_buf_printf(buf, "%s(", l->type_name);
    jinja_buf_putc(buf, tuple ? '(' : '[');
    for (size_t i = 0; i < l->count; i++) {
      if (i)
        jinja_buf_puts(buf, ", ");
      write_value(buf, l->items[i], true, depth + 1);
    }
    if (tuple && l->count == 1)
      jinja_buf_putc(buf, ',');
    jinja_buf_putc(buf, tuple ? ')' : ']');
    if (l->kind == LIST_VIEW)
      jinja_buf_putc(buf, ')');
    return;
  }
  case JINJA_DICT:
    if (v.as.dict->namespace) {
      jinja_buf_puts(buf, "<Namespace ");
      write_dict_items(buf, v.as.dict, depth);
      jinja_buf_putc(buf, '>');
    } else {
      write_dict_items(buf, v.as.dict, depth);
    }
    return;
  case JINJA_CALLABLE: {
    const jinja_callable *c = v.as.callable;
    if (c->kind == CALLABLE_MACRO)
      jinja_buf_printf(buf, "<Macro '%s'>", c->macro->name->data);
    else
      jinja_buf_printf(buf, "<built-in function %s>", c->native->name);
    return;
  }
  case JINJA_LOOP:
    jinja_buf_printf(buf, "<LoopContext %zu/%zu>", v.as.loop->index0 + 1, v.as.loop->items->count);
    return;
  }
}

void jinja_write_str(jinja_buf *buf, jinja_value v) { write_value(buf, v, false, 0); }

void jinja_write_repr(jinja_buf *buf, jinja_value v) { write_value(buf, v, true, 0); }

const jinja_string *jinja_to_str(jinja_arena *arena, jinja_value v) {
  if (v.kind == JINJA_STRING)
    return v.as.string;
  jinja_buf buf;
  jinja_buf_init(&buf, arena);
  jinja_write_str(&buf, v);
  return jinja_buf_finish(&buf);
}
