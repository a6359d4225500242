/* The parser of the text form (docs/ir.md): recursive descent over the characters, building through
 * ir_build so that every op's type is inferred and checked against the written one. Errors point at
 * the offending column with the source line and a caret under it. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/internal.h"
#include "ir/symtab.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

/* Name spaces of the symbol table. */
enum { SYMBOL_VALUE, SYMBOL_WEIGHT };

typedef struct parser {
  const char *text, *file;
  size_t length, at;
  ir_graph *g;
  ir_symtab symbols; /* %names (keys into the text) and @weights (keys in the graph's arena) */
  chord_error *error;
  bool failed;
  size_t line_at, line; /* a cursor for source positions: line of offset line_at */
  int dim_nesting;      /* parentheses and unary minus open in the dimension being parsed */
} parser;

/* How deep a dimension expression may nest: its parser recurses once per level, and a file of
 * nothing but '(' must not exhaust the stack (the fuzzer found it). */
enum { DIM_MAX_NESTING = 64 };

/* Records the first error, at text offset `where`. */
static bool error_at(parser *p, size_t where, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static bool error_at(parser *p, size_t where, const char *format, ...) {
  if (p->failed)
    return false;
  p->failed = true;
  if (where > p->length)
    where = p->length;
  size_t line_start = where, line = 1;
  while (line_start > 0 && p->text[line_start - 1] != '\n')
    line_start--;
  for (size_t i = 0; i < line_start; i++)
    line += p->text[i] == '\n';
  size_t line_end = where;
  while (line_end < p->length && p->text[line_end] != '\n')
    line_end++;
  char message[512];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  /* A long line is shown as a window around the problem, marked with "...". The caret line copies
   * tabs so that it lines up under the source. */
  size_t show = line_start;
  const char *lead = "";
  if (where - line_start > 120) {
    show = where - 80;
    lead = "...";
  }
  size_t show_end = line_end - show > 200 ? show + 200 : line_end;
  char caret[128];
  size_t n = strlen(lead);
  memset(caret, ' ', n);
  for (size_t i = show; i < where && n + 2 < sizeof caret; i++)
    caret[n++] = p->text[i] == '\t' ? '\t' : ' ';
  caret[n++] = '^';
  caret[n] = '\0';
  rt_error(p->error, CHORD_ERROR_FORMAT, "%s:%zu:%zu: error: %s\n%s%.*s%s\n%s", p->file, line,
           where - line_start + 1, message, lead, (int)(show_end - show), p->text + show,
           show_end < line_end ? "..." : "", caret);
  return false;
}

static bool no_memory(parser *p) {
  if (!p->failed) {
    p->failed = true;
    rt_error(p->error, CHORD_ERROR_NO_MEMORY, "out of memory parsing %s", p->file);
  }
  return false;
}

static int peek(const parser *p) { return p->at < p->length ? (unsigned char)p->text[p->at] : -1; }

/* Skips white space and '#' comments. */
static void skip_space(parser *p) {
  for (;;) {
    int c = peek(p);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      p->at++;
    } else if (c == '#') {
      while (p->at < p->length && p->text[p->at] != '\n')
        p->at++;
    } else {
      return;
    }
  }
}

static bool accept(parser *p, char c) {
  skip_space(p);
  if (peek(p) == c) {
    p->at++;
    return true;
  }
  return false;
}

/* Where to report something missing at the cursor: when it is on a later line, just after the last
 * text before it (the end of the line that lacks it). */
static size_t missing_at(const parser *p) {
  size_t at = p->at;
  while (at > 0 && strchr(" \t\r\n", p->text[at - 1]))
    at--;
  return memchr(p->text + at, '\n', p->at - at) ? at : p->at;
}

static bool expect(parser *p, char c, const char *what) {
  if (accept(p, c))
    return true;
  return error_at(p, missing_at(p), "expected '%c' %s", c, what);
}

static bool is_ident_start(int c) { return c >= 0 && (isalpha(c) || c == '_'); }
static bool is_ident_char(int c) { return c >= 0 && (isalnum(c) || c == '_'); }
static bool is_name_char(int c) {
  return c >= 0 && (isalnum(c) || c == '_' || c == '.' || c == '-');
}

/* An identifier (keyword, op, dtype, attribute or enum spelling); length 0 if none. */
static size_t ident(parser *p, size_t *start) {
  skip_space(p);
  *start = p->at;
  if (!is_ident_start(peek(p)))
    return 0;
  while (is_ident_char(peek(p)))
    p->at++;
  return p->at - *start;
}

static bool ident_is(const parser *p, size_t start, size_t n, const char *word) {
  return strlen(word) == n && memcmp(p->text + start, word, n) == 0;
}

/* A string literal after its opening quote: decodes into an arena copy. */
static char *string_body(parser *p, bool for_name) {
  size_t open = p->at - 1, end = p->at;
  /* the decoded text is never longer than the raw text up to the closing quote */
  while (end < p->length && p->text[end] != '"' && p->text[end] != '\n')
    end += p->text[end] == '\\' && end + 1 < p->length ? 2 : 1;
  char *buf = ir_graph_alloc(p->g, end - p->at + 1);
  if (!buf) {
    no_memory(p);
    return NULL;
  }
  size_t n = 0;
  for (;;) {
    int c = peek(p);
    if (c < 0 || c == '\n') {
      error_at(p, open, "unterminated string");
      return NULL;
    }
    p->at++;
    if (c == '"')
      break;
    /* DEL too: the printer escapes it, and a name cannot hold an escape */
    if (for_name && (c == '\\' || c < 0x20 || c == 0x7f)) {
      error_at(p, p->at - 1, "a quoted name cannot hold '\\' or control characters");
      return NULL;
    }
    if (c == '\\') {
      int e = peek(p);
      p->at++;
      if (e == 'n') {
        c = '\n';
      } else if (e == 't') {
        c = '\t';
      } else if (e == '"' || e == '\\') {
        c = e;
      } else if (e == 'x' && p->at + 2 <= p->length && isxdigit((unsigned char)p->text[p->at]) &&
                 isxdigit((unsigned char)p->text[p->at + 1])) {
        char hex[3] = {p->text[p->at], p->text[p->at + 1], 0};
        c = (int)strtol(hex, NULL, 16);
        p->at += 2;
        if (c == 0) {
          error_at(p, p->at - 4, "a string cannot hold \\x00");
          return NULL;
        }
      } else {
        error_at(p, p->at - 2, "unknown escape in a string");
        return NULL;
      }
    }
    buf[n++] = (char)c;
  }
  buf[n] = '\0';
  return buf;
}

/* A name after its sigil: bare ([A-Za-z0-9_.-]+) or quoted. Points into the text when bare. */
static bool name(parser *p, const char **out, size_t *length, const char *what) {
  if (peek(p) == '"') {
    p->at++;
    char *s = string_body(p, true);
    if (!s)
      return false;
    if (!*s)
      return error_at(p, p->at - 2, "empty name");
    *out = s;
    *length = strlen(s);
    return true;
  }
  size_t start = p->at;
  while (is_name_char(peek(p)))
    p->at++;
  if (p->at == start)
    return error_at(p, start, "expected %s", what);
  *out = p->text + start;
  *length = p->at - start;
  return true;
}

static ir_value *find_symbol(parser *p, const char *name_text, size_t length) {
  return ir_symtab_get(&p->symbols, SYMBOL_VALUE, name_text, length);
}

static bool all_digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i]))
      return false;
  }
  return n > 0;
}

/* Records where v was written (for later diagnostics, e.g. chord opt --weights). */
static void locate(parser *p, size_t where, ir_value *v) {
  /* statements come in order, so the line cursor only moves forward */
  for (; p->line_at < where; p->line_at++)
    p->line += p->text[p->line_at] == '\n';
  size_t line_start = where;
  while (line_start > 0 && p->text[line_start - 1] != '\n')
    line_start--;
  v->line = (uint32_t)p->line;
  v->col = (uint32_t)(where - line_start + 1);
}

/* Binds a %name to v; a numeric name leaves v unnamed (the printer numbers it by position). */
static bool define(parser *p, size_t where, const char *name_text, size_t length, ir_value *v) {
  if (find_symbol(p, name_text, length))
    return error_at(p, where, "%%%.*s is defined twice", (int)length, name_text);
  if (!ir_symtab_put(&p->symbols, SYMBOL_VALUE, name_text, length, v))
    return no_memory(p);
  locate(p, where, v);
  if (!all_digits(name_text, length) && !(v->name = ir_graph_strndup(p->g, name_text, length)))
    return no_memory(p);
  return true;
}

/* ---- numbers, dimensions, types -------------------------------------------------------------- */

static bool integer(parser *p, int64_t *out) {
  skip_space(p);
  size_t start = p->at;
  if (peek(p) == '-')
    p->at++;
  if (!(peek(p) >= '0' && peek(p) <= '9'))
    return error_at(p, start, "expected an integer");
  while (peek(p) >= '0' && peek(p) <= '9')
    p->at++;
  if (peek(p) == '.' || is_ident_char(peek(p)))
    return error_at(p, start, "expected an integer");
  char buf[32];
  if (p->at - start >= sizeof buf)
    return error_at(p, start, "integer out of range");
  memcpy(buf, p->text + start, p->at - start);
  buf[p->at - start] = '\0';
  errno = 0;
  long long v = strtoll(buf, NULL, 10);
  if (errno == ERANGE)
    return error_at(p, start, "integer out of range");
  *out = v;
  return true;
}

static bool dim_expr(parser *p, ir_dim *out);

/* Reported at the operator whose result leaves the limit (IR_DIM_LIMIT, docs/ir.md). */
static bool dim_overflows(parser *p, size_t where) {
  return error_at(p, where, "dimension overflows (coefficients are at most 2^62 in magnitude)");
}

static bool dim_factor_at(parser *p, ir_dim *out);

static bool dim_factor(parser *p, ir_dim *out) {
  skip_space(p);
  if (p->dim_nesting >= DIM_MAX_NESTING)
    return error_at(p, p->at, "dimension nested too deeply (at most %d levels)", DIM_MAX_NESTING);
  p->dim_nesting++;
  bool ok = dim_factor_at(p, out);
  p->dim_nesting--;
  return ok;
}

static bool dim_factor_at(parser *p, ir_dim *out) {
  size_t start = p->at;
  int c = peek(p);
  if (c == '(') {
    p->at++;
    return dim_expr(p, out) && expect(p, ')', "to close the parenthesis");
  }
  if (c == '-') {
    p->at++;
    ir_dim inner;
    if (!dim_factor(p, &inner))
      return false;
    /* the limit is symmetric, so this holds; checked all the same */
    if (!ir_dim_sub(ir_dim_const(0), inner, out))
      return dim_overflows(p, start);
    return true;
  }
  if ((c == 'T' || c == 'P') && !is_ident_char(p->at + 1 < p->length ? p->text[p->at + 1] : -1)) {
    p->at++;
    *out = c == 'T' ? (ir_dim){1, 0, 0} : (ir_dim){0, 1, 0};
    return true;
  }
  if (c >= '0' && c <= '9') {
    int64_t v;
    if (!integer(p, &v))
      return false;
    if (!ir_dim_in_range(ir_dim_const(v)))
      return error_at(p, start,
                      "dimension out of range (coefficients are at most 2^62 in magnitude)");
    *out = ir_dim_const(v);
    return true;
  }
  return error_at(p, start, "expected a dimension: an integer, T, P or an expression of them");
}

static bool dim_term(parser *p, ir_dim *out) {
  if (!dim_factor(p, out))
    return false;
  for (;;) {
    skip_space(p);
    size_t where = p->at;
    int c = peek(p);
    if (c != '*' && c != '/')
      return true;
    p->at++;
    ir_dim rhs;
    if (!dim_factor(p, &rhs))
      return false;
    if (c == '*' && !ir_dim_is_const(*out) && !ir_dim_is_const(rhs))
      return error_at(p, where,
                      "a dimension must be linear in T and P (a product needs a constant)");
    if (c == '*' && !ir_dim_mul(*out, rhs, out))
      return dim_overflows(p, where);
    if (c == '/' && !ir_dim_div(*out, rhs, out))
      return error_at(p, where,
                      "division in a dimension must be by a constant that divides it exactly");
  }
}

static bool dim_expr(parser *p, ir_dim *out) {
  if (!dim_term(p, out))
    return false;
  for (;;) {
    skip_space(p);
    size_t where = p->at;
    int c = peek(p);
    if (c != '+' && c != '-')
      return true;
    p->at++;
    ir_dim rhs;
    if (!dim_term(p, &rhs))
      return false;
    if (!(c == '+' ? ir_dim_add(*out, rhs, out) : ir_dim_sub(*out, rhs, out)))
      return dim_overflows(p, where);
  }
}

/* '[' dim, ... ']' */
static bool dim_list(parser *p, ir_dim *dims, uint32_t *rank) {
  if (!expect(p, '[', "to open the dimensions"))
    return false;
  *rank = 0;
  if (accept(p, ']'))
    return true;
  do {
    skip_space(p);
    if (*rank == IR_MAX_DIMS)
      return error_at(p, p->at, "more than %d dimensions", IR_MAX_DIMS);
    size_t where = p->at;
    if (!dim_expr(p, &dims[*rank]))
      return false;
    if (ir_dim_is_const(dims[*rank]) && dims[*rank].c < 0)
      return error_at(p, where, "a dimension cannot be negative");
    (*rank)++;
  } while (accept(p, ','));
  return expect(p, ']', "to close the dimensions");
}

static bool type(parser *p, ir_type *out) {
  size_t start;
  size_t n = ident(p, &start);
  if (!n)
    return error_at(p, start, "expected a type such as f32[T, 640]");
  char buf[32];
  snprintf(buf, sizeof buf, "%.*s", (int)(n < 31 ? n : 31), p->text + start);
  if (n >= 31 || !ir_dtype_from_name(buf, &out->dtype) || strcmp(ir_dtype_name(out->dtype), buf))
    return error_at(p, start, "unknown dtype '%.*s'", (int)n, p->text + start);
  return dim_list(p, out->dims, &out->rank);
}

/* ---- attributes ------------------------------------------------------------------------------ */

static bool float_value(parser *p, double *out) {
  skip_space(p);
  size_t start = p->at;
  bool negative = peek(p) == '-';
  if (negative || peek(p) == '+')
    p->at++;
  size_t id_start;
  size_t n = ident(p, &id_start);
  if (n && id_start == p->at - n &&
      (ident_is(p, id_start, n, "inf") || ident_is(p, id_start, n, "nan"))) {
    double v = ident_is(p, id_start, n, "inf") ? HUGE_VAL : NAN;
    *out = negative ? -v : v;
    return true;
  }
  p->at = start;
  char *end;
  errno = 0;
  /* strtod needs a terminated buffer: numbers are short, copy at most 64 characters */
  char buf[65];
  size_t len = p->length - start < 64 ? p->length - start : 64;
  memcpy(buf, p->text + start, len);
  buf[len] = '\0';
  if (!(isdigit((unsigned char)buf[0]) || ((buf[0] == '-' || buf[0] == '+' || buf[0] == '.') &&
                                           (isdigit((unsigned char)buf[1]) || buf[1] == '.'))))
    return error_at(p, start, "expected a number");
  double v = strtod(buf, &end);
  if (end == buf || isalpha((unsigned char)*end) || *end == '_')
    return error_at(p, start, "expected a number");
  if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL))
    return error_at(p, start, "number out of range");
  p->at = start + (size_t)(end - buf);
  *out = v;
  return true;
}

static bool attr_value(parser *p, ir_attr *a, size_t name_at) {
  const ir_attr_info *info = ir_attr_get(a->id);
  skip_space(p);
  size_t where = p->at;
  switch (info->kind) {
  case IR_ATTR_KIND_INT: return integer(p, &a->as.i);
  case IR_ATTR_KIND_FLOAT: return float_value(p, &a->as.f);
  case IR_ATTR_KIND_STRING:
    if (!accept(p, '"'))
      return error_at(p, where, "%s takes a string", info->name);
    a->as.s = string_body(p, false);
    return a->as.s != NULL;
  case IR_ATTR_KIND_ENUM: {
    size_t start;
    size_t n = ident(p, &start);
    int index = n ? ir_attr_enum_index(a->id, p->text + start, n) : -1;
    if (index < 0)
      return error_at(p, where, "%s must be one of %s", info->name, info->values);
    a->as.i = index;
    return true;
  }
  case IR_ATTR_KIND_INT_LIST: {
    if (!expect(p, '[', "to open the list"))
      return false;
    int64_t values[IR_MAX_DIMS * 4];
    uint32_t count = 0;
    if (!accept(p, ']')) {
      do {
        skip_space(p);
        if (count == sizeof values / sizeof values[0])
          return error_at(p, p->at, "list too long");
        if (!integer(p, &values[count++]))
          return false;
      } while (accept(p, ','));
      if (!expect(p, ']', "to close the list"))
        return false;
    }
    int64_t *list = ir_graph_alloc(p->g, sizeof *list * (count ? count : 1));
    if (!list)
      return no_memory(p);
    memcpy(list, values, sizeof *list * count);
    a->as.list = list;
    a->count = count;
    return true;
  }
  case IR_ATTR_KIND_SHAPE: {
    ir_dim *dims = ir_graph_alloc(p->g, sizeof *dims * IR_MAX_DIMS);
    if (!dims)
      return no_memory(p);
    a->as.dims = dims;
    return dim_list(p, dims, &a->count);
  }
  }
  (void)name_at;
  return false;
}

/* '{' name '=' value, ... '}' for op; positions recorded for later errors. */
static bool attr_list(parser *p, ir_op op, ir_attr *attrs, uint32_t *n_attrs) {
  const ir_op_info *info = ir_op_get(op);
  *n_attrs = 0;
  if (!accept(p, '{'))
    return true;
  uint64_t seen = 0;
  do {
    size_t start;
    size_t n = ident(p, &start);
    if (!n)
      return error_at(p, start, "expected an attribute name");
    ir_attr_id id;
    if (!ir_attr_from_name(p->text + start, n, &id))
      return error_at(p, start, "unknown attribute '%.*s'", (int)n, p->text + start);
    if (!(info->attrs & (1ull << id)))
      return error_at(p, start, "%s takes no attribute %s", info->name, ir_attr_get(id)->name);
    if (seen & (1ull << id))
      return error_at(p, start, "attribute %s given twice", ir_attr_get(id)->name);
    seen |= 1ull << id;
    if (!expect(p, '=', "after the attribute name"))
      return false;
    attrs[*n_attrs] = (ir_attr){.id = id};
    if (!attr_value(p, &attrs[*n_attrs], start))
      return false;
    (*n_attrs)++;
  } while (accept(p, ','));
  return expect(p, '}', "to close the attributes");
}

/* ---- statements ------------------------------------------------------------------------------ */

/* A builder's refusal (a shape rule's reason, a bad type, no memory), reported at `where`. */
static bool builder_failed(parser *p, size_t where, const chord_error *build_error) {
  if (build_error->status == CHORD_ERROR_NO_MEMORY)
    return no_memory(p);
  return error_at(p, where, "%s", build_error->message);
}

static bool operand(parser *p, ir_value **out) {
  skip_space(p);
  size_t where = p->at;
  int sigil = peek(p);
  if (sigil != '%' && sigil != '@')
    return error_at(p, where, "expected a value (%%name or @weight)");
  p->at++;
  const char *text;
  size_t length;
  if (!name(p, &text, &length, "a name"))
    return false;
  if (sigil == '@') {
    *out = ir_symtab_get(&p->symbols, SYMBOL_WEIGHT, text, length);
    if (!*out)
      return error_at(p, where, "undeclared weight @%.*s", (int)length, text);
    return true;
  }
  *out = find_symbol(p, text, length);
  if (!*out)
    return error_at(p, where, "use of undefined value %%%.*s", (int)length, text);
  return true;
}

/* input|state %name : type */
static bool leaf(parser *p, ir_value_kind kind) {
  skip_space(p);
  size_t where = p->at;
  if (!expect(p, '%', "before the value name"))
    return false;
  const char *text;
  size_t length;
  if (!name(p, &text, &length, "a value name") || !expect(p, ':', "before the type"))
    return false;
  skip_space(p);
  size_t type_at = p->at;
  ir_type t;
  if (!type(p, &t))
    return false;
  chord_error build_error;
  ir_value *v = kind == IR_VALUE_INPUT ? ir_graph_add_input(p->g, NULL, &t, &build_error)
                                       : ir_graph_add_state(p->g, NULL, &t, &build_error);
  if (!v)
    return builder_failed(p, type_at, &build_error);
  return define(p, where, text, length, v);
}

/* weight @tensor.name : type */
static bool weight(parser *p) {
  skip_space(p);
  size_t where = p->at;
  if (!expect(p, '@', "before the tensor name"))
    return false;
  const char *text;
  size_t length;
  if (!name(p, &text, &length, "a tensor name"))
    return false;
  if (ir_symtab_get(&p->symbols, SYMBOL_WEIGHT, text, length))
    return error_at(p, where, "weight @%.*s is declared twice", (int)length, text);
  char *copy = rt_strndup(text, length);
  if (!copy)
    return no_memory(p);
  ir_type t;
  bool ok = expect(p, ':', "before the type") && type(p, &t);
  chord_error build_error;
  ir_value *v = ok ? ir_graph_add_weight(p->g, copy, &t, &build_error) : NULL;
  rt_free(copy);
  if (ok && !v)
    return builder_failed(p, where, &build_error);
  if (ok && !ir_symtab_put(&p->symbols, SYMBOL_WEIGHT, v->name, length, v))
    return no_memory(p);
  if (ok)
    locate(p, where, v);
  return ok;
}

/* %name = op operand, ... {attrs} : type */
static bool node(parser *p) {
  size_t where = p->at;
  p->at++; /* '%' */
  const char *text;
  size_t length;
  if (!name(p, &text, &length, "a value name"))
    return false;
  if (find_symbol(p, text, length))
    return error_at(p, where, "%%%.*s is defined twice", (int)length, text);
  if (!expect(p, '=', "after the value name"))
    return false;
  size_t op_at;
  size_t n = ident(p, &op_at);
  ir_op op;
  if (!n)
    return error_at(p, op_at, "expected an op name");
  if (!ir_op_from_name(p->text + op_at, n, &op))
    return error_at(p, op_at, "unknown op '%.*s'", (int)n, p->text + op_at);
  ir_value *operands[16];
  uint32_t n_operands = 0;
  skip_space(p);
  if (peek(p) == '%' || peek(p) == '@') {
    do {
      skip_space(p);
      if (n_operands == 16)
        return error_at(p, p->at, "too many operands");
      if (!operand(p, &operands[n_operands++]))
        return false;
    } while (accept(p, ','));
  }
  ir_attr attrs[IR_ATTR_COUNT];
  uint32_t n_attrs;
  if (!attr_list(p, op, attrs, &n_attrs) || !expect(p, ':', "before the result type"))
    return false;
  skip_space(p);
  size_t type_at = p->at;
  ir_type written;
  if (!type(p, &written))
    return false;
  chord_error build_error;
  ir_value *v = ir_build(p->g, op, operands, n_operands, attrs, n_attrs, &build_error);
  if (!v)
    return builder_failed(p, op_at, &build_error);
  if (!ir_type_equal(&written, &v->type)) {
    char have[256], want[256];
    ir_type_format(&written, have, sizeof have);
    ir_type_format(&v->type, want, sizeof want);
    return error_at(p, type_at, "type %s does not match the inferred %s", have, want);
  }
  return define(p, where, text, length, v);
}

static bool statement(parser *p) {
  skip_space(p);
  if (peek(p) == '%')
    return node(p);
  size_t start;
  size_t n = ident(p, &start);
  if (ident_is(p, start, n, "input"))
    return leaf(p, IR_VALUE_INPUT);
  if (ident_is(p, start, n, "state"))
    return leaf(p, IR_VALUE_STATE);
  if (ident_is(p, start, n, "weight"))
    return weight(p);
  if (ident_is(p, start, n, "output")) {
    ir_value *v;
    if (!operand(p, &v))
      return false;
    if (ir_graph_add_output(p->g, v, p->error) != CHORD_OK)
      return no_memory(p);
    return true;
  }
  return error_at(p, start, "expected input, weight, state, output or %%name = op ...");
}

static bool graph(parser *p) {
  size_t start;
  size_t n = ident(p, &start);
  if (!ident_is(p, start, n, "graph"))
    return error_at(p, start, "expected 'graph @name {'");
  skip_space(p);
  if (!expect(p, '@', "before the graph name"))
    return false;
  const char *text;
  size_t length;
  if (!name(p, &text, &length, "a graph name"))
    return false;
  p->g->name = ir_graph_strndup(p->g, text, length);
  if (!p->g->name)
    return no_memory(p);
  if (!expect(p, '{', "to open the graph"))
    return false;
  while (!accept(p, '}')) {
    if (peek(p) < 0)
      return error_at(p, missing_at(p), "expected '}' to close the graph");
    if (!statement(p))
      return false;
  }
  skip_space(p);
  if (peek(p) >= 0)
    return error_at(p, p->at, "text after the end of the graph");
  return true;
}

chord_status ir_parse(const char *text, size_t length, const char *file_name, ir_graph **out,
                      chord_error *error) {
  *out = NULL;
  parser p = {.text = text,
              .file = file_name ? file_name : "<input>",
              .length = length,
              .error = error,
              .line = 1};
  if (memchr(text, '\0', length)) {
    size_t at = (size_t)((const char *)memchr(text, '\0', length) - text);
    p.length = at;
    error_at(&p, at, "NUL byte in the input");
    return CHORD_ERROR_FORMAT;
  }
  chord_status status = ir_graph_init(&p.g, "main", error);
  if (status != CHORD_OK)
    return status;
  bool ok = graph(&p);
  ir_symtab_free(&p.symbols);
  if (!ok) {
    ir_graph_free(p.g);
    return error ? error->status : CHORD_ERROR_FORMAT;
  }
  *out = p.g;
  return CHORD_OK;
}
