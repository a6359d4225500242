/* Jinja2's built-in filters and tests, each one line in a table with its parameters, and
 * transformers' tojson in place of Jinja2's. Each behaves as its Python original, including what
 * it does with an Undefined (most treat it as empty; a few fail). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/chat/jinja_internal.h"

#define FILTER(name)                                                                               \
  static jinja_value filter_##name(jinja_eval *ev, jinja_value self, const jinja_value *arg,       \
                                   const bool *given, const jinja_args *args)
#define TEST(name)                                                                                 \
  static jinja_value test_##name(jinja_eval *ev, jinja_value self, const jinja_value *arg,         \
                                 const bool *given, const jinja_args *args)

/* ---- helpers --------------------------------------------------------------------------------- */

static const jinja_string *str_of(jinja_eval *ev, jinja_value v) {
  return jinja_to_str(ev->arena, v);
}

static int64_t int_arg(jinja_eval *ev, const jinja_args *args, jinja_value v, const char *what) {
  if (v.kind == JINJA_INT)
    return v.as.integer;
  if (v.kind == JINJA_BOOL)
    return v.as.boolean;
  jinja_fail(ev, args->pos, "%s must be an integer, not '%s'", what, jinja_type_name(v));
}

/* What Jinja2's generator filters (select, map, items, unique, ...) return: an iterator. Python
 * runs a generator's body only when it is read, so an input that cannot be iterated fails then,
 * not here: the iterator carries the error. */
static jinja_list *generator(jinja_eval *ev) {
  return jinja_iterator_make(ev->arena, LIST_ITERATOR, "generator");
}

static bool can_iterate(jinja_value v) {
  switch (v.kind) {
  case JINJA_UNDEFINED:
  case JINJA_STRING:
  case JINJA_LIST:
  case JINJA_LOOP: return true;
  case JINJA_DICT: return !v.as.dict->namespace;
  case JINJA_NONE:
  case JINJA_BOOL:
  case JINJA_INT:
  case JINJA_FLOAT:
  case JINJA_CALLABLE: return false;
  }
  return false;
}

static jinja_value failing_generator(jinja_eval *ev, const char *message) {
  jinja_list *g = generator(ev);
  g->lazy_error = jinja_cstr(ev->arena, message);
  return jinja_list_value(g);
}

/* A generator filter's input that will fail when read: not iterable, or itself an iterator that
 * fails. Then the filter's result is a generator that fails the same way. */
static bool fails_when_read(jinja_eval *ev, jinja_value v, jinja_value *out) {
  if (v.kind == JINJA_LIST && v.as.list->lazy_error) {
    *out = failing_generator(ev, v.as.list->lazy_error->data);
    return true;
  }
  if (can_iterate(v))
    return false;
  char message[128];
  snprintf(message, sizeof message, "'%s' object is not iterable", jinja_type_name(v));
  *out = failing_generator(ev, message);
  return true;
}

static jinja_list *list_copy(jinja_eval *ev, const jinja_list *items) {
  jinja_list *out = jinja_list_make(ev->arena, items->count);
  for (size_t i = 0; i < items->count; i++)
    jinja_list_append(ev->arena, out, items->items[i]);
  return out;
}

/* Jinja2's make_attrgetter: "a.b.0" looks up a, then b, then item 0, each as obj[part]. */
static jinja_value get_attribute(jinja_eval *ev, size_t pos, jinja_value item,
                                 const jinja_string *path) {
  size_t start = 0;
  for (size_t i = 0; i <= path->size; i++) {
    if (i < path->size && path->data[i] != '.')
      continue;
    const char *part = path->data + start;
    size_t n = i - start;
    bool digits = n > 0;
    for (size_t k = 0; k < n; k++)
      digits = digits && part[k] >= '0' && part[k] <= '9';
    jinja_value key =
        digits ? jinja_int(strtoll(part, NULL, 10)) : jinja_str_value(ev->arena, part, n);
    item = jinja_getitem(ev, pos, item, key);
    start = i + 1;
  }
  return item;
}

/* The key a filter sorts or compares by: the attribute if asked, lower-cased unless
 * case_sensitive (Jinja2's ignore_case). */
static jinja_value sort_key(jinja_eval *ev, size_t pos, jinja_value item,
                            const jinja_string *attribute, bool case_sensitive) {
  if (attribute)
    item = get_attribute(ev, pos, item, attribute);
  if (!case_sensitive && item.kind == JINJA_STRING)
    item = jinja_string_value(jinja_text_map(ev->arena, item.as.string, jinja_to_lower));
  return item;
}

typedef struct keyed {
  jinja_value key, item;
} keyed;

/* A stable merge sort, like Python's sorted(). */
static void merge_sort(jinja_eval *ev, size_t pos, keyed *a, keyed *tmp, size_t n, bool reverse) {
  if (n < 2)
    return;
  size_t half = n / 2;
  merge_sort(ev, pos, a, tmp, half, reverse);
  merge_sort(ev, pos, a + half, tmp, n - half, reverse);
  size_t i = 0, j = half, k = 0;
  while (i < half && j < n) {
    int c = jinja_compare_values(ev, pos, a[j].key, a[i].key);
    bool take_right = reverse ? c > 0 : c < 0;
    tmp[k++] = take_right ? a[j++] : a[i++];
  }
  while (i < half)
    tmp[k++] = a[i++];
  while (j < n)
    tmp[k++] = a[j++];
  memcpy(a, tmp, n * sizeof *a);
}

static jinja_list *sorted(jinja_eval *ev, size_t pos, const jinja_list *items,
                          const jinja_string *attribute, bool case_sensitive, bool reverse,
                          bool sort_by_value) {
  keyed *a = jinja_alloc(ev->arena, (items->count + 1) * sizeof *a);
  keyed *tmp = jinja_alloc(ev->arena, (items->count + 1) * sizeof *tmp);
  for (size_t i = 0; i < items->count; i++) {
    jinja_value item = items->items[i];
    jinja_value basis = sort_by_value ? item.as.list->items[1] : item;
    a[i] = (keyed){sort_key(ev, pos, basis, attribute, case_sensitive), item};
  }
  merge_sort(ev, pos, a, tmp, items->count, reverse);
  jinja_list *out = jinja_list_make(ev->arena, items->count);
  for (size_t i = 0; i < items->count; i++)
    jinja_list_append(ev->arena, out, a[i].item);
  return out;
}

static const jinja_string *attribute_arg(jinja_eval *ev, const jinja_args *args, jinja_value v,
                                         bool given) {
  if (!given || v.kind == JINJA_NONE)
    return NULL;
  if (v.kind == JINJA_INT)
    return str_of(ev, v);
  if (v.kind != JINJA_STRING)
    jinja_fail(ev, args->pos, "attribute must be a string");
  return v.as.string;
}

/* ---- filters --------------------------------------------------------------------------------- */

FILTER(abs) {
  if (self.kind == JINJA_INT && self.as.integer == INT64_MIN)
    jinja_fail(ev, args->pos, "integer overflow (chord's integers are 64-bit)");
  if (self.kind == JINJA_INT)
    return jinja_int(self.as.integer < 0 ? -self.as.integer : self.as.integer);
  if (self.kind == JINJA_BOOL)
    return jinja_int(self.as.boolean);
  if (self.kind == JINJA_FLOAT)
    return jinja_float(fabs(self.as.number));
  jinja_fail(ev, args->pos, "bad operand type for abs(): '%s'", jinja_type_name(self));
}

FILTER(attr) { return jinja_getattr(ev, args->pos, self, str_of(ev, arg[0])); }

/* batch(n, fill_with): lists of n items, the last one padded if fill_with is given. */
FILTER(batch) {
  jinja_value failing;
  if (fails_when_read(ev, self, &failing))
    return failing;
  int64_t n = int_arg(ev, args, arg[0], "linecount");
  const jinja_list *items = jinja_iterate(ev, args->pos, self);
  jinja_list *out = generator(ev), *batch = jinja_list_make(ev->arena, 0);
  for (size_t i = 0; i < items->count; i++) {
    if ((int64_t)batch->count == n) {
      jinja_list_append(ev->arena, out, jinja_list_value(batch));
      batch = jinja_list_make(ev->arena, 0);
    }
    jinja_list_append(ev->arena, batch, items->items[i]);
  }
  if (batch->count) {
    if (given[1] && arg[1].kind != JINJA_NONE)
      while ((int64_t)batch->count < n)
        jinja_list_append(ev->arena, batch, arg[1]);
    jinja_list_append(ev->arena, out, jinja_list_value(batch));
  }
  return jinja_list_value(out);
}

FILTER(capitalize) {
  return jinja_string_value(jinja_text_capitalize(ev->arena, str_of(ev, self)));
}

static jinja_value pad(jinja_eval *ev, const jinja_string *s, int64_t width, int side) {
  int64_t length = (int64_t)jinja_utf8_length(s->data, s->size);
  if (width <= length)
    return jinja_string_value(s);
  int64_t total = width - length, left;
  if (side < 0)
    left = 0;
  else if (side > 0)
    left = total;
  else /* str.center puts the odd space on the left when the width is odd */
    left = total / 2 + (total & width & 1);
  jinja_buf buf;
  jinja_buf_init(&buf, ev->arena);
  for (int64_t i = 0; i < left; i++)
    jinja_buf_putc(&buf, ' ');
  jinja_buf_append(&buf, s->data, s->size);
  for (int64_t i = left; i < total; i++)
    jinja_buf_putc(&buf, ' ');
  return jinja_string_value(jinja_buf_finish(&buf));
}

FILTER(center) {
  return pad(ev, str_of(ev, self), given[0] ? int_arg(ev, args, arg[0], "width") : 80, 0);
}

FILTER(default) {
  bool use_default = self.kind == JINJA_UNDEFINED || (jinja_truthy(arg[1]) && !jinja_truthy(self));
  if (!use_default)
    return self;
  return given[0] ? arg[0] : jinja_str_value(ev->arena, "", 0);
}

FILTER(dictsort) {
  if (self.kind != JINJA_DICT || self.as.dict->namespace)
    jinja_fail(ev, args->pos, "dictsort filter only works with mappings");
  bool by_value = false;
  if (given[1]) {
    const jinja_string *by = str_of(ev, arg[1]);
    if (strcmp(by->data, "value") == 0)
      by_value = true;
    else if (strcmp(by->data, "key") != 0)
      jinja_fail(ev, args->pos, "You can only sort by either \"key\" or \"value\"");
  }
  const jinja_dict *d = self.as.dict;
  jinja_list *pairs = jinja_list_make(ev->arena, d->count);
  for (size_t i = 0; i < d->count; i++) {
    jinja_list *pair = jinja_tuple_make(ev->arena, 2);
    jinja_list_append(ev->arena, pair, d->entries[i].key);
    jinja_list_append(ev->arena, pair, d->entries[i].value);
    jinja_list_append(ev->arena, pairs, jinja_list_value(pair));
  }
  if (!by_value) { /* sort by key: the pairs compare by their first item */
    keyed *a = jinja_alloc(ev->arena, (pairs->count + 1) * sizeof *a);
    keyed *tmp = jinja_alloc(ev->arena, (pairs->count + 1) * sizeof *tmp);
    for (size_t i = 0; i < pairs->count; i++)
      a[i] = (keyed){
          sort_key(ev, args->pos, pairs->items[i].as.list->items[0], NULL, jinja_truthy(arg[0])),
          pairs->items[i]};
    merge_sort(ev, args->pos, a, tmp, pairs->count, jinja_truthy(arg[2]));
    jinja_list *out = jinja_list_make(ev->arena, pairs->count);
    for (size_t i = 0; i < pairs->count; i++)
      jinja_list_append(ev->arena, out, a[i].item);
    return jinja_list_value(out);
  }
  return jinja_list_value(
      sorted(ev, args->pos, pairs, NULL, jinja_truthy(arg[0]), jinja_truthy(arg[2]), true));
}

FILTER(escape) {
  if (self.kind == JINJA_UNDEFINED)
    return jinja_str_value(ev->arena, "", 0);
  const jinja_string *s = str_of(ev, self);
  jinja_buf buf;
  jinja_buf_init(&buf, ev->arena);
  for (size_t i = 0; i < s->size; i++) {
    switch (s->data[i]) {
    case '&': jinja_buf_puts(&buf, "&amp;"); break;
    case '<': jinja_buf_puts(&buf, "&lt;"); break;
    case '>': jinja_buf_puts(&buf, "&gt;"); break;
    case '"': jinja_buf_puts(&buf, "&#34;"); break;
    case '\'': jinja_buf_puts(&buf, "&#39;"); break;
    default: jinja_buf_putc(&buf, s->data[i]);
    }
  }
  return jinja_string_value(jinja_buf_finish(&buf));
}

FILTER(first) {
  if (self.kind == JINJA_LIST && self.as.list->kind == LIST_ITERATOR) { /* next(it): one item */
    jinja_list *it = self.as.list;
    if (it->lazy_error)
      jinja_fail(ev, args->pos, "%s", it->lazy_error->data);
    if (it->next < it->count)
      return it->items[it->next++];
    return jinja_undefined(jinja_cstr(ev->arena, "No first item, sequence was empty."));
  }
  const jinja_list *items = jinja_iterate(ev, args->pos, self);
  if (items->count == 0)
    return jinja_undefined(jinja_cstr(ev->arena, "No first item, sequence was empty."));
  return items->items[0];
}

FILTER(last) {
  bool reversible = self.kind == JINJA_UNDEFINED || self.kind == JINJA_STRING ||
                    (self.kind == JINJA_LIST && self.as.list->kind != LIST_ITERATOR) ||
                    (self.kind == JINJA_DICT && !self.as.dict->namespace);
  if (!reversible)
    jinja_fail(ev, args->pos, "'%s' object is not reversible", jinja_type_name(self));
  const jinja_list *items = jinja_iterate(ev, args->pos, self);
  if (items->count == 0)
    return jinja_undefined(jinja_cstr(ev->arena, "No last item, sequence was empty."));
  return items->items[items->count - 1];
}

/* Python's float() of a string: surrounding whitespace, underscores between digits, inf, nan. */
static bool parse_float(const jinja_string *s, double *out) {
  char text[128];
  size_t start = 0, end = s->size;
  while (start < end && jinja_is_space((unsigned char)s->data[start]))
    start++;
  while (end > start && jinja_is_space((unsigned char)s->data[end - 1]))
    end--;
  if (end == start || end - start >= sizeof text)
    return false;
  size_t n = 0;
  for (size_t i = start; i < end; i++) {
    char c = s->data[i];
    if (c == '_') {
      bool between = i > start && i + 1 < end && s->data[i - 1] >= '0' && s->data[i - 1] <= '9' &&
                     s->data[i + 1] >= '0' && s->data[i + 1] <= '9';
      if (!between)
        return false;
      continue;
    }
    if (c == '\0' || !strchr("0123456789+-.eEinfatyINFATY", c))
      return false;
    text[n++] = c;
  }
  text[n] = '\0';
  char *rest;
  *out = strtod(text, &rest);
  return *rest == '\0' && rest != text;
}

FILTER(float) {
  double d;
  if (self.kind == JINJA_UNDEFINED) /* float(Undefined) raises, and not the TypeError caught */
    jinja_fail_undefined(ev, args->pos, self);
  if (self.kind == JINJA_FLOAT)
    return self;
  if (self.kind == JINJA_INT)
    return jinja_float((double)self.as.integer);
  if (self.kind == JINJA_BOOL)
    return jinja_float(self.as.boolean);
  if (self.kind == JINJA_STRING && parse_float(self.as.string, &d))
    return jinja_float(d);
  return given[0] ? arg[0] : jinja_float(0.0);
}

FILTER(format) {
  const jinja_string *format = str_of(ev, self);
  if (args->keyword_count) {
    if (args->count)
      jinja_fail(ev, args->pos, "can't handle positional and keyword arguments at the same time");
    jinja_dict *d = jinja_dict_make(ev->arena);
    for (size_t k = 0; k < args->keyword_count; k++)
      jinja_dict_put(ev->arena, d, jinja_string_value(args->keyword_names[k]),
                     args->keyword_values[k]);
    return jinja_percent_format(ev, args->pos, format, jinja_dict_value(d));
  }
  jinja_list *tuple = jinja_tuple_make(ev->arena, args->count);
  for (size_t i = 0; i < args->count; i++)
    jinja_list_append(ev->arena, tuple, args->values[i]);
  return jinja_percent_format(ev, args->pos, format, jinja_list_value(tuple));
}

/* str.splitlines(): the line breaks Python knows, \r\n counting as one. */
static jinja_list *split_lines(jinja_eval *ev, const jinja_string *s, bool keepends) {
  jinja_list *lines = jinja_list_make(ev->arena, 4);
  size_t start = 0;
  for (size_t i = 0; i < s->size;) {
    size_t at = i;
    int32_t c = jinja_utf8_next(s->data, s->size, &i);
    bool is_break = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D ||
                    c == 0x1E || c == 0x85 || c == 0x2028 || c == 0x2029;
    if (!is_break)
      continue;
    if (c == '\r' && i < s->size && s->data[i] == '\n')
      i++;
    size_t end = keepends ? i : at;
    jinja_list_append(ev->arena, lines, jinja_str_value(ev->arena, s->data + start, end - start));
    start = i;
  }
  if (start < s->size)
    jinja_list_append(ev->arena, lines,
                      jinja_str_value(ev->arena, s->data + start, s->size - start));
  return lines;
}

jinja_value jinja_splitlines(jinja_eval *ev, const jinja_string *s, bool keepends) {
  return jinja_list_value(split_lines(ev, s, keepends));
}

FILTER(indent) {
  const jinja_string *indentation;
  if (given[0] && arg[0].kind == JINJA_STRING) {
    indentation = arg[0].as.string;
  } else {
    int64_t width = given[0] ? int_arg(ev, args, arg[0], "width") : 4;
    jinja_buf spaces;
    jinja_buf_init(&spaces, ev->arena);
    for (int64_t i = 0; i < width; i++)
      jinja_buf_putc(&spaces, ' ');
    indentation = jinja_buf_finish(&spaces);
  }
  if (self.kind == JINJA_UNDEFINED)
    jinja_fail_undefined(ev, args->pos, self);
  if (self.kind != JINJA_STRING)
    jinja_fail(ev, args->pos, "unsupported operand type(s) for +=: '%s' and 'str'",
               jinja_type_name(self));
  jinja_buf text;
  jinja_buf_init(&text, ev->arena);
  const jinja_string *s = self.as.string;
  jinja_buf_append(&text, s->data, s->size);
  jinja_buf_putc(&text, '\n'); /* Jinja2 adds one so that splitlines keeps a last empty line */
  jinja_list *lines = split_lines(ev, jinja_buf_finish(&text), false);
  jinja_buf out;
  jinja_buf_init(&out, ev->arena);
  bool blank = jinja_truthy(arg[2]);
  if (jinja_truthy(arg[1]))
    jinja_buf_append(&out, indentation->data, indentation->size);
  for (size_t i = 0; i < lines->count; i++) {
    const jinja_string *line = lines->items[i].as.string;
    if (i > 0) {
      jinja_buf_putc(&out, '\n');
      if (blank || line->size > 0)
        jinja_buf_append(&out, indentation->data, indentation->size);
    }
    jinja_buf_append(&out, line->data, line->size);
  }
  return jinja_string_value(jinja_buf_finish(&out));
}

/* Python's int() of a string in a base: whitespace around, a sign, underscores between digits. */
static bool parse_int(const jinja_string *s, int64_t base, int64_t *out) {
  size_t i = 0, end = s->size;
  while (i < end && jinja_is_space((unsigned char)s->data[i]))
    i++;
  while (end > i && jinja_is_space((unsigned char)s->data[end - 1]))
    end--;
  bool negative = false;
  if (i < end && (s->data[i] == '+' || s->data[i] == '-'))
    negative = s->data[i++] == '-';
  if (base == 16 && i + 1 < end && s->data[i] == '0' && (s->data[i + 1] | 0x20) == 'x')
    i += 2;
  else if (base == 8 && i + 1 < end && s->data[i] == '0' && (s->data[i + 1] | 0x20) == 'o')
    i += 2;
  else if (base == 2 && i + 1 < end && s->data[i] == '0' && (s->data[i + 1] | 0x20) == 'b')
    i += 2;
  if (i == end)
    return false;
  uint64_t value = 0;
  bool digit_before = false;
  for (; i < end; i++) {
    char c = s->data[i];
    if (c == '_' && digit_before && i + 1 < end && s->data[i + 1] != '_') {
      digit_before = false;
      continue;
    }
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'z' ? c - 'a' + 10
            : c >= 'A' && c <= 'Z' ? c - 'A' + 10
                                   : 99;
    if (d >= base)
      return false;
    if (value > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
      return false;
    value = value * (uint64_t)base + (uint64_t)d;
    digit_before = true;
  }
  if (value > (uint64_t)INT64_MAX + negative)
    return false;
  *out = negative ? (int64_t)(0 - value) : (int64_t)value;
  return true;
}

/* int(x) of a float; Python's integers have no bound, chord's have 64 bits. */
static jinja_value float_to_int(jinja_eval *ev, const jinja_args *args, double d) {
  if (fabs(d) >= 9.2e18)
    jinja_fail(ev, args->pos, "integer overflow (chord's integers are 64-bit)");
  return jinja_int((int64_t)d);
}

FILTER(int) {
  int64_t base = given[1] ? int_arg(ev, args, arg[1], "base") : 10;
  int64_t i;
  double d;
  if (self.kind == JINJA_UNDEFINED) /* int(Undefined) raises, and not the TypeError caught */
    jinja_fail_undefined(ev, args->pos, self);
  if (self.kind == JINJA_INT)
    return self;
  if (self.kind == JINJA_BOOL)
    return jinja_int(self.as.boolean);
  if (self.kind == JINJA_FLOAT && isfinite(self.as.number))
    return float_to_int(ev, args, self.as.number);
  if (self.kind == JINJA_STRING) {
    if (parse_int(self.as.string, base, &i))
      return jinja_int(i);
    /* "42.23"|int is 42: Jinja2 tries float() next */
    if (parse_float(self.as.string, &d) && isfinite(d))
      return float_to_int(ev, args, d);
  }
  return given[0] ? arg[0] : jinja_int(0);
}

FILTER(items) {
  jinja_list *pairs = generator(ev);
  if (self.kind == JINJA_UNDEFINED)
    return jinja_list_value(pairs);
  if (self.kind != JINJA_DICT || self.as.dict->namespace)
    return failing_generator(ev, "Can only get item pairs from a mapping.");
  const jinja_dict *d = self.as.dict;
  for (size_t i = 0; i < d->count; i++) {
    jinja_list *pair = jinja_tuple_make(ev->arena, 2);
    jinja_list_append(ev->arena, pair, d->entries[i].key);
    jinja_list_append(ev->arena, pair, d->entries[i].value);
    jinja_list_append(ev->arena, pairs, jinja_list_value(pair));
  }
  return jinja_list_value(pairs);
}

FILTER(join) {
  const jinja_list *items = jinja_iterate(ev, args->pos, self);
  const jinja_string *separator = given[0] ? str_of(ev, arg[0]) : jinja_cstr(ev->arena, "");
  const jinja_string *attribute = attribute_arg(ev, args, arg[1], given[1]);
  jinja_buf buf;
  jinja_buf_init(&buf, ev->arena);
  for (size_t i = 0; i < items->count; i++) {
    if (i)
      jinja_buf_append(&buf, separator->data, separator->size);
    jinja_value item = items->items[i];
    if (attribute)
      item = get_attribute(ev, args->pos, item, attribute);
    jinja_write_str(&buf, item);
  }
  return jinja_string_value(jinja_buf_finish(&buf));
}

FILTER(length) { return jinja_int(jinja_length(ev, args->pos, self)); }

FILTER(list) { return jinja_list_value(list_copy(ev, jinja_iterate(ev, args->pos, self))); }

FILTER(lower) {
  return jinja_string_value(jinja_text_map(ev->arena, str_of(ev, self), jinja_to_lower));
}

FILTER(upper) {
  return jinja_string_value(jinja_text_map(ev->arena, str_of(ev, self), jinja_to_upper));
}

/* map(attribute='x', default=d) or map('filter', args...). */
FILTER(map) {
  if (!jinja_truthy(self)) /* Jinja2 reads the value only `if value:` */
    return jinja_list_value(generator(ev));
  jinja_value failing;
  if (fails_when_read(ev, self, &failing))
    return failing;
  const jinja_list *items = jinja_iterate(ev, args->pos, self);
  jinja_list *out = generator(ev);
  const jinja_string *attribute = NULL;
  jinja_value fallback = jinja_undefined(NULL);
  bool has_fallback = false;
  for (size_t k = 0; k < args->keyword_count; k++) {
    const char *name = args->keyword_names[k]->data;
    if (strcmp(name, "attribute") == 0)
      attribute = str_of(ev, args->keyword_values[k]);
    else if (strcmp(name, "default") == 0)
      fallback = args->keyword_values[k], has_fallback = true;
    else
      jinja_fail(ev, args->pos, "Unexpected keyword argument '%s'", name);
  }
  if (attribute) {
    for (size_t i = 0; i < items->count; i++) {
      jinja_value v = get_attribute(ev, args->pos, items->items[i], attribute);
      if (v.kind == JINJA_UNDEFINED && has_fallback)
        v = fallback;
      jinja_list_append(ev->arena, out, v);
    }
    return jinja_list_value(out);
  }
  if (args->count == 0)
    jinja_fail(ev, args->pos, "map requires a filter argument");
  const jinja_string *name = str_of(ev, args->values[0]);
  const jinja_native *f = jinja_find_filter(name->data);
  if (!f)
    jinja_fail(ev, args->pos, "no filter named '%s'", name->data);
  jinja_args rest = *args;
  rest.count--;
  rest.values++;
  rest.keyword_count = 0;
  jinja_value values[JINJA_MAX_PARAMS];
  bool bound[JINJA_MAX_PARAMS];
  jinja_bind(ev, f, &rest, values, bound);
  for (size_t i = 0; i < items->count; i++)
    jinja_list_append(ev->arena, out, f->fn(ev, items->items[i], values, bound, &rest));
  return jinja_list_value(out);
}

static jinja_value extreme(jinja_eval *ev, jinja_value self, const jinja_value *arg,
                           const bool *given, const jinja_args *args, bool maximum) {
  const jinja_list *items = jinja_iterate(ev, args->pos, self);
  if (items->count == 0)
    return jinja_undefined(jinja_cstr(ev->arena, "No aggregated item, sequence was empty."));
  const jinja_string *attribute = attribute_arg(ev, args, arg[1], given[1]);
  bool case_sensitive = jinja_truthy(arg[0]);
  jinja_value best = items->items[0];
  jinja_value best_key = sort_key(ev, args->pos, best, attribute, case_sensitive);
  for (size_t i = 1; i < items->count; i++) {
    jinja_value key = sort_key(ev, args->pos, items->items[i], attribute, case_sensitive);
    int c = jinja_compare_values(ev, args->pos, key, best_key);
    if (maximum ? c > 0 : c < 0) {
      best = items->items[i];
      best_key = key;
    }
  }
  return best;
}

FILTER(max) { return extreme(ev, self, arg, given, args, true); }
FILTER(min) { return extreme(ev, self, arg, given, args, false); }

/* select/reject(test, args...) and selectattr/rejectattr(attribute, test, args...). */
static jinja_value select_items(jinja_eval *ev, jinja_value self, const jinja_args *args,
                                bool by_attribute, bool keep_if) {
  if (!jinja_truthy(self)) /* Jinja2 reads the value only `if value:` */
    return jinja_list_value(generator(ev));
  jinja_value failing;
  if (fails_when_read(ev, self, &failing))
    return failing;
  const jinja_list *items = jinja_iterate(ev, args->pos, self);
  size_t next = 0;
  const jinja_string *attribute = NULL;
  if (by_attribute) {
    if (args->count == 0)
      jinja_fail(ev, args->pos, "Missing parameter for attribute name");
    attribute = str_of(ev, args->values[next++]);
  }
  const char *test = next < args->count ? str_of(ev, args->values[next++])->data : NULL;
  jinja_args test_args = *args;
  test_args.count = args->count - next;
  test_args.values = args->values + next;
  jinja_list *out = generator(ev);
  for (size_t i = 0; i < items->count; i++) {
    jinja_value v = items->items[i];
    if (attribute)
      v = get_attribute(ev, args->pos, v, attribute);
    bool pass = test ? jinja_run_test(ev, args->pos, test, v, &test_args) : jinja_truthy(v);
    if (pass == keep_if)
      jinja_list_append(ev->arena, out, items->items[i]);
  }
  return jinja_list_value(out);
}

FILTER(select) { return select_items(ev, self, args, false, true); }
FILTER(reject) { return select_items(ev, self, args, false, false); }
FILTER(selectattr) { return select_items(ev, self, args, true, true); }
FILTER(rejectattr) { return select_items(ev, self, args, true, false); }

FILTER(replace) {
  int64_t count = given[2] && arg[2].kind != JINJA_NONE ? int_arg(ev, args, arg[2], "count") : -1;
  if (!given[0] || !given[1])
    jinja_fail(ev, args->pos, "replace() needs the old and the new text");
  return jinja_string_value(jinja_text_replace(ev->arena, str_of(ev, self), str_of(ev, arg[0]),
                                               str_of(ev, arg[1]), count));
}

FILTER(reverse) {
  if (self.kind == JINJA_STRING) {
    const jinja_list *chars = jinja_iterate(ev, args->pos, self);
    jinja_buf buf;
    jinja_buf_init(&buf, ev->arena);
    for (size_t i = chars->count; i-- > 0;)
      jinja_write_str(&buf, chars->items[i]);
    return jinja_string_value(jinja_buf_finish(&buf));
  }
  /* reversed() where Python has it (an iterator), else list(value) reversed */
  static const struct {
    jinja_list_kind kind;
    const char *name;
  } reversed_names[] = {{LIST_PLAIN, "list_reverseiterator"},
                        {LIST_TUPLE, "reversed"},
                        {LIST_VIEW, "dict_reversekeyiterator"}};
  const char *name = self.kind == JINJA_DICT ? "dict_reversekeyiterator" : NULL;
  for (size_t k = 0; self.kind == JINJA_LIST && k < 3; k++)
    if (reversed_names[k].kind == self.as.list->kind)
      name = reversed_names[k].name;
  const jinja_list *items = jinja_iterate(ev, args->pos, self);
  jinja_list *out =
      name ? jinja_iterator_make(ev->arena, LIST_ITERATOR, name) : jinja_list_make(ev->arena, 0);
  for (size_t i = items->count; i-- > 0;)
    jinja_list_append(ev->arena, out, items->items[i]);
  return jinja_list_value(out);
}

FILTER(round) {
  int64_t precision = given[0] ? int_arg(ev, args, arg[0], "precision") : 0;
  const char *method = given[1] ? str_of(ev, arg[1])->data : "common";
  if (strcmp(method, "common") && strcmp(method, "ceil") && strcmp(method, "floor"))
    jinja_fail(ev, args->pos, "method must be common, ceil or floor");
  if (self.kind != JINJA_FLOAT && self.kind != JINJA_INT && self.kind != JINJA_BOOL)
    jinja_fail(ev, args->pos, "type %s doesn't define __round__ method", jinja_type_name(self));
  if (strcmp(method, "common") == 0 && self.kind != JINJA_FLOAT)
    return jinja_int(self.kind == JINJA_INT ? self.as.integer : self.as.boolean);
  double x = self.kind == JINJA_FLOAT ? self.as.number : (double)self.as.integer;
  if (strcmp(method, "common") == 0) {
    /* printf rounds the exact binary value half to even, as Python's round() does */
    char text[400];
    if (precision < 0 || precision > 300 || !isfinite(x))
      return jinja_float(x);
    snprintf(text, sizeof text, "%.*f", (int)precision, x);
    return jinja_float(strtod(text, NULL));
  }
  double scale = pow(10.0, (double)precision);
  double r = strcmp(method, "ceil") == 0 ? ceil(x * scale) : floor(x * scale);
  return jinja_float(r / scale);
}

FILTER(safe) { return jinja_string_value(str_of(ev, self)); }

FILTER(sort) {
  const jinja_list *items = jinja_iterate(ev, args->pos, self);
  return jinja_list_value(sorted(ev, args->pos, items, attribute_arg(ev, args, arg[2], given[2]),
                                 jinja_truthy(arg[1]), jinja_truthy(arg[0]), false));
}

FILTER(string) { return jinja_string_value(str_of(ev, self)); }

FILTER(sum) {
  const jinja_list *items = jinja_iterate(ev, args->pos, self);
  const jinja_string *attribute = attribute_arg(ev, args, arg[0], given[0]);
  jinja_value total = given[1] ? arg[1] : jinja_int(0);
  for (size_t i = 0; i < items->count; i++) {
    jinja_value v = items->items[i];
    if (attribute)
      v = get_attribute(ev, args->pos, v, attribute);
    total = jinja_add(ev, args->pos, total, v);
  }
  return total;
}

/* Jinja2's title: words start after -, whitespace and opening brackets. */
FILTER(title) {
  const jinja_string *s = str_of(ev, self);
  jinja_buf buf;
  jinja_buf_init(&buf, ev->arena);
  bool word_start = true;
  for (size_t i = 0; i < s->size;) {
    int32_t c = jinja_utf8_next(s->data, s->size, &i);
    bool separator = jinja_is_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (separator) {
      jinja_buf_utf8(&buf, c);
      word_start = true;
    } else {
      jinja_buf_utf8(&buf, word_start ? jinja_to_upper(c) : jinja_to_lower(c));
      word_start = false;
    }
  }
  return jinja_string_value(jinja_buf_finish(&buf));
}

/* transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False). */
FILTER(tojson) {
  jinja_json_style style = {.ensure_ascii = jinja_truthy(arg[0]),
                            .sort_keys = jinja_truthy(arg[3])};
  jinja_value indent = arg[1];
  if (given[1] && indent.kind != JINJA_NONE) {
    style.indent_set = true;
    if (indent.kind == JINJA_STRING) {
      style.indent = indent.as.string;
    } else {
      int64_t width = int_arg(ev, args, indent, "indent");
      jinja_buf spaces;
      jinja_buf_init(&spaces, ev->arena);
      for (int64_t i = 0; i < width; i++)
        jinja_buf_putc(&spaces, ' ');
      style.indent = jinja_buf_finish(&spaces);
    }
  }
  style.item_separator = jinja_cstr(ev->arena, style.indent_set ? "," : ", ");
  style.key_separator = jinja_cstr(ev->arena, ": ");
  if (given[2] && arg[2].kind != JINJA_NONE) {
    const jinja_list *seps = jinja_iterate(ev, args->pos, arg[2]);
    if (seps->count != 2)
      jinja_fail(ev, args->pos, "separators must be a pair of strings");
    style.item_separator = str_of(ev, seps->items[0]);
    style.key_separator = str_of(ev, seps->items[1]);
  }
  jinja_buf buf;
  jinja_buf_init(&buf, ev->arena);
  jinja_write_json(ev, args->pos, &buf, self, &style);
  return jinja_string_value(jinja_buf_finish(&buf));
}

FILTER(trim) {
  const jinja_string *chars = given[0] && arg[0].kind != JINJA_NONE ? str_of(ev, arg[0]) : NULL;
  return jinja_string_value(jinja_text_strip(ev->arena, str_of(ev, self), chars, STRIP_BOTH));
}

FILTER(truncate) {
  if (self.kind == JINJA_UNDEFINED)
    return self; /* len(Undefined) is 0: short enough */
  const jinja_string *s = self.kind == JINJA_STRING ? self.as.string : NULL;
  int64_t length = given[0] ? int_arg(ev, args, arg[0], "length") : 255;
  bool killwords = jinja_truthy(arg[1]);
  const jinja_string *end = given[2] ? str_of(ev, arg[2]) : jinja_cstr(ev->arena, "...");
  int64_t leeway = given[3] && arg[3].kind != JINJA_NONE ? int_arg(ev, args, arg[3], "leeway") : 5;
  int64_t end_length = (int64_t)jinja_utf8_length(end->data, end->size);
  if (length < end_length)
    jinja_fail(ev, args->pos, "expected length >= %lld, got %lld", (long long)end_length,
               (long long)length);
  if (leeway < 0)
    jinja_fail(ev, args->pos, "expected leeway >= 0, got %lld", (long long)leeway);
  /* Jinja2 measures the value itself: a short list comes back as it is */
  int64_t value_length =
      s ? (int64_t)jinja_utf8_length(s->data, s->size) : jinja_length(ev, args->pos, self);
  if (value_length <= length + leeway)
    return self;
  if (!s)
    jinja_fail(ev, args->pos, "'%s' object has no attribute 'rsplit'", jinja_type_name(self));
  size_t cut = jinja_utf8_offset(s->data, s->size, (size_t)(length - end_length));
  size_t keep = cut;
  if (!killwords) { /* back to the last space, as rsplit(" ", 1)[0] */
    const jinja_string *head = jinja_str(ev->arena, s->data, cut);
    int64_t space = jinja_text_find(head, jinja_cstr(ev->arena, " "), 0, cut, true);
    if (space >= 0)
      keep = (size_t)space;
  }
  jinja_buf buf;
  jinja_buf_init(&buf, ev->arena);
  jinja_buf_append(&buf, s->data, keep);
  jinja_buf_append(&buf, end->data, end->size);
  return jinja_string_value(jinja_buf_finish(&buf));
}

FILTER(unique) {
  jinja_value failing;
  if (fails_when_read(ev, self, &failing))
    return failing;
  const jinja_list *items = jinja_iterate(ev, args->pos, self);
  const jinja_string *attribute = attribute_arg(ev, args, arg[1], given[1]);
  bool case_sensitive = jinja_truthy(arg[0]);
  jinja_list *out = generator(ev);
  jinja_list *seen = jinja_list_make(ev->arena, items->count);
  for (size_t i = 0; i < items->count; i++) {
    jinja_value key = sort_key(ev, args->pos, items->items[i], attribute, case_sensitive);
    bool dup = false;
    for (size_t k = 0; k < seen->count && !dup; k++)
      dup = jinja_equal(seen->items[k], key);
    if (!dup) {
      jinja_list_append(ev->arena, seen, key);
      jinja_list_append(ev->arena, out, items->items[i]);
    }
  }
  return jinja_list_value(out);
}

FILTER(wordcount) {
  const jinja_string *s = str_of(ev, self);
  int64_t words = 0;
  bool in_word = false;
  for (size_t i = 0; i < s->size;) {
    int32_t c = jinja_utf8_next(s->data, s->size, &i);
    bool word = c == '_' || jinja_is_alpha(c) || jinja_is_numeric(c);
    words += word && !in_word;
    in_word = word;
  }
  return jinja_int(words);
}

/* Filters by name, with their parameters after the value. "**" takes any further positional and
 * keyword arguments, which the filter reads itself. */
static const jinja_native filters[] = {
    {"abs", filter_abs, {NULL}},
    {"attr", filter_attr, {"name"}},
    {"batch", filter_batch, {"linecount", "fill_with"}},
    {"capitalize", filter_capitalize, {NULL}},
    {"center", filter_center, {"width"}},
    {"count", filter_length, {NULL}},
    {"d", filter_default, {"default_value", "boolean"}},
    {"default", filter_default, {"default_value", "boolean"}},
    {"dictsort", filter_dictsort, {"case_sensitive", "by", "reverse"}},
    {"e", filter_escape, {NULL}},
    {"escape", filter_escape, {NULL}},
    {"first", filter_first, {NULL}},
    {"float", filter_float, {"default"}},
    {"forceescape", filter_escape, {NULL}},
    {"format", filter_format, {"**"}},
    {"indent", filter_indent, {"width", "first", "blank"}},
    {"int", filter_int, {"default", "base"}},
    {"items", filter_items, {NULL}},
    {"join", filter_join, {"d", "attribute"}},
    {"last", filter_last, {NULL}},
    {"length", filter_length, {NULL}},
    {"list", filter_list, {NULL}},
    {"lower", filter_lower, {NULL}},
    {"map", filter_map, {"**"}},
    {"max", filter_max, {"case_sensitive", "attribute"}},
    {"min", filter_min, {"case_sensitive", "attribute"}},
    {"reject", filter_reject, {"*"}},
    {"rejectattr", filter_rejectattr, {"*"}},
    {"replace", filter_replace, {"old", "new", "count"}},
    {"reverse", filter_reverse, {NULL}},
    {"round", filter_round, {"precision", "method"}},
    {"safe", filter_safe, {NULL}},
    {"select", filter_select, {"*"}},
    {"selectattr", filter_selectattr, {"*"}},
    {"sort", filter_sort, {"reverse", "case_sensitive", "attribute"}},
    {"string", filter_string, {NULL}},
    {"sum", filter_sum, {"attribute", "start"}},
    {"title", filter_title, {NULL}},
    {"tojson", filter_tojson, {"ensure_ascii", "indent", "separators", "sort_keys"}},
    {"trim", filter_trim, {"chars"}},
    {"truncate", filter_truncate, {"length", "killwords", "end", "leeway"}},
    {"unique", filter_unique, {"case_sensitive", "attribute"}},
    {"upper", filter_upper, {NULL}},
    {"wordcount", filter_wordcount, {NULL}},
};

const jinja_native *jinja_find_filter(const char *name) {
  for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
    if (strcmp(filters[i].name, name) == 0)
      return &filters[i];
  return NULL;
}

/* ---- tests ----------------------------------------------------------------------------------- */

TEST(boolean) { return jinja_bool(self.kind == JINJA_BOOL); }
/* An Undefined is callable in Python (calling it raises), and so is a loop (recursive loops). */
TEST(callable) {
  return jinja_bool(self.kind == JINJA_CALLABLE || self.kind == JINJA_UNDEFINED ||
                    self.kind == JINJA_LOOP);
}
TEST(defined) { return jinja_bool(self.kind != JINJA_UNDEFINED); }
TEST(undefined) { return jinja_bool(self.kind == JINJA_UNDEFINED); }
TEST(none) { return jinja_bool(self.kind == JINJA_NONE); }
TEST(true) { return jinja_bool(self.kind == JINJA_BOOL && self.as.boolean); }
TEST(false) { return jinja_bool(self.kind == JINJA_BOOL && !self.as.boolean); }
TEST(integer) { return jinja_bool(self.kind == JINJA_INT); }
TEST(float) { return jinja_bool(self.kind == JINJA_FLOAT); }
TEST(number) {
  return jinja_bool(self.kind == JINJA_INT || self.kind == JINJA_FLOAT || self.kind == JINJA_BOOL);
}
TEST(string) { return jinja_bool(self.kind == JINJA_STRING); }
TEST(mapping) { return jinja_bool(self.kind == JINJA_DICT && !self.as.dict->namespace); }
/* What Python's iter() accepts; an Undefined iterates as empty. */
TEST(iterable) {
  return jinja_bool(self.kind == JINJA_STRING || self.kind == JINJA_LIST ||
                    self.kind == JINJA_UNDEFINED || self.kind == JINJA_LOOP ||
                    (self.kind == JINJA_DICT && !self.as.dict->namespace));
}
/* len() and [] both work: strings, lists, tuples, dicts, and an Undefined (whose [] raises). */
TEST(sequence) {
  return jinja_bool(
      self.kind == JINJA_STRING || (self.kind == JINJA_LIST && jinja_is_indexable(self.as.list)) ||
      self.kind == JINJA_UNDEFINED || (self.kind == JINJA_DICT && !self.as.dict->namespace));
}
TEST(escaped) { return jinja_bool(false); }

static jinja_value number_mod(jinja_eval *ev, const jinja_args *args, jinja_value a, jinja_value b);

TEST(divisibleby) {
  jinja_value r = number_mod(ev, args, self, arg[0]);
  return jinja_bool(r.kind == JINJA_INT ? r.as.integer == 0 : r.as.number == 0.0);
}
TEST(even) {
  jinja_value r = number_mod(ev, args, self, jinja_int(2));
  return jinja_bool(r.kind == JINJA_INT ? r.as.integer == 0 : r.as.number == 0.0);
}
TEST(odd) {
  jinja_value r = number_mod(ev, args, self, jinja_int(2));
  return jinja_bool(r.kind == JINJA_INT ? r.as.integer == 1 : r.as.number == 1.0);
}

static bool all_cased(jinja_eval *ev, jinja_value v, bool upper) {
  const jinja_string *s = str_of(ev, v);
  bool any = false;
  for (size_t i = 0; i < s->size;) {
    int32_t c = jinja_utf8_next(s->data, s->size, &i);
    if (upper ? jinja_is_lower(c) : jinja_is_upper(c))
      return false;
    if (upper ? jinja_is_upper(c) : jinja_is_lower(c))
      any = true;
  }
  return any;
}
TEST(lower) { return jinja_bool(all_cased(ev, self, false)); }
TEST(upper) { return jinja_bool(all_cased(ev, self, true)); }

TEST(eq) { return jinja_bool(jinja_equal(self, arg[0])); }
TEST(ne) { return jinja_bool(!jinja_equal(self, arg[0])); }
TEST(lt) { return jinja_bool(jinja_order(ev, args->pos, COMPARE_LT, self, arg[0])); }
TEST(le) { return jinja_bool(jinja_order(ev, args->pos, COMPARE_LE, self, arg[0])); }
TEST(gt) { return jinja_bool(jinja_order(ev, args->pos, COMPARE_GT, self, arg[0])); }
TEST(ge) { return jinja_bool(jinja_order(ev, args->pos, COMPARE_GE, self, arg[0])); }

TEST(in) {
  jinja_value seq = arg[0];
  if (seq.kind == JINJA_STRING && self.kind == JINJA_STRING)
    return jinja_bool(
        jinja_text_find(seq.as.string, self.as.string, 0, seq.as.string->size, false) >= 0);
  if (seq.kind == JINJA_DICT && !seq.as.dict->namespace)
    return jinja_bool(jinja_dict_find(seq.as.dict, self) != NULL);
  const jinja_list *items = jinja_iterate(ev, args->pos, seq);
  for (size_t i = 0; i < items->count; i++)
    if (jinja_equal(items->items[i], self))
      return jinja_bool(true);
  return jinja_bool(false);
}

/* Python's `is`: the same object. None, booleans and small integers are always the same object
 * in CPython; other values are the same only if they are one value. */
TEST(sameas) {
  jinja_value other = arg[0];
  if (self.kind != other.kind)
    return jinja_bool(false);
  switch (self.kind) {
  case JINJA_UNDEFINED:
  case JINJA_NONE: return jinja_bool(true);
  case JINJA_BOOL: return jinja_bool(self.as.boolean == other.as.boolean);
  case JINJA_INT:
    return jinja_bool(self.as.integer == other.as.integer && self.as.integer >= -5 &&
                      self.as.integer <= 256);
  case JINJA_FLOAT: return jinja_bool(false);
  case JINJA_STRING: return jinja_bool(self.as.string == other.as.string);
  case JINJA_LIST: return jinja_bool(self.as.list == other.as.list);
  case JINJA_DICT: return jinja_bool(self.as.dict == other.as.dict);
  case JINJA_CALLABLE: return jinja_bool(self.as.callable == other.as.callable);
  case JINJA_LOOP: return jinja_bool(self.as.loop == other.as.loop);
  }
  return jinja_bool(false);
}

TEST(filter) {
  return jinja_bool(self.kind == JINJA_STRING && jinja_find_filter(self.as.string->data));
}
TEST(test) {
  return jinja_bool(self.kind == JINJA_STRING && jinja_find_test(self.as.string->data));
}

static jinja_value number_mod(jinja_eval *ev, const jinja_args *args, jinja_value a,
                              jinja_value b) {
  bool ints = (a.kind == JINJA_INT || a.kind == JINJA_BOOL) &&
              (b.kind == JINJA_INT || b.kind == JINJA_BOOL);
  bool numbers = (a.kind == JINJA_INT || a.kind == JINJA_BOOL || a.kind == JINJA_FLOAT) &&
                 (b.kind == JINJA_INT || b.kind == JINJA_BOOL || b.kind == JINJA_FLOAT);
  if (a.kind == JINJA_UNDEFINED)
    jinja_fail_undefined(ev, args->pos, a);
  if (!numbers)
    jinja_fail(ev, args->pos, "unsupported operand type(s) for %%: '%s' and '%s'",
               jinja_type_name(a), jinja_type_name(b));
  if (ints) {
    int64_t x = a.kind == JINJA_INT ? a.as.integer : a.as.boolean;
    int64_t y = b.kind == JINJA_INT ? b.as.integer : b.as.boolean;
    if (y == 0)
      jinja_fail(ev, args->pos, "integer division or modulo by zero");
    if (y == -1)
      return jinja_int(0);
    int64_t r = x % y;
    if (r != 0 && (r < 0) != (y < 0))
      r += y;
    return jinja_int(r);
  }
  double x = a.kind == JINJA_FLOAT ? a.as.number
             : a.kind == JINJA_INT ? (double)a.as.integer
                                   : a.as.boolean;
  double y = b.kind == JINJA_FLOAT ? b.as.number
             : b.kind == JINJA_INT ? (double)b.as.integer
                                   : b.as.boolean;
  if (y == 0.0)
    jinja_fail(ev, args->pos, "float modulo");
  double r = fmod(x, y);
  if (r != 0.0 && (y < 0) != (r < 0))
    r += y;
  return jinja_float(r);
}

static const jinja_native tests[] = {
    {"!=", test_ne, {"other"}},
    {"<", test_lt, {"other"}},
    {"<=", test_le, {"other"}},
    {"==", test_eq, {"other"}},
    {">", test_gt, {"other"}},
    {">=", test_ge, {"other"}},
    {"boolean", test_boolean, {NULL}},
    {"callable", test_callable, {NULL}},
    {"defined", test_defined, {NULL}},
    {"divisibleby", test_divisibleby, {"num"}},
    {"eq", test_eq, {"other"}},
    {"equalto", test_eq, {"other"}},
    {"escaped", test_escaped, {NULL}},
    {"even", test_even, {NULL}},
    {"false", test_false, {NULL}},
    {"filter", test_filter, {NULL}},
    {"float", test_float, {NULL}},
    {"ge", test_ge, {"other"}},
    {"greaterthan", test_gt, {"other"}},
    {"gt", test_gt, {"other"}},
    {"in", test_in, {"seq"}},
    {"integer", test_integer, {NULL}},
    {"iterable", test_iterable, {NULL}},
    {"le", test_le, {"other"}},
    {"lessthan", test_lt, {"other"}},
    {"lower", test_lower, {NULL}},
    {"lt", test_lt, {"other"}},
    {"mapping", test_mapping, {NULL}},
    {"ne", test_ne, {"other"}},
    {"none", test_none, {NULL}},
    {"number", test_number, {NULL}},
    {"odd", test_odd, {NULL}},
    {"sameas", test_sameas, {"other"}},
    {"sequence", test_sequence, {NULL}},
    {"string", test_string, {NULL}},
    {"test", test_test, {NULL}},
    {"true", test_true, {NULL}},
    {"undefined", test_undefined, {NULL}},
    {"upper", test_upper, {NULL}},
};

const jinja_native *jinja_find_test(const char *name) {
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
    if (strcmp(tests[i].name, name) == 0)
      return &tests[i];
  return NULL;
}
