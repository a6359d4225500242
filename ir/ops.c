/* Expands the op and attribute tables, and the dimension arithmetic of types. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/shape.h"

#define A(x) (1ull << IR_ATTR_##x)
#define F(x) IR_FLAG_##x
static const ir_op_info op_table[IR_OP_COUNT] = {
#define X(NAME, name, min_operands, max_operands, attrs, required, flags, shape_rule, semantics)   \
  [IR_OP_##NAME] = {name,     min_operands, max_operands,    attrs,                                \
                    required, flags,        ir_##shape_rule, semantics},
#include "ir/ops.def"
#undef X
};
#undef A
#undef F

static const ir_attr_info attr_table[IR_ATTR_COUNT] = {
#define X(NAME, name, kind, values) [IR_ATTR_##NAME] = {name, IR_ATTR_KIND_##kind, values},
#include "ir/attrs.def"
#undef X
};

const ir_op_info *ir_op_get(ir_op op) { return (unsigned)op < IR_OP_COUNT ? &op_table[op] : NULL; }

bool ir_op_from_name(const char *name, size_t length, ir_op *out) {
  for (int op = 0; op < IR_OP_COUNT; op++) {
    if (strlen(op_table[op].name) == length && memcmp(op_table[op].name, name, length) == 0) {
      *out = (ir_op)op;
      return true;
    }
  }
  return false;
}

const ir_attr_info *ir_attr_get(ir_attr_id id) {
  return (unsigned)id < IR_ATTR_COUNT ? &attr_table[id] : NULL;
}

bool ir_attr_from_name(const char *name, size_t length, ir_attr_id *out) {
  for (int id = 0; id < IR_ATTR_COUNT; id++) {
    if (strlen(attr_table[id].name) == length && memcmp(attr_table[id].name, name, length) == 0) {
      *out = (ir_attr_id)id;
      return true;
    }
  }
  return false;
}

const char *ir_attr_kind_name(ir_attr_kind kind) {
  switch (kind) {
  case IR_ATTR_KIND_INT: return "int";
  case IR_ATTR_KIND_FLOAT: return "float";
  case IR_ATTR_KIND_STRING: return "string";
  case IR_ATTR_KIND_INT_LIST: return "int list";
  case IR_ATTR_KIND_ENUM: return "enum";
  case IR_ATTR_KIND_SHAPE: return "shape";
  }
  return "?";
}

/* Walks the '|'-separated spellings: the index-th one's start and length. */
static bool enum_nth(const char *values, int index, const char **start, size_t *length) {
  const char *s = values;
  for (int i = 0; *s; i++) {
    const char *end = strchr(s, '|');
    size_t n = end ? (size_t)(end - s) : strlen(s);
    if (i == index) {
      *start = s;
      *length = n;
      return true;
    }
    if (!end)
      break;
    s = end + 1;
  }
  return false;
}

int ir_attr_enum_index(ir_attr_id id, const char *spelling, size_t length) {
  const ir_attr_info *info = ir_attr_get(id);
  if (!info || info->kind != IR_ATTR_KIND_ENUM)
    return -1;
  const char *start;
  size_t n;
  for (int i = 0; enum_nth(info->values, i, &start, &n); i++) {
    if (n == length && memcmp(start, spelling, n) == 0)
      return i;
  }
  return -1;
}

bool ir_attr_enum_spelling(ir_attr_id id, int index, char *buf, size_t size) {
  const ir_attr_info *info = ir_attr_get(id);
  const char *start;
  size_t n;
  if (!info || info->kind != IR_ATTR_KIND_ENUM || index < 0 ||
      !enum_nth(info->values, index, &start, &n))
    return false;
  snprintf(buf, size, "%.*s", (int)n, start);
  return true;
}

/* ---- dimensions ------------------------------------------------------------------------------ */

static bool coefficient_in_range(int64_t k) { return k >= -IR_DIM_LIMIT && k <= IR_DIM_LIMIT; }

bool ir_dim_in_range(ir_dim d) {
  return coefficient_in_range(d.t) && coefficient_in_range(d.p) && coefficient_in_range(d.c);
}

/* Each helper fails on int64_t overflow as well as past the limit: callers may pass any dims. */
static bool add_checked(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_add_overflow(a, b, out) && coefficient_in_range(*out);
}

static bool sub_checked(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_sub_overflow(a, b, out) && coefficient_in_range(*out);
}

static bool mul_checked(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_mul_overflow(a, b, out) && coefficient_in_range(*out);
}

/* a / b, exact; INT64_MIN / -1 is the one quotient that does not fit (and its % traps). */
static bool div_checked(int64_t a, int64_t b, int64_t *out) {
  if (b == 0 || (b == -1 && a == INT64_MIN) || a % b)
    return false;
  *out = a / b;
  return coefficient_in_range(*out);
}

bool ir_dim_add(ir_dim a, ir_dim b, ir_dim *out) {
  ir_dim r;
  if (!add_checked(a.t, b.t, &r.t) || !add_checked(a.p, b.p, &r.p) || !add_checked(a.c, b.c, &r.c))
    return false;
  *out = r;
  return true;
}

bool ir_dim_sub(ir_dim a, ir_dim b, ir_dim *out) {
  ir_dim r;
  if (!sub_checked(a.t, b.t, &r.t) || !sub_checked(a.p, b.p, &r.p) || !sub_checked(a.c, b.c, &r.c))
    return false;
  *out = r;
  return true;
}

bool ir_dim_is_const(ir_dim d) { return d.t == 0 && d.p == 0; }
bool ir_dim_equal(ir_dim a, ir_dim b) { return a.t == b.t && a.p == b.p && a.c == b.c; }

bool ir_dim_mul(ir_dim a, ir_dim b, ir_dim *out) {
  if (!ir_dim_is_const(a) && !ir_dim_is_const(b))
    return false;
  if (!ir_dim_is_const(a)) {
    ir_dim swap = a;
    a = b;
    b = swap;
  }
  ir_dim r;
  if (!mul_checked(a.c, b.t, &r.t) || !mul_checked(a.c, b.p, &r.p) || !mul_checked(a.c, b.c, &r.c))
    return false;
  *out = r;
  return true;
}

bool ir_dim_div(ir_dim a, ir_dim b, ir_dim *out) {
  ir_dim r;
  if (!ir_dim_is_const(b) || !div_checked(a.t, b.c, &r.t) || !div_checked(a.p, b.c, &r.p) ||
      !div_checked(a.c, b.c, &r.c))
    return false;
  *out = r;
  return true;
}

/* Appends one term: coefficient * symbol (symbol NULL for the constant). */
static size_t format_term(char *buf, size_t size, size_t at, int64_t k, const char *symbol) {
  if (k == 0)
    return at;
  char term[48];
  uint64_t mag = k < 0 ? 0 - (uint64_t)k : (uint64_t)k;
  const char *sign = k < 0 ? "-" : (at ? "+" : "");
  if (!symbol)
    snprintf(term, sizeof term, "%s%" PRIu64, sign, mag);
  else if (mag == 1)
    snprintf(term, sizeof term, "%s%s", sign, symbol);
  else
    snprintf(term, sizeof term, "%s%" PRIu64 "*%s", sign, mag, symbol);
  int n = snprintf(buf + (at < size ? at : size), at < size ? size - at : 0, "%s", term);
  return at + (size_t)n;
}

void ir_dim_format(ir_dim d, char *buf, size_t size) {
  if (size)
    buf[0] = '\0';
  if (ir_dim_is_const(d)) {
    snprintf(buf, size, "%" PRId64, d.c);
    return;
  }
  size_t at = 0;
  at = format_term(buf, size, at, d.p, "P");
  at = format_term(buf, size, at, d.t, "T");
  format_term(buf, size, at, d.c, NULL);
}

bool ir_type_equal(const ir_type *a, const ir_type *b) {
  if (a->dtype != b->dtype || a->rank != b->rank)
    return false;
  for (uint32_t i = 0; i < a->rank; i++) {
    if (!ir_dim_equal(a->dims[i], b->dims[i]))
      return false;
  }
  return true;
}

void ir_type_format(const ir_type *t, char *buf, size_t size) {
  size_t at = (size_t)snprintf(buf, size, "%s[", ir_dtype_name(t->dtype));
  for (uint32_t i = 0; i < t->rank && at < size; i++) {
    char dim[96];
    ir_dim_format(t->dims[i], dim, sizeof dim);
    at += (size_t)snprintf(buf + at, size - at, i ? ", %s" : "%s", dim);
  }
  if (at < size)
    snprintf(buf + at, size - at, "]");
}

static int64_t gcd64(int64_t a, int64_t b) {
  /* callers pass in-range coefficients, so negation cannot wrap */
  if (a < 0)
    a = -a;
  if (b < 0)
    b = -b;
  while (b) {
    int64_t r = a % b;
    a = b;
    b = r;
  }
  return a;
}

/* A shape's element count as a product: the magnitudes and sign of its constant factors and its
 * symbolic dims made primitive (coefficients with no common factor and a positive leading one).
 * The constants stay separate because their product may not fit in 64 bits. */
typedef struct count_form {
  int64_t constants[IR_MAX_DIMS];
  ir_dim factors[IR_MAX_DIMS]; /* sorted by (p, t, c) */
  uint32_t n_factors;
  bool negative, zero;
} count_form;

static bool count_form_of(const ir_dim *dims, uint32_t rank, count_form *f) {
  *f = (count_form){.n_factors = 0};
  if (rank > IR_MAX_DIMS)
    return false;
  for (uint32_t i = 0; i < rank; i++) {
    ir_dim d = dims[i];
    if (!ir_dim_in_range(d))
      return false;
    int64_t g = d.c;
    if (!ir_dim_is_const(d)) {
      g = gcd64(gcd64(d.t, d.p), d.c);
      int64_t lead = d.p ? d.p : d.t;
      if (lead < 0)
        g = -g;
      ir_dim primitive = {d.t / g, d.p / g, d.c / g};
      uint32_t at = f->n_factors++;
      /* insertion sort by (p, t, c) */
      while (at > 0) {
        ir_dim prev = f->factors[at - 1];
        bool greater = prev.p != primitive.p   ? prev.p > primitive.p
                       : prev.t != primitive.t ? prev.t > primitive.t
                                               : prev.c > primitive.c;
        if (!greater)
          break;
        f->factors[at] = prev;
        at--;
      }
      f->factors[at] = primitive;
    }
    f->zero = f->zero || g == 0;
    f->negative = f->negative != (g < 0);
    f->constants[i] = g < 0 ? -g : g;
  }
  for (uint32_t i = rank; i < IR_MAX_DIMS; i++)
    f->constants[i] = 1;
  return true;
}

/* Whether two lists of positive numbers have the same product, without forming it: cancelling the
 * gcd of every pair leaves each pair coprime, so the products agree iff nothing but 1s is left. */
static bool same_product(int64_t *a, int64_t *b) {
  for (uint32_t i = 0; i < IR_MAX_DIMS; i++) {
    for (uint32_t j = 0; j < IR_MAX_DIMS; j++) {
      int64_t g = gcd64(a[i], b[j]);
      a[i] /= g;
      b[j] /= g;
    }
  }
  for (uint32_t i = 0; i < IR_MAX_DIMS; i++) {
    if (a[i] != 1 || b[i] != 1)
      return false;
  }
  return true;
}

/* Linear forms factor uniquely, so two shapes have the same count everywhere iff their constant
 * products and their sorted primitive factors agree. */
bool ir_shape_same_count(const ir_dim *a, uint32_t rank_a, const ir_dim *b, uint32_t rank_b) {
  count_form fa, fb;
  if (!count_form_of(a, rank_a, &fa) || !count_form_of(b, rank_b, &fb))
    return false;
  if (fa.zero != fb.zero || fa.n_factors != fb.n_factors)
    return false;
  if (!fa.zero && (fa.negative != fb.negative || !same_product(fa.constants, fb.constants)))
    return false;
  for (uint32_t i = 0; i < fa.n_factors; i++) {
    if (!ir_dim_equal(fa.factors[i], fb.factors[i]))
      return false;
  }
  return true;
}
