/* What templates call on values and by name: Python's str, list and dict methods (the mutating
 * ones refused, as transformers' ImmutableSandboxedEnvironment refuses them), the loop object's
 * attributes, and the globals transformers provides. */
#include <stdio.h>
#include <string.h>

#include "runtime/chat/jinja_internal.h"

#define METHOD(name)                                                                               \
  static jinja_value method_##name(jinja_eval *ev, jinja_value self, const jinja_value *arg,       \
                                   const bool *given, const jinja_args *args)

static const jinja_string *str_of(jinja_eval *ev, jinja_value v) {
  return jinja_to_str(ev->arena, v);
}

static const jinja_string *string_arg(jinja_eval *ev, const jinja_args *args, jinja_value v,
                                      const char *method) {
  if (v.kind != JINJA_STRING)
    jinja_fail(ev, args->pos, "%s() argument must be str, not %s", method, jinja_type_name(v));
  return v.as.string;
}

static int64_t int_arg(jinja_eval *ev, const jinja_args *args, jinja_value v) {
  if (v.kind == JINJA_INT)
    return v.as.integer;
  if (v.kind == JINJA_BOOL)
    return v.as.boolean;
  jinja_fail(ev, args->pos, "'%s' object cannot be interpreted as an integer", jinja_type_name(v));
}

/* ---- str ------------------------------------------------------------------------------------- */

/* The chars argument of strip: None strips whitespace. */
static const jinja_string *strip_chars(jinja_eval *ev, const jinja_args *args, jinja_value v,
                                       bool given) {
  if (!given || v.kind == JINJA_NONE)
    return NULL;
  return string_arg(ev, args, v, "strip");
}

METHOD(strip) {
  return jinja_string_value(jinja_text_strip(ev->arena, self.as.string,
                                             strip_chars(ev, args, arg[0], given[0]), STRIP_BOTH));
}
METHOD(lstrip) {
  return jinja_string_value(jinja_text_strip(ev->arena, self.as.string,
                                             strip_chars(ev, args, arg[0], given[0]), STRIP_LEFT));
}
METHOD(rstrip) {
  return jinja_string_value(jinja_text_strip(ev->arena, self.as.string,
                                             strip_chars(ev, args, arg[0], given[0]), STRIP_RIGHT));
}

METHOD(upper) {
  return jinja_string_value(jinja_text_map(ev->arena, self.as.string, jinja_to_upper));
}
METHOD(lower) {
  return jinja_string_value(jinja_text_map(ev->arena, self.as.string, jinja_to_lower));
}
static int32_t swap_case(int32_t c) {
  return jinja_is_upper(c) ? jinja_to_lower(c) : jinja_is_lower(c) ? jinja_to_upper(c) : c;
}
METHOD(swapcase) {
  return jinja_string_value(jinja_text_map(ev->arena, self.as.string, swap_case));
}
METHOD(title) { return jinja_string_value(jinja_text_title(ev->arena, self.as.string)); }
METHOD(capitalize) { return jinja_string_value(jinja_text_capitalize(ev->arena, self.as.string)); }

/* Byte range [from, to) of the code point range start:end (Python's slice rules). */
static void byte_range(jinja_eval *ev, const jinja_args *args, const jinja_string *s,
                       jinja_value start, bool has_start, jinja_value end, bool has_end,
                       size_t *from, size_t *to) {
  int64_t length = (int64_t)jinja_utf8_length(s->data, s->size);
  int64_t a = has_start && start.kind != JINJA_NONE ? int_arg(ev, args, start) : 0;
  int64_t b = has_end && end.kind != JINJA_NONE ? int_arg(ev, args, end) : length;
  if (a < 0)
    a = a + length < 0 ? 0 : a + length;
  if (b < 0)
    b = b + length < 0 ? 0 : b + length;
  if (a > length)
    a = length + 1; /* past the end: nothing matches, not even "" */
  if (b > length)
    b = length;
  *from = a > length ? s->size + 1 : jinja_utf8_offset(s->data, s->size, (size_t)a);
  *to = jinja_utf8_offset(s->data, s->size, (size_t)b);
}

static bool has_affix(jinja_eval *ev, const jinja_args *args, const jinja_string *s,
                      jinja_value affix, size_t from, size_t to, bool suffix) {
  if (affix.kind == JINJA_LIST && affix.as.list->kind == LIST_TUPLE) {
    for (size_t i = 0; i < affix.as.list->count; i++)
      if (has_affix(ev, args, s, affix.as.list->items[i], from, to, suffix))
        return true;
    return false;
  }
  if (affix.kind != JINJA_STRING)
    jinja_fail(ev, args->pos, "%s first arg must be str or a tuple of str, not %s",
               suffix ? "endswith" : "startswith", jinja_type_name(affix));
  const jinja_string *a = affix.as.string;
  if (from > s->size || to < from || a->size > to - from)
    return false;
  size_t at = suffix ? to - a->size : from;
  return memcmp(s->data + at, a->data, a->size) == 0;
}

METHOD(startswith) {
  size_t from, to;
  byte_range(ev, args, self.as.string, arg[1], given[1], arg[2], given[2], &from, &to);
  return jinja_bool(has_affix(ev, args, self.as.string, arg[0], from, to, false));
}
METHOD(endswith) {
  size_t from, to;
  byte_range(ev, args, self.as.string, arg[1], given[1], arg[2], given[2], &from, &to);
  return jinja_bool(has_affix(ev, args, self.as.string, arg[0], from, to, true));
}

static jinja_value split(jinja_eval *ev, jinja_value self, const jinja_value *arg,
                         const bool *given, const jinja_args *args, bool from_right) {
  const jinja_string *sep = NULL;
  if (given[0] && arg[0].kind != JINJA_NONE) {
    sep = string_arg(ev, args, arg[0], "split");
    if (sep->size == 0)
      jinja_fail(ev, args->pos, "empty separator");
  }
  int64_t maxsplit = given[1] ? int_arg(ev, args, arg[1]) : -1;
  return jinja_list_value(jinja_text_split(ev->arena, self.as.string, sep, maxsplit, from_right));
}
METHOD(split) { return split(ev, self, arg, given, args, false); }
METHOD(rsplit) { return split(ev, self, arg, given, args, true); }
METHOD(splitlines) { return jinja_splitlines(ev, self.as.string, jinja_truthy(arg[0])); }

METHOD(replace) {
  int64_t count = given[2] ? int_arg(ev, args, arg[2]) : -1;
  return jinja_string_value(jinja_text_replace(ev->arena, self.as.string,
                                               string_arg(ev, args, arg[0], "replace"),
                                               string_arg(ev, args, arg[1], "replace"), count));
}

/* find/rfind/index/rindex: the code point index of the match, or -1 / an error. */
static jinja_value find(jinja_eval *ev, jinja_value self, const jinja_value *arg, const bool *given,
                        const jinja_args *args, bool last, bool raise) {
  const jinja_string *s = self.as.string;
  size_t from, to;
  byte_range(ev, args, s, arg[1], given[1], arg[2], given[2], &from, &to);
  int64_t at = jinja_text_find(s, string_arg(ev, args, arg[0], "find"), from, to, last);
  if (at < 0) {
    if (raise)
      jinja_fail(ev, args->pos, "substring not found");
    return jinja_int(-1);
  }
  return jinja_int((int64_t)jinja_utf8_length(s->data, (size_t)at));
}
METHOD(find) { return find(ev, self, arg, given, args, false, false); }
METHOD(rfind) { return find(ev, self, arg, given, args, true, false); }
METHOD(index) { return find(ev, self, arg, given, args, false, true); }
METHOD(rindex) { return find(ev, self, arg, given, args, true, true); }

METHOD(count) {
  const jinja_string *s = self.as.string, *sub = string_arg(ev, args, arg[0], "count");
  size_t from, to;
  byte_range(ev, args, s, arg[1], given[1], arg[2], given[2], &from, &to);
  if (from > to)
    return jinja_int(0);
  if (sub->size == 0)
    return jinja_int((int64_t)jinja_utf8_length(s->data + from, to - from) + 1);
  int64_t n = 0;
  for (int64_t at; (at = jinja_text_find(s, sub, from, to, false)) >= 0; n++)
    from = (size_t)at + sub->size;
  return jinja_int(n);
}

METHOD(join) {
  const jinja_list *items = jinja_iterate(ev, args->pos, arg[0]);
  const jinja_string *sep = self.as.string;
  jinja_buf buf;
  jinja_buf_init(&buf, ev->arena);
  for (size_t i = 0; i < items->count; i++) {
    jinja_value item = items->items[i];
    if (item.kind != JINJA_STRING)
      jinja_fail(ev, args->pos, "sequence item %zu: expected str instance, %s found", i,
                 jinja_type_name(item));
    if (i)
      jinja_buf_append(&buf, sep->data, sep->size);
    jinja_buf_append(&buf, item.as.string->data, item.as.string->size);
  }
  return jinja_string_value(jinja_buf_finish(&buf));
}

/* The is* predicates: true if the text is not empty and every character passes. */
static jinja_value every(jinja_value self, bool (*pass)(int32_t)) {
  const jinja_string *s = self.as.string;
  if (s->size == 0)
    return jinja_bool(false);
  for (size_t i = 0; i < s->size;)
    if (!pass(jinja_utf8_next(s->data, s->size, &i)))
      return jinja_bool(false);
  return jinja_bool(true);
}
static bool is_alnum(int32_t c) { return jinja_is_alpha(c) || jinja_is_numeric(c); }
METHOD(isalpha) { return every(self, jinja_is_alpha); }
METHOD(isalnum) { return every(self, is_alnum); }
METHOD(isdigit) { return every(self, jinja_is_digit); }
METHOD(isdecimal) { return every(self, jinja_is_decimal); }
METHOD(isnumeric) { return every(self, jinja_is_numeric); }
METHOD(isspace) { return every(self, jinja_is_space); }

/* islower/isupper: some cased character, and none of the other case. */
static jinja_value cased(jinja_value self, bool upper) {
  const jinja_string *s = self.as.string;
  bool any = false;
  for (size_t i = 0; i < s->size;) {
    int32_t c = jinja_utf8_next(s->data, s->size, &i);
    if (upper ? jinja_is_lower(c) : jinja_is_upper(c))
      return jinja_bool(false);
    any = any || (upper ? jinja_is_upper(c) : jinja_is_lower(c));
  }
  return jinja_bool(any);
}
METHOD(islower) { return cased(self, false); }
METHOD(isupper) { return cased(self, true); }

static jinja_value pad(jinja_eval *ev, const jinja_args *args, const jinja_string *s,
                       jinja_value width_value, jinja_value fill_value, bool has_fill, int side) {
  int64_t width = int_arg(ev, args, width_value);
  const jinja_string *fill = has_fill ? string_arg(ev, args, fill_value, "pad") : NULL;
  if (fill && jinja_utf8_length(fill->data, fill->size) != 1)
    jinja_fail(ev, args->pos, "The fill character must be exactly one character long");
  int64_t length = (int64_t)jinja_utf8_length(s->data, s->size);
  if (width <= length)
    return jinja_string_value(s);
  int64_t total = width - length;
  int64_t left = side < 0 ? 0 : side > 0 ? total : total / 2 + (total & width & 1);
  jinja_buf buf;
  jinja_buf_init(&buf, ev->arena);
  for (int64_t i = 0; i < total; i++) {
    if (i == left)
      jinja_buf_append(&buf, s->data, s->size);
    if (fill)
      jinja_buf_append(&buf, fill->data, fill->size);
    else
      jinja_buf_putc(&buf, ' ');
  }
  if (left == total)
    jinja_buf_append(&buf, s->data, s->size);
  return jinja_string_value(jinja_buf_finish(&buf));
}
METHOD(center) { return pad(ev, args, self.as.string, arg[0], arg[1], given[1], 0); }
METHOD(ljust) { return pad(ev, args, self.as.string, arg[0], arg[1], given[1], -1); }
METHOD(rjust) { return pad(ev, args, self.as.string, arg[0], arg[1], given[1], 1); }

METHOD(zfill) {
  const jinja_string *s = self.as.string;
  int64_t width = int_arg(ev, args, arg[0]);
  int64_t length = (int64_t)jinja_utf8_length(s->data, s->size);
  if (width <= length)
    return self;
  jinja_buf buf;
  jinja_buf_init(&buf, ev->arena);
  size_t sign = s->size > 0 && (s->data[0] == '+' || s->data[0] == '-');
  jinja_buf_append(&buf, s->data, sign);
  for (int64_t i = 0; i < width - length; i++)
    jinja_buf_putc(&buf, '0');
  jinja_buf_append(&buf, s->data + sign, s->size - sign);
  return jinja_string_value(jinja_buf_finish(&buf));
}

static jinja_value partition(jinja_eval *ev, jinja_value self, const jinja_value *arg,
                             const jinja_args *args, bool last) {
  const jinja_string *s = self.as.string, *sep = string_arg(ev, args, arg[0], "partition");
  if (sep->size == 0)
    jinja_fail(ev, args->pos, "empty separator");
  int64_t at = jinja_text_find(s, sep, 0, s->size, last);
  jinja_list *parts = jinja_tuple_make(ev->arena, 3);
  jinja_value empty = jinja_str_value(ev->arena, "", 0);
  if (at < 0) {
    jinja_list_append(ev->arena, parts, last ? empty : self);
    jinja_list_append(ev->arena, parts, empty);
    jinja_list_append(ev->arena, parts, last ? self : empty);
  } else {
    jinja_list_append(ev->arena, parts, jinja_str_value(ev->arena, s->data, (size_t)at));
    jinja_list_append(ev->arena, parts, jinja_string_value(sep));
    size_t after = (size_t)at + sep->size;
    jinja_list_append(ev->arena, parts,
                      jinja_str_value(ev->arena, s->data + after, s->size - after));
  }
  return jinja_list_value(parts);
}
METHOD(partition) { return partition(ev, self, arg, args, false); }
METHOD(rpartition) { return partition(ev, self, arg, args, true); }

METHOD(removeprefix) {
  const jinja_string *s = self.as.string, *p = string_arg(ev, args, arg[0], "removeprefix");
  if (p->size <= s->size && memcmp(s->data, p->data, p->size) == 0)
    return jinja_str_value(ev->arena, s->data + p->size, s->size - p->size);
  return self;
}
METHOD(removesuffix) {
  const jinja_string *s = self.as.string, *p = string_arg(ev, args, arg[0], "removesuffix");
  if (p->size > 0 && p->size <= s->size &&
      memcmp(s->data + s->size - p->size, p->data, p->size) == 0)
    return jinja_str_value(ev->arena, s->data, s->size - p->size);
  return self;
}

METHOD(format) { return jinja_str_format(ev, self.as.string, args); }

/* ---- list and tuple -------------------------------------------------------------------------- */

METHOD(list_count) {
  int64_t n = 0;
  for (size_t i = 0; i < self.as.list->count; i++)
    n += jinja_equal(self.as.list->items[i], arg[0]);
  return jinja_int(n);
}

METHOD(list_index) {
  for (size_t i = 0; i < self.as.list->count; i++)
    if (jinja_equal(self.as.list->items[i], arg[0]))
      return jinja_int((int64_t)i);
  jinja_buf buf;
  jinja_buf_init(&buf, ev->arena);
  jinja_write_repr(&buf, arg[0]);
  jinja_fail(ev, args->pos, "%s is not in list", jinja_buf_finish(&buf)->data);
}

METHOD(list_copy) {
  jinja_list *out = jinja_list_make(ev->arena, self.as.list->count);
  for (size_t i = 0; i < self.as.list->count; i++)
    jinja_list_append(ev->arena, out, self.as.list->items[i]);
  return jinja_list_value(out);
}

/* Never called: the table marks the mutating methods unsafe, and looking one up gives the
 * sandbox's Undefined instead. */
METHOD(refused) { jinja_fail(ev, args->pos, "this method modifies its object"); }

/* ---- dict ------------------------------------------------------------------------------------ */

METHOD(get) {
  const jinja_dict_entry *e = jinja_dict_find(self.as.dict, arg[0]);
  if (e)
    return e->value;
  return given[1] ? arg[1] : jinja_none();
}

/* keys(), values() and items(): views of the dict (taken when called: the dict cannot change). */
static jinja_value dict_part(jinja_eval *ev, const jinja_dict *d, int part) {
  static const char *const names[] = {"dict_keys", "dict_values", "dict_items"};
  jinja_list *out = jinja_iterator_make(ev->arena, LIST_VIEW, names[part]);
  for (size_t i = 0; i < d->count; i++) {
    if (part == 0) {
      jinja_list_append(ev->arena, out, d->entries[i].key);
    } else if (part == 1) {
      jinja_list_append(ev->arena, out, d->entries[i].value);
    } else {
      jinja_list *pair = jinja_tuple_make(ev->arena, 2);
      jinja_list_append(ev->arena, pair, d->entries[i].key);
      jinja_list_append(ev->arena, pair, d->entries[i].value);
      jinja_list_append(ev->arena, out, jinja_list_value(pair));
    }
  }
  return jinja_list_value(out);
}
METHOD(keys) { return dict_part(ev, self.as.dict, 0); }
METHOD(values) { return dict_part(ev, self.as.dict, 1); }
METHOD(items) { return dict_part(ev, self.as.dict, 2); }

METHOD(dict_copy) {
  jinja_dict *d = jinja_dict_make(ev->arena);
  for (size_t i = 0; i < self.as.dict->count; i++)
    jinja_dict_put(ev->arena, d, self.as.dict->entries[i].key, self.as.dict->entries[i].value);
  return jinja_dict_value(d);
}

/* ---- loop ------------------------------------------------------------------------------------ */

METHOD(cycle) {
  if (args->count == 0)
    jinja_fail(ev, args->pos, "no items for cycling given");
  return args->values[self.as.loop->index0 % args->count];
}

/* loop.changed(*values): true on the first call and whenever the values differ from the last. */
METHOD(changed) {
  jinja_list *now = jinja_tuple_make(ev->arena, args->count);
  for (size_t i = 0; i < args->count; i++)
    jinja_list_append(ev->arena, now, args->values[i]);
  jinja_value value = jinja_list_value(now);
  jinja_loop *loop = self.as.loop;
  if (loop->changed_seen && jinja_equal(loop->last_changed, value))
    return jinja_bool(false);
  loop->changed_seen = true;
  loop->last_changed = value;
  return jinja_bool(true);
}

typedef struct method_entry {
  jinja_kind kind;
  bool unsafe; /* mutates its object: transformers' immutable sandbox refuses it */
  jinja_native native;
} method_entry;

static const method_entry methods[] = {
    {JINJA_STRING, false, {"capitalize", method_capitalize, {NULL}}},
    {JINJA_STRING, false, {"casefold", method_lower, {NULL}}},
    {JINJA_STRING, false, {"center", method_center, {"width", "fillchar"}}},
    {JINJA_STRING, false, {"count", method_count, {"sub", "start", "end"}}},
    {JINJA_STRING, false, {"endswith", method_endswith, {"suffix", "start", "end"}}},
    {JINJA_STRING, false, {"find", method_find, {"sub", "start", "end"}}},
    {JINJA_STRING, false, {"format", method_format, {"**"}}},
    {JINJA_STRING, false, {"index", method_index, {"sub", "start", "end"}}},
    {JINJA_STRING, false, {"isalnum", method_isalnum, {NULL}}},
    {JINJA_STRING, false, {"isalpha", method_isalpha, {NULL}}},
    {JINJA_STRING, false, {"isdecimal", method_isdecimal, {NULL}}},
    {JINJA_STRING, false, {"isdigit", method_isdigit, {NULL}}},
    {JINJA_STRING, false, {"islower", method_islower, {NULL}}},
    {JINJA_STRING, false, {"isnumeric", method_isnumeric, {NULL}}},
    {JINJA_STRING, false, {"isspace", method_isspace, {NULL}}},
    {JINJA_STRING, false, {"isupper", method_isupper, {NULL}}},
    {JINJA_STRING, false, {"join", method_join, {"iterable"}}},
    {JINJA_STRING, false, {"ljust", method_ljust, {"width", "fillchar"}}},
    {JINJA_STRING, false, {"lower", method_lower, {NULL}}},
    {JINJA_STRING, false, {"lstrip", method_lstrip, {"chars"}}},
    {JINJA_STRING, false, {"partition", method_partition, {"sep"}}},
    {JINJA_STRING, false, {"removeprefix", method_removeprefix, {"prefix"}}},
    {JINJA_STRING, false, {"removesuffix", method_removesuffix, {"suffix"}}},
    {JINJA_STRING, false, {"replace", method_replace, {"old", "new", "count"}}},
    {JINJA_STRING, false, {"rfind", method_rfind, {"sub", "start", "end"}}},
    {JINJA_STRING, false, {"rindex", method_rindex, {"sub", "start", "end"}}},
    {JINJA_STRING, false, {"rjust", method_rjust, {"width", "fillchar"}}},
    {JINJA_STRING, false, {"rpartition", method_rpartition, {"sep"}}},
    {JINJA_STRING, false, {"rsplit", method_rsplit, {"sep", "maxsplit"}}},
    {JINJA_STRING, false, {"rstrip", method_rstrip, {"chars"}}},
    {JINJA_STRING, false, {"split", method_split, {"sep", "maxsplit"}}},
    {JINJA_STRING, false, {"splitlines", method_splitlines, {"keepends"}}},
    {JINJA_STRING, false, {"startswith", method_startswith, {"prefix", "start", "end"}}},
    {JINJA_STRING, false, {"strip", method_strip, {"chars"}}},
    {JINJA_STRING, false, {"swapcase", method_swapcase, {NULL}}},
    {JINJA_STRING, false, {"title", method_title, {NULL}}},
    {JINJA_STRING, false, {"upper", method_upper, {NULL}}},
    {JINJA_STRING, false, {"zfill", method_zfill, {"width"}}},
    {JINJA_LIST, false, {"copy", method_list_copy, {NULL}}},
    {JINJA_LIST, false, {"count", method_list_count, {"value"}}},
    {JINJA_LIST, false, {"index", method_list_index, {"value"}}},
    {JINJA_LIST, true, {"append", method_refused, {"**"}}},
    {JINJA_LIST, true, {"clear", method_refused, {"**"}}},
    {JINJA_LIST, true, {"extend", method_refused, {"**"}}},
    {JINJA_LIST, true, {"insert", method_refused, {"**"}}},
    {JINJA_LIST, true, {"pop", method_refused, {"**"}}},
    {JINJA_LIST, true, {"remove", method_refused, {"**"}}},
    {JINJA_LIST, true, {"reverse", method_refused, {"**"}}},
    {JINJA_LIST, true, {"sort", method_refused, {"**"}}},
    {JINJA_DICT, false, {"copy", method_dict_copy, {NULL}}},
    {JINJA_DICT, false, {"get", method_get, {"key", "default"}}},
    {JINJA_DICT, false, {"items", method_items, {NULL}}},
    {JINJA_DICT, false, {"keys", method_keys, {NULL}}},
    {JINJA_DICT, false, {"values", method_values, {NULL}}},
    {JINJA_DICT, true, {"clear", method_refused, {"**"}}},
    {JINJA_DICT, true, {"pop", method_refused, {"**"}}},
    {JINJA_DICT, true, {"popitem", method_refused, {"**"}}},
    {JINJA_DICT, true, {"setdefault", method_refused, {"**"}}},
    {JINJA_DICT, true, {"update", method_refused, {"**"}}},
    {JINJA_LOOP, false, {"cycle", method_cycle, {"*"}}},
    {JINJA_LOOP, false, {"changed", method_changed, {"*"}}},
};

const jinja_native *jinja_find_method(jinja_kind kind, const char *name, bool *unsafe) {
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
    const method_entry *m = &methods[i];
    if (m->kind == kind && strcmp(m->native.name, name) == 0) {
      *unsafe = m->unsafe;
      return &m->native;
    }
  }
  return NULL;
}

/* ---- loop attributes ------------------------------------------------------------------------- */

static jinja_value loop_index(jinja_eval *ev, const jinja_loop *l) {
  return jinja_int((int64_t)l->index0 + 1);
}
static jinja_value loop_index0(jinja_eval *ev, const jinja_loop *l) {
  return jinja_int((int64_t)l->index0);
}
static jinja_value loop_revindex(jinja_eval *ev, const jinja_loop *l) {
  return jinja_int((int64_t)(l->items->count - l->index0));
}
static jinja_value loop_revindex0(jinja_eval *ev, const jinja_loop *l) {
  return jinja_int((int64_t)(l->items->count - l->index0 - 1));
}
static jinja_value loop_first(jinja_eval *ev, const jinja_loop *l) {
  return jinja_bool(l->index0 == 0);
}
static jinja_value loop_last(jinja_eval *ev, const jinja_loop *l) {
  return jinja_bool(l->index0 + 1 == l->items->count);
}
static jinja_value loop_length(jinja_eval *ev, const jinja_loop *l) {
  return jinja_int((int64_t)l->items->count);
}
static jinja_value loop_depth(jinja_eval *ev, const jinja_loop *l) {
  return jinja_int((int64_t)l->depth0 + 1);
}
static jinja_value loop_depth0(jinja_eval *ev, const jinja_loop *l) {
  return jinja_int((int64_t)l->depth0);
}
static jinja_value loop_previtem(jinja_eval *ev, const jinja_loop *l) {
  if (l->index0 == 0)
    return jinja_undefined(jinja_cstr(ev->arena, "there is no previous item"));
  return l->items->items[l->index0 - 1];
}
static jinja_value loop_nextitem(jinja_eval *ev, const jinja_loop *l) {
  if (l->index0 + 1 >= l->items->count)
    return jinja_undefined(jinja_cstr(ev->arena, "there is no next item"));
  return l->items->items[l->index0 + 1];
}

static const struct {
  const char *name;
  jinja_value (*get)(jinja_eval *ev, const jinja_loop *loop);
} loop_attributes[] = {
    {"index", loop_index},         {"index0", loop_index0},     {"revindex", loop_revindex},
    {"revindex0", loop_revindex0}, {"first", loop_first},       {"last", loop_last},
    {"length", loop_length},       {"depth", loop_depth},       {"depth0", loop_depth0},
    {"previtem", loop_previtem},   {"nextitem", loop_nextitem},
};

bool jinja_loop_attribute(jinja_eval *ev, jinja_loop *loop, const char *name, jinja_value *out) {
  for (size_t i = 0; i < sizeof loop_attributes / sizeof loop_attributes[0]; i++) {
    if (strcmp(loop_attributes[i].name, name) == 0) {
      *out = loop_attributes[i].get(ev, loop);
      return true;
    }
  }
  return false;
}

/* ---- globals --------------------------------------------------------------------------------- */

/* The sandbox's limit on range() (jinja2.sandbox.MAX_RANGE). */
enum { MAX_RANGE = 100000 };

METHOD(range) {
  if (args->count == 0 || args->count > 3)
    jinja_fail(ev, args->pos, "range expected 1 to 3 arguments, got %zu", args->count);
  int64_t start = 0, stop, step = 1;
  if (args->count == 1) {
    stop = int_arg(ev, args, args->values[0]);
  } else {
    start = int_arg(ev, args, args->values[0]);
    stop = int_arg(ev, args, args->values[1]);
    if (args->count == 3)
      step = int_arg(ev, args, args->values[2]);
  }
  if (step == 0)
    jinja_fail(ev, args->pos, "range() arg 3 must not be zero");
  jinja_list *out = jinja_list_make(ev->arena, 0);
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (out->count == MAX_RANGE)
      jinja_fail(ev, args->pos,
                 "Range too big. The sandbox blocks ranges larger than MAX_RANGE (%d).", MAX_RANGE);
    jinja_list_append(ev->arena, out, jinja_int(i));
    if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step))
      break;
  }
  return jinja_list_value(out);
}

/* dict(mapping or pairs, **kwargs) and namespace(...), which takes the same arguments. */
static jinja_value make_dict(jinja_eval *ev, const jinja_args *args, bool namespace,
                             const char *name) {
  jinja_dict *d = jinja_dict_make(ev->arena);
  d->namespace = namespace;
  if (args->count > 1)
    jinja_fail(ev, args->pos, "%s expected at most 1 argument, got %zu", name, args->count);
  if (args->count == 1) {
    jinja_value init = args->values[0];
    if (init.kind == JINJA_DICT && !init.as.dict->namespace) {
      for (size_t i = 0; i < init.as.dict->count; i++)
        jinja_dict_put(ev->arena, d, init.as.dict->entries[i].key, init.as.dict->entries[i].value);
    } else {
      const jinja_list *pairs = jinja_iterate(ev, args->pos, init);
      for (size_t i = 0; i < pairs->count; i++) {
        const jinja_list *pair = jinja_iterate(ev, args->pos, pairs->items[i]);
        if (pair->count != 2)
          jinja_fail(ev, args->pos,
                     "dictionary update sequence element #%zu has length %zu; 2 is required", i,
                     pair->count);
        jinja_dict_put(ev->arena, d, pair->items[0], pair->items[1]);
      }
    }
  }
  for (size_t k = 0; k < args->keyword_count; k++)
    jinja_dict_put(ev->arena, d, jinja_string_value(args->keyword_names[k]),
                   args->keyword_values[k]);
  return jinja_dict_value(d);
}

METHOD(dict) { return make_dict(ev, args, false, "dict"); }
METHOD(namespace) { return make_dict(ev, args, true, "namespace"); }

/* transformers' raise_exception(message): the template refuses the conversation. */
METHOD(raise_exception) { jinja_fail(ev, args->pos, "%s", str_of(ev, arg[0])->data); }

/* transformers' strftime_now(format): datetime.now().strftime(format), at the render's time. */
METHOD(strftime_now) {
  const jinja_string *format = string_arg(ev, args, arg[0], "strftime_now");
  if (format->size == 0)
    return jinja_str_value(ev->arena, "", 0);
  for (size_t size = 256; size <= 65536; size *= 4) {
    char *text = jinja_alloc(ev->arena, size);
    size_t n = strftime(text, size, format->data, &ev->options->now);
    if (n > 0)
      return jinja_str_value(ev->arena, text, n);
  }
  return jinja_str_value(ev->arena, "", 0);
}

static const jinja_native globals[] = {
    {"dict", method_dict, {"**"}},
    {"namespace", method_namespace, {"**"}},
    {"raise_exception", method_raise_exception, {"message"}},
    {"range", method_range, {"*"}},
    {"strftime_now", method_strftime_now, {"format"}},
};

const jinja_native *jinja_find_global(const char *name) {
  for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++)
    if (strcmp(globals[i].name, name) == 0)
      return &globals[i];
  return NULL;
}
