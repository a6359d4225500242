/* The tojson filter as transformers defines it: Python's json.dumps(x, ensure_ascii=False,
 * indent=None, separators=None, sort_keys=False), text for text (not Jinja's own tojson, which
 * escapes HTML characters). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "runtime/chat/jinja_internal.h"

static void write_json_string(jinja_buf *buf, const jinja_string *s, bool ensure_ascii) {
  jinja_buf_putc(buf, '"');
  for (size_t i = 0; i < s->size;) {
    size_t start = i;
    int32_t c = jinja_utf8_next(s->data, s->size, &i);
    switch (c) {
    case '"': jinja_buf_puts(buf, "\\\""); continue;
    case '\\': jinja_buf_puts(buf, "\\\\"); continue;
    case '\n': jinja_buf_puts(buf, "\\n"); continue;
    case '\r': jinja_buf_puts(buf, "\\r"); continue;
    case '\t': jinja_buf_puts(buf, "\\t"); continue;
    case '\b': jinja_buf_puts(buf, "\\b"); continue;
    case '\f': jinja_buf_puts(buf, "\\f"); continue;
    default: break;
    }
    if (c < 0x20 || (ensure_ascii && c > 0x7E)) {
      if (c > 0xFFFF) { /* as a UTF-16 surrogate pair */
        int32_t v = c - 0x10000;
        jinja_buf_printf(buf, "\\u%04x\\u%04x", (unsigned)(0xD800 | (v >> 10)),
                         (unsigned)(0xDC00 | (v & 0x3FF)));
      } else {
        jinja_buf_printf(buf, "\\u%04x", (unsigned)c);
      }
    } else {
      jinja_buf_append(buf, s->data + start, i - start);
    }
  }
  jinja_buf_putc(buf, '"');
}

static void write_float(jinja_buf *buf, double x) {
  if (isnan(x)) {
    jinja_buf_puts(buf, "NaN");
  } else if (isinf(x)) {
    jinja_buf_puts(buf, x < 0 ? "-Infinity" : "Infinity");
  } else {
    char text[32];
    jinja_format_float(x, text);
    jinja_buf_puts(buf, text);
  }
}

static void newline_indent(jinja_buf *buf, const jinja_json_style *style, int level) {
  jinja_buf_putc(buf, '\n');
  for (int i = 0; i < level; i++)
    jinja_buf_append(buf, style->indent->data, style->indent->size);
}

static void write_separator(jinja_buf *buf, const jinja_json_style *style, int level) {
  jinja_buf_append(buf, style->item_separator->data, style->item_separator->size);
  if (style->indent_set)
    newline_indent(buf, style, level);
}

/* Keys are written as strings; json.dumps converts the other scalars it accepts. */
static void write_key(jinja_eval *ev, size_t pos, jinja_buf *buf, jinja_value key,
                      const jinja_json_style *style) {
  char text[32];
  switch (key.kind) {
  case JINJA_STRING: write_json_string(buf, key.as.string, style->ensure_ascii); return;
  case JINJA_NONE: jinja_buf_puts(buf, "\"null\""); return;
  case JINJA_BOOL: jinja_buf_puts(buf, key.as.boolean ? "\"true\"" : "\"false\""); return;
  case JINJA_INT: jinja_buf_printf(buf, "\"%" PRId64 "\"", key.as.integer); return;
  case JINJA_FLOAT:
    jinja_buf_putc(buf, '"');
    if (isnan(key.as.number) || isinf(key.as.number)) {
      write_float(buf, key.as.number);
    } else {
      jinja_format_float(key.as.number, text);
      jinja_buf_puts(buf, text);
    }
    jinja_buf_putc(buf, '"');
    return;
  case JINJA_UNDEFINED:
  case JINJA_LIST:
  case JINJA_DICT:
  case JINJA_CALLABLE:
  case JINJA_LOOP: break;
  }
  jinja_fail(ev, pos, "keys must be str, int, float, bool or None, not %s", jinja_type_name(key));
}

typedef struct sort_context {
  jinja_eval *ev;
  size_t pos;
} sort_context;

static void sort_entries(sort_context *ctx, jinja_dict_entry *e, size_t n) {
  /* Insertion sort: stable like Python's sorted(), and dicts here are small. */
  for (size_t i = 1; i < n; i++) {
    jinja_dict_entry x = e[i];
    size_t j = i;
    while (j > 0 && jinja_compare_values(ctx->ev, ctx->pos, e[j - 1].key, x.key) > 0) {
      e[j] = e[j - 1];
      j--;
    }
    e[j] = x;
  }
}

static void write_json(jinja_eval *ev, size_t pos, jinja_buf *buf, jinja_value v,
                       const jinja_json_style *style, int level) {
  if (level > JINJA_MAX_VALUE_DEPTH)
    jinja_fail(ev, pos, "maximum recursion depth exceeded while encoding a JSON object");
  switch (v.kind) {
  case JINJA_NONE: jinja_buf_puts(buf, "null"); return;
  case JINJA_BOOL: jinja_buf_puts(buf, v.as.boolean ? "true" : "false"); return;
  case JINJA_INT: jinja_buf_printf(buf, "%" PRId64, v.as.integer); return;
  case JINJA_FLOAT: write_float(buf, v.as.number); return;
  case JINJA_STRING: write_json_string(buf, v.as.string, style->ensure_ascii); return;
  case JINJA_LIST: {
    const jinja_list *l = v.as.list;
    if (!jinja_is_indexable(l))
      break;
    if (l->count == 0) {
      jinja_buf_puts(buf, "[]");
      return;
    }
    jinja_buf_putc(buf, '[');
    if (style->indent_set)
      newline_indent(buf, style, level + 1);
    for (size_t i = 0; i < l->count; i++) {
      if (i)
        write_separator(buf, style, level + 1);
      write_json(ev, pos, buf, l->items[i], style, level + 1);
    }
    if (style->indent_set)
      newline_indent(buf, style, level);
    jinja_buf_putc(buf, ']');
    return;
  }
  case JINJA_DICT: {
    const jinja_dict *d = v.as.dict;
    if (d->namespace)
      break;
    if (d->count == 0) {
      jinja_buf_puts(buf, "{}");
      return;
    }
    const jinja_dict_entry *entries = d->entries;
    if (style->sort_keys) {
      jinja_dict_entry *sorted = jinja_alloc(ev->arena, d->count * sizeof *sorted);
      for (size_t i = 0; i < d->count; i++)
        sorted[i] = d->entries[i];
      sort_entries(&(sort_context){ev, pos}, sorted, d->count);
      entries = sorted;
    }
    jinja_buf_putc(buf, '{');
    if (style->indent_set)
      newline_indent(buf, style, level + 1);
    for (size_t i = 0; i < d->count; i++) {
      if (i)
        write_separator(buf, style, level + 1);
      write_key(ev, pos, buf, entries[i].key, style);
      jinja_buf_append(buf, style->key_separator->data, style->key_separator->size);
      write_json(ev, pos, buf, entries[i].value, style, level + 1);
    }
    if (style->indent_set)
      newline_indent(buf, style, level);
    jinja_buf_putc(buf, '}');
    return;
  }
  case JINJA_UNDEFINED:
  case JINJA_CALLABLE:
  case JINJA_LOOP: break;
  }
  jinja_fail(ev, pos, "Object of type %s is not JSON serializable", jinja_type_name(v));
}

void jinja_write_json(jinja_eval *ev, size_t pos, jinja_buf *buf, jinja_value v,
                      const jinja_json_style *style) {
  write_json(ev, pos, buf, v, style, 0);
}
