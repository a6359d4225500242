/* The fused_region body parser (ir/fused_body.h): recursive descent straight into postfix, with
 * every error naming the column of the body where it was found. */
#include "ir/fused_body.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ir_fused_fn_info fused_fns[IR_FUSED_FN_COUNT] = {
#define X(NAME, name, arity, literal, semantics) {#name, arity, literal, semantics},
    IR_FUSED_FUNCTIONS(X)
#undef X
};

const ir_fused_fn_info *ir_fused_fn_get(ir_fused_fn fn) {
  return (unsigned)fn < IR_FUSED_FN_COUNT ? &fused_fns[fn] : NULL;
}

typedef struct body_parser {
  const char *body, *at;
  uint32_t n_operands;
  uint32_t nesting, depth;
  ir_fused_program *out;
  char *why;
  size_t why_size;
} body_parser;

static bool body_error(body_parser *p, const char *where, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static bool body_error(body_parser *p, const char *where, const char *format, ...) {
  int n = snprintf(p->why, p->why_size, "body column %td: ", where - p->body + 1);
  if (n >= 0 && (size_t)n < p->why_size) {
    va_list args;
    va_start(args, format);
    vsnprintf(p->why + n, p->why_size - (size_t)n, format, args);
    va_end(args);
  }
  return false;
}

/* The character at s as a message shows it: 'x', or \xHH when it would not print. */
static const char *shown(const char *s, char buf[8]) {
  unsigned char c = (unsigned char)*s;
  if (c == '\0')
    return "the end of the body";
  if (c >= 0x20 && c < 0x7f)
    snprintf(buf, 8, "'%c'", c);
  else
    snprintf(buf, 8, "'\\x%02x'", c);
  return buf;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_name(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || is_digit(c);
}

static void skip_space(body_parser *p) {
  while (is_space(*p->at))
    p->at++;
}

static bool emit(body_parser *p, const char *where, ir_fused_step step) {
  ir_fused_program *out = p->out;
  if (out->n_steps == IR_FUSED_MAX_STEPS)
    return body_error(p, where, "the body is longer than %d operands, numbers and calls",
                      IR_FUSED_MAX_STEPS);
  if (step.kind == IR_FUSED_STEP_CALL)
    p->depth -= fused_fns[step.index].arity - 1;
  else if (++p->depth > out->depth)
    out->depth = p->depth;
  out->steps[out->n_steps++] = step;
  return true;
}

static bool parse_operand(body_parser *p) {
  const char *start = p->at++;
  if (!is_digit(*p->at)) {
    char c[8];
    return body_error(p, p->at, "expected an operand index after '$', not %s", shown(p->at, c));
  }
  uint64_t index = 0;
  while (is_digit(*p->at)) {
    if (index < UINT32_MAX) /* saturate: any huge index is out of range below */
      index = index * 10 + (uint64_t)(*p->at - '0');
    p->at++;
  }
  if (index >= p->n_operands)
    return body_error(
        p, start, "$%" PRIu64 " is not an operand: the region has %" PRIu32 " ($0..$%" PRIu32 ")",
        index, p->n_operands, p->n_operands - 1);
  return emit(p, start, (ir_fused_step){IR_FUSED_STEP_OPERAND, (uint32_t)index, 0});
}

/* [-+]? digits [. digits] [e [-+] digits], at least one mantissa digit: decimal only, so
 * strtod's hex, inf and nan spellings never reach it. */
static bool parse_number(body_parser *p) {
  const char *start = p->at, *s = p->at;
  if (*s == '-' || *s == '+')
    s++;
  const char *mantissa = s;
  while (is_digit(*s))
    s++;
  if (*s == '.')
    for (s++; is_digit(*s); s++) {}
  bool digits = false;
  for (const char *m = mantissa; m < s; m++)
    digits = digits || is_digit(*m);
  if (!digits)
    return body_error(p, start, "expected digits in a number%s",
                      *start == '-' ? " (neg(x) negates an expression)" : "");
  if (*s == 'e' || *s == 'E') {
    const char *e = s + 1;
    if (*e == '-' || *e == '+')
      e++;
    if (!is_digit(*e))
      return body_error(p, e, "expected digits in the exponent of a number");
    for (s = e; is_digit(*s); s++) {}
  }
  char text[64];
  if ((size_t)(s - start) >= sizeof text)
    return body_error(p, start, "number longer than %zu characters", sizeof text - 1);
  memcpy(text, start, (size_t)(s - start));
  text[s - start] = '\0';
  errno = 0;
  double value = strtod(text, NULL);
  if (!isfinite(value) || (errno == ERANGE && fabs(value) > 1.0))
    return body_error(p, start, "number %s is out of range", text);
  p->at = s;
  return emit(p, start, (ir_fused_step){IR_FUSED_STEP_NUMBER, 0, value});
}

static bool parse_expr(body_parser *p);

static bool parse_call(body_parser *p) {
  const char *start = p->at;
  while (is_name(*p->at))
    p->at++;
  size_t length = (size_t)(p->at - start);
  int fn = -1;
  for (int i = 0; i < IR_FUSED_FN_COUNT; i++)
    if (strlen(fused_fns[i].name) == length && memcmp(fused_fns[i].name, start, length) == 0)
      fn = i;
  if (fn < 0) {
    char known[256];
    size_t at = 0;
    for (int i = 0; i < IR_FUSED_FN_COUNT && at < sizeof known; i++)
      at +=
          (size_t)snprintf(known + at, sizeof known - at, "%s%s", i ? ", " : "", fused_fns[i].name);
    return body_error(p, start, "unknown function '%.*s' (the functions are %s)", (int)length,
                      start, known);
  }
  const ir_fused_fn_info *info = &fused_fns[fn];
  skip_space(p);
  if (*p->at != '(') {
    char c[8];
    return body_error(p, p->at, "expected '(' after %s, not %s", info->name, shown(p->at, c));
  }
  p->at++;
  if (++p->nesting > IR_FUSED_MAX_NESTING)
    return body_error(p, start, "calls nest deeper than %d", IR_FUSED_MAX_NESTING);
  uint32_t count = 0;
  for (;;) {
    skip_space(p);
    const char *arg = p->at;
    uint32_t first = p->out->n_steps;
    if (!parse_expr(p))
      return false;
    count++;
    /* checked as it is read: with a wrong count, the arity error below says more */
    bool number = p->out->n_steps == first + 1 && p->out->steps[first].kind == IR_FUSED_STEP_NUMBER;
    if (info->literal && count == info->arity && !number)
      return body_error(p, arg, "argument %" PRIu32 " of %s must be a number", count, info->name);
    skip_space(p);
    if (*p->at == ')')
      break;
    if (*p->at != ',') {
      char c[8];
      return body_error(p, p->at, "expected ',' or ')' after argument %" PRIu32 " of %s, not %s",
                        count, info->name, shown(p->at, c));
    }
    p->at++;
  }
  p->at++;
  p->nesting--;
  if (count != info->arity)
    return body_error(p, start, "%s takes %" PRIu32 " argument%s, not %" PRIu32, info->name,
                      info->arity, info->arity == 1 ? "" : "s", count);
  return emit(p, start, (ir_fused_step){IR_FUSED_STEP_CALL, (uint32_t)fn, 0});
}

static bool parse_expr(body_parser *p) {
  skip_space(p);
  char c = *p->at;
  if (c == '$')
    return parse_operand(p);
  if (is_digit(c) || c == '-' || c == '+' || c == '.')
    return parse_number(p);
  if (is_name(c))
    return parse_call(p);
  char buf[8];
  return body_error(p, p->at, "expected an operand ($N), a number or a function call, not %s",
                    shown(p->at, buf));
}

bool ir_fused_parse(const char *body, uint32_t n_operands, ir_fused_program *out, char *why,
                    size_t why_size) {
  if (!body) {
    snprintf(why, why_size, "body has no string");
    return false;
  }
  memset(out, 0, sizeof *out);
  body_parser p = {.body = body,
                   .at = body,
                   .n_operands = n_operands,
                   .out = out,
                   .why = why,
                   .why_size = why_size};
  if (!parse_expr(&p))
    return false;
  skip_space(&p);
  if (*p.at != '\0') {
    char c[8];
    return body_error(&p, p.at, "unexpected %s after the expression", shown(p.at, c));
  }
  return true;
}
