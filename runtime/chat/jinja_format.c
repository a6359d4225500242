/* Python's two ways of formatting text that templates reach: "fmt" % args (and the format
 * filter, which is the same) and str.format(). Numbers go through C's printf, which rounds the
 * way Python does; the rest (sign handling, %r, field look-up) is Python's. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/chat/jinja_internal.h"

typedef struct spec {
  bool left, plus, space, alternate, zero;
  int width, precision; /* -1 when absent */
  char conversion;
} spec;

static bool as_integer(jinja_value v, int64_t *out) {
  if (v.kind == JINJA_INT)
    *out = v.as.integer;
  else if (v.kind == JINJA_BOOL)
    *out = v.as.boolean;
  else if (v.kind == JINJA_FLOAT && isfinite(v.as.number) && fabs(v.as.number) < 9.2e18)
    *out = (int64_t)v.as.number;
  else
    return false;
  return true;
}

static bool as_float(jinja_value v, double *out) {
  if (v.kind == JINJA_FLOAT)
    *out = v.as.number;
  else if (v.kind == JINJA_INT)
    *out = (double)v.as.integer;
  else if (v.kind == JINJA_BOOL)
    *out = v.as.boolean;
  else
    return false;
  return true;
}

/* Pads `text` to the spec's width (zeros go after the sign). */
static void write_padded(jinja_buf *out, const spec *s, const char *text, size_t size,
                         bool numeric) {
  int length = (int)jinja_utf8_length(text, size);
  int fill = s->width > length ? s->width - length : 0;
  if (s->left) {
    jinja_buf_append(out, text, size);
    for (int i = 0; i < fill; i++)
      jinja_buf_putc(out, ' ');
    return;
  }
  if (numeric && s->zero) {
    size_t sign = size > 0 && (text[0] == '-' || text[0] == '+' || text[0] == ' ');
    jinja_buf_append(out, text, sign);
    for (int i = 0; i < fill; i++)
      jinja_buf_putc(out, '0');
    jinja_buf_append(out, text + sign, size - sign);
    return;
  }
  for (int i = 0; i < fill; i++)
    jinja_buf_putc(out, ' ');
  jinja_buf_append(out, text, size);
}

static void write_integer(jinja_buf *out, const spec *s, int64_t value, char conversion) {
  char digits[80], text[100];
  uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
  const char *prefix = "";
  switch (conversion) {
  case 'x':
    snprintf(digits, sizeof digits, "%" PRIx64, magnitude);
    prefix = s->alternate ? "0x" : "";
    break;
  case 'X':
    snprintf(digits, sizeof digits, "%" PRIX64, magnitude);
    prefix = s->alternate ? "0X" : "";
    break;
  case 'o':
    snprintf(digits, sizeof digits, "%" PRIo64, magnitude);
    prefix = s->alternate ? "0o" : "";
    break;
  default: snprintf(digits, sizeof digits, "%" PRIu64, magnitude); break;
  }
  /* a precision on an integer pads the digits with zeros */
  char padded[80];
  int length = (int)strlen(digits);
  if (s->precision > length && s->precision < 70) {
    memset(padded, '0', (size_t)(s->precision - length));
    strcpy(padded + s->precision - length, digits);
  } else {
    strcpy(padded, digits);
  }
  const char *sign = value < 0 ? "-" : s->plus ? "+" : s->space ? " " : "";
  int n = snprintf(text, sizeof text, "%s%s%s", sign, prefix, padded);
  write_padded(out, s, text, (size_t)n, true);
}

static void write_float(jinja_buf *out, const spec *s, double value, char conversion) {
  char format[32], text[400];
  if (!isfinite(value)) {
    const char *word = isnan(value) ? "nan" : value < 0 ? "-inf" : "inf";
    if (conversion == 'E' || conversion == 'F' || conversion == 'G')
      word = isnan(value) ? "NAN" : value < 0 ? "-INF" : "INF";
    char signed_word[8];
    snprintf(signed_word, sizeof signed_word, "%s%s",
             value > 0 && s->plus    ? "+"
             : value > 0 && s->space ? " "
                                     : "",
             word);
    spec no_zero = *s;
    no_zero.zero = false;
    write_padded(out, &no_zero, signed_word, strlen(signed_word), true);
    return;
  }
  int precision = s->precision < 0 ? 6 : s->precision > 300 ? 300 : s->precision;
  snprintf(format, sizeof format, "%%%s%s%s.%d%c", s->plus ? "+" : "", s->space ? " " : "",
           s->alternate ? "#" : "", precision, conversion);
  int n = snprintf(text, sizeof text, format, value);
  write_padded(out, s, text, n < 0 ? 0 : (size_t)n, true);
}

/* One conversion of `value` by the spec: what %s, %d, ... and format specs share. */
static void convert(jinja_eval *ev, size_t pos, jinja_buf *out, const spec *s, jinja_value value,
                    const char *origin) {
  int64_t i;
  double d;
  switch (s->conversion) {
  case 's':
  case 'r':
  case 'a': {
    jinja_buf text;
    jinja_buf_init(&text, ev->arena);
    if (s->conversion == 's')
      jinja_write_str(&text, value);
    else
      jinja_write_repr(&text, value);
    const jinja_string *t = jinja_buf_finish(&text);
    size_t size = t->size;
    if (s->precision >= 0)
      size = jinja_utf8_offset(t->data, t->size, (size_t)s->precision);
    write_padded(out, s, t->data, size, false);
    return;
  }
  case 'd':
  case 'i':
  case 'u':
  case 'x':
  case 'X':
  case 'o':
    if (value.kind == JINJA_FLOAT && s->conversion != 'd' && s->conversion != 'i' &&
        s->conversion != 'u')
      jinja_fail(ev, pos, "%%%c format: an integer is required, not float", s->conversion);
    if (!as_integer(value, &i))
      jinja_fail(ev, pos, "%s: a real number is required, not %s", origin, jinja_type_name(value));
    write_integer(out, s, i, s->conversion);
    return;
  case 'e':
  case 'E':
  case 'f':
  case 'F':
  case 'g':
  case 'G':
    if (!as_float(value, &d))
      jinja_fail(ev, pos, "must be real number, not %s", jinja_type_name(value));
    write_float(out, s, d, s->conversion);
    return;
  case 'c':
    if (value.kind == JINJA_STRING &&
        jinja_utf8_length(value.as.string->data, value.as.string->size) == 1) {
      write_padded(out, s, value.as.string->data, value.as.string->size, false);
      return;
    }
    if (!as_integer(value, &i) || value.kind == JINJA_FLOAT || i < 0 || i > 0x10FFFF)
      jinja_fail(ev, pos, "%%c requires an int in range(0x110000) or a single character");
    {
      jinja_buf one;
      jinja_buf_init(&one, ev->arena);
      jinja_buf_utf8(&one, (int32_t)i);
      const jinja_string *t = jinja_buf_finish(&one);
      write_padded(out, s, t->data, t->size, false);
    }
    return;
  default:
    jinja_fail(ev, pos, "unsupported format character '%c' (0x%x)", s->conversion,
               (unsigned)(unsigned char)s->conversion);
  }
}

jinja_value jinja_percent_format(jinja_eval *ev, size_t pos, const jinja_string *format,
                                 jinja_value args) {
  const jinja_list *values = NULL;
  if (args.kind == JINJA_LIST && args.as.list->kind == LIST_TUPLE)
    values = args.as.list;
  const jinja_dict *mapping =
      args.kind == JINJA_DICT && !args.as.dict->namespace ? args.as.dict : NULL;
  size_t next = 0;
  bool single_used = false;
  jinja_buf out;
  jinja_buf_init(&out, ev->arena);
  const char *f = format->data, *end = f + format->size;
  while (f < end) {
    if (*f != '%') {
      jinja_buf_putc(&out, *f++);
      continue;
    }
    f++;
    jinja_value value;
    bool have_value = false;
    if (f < end && *f == '(') {
      const char *name = ++f;
      int depth = 1;
      while (f < end && depth > 0) {
        depth += *f == '(';
        depth -= *f == ')';
        f++;
      }
      if (depth > 0)
        jinja_fail(ev, pos, "incomplete format key");
      if (args.kind == JINJA_UNDEFINED)
        jinja_fail_undefined(ev, pos, args);
      if (!mapping)
        jinja_fail(ev, pos, "format requires a mapping");
      const jinja_dict_entry *e =
          jinja_dict_find(mapping, jinja_str_value(ev->arena, name, (size_t)(f - 1 - name)));
      if (!e)
        jinja_fail(ev, pos, "'%.*s'", (int)(f - 1 - name), name);
      value = e->value;
      have_value = true;
    }
    spec s = {.width = -1, .precision = -1};
    for (; f < end && strchr("-+ #0", *f) && *f; f++) {
      s.left |= *f == '-';
      s.plus |= *f == '+';
      s.space |= *f == ' ';
      s.alternate |= *f == '#';
      s.zero |= *f == '0';
    }
    if (f < end && *f == '*')
      jinja_fail(ev, pos, "* widths are not supported in format strings");
    for (; f < end && *f >= '0' && *f <= '9'; f++)
      s.width = (s.width < 0 ? 0 : s.width * 10) + (*f - '0') % 1000;
    if (f < end && *f == '.') {
      f++;
      s.precision = 0;
      for (; f < end && *f >= '0' && *f <= '9'; f++)
        s.precision = s.precision * 10 + (*f - '0') % 1000;
    }
    while (f < end && (*f == 'h' || *f == 'l' || *f == 'L'))
      f++;
    if (f >= end)
      jinja_fail(ev, pos, "incomplete format");
    s.conversion = *f++;
    if (s.conversion == '%') {
      jinja_buf_putc(&out, '%');
      continue;
    }
    if (!have_value) {
      if (values) {
        if (next >= values->count)
          jinja_fail(ev, pos, "not enough arguments for format string");
        value = values->items[next++];
      } else {
        if (single_used)
          jinja_fail(ev, pos, "not enough arguments for format string");
        value = args;
        single_used = true;
      }
    }
    char origin[16];
    snprintf(origin, sizeof origin, "%%%c format", s.conversion);
    convert(ev, pos, &out, &s, value, origin);
  }
  /* Python counts what can be indexed (a dict, but also a list) as a mapping: no complaint when
   * it goes unused. */
  bool mapping_like =
      mapping || (args.kind == JINJA_LIST && !values) || args.kind == JINJA_UNDEFINED;
  if (values && next < values->count)
    jinja_fail(ev, pos, "not all arguments converted during string formatting");
  if (!values && !mapping_like && !single_used)
    jinja_fail(ev, pos, "not all arguments converted during string formatting");
  return jinja_string_value(jinja_buf_finish(&out));
}

/* str.format: {} {0} {name}, with !r/!s and a spec of [fill]align, sign, width, precision and
 * one of the types s d x X o f F e E g G %. */
jinja_value jinja_str_format(jinja_eval *ev, const jinja_string *format, const jinja_args *args) {
  jinja_buf out;
  jinja_buf_init(&out, ev->arena);
  size_t auto_index = 0;
  const char *f = format->data, *end = f + format->size;
  while (f < end) {
    if (*f == '}') {
      if (f + 1 < end && f[1] == '}') {
        jinja_buf_putc(&out, '}');
        f += 2;
        continue;
      }
      jinja_fail(ev, args->pos, "Single '}' encountered in format string");
    }
    if (*f != '{') {
      jinja_buf_putc(&out, *f++);
      continue;
    }
    if (f + 1 < end && f[1] == '{') {
      jinja_buf_putc(&out, '{');
      f += 2;
      continue;
    }
    const char *field = ++f;
    while (f < end && *f != '}')
      f++;
    if (f >= end)
      jinja_fail(ev, args->pos, "expected '}' before end of string");
    const char *field_end = f++;
    const char *name_end = field;
    while (name_end < field_end && *name_end != '!' && *name_end != ':')
      name_end++;
    jinja_value value;
    size_t name_size = (size_t)(name_end - field);
    if (name_size == 0 || (field[0] >= '0' && field[0] <= '9')) {
      size_t index = auto_index++;
      if (name_size > 0) {
        index = 0;
        for (const char *c = field; c < name_end; c++) {
          if (*c < '0' || *c > '9')
            jinja_fail(ev, args->pos, "field names with attributes or items are not supported");
          index = index * 10 + (size_t)(*c - '0');
        }
      }
      if (index >= args->count)
        jinja_fail(ev, args->pos, "Replacement index %zu out of range for positional args tuple",
                   index);
      value = args->values[index];
    } else {
      size_t k = 0;
      while (k < args->keyword_count &&
             !(args->keyword_names[k]->size == name_size &&
               memcmp(args->keyword_names[k]->data, field, name_size) == 0))
        k++;
      if (k == args->keyword_count)
        jinja_fail(ev, args->pos, "'%.*s'", (int)name_size, field);
      value = args->keyword_values[k];
    }
    const char *p = name_end;
    char conversion = 0;
    if (p < field_end && *p == '!') {
      conversion = p + 1 < field_end ? p[1] : 0;
      if (conversion != 'r' && conversion != 's' && conversion != 'a')
        jinja_fail(ev, args->pos, "Unknown conversion specifier in format string");
      p += 2;
    }
    spec s = {.width = -1, .precision = -1, .conversion = 's'};
    char fill = ' ', align = 0;
    if (p < field_end && *p == ':') {
      p++;
      if (p + 1 < field_end && strchr("<>^=", p[1])) {
        fill = *p;
        align = p[1];
        p += 2;
      } else if (p < field_end && strchr("<>^=", *p)) {
        align = *p++;
      }
      if (p < field_end && (*p == '+' || *p == '-' || *p == ' ')) {
        s.plus = *p == '+';
        s.space = *p == ' ';
        p++;
      }
      if (p < field_end && *p == '#') {
        s.alternate = true;
        p++;
      }
      if (p < field_end && *p == '0') {
        s.zero = true;
        p++;
      }
      for (; p < field_end && *p >= '0' && *p <= '9'; p++)
        s.width = (s.width < 0 ? 0 : s.width * 10) + (*p - '0') % 1000;
      if (p < field_end && *p == '.') {
        s.precision = 0;
        for (p++; p < field_end && *p >= '0' && *p <= '9'; p++)
          s.precision = s.precision * 10 + (*p - '0') % 1000;
      }
      char type = p < field_end ? *p++ : 0;
      if (p != field_end || (type && !strchr("sdxXofFeEgG%", type)))
        jinja_fail(ev, args->pos, "format spec '%.*s' is not supported",
                   (int)(field_end - name_end), name_end);
      if (type == '%') {
        double d;
        if (!(value.kind == JINJA_FLOAT || value.kind == JINJA_INT || value.kind == JINJA_BOOL))
          jinja_fail(ev, args->pos, "Unknown format code '%%' for object of type '%s'",
                     jinja_type_name(value));
        d = value.kind == JINJA_FLOAT ? value.as.number
            : value.kind == JINJA_INT ? (double)value.as.integer
                                      : value.as.boolean;
        value = jinja_float(d * 100.0);
        type = 'f';
      }
      if (type)
        s.conversion = type;
      else if (value.kind == JINJA_INT || value.kind == JINJA_BOOL)
        s.conversion = 'd';
    }
    if (conversion) {
      jinja_buf text;
      jinja_buf_init(&text, ev->arena);
      if (conversion == 's')
        jinja_write_str(&text, value);
      else
        jinja_write_repr(&text, value);
      value = jinja_string_value(jinja_buf_finish(&text));
    }
    /* Render without width, then align with the fill character. */
    int width = s.width;
    s.width = -1;
    bool numeric = s.conversion != 's';
    if (!numeric && value.kind != JINJA_STRING && s.precision < 0 && !conversion)
      s.conversion = 's';
    jinja_buf piece;
    jinja_buf_init(&piece, ev->arena);
    convert(ev, args->pos, &piece, &s, value, "format");
    const jinja_string *text = jinja_buf_finish(&piece);
    int length = (int)jinja_utf8_length(text->data, text->size);
    int padding = width > length ? width - length : 0;
    if (!align && s.zero) {
      fill = '0';
      align = '=';
    } else if (!align) {
      align = numeric ? '>' : '<';
    }
    s.zero = false;
    int left = align == '<' ? 0 : align == '^' ? padding / 2 : padding;
    size_t sign = 0;
    if (align == '=')
      sign = text->size > 0 && strchr("+- ", text->data[0]) && text->data[0] ? 1 : 0;
    jinja_buf_append(&out, text->data, sign);
    for (int i = 0; i < left; i++)
      jinja_buf_putc(&out, fill);
    jinja_buf_append(&out, text->data + sign, text->size - sign);
    for (int i = left; i < padding; i++)
      jinja_buf_putc(&out, fill);
  }
  return jinja_string_value(jinja_buf_finish(&out));
}
