/* The printer: the text form (docs/ir.md), canonical so that print -> parse -> print is identical.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/internal.h"
#include "runtime/support/error.h"

/* The shortest %g spelling that reads back as the same double, with ".0" added when it would
 * otherwise read as an integer. */
static void format_float(double x, char *buf, size_t size) {
  if (isnan(x)) {
    snprintf(buf, size, "nan");
    return;
  }
  if (isinf(x)) {
    snprintf(buf, size, x < 0 ? "-inf" : "inf");
    return;
  }
  for (int precision = 1; precision <= 17; precision++) {
    snprintf(buf, size, "%.*g", precision, x);
    if (strtod(buf, NULL) == x)
      break;
  }
  /* whole numbers read better as 500000.0 than as 5e+05 */
  if (strchr(buf, 'e') && x == floor(x) && fabs(x) >= 1 && fabs(x) < 1e16)
    snprintf(buf, size, "%.0f", x);
  if (!strpbrk(buf, ".en"))
    strncat(buf, ".0", size - strlen(buf) - 1);
}

static void print_string(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\')
      fprintf(out, "\\%c", *c);
    else if (*c == '\n')
      fputs("\\n", out);
    else if (*c == '\t')
      fputs("\\t", out);
    else if (*c < 0x20 || *c == 0x7f)
      fprintf(out, "\\x%02x", *c);
    else
      fputc(*c, out);
  }
  fputc('"', out);
}

static void print_name(FILE *out, char sigil, const char *name) {
  fputc(sigil, out);
  if (ir_name_is_bare(name))
    fputs(name, out);
  else
    print_string(out, name);
}

/* What ir_value_label gives, streamed: a name of any length prints whole, so labels never get cut
 * short (a cut one would lose its closing quote, or collide with another sharing its start). */
static void print_label(FILE *out, const ir_value *v) {
  if (v->name)
    print_name(out, v->kind == IR_VALUE_WEIGHT ? '@' : '%', v->name);
  else
    fprintf(out, "%%%" PRIu32, v->index);
}

static void print_type(FILE *out, const ir_type *t) {
  char buf[512];
  ir_type_format(t, buf, sizeof buf);
  fputs(buf, out);
}

static void print_attr(FILE *out, const ir_attr *a) {
  const ir_attr_info *info = ir_attr_get(a->id);
  fprintf(out, "%s = ", info->name);
  char buf[96];
  switch (info->kind) {
  case IR_ATTR_KIND_INT: fprintf(out, "%" PRId64, a->as.i); break;
  case IR_ATTR_KIND_FLOAT:
    format_float(a->as.f, buf, sizeof buf);
    fputs(buf, out);
    break;
  case IR_ATTR_KIND_STRING: print_string(out, a->as.s); break;
  case IR_ATTR_KIND_ENUM:
    if (!ir_attr_enum_spelling(a->id, (int)a->as.i, buf, sizeof buf))
      snprintf(buf, sizeof buf, "?%" PRId64, a->as.i);
    fputs(buf, out);
    break;
  case IR_ATTR_KIND_INT_LIST:
    fputc('[', out);
    for (uint32_t i = 0; i < a->count; i++)
      fprintf(out, i ? ", %" PRId64 : "%" PRId64, a->as.list[i]);
    fputc(']', out);
    break;
  case IR_ATTR_KIND_SHAPE:
    fputc('[', out);
    for (uint32_t i = 0; i < a->count; i++) {
      ir_dim_format(a->as.dims[i], buf, sizeof buf);
      fprintf(out, i ? ", %s" : "%s", buf);
    }
    fputc(']', out);
    break;
  }
}

chord_status ir_print(const ir_graph *g, FILE *out, chord_error *error) {
  fputs("graph ", out);
  print_name(out, '@', g->name);
  fputs(" {\n", out);
  for (uint32_t i = 0; i < g->n_values; i++) {
    const ir_value *v = g->values[i];
    fputs("  ", out);
    switch (v->kind) {
    case IR_VALUE_INPUT: fputs("input ", out); break;
    case IR_VALUE_WEIGHT: fputs("weight ", out); break;
    case IR_VALUE_STATE: fputs("state ", out); break;
    case IR_VALUE_NODE: break;
    }
    print_label(out, v);
    if (v->kind == IR_VALUE_NODE) {
      fprintf(out, " = %s", ir_op_get(v->op)->name);
      for (uint32_t k = 0; k < v->n_operands; k++) {
        fputs(k ? ", " : " ", out);
        print_label(out, v->operands[k]);
      }
      if (v->n_attrs) {
        fputs(" {", out);
        for (uint32_t k = 0; k < v->n_attrs; k++) {
          if (k)
            fputs(", ", out);
          print_attr(out, &v->attrs[k]);
        }
        fputc('}', out);
      }
    }
    fputs(" : ", out);
    print_type(out, &v->type);
    fputc('\n', out);
  }
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    fputs("  output ", out);
    print_label(out, g->outputs[i]);
    fputc('\n', out);
  }
  fputs("}\n", out);
  if (ferror(out))
    return rt_error(error, CHORD_ERROR_IO, "cannot write the IR");
  return CHORD_OK;
}
