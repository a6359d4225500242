/* The parser: tokens into a syntax tree, by recursive descent over Jinja2's grammar, with its
 * precedence from loosest to tightest:
 *   a if b else c  <  or  <  and  <  not  <  == != < <= > >= in, not in  <  + -  <  ~
 *   <  * / // %  <  **  <  unary - +  <  |filter, is test  <  .attr [item] (call)  <  primary
 * Syntax errors stop at the first one, with its line, column and a caret. */
#include <stdio.h>
#include <string.h>

#include "runtime/chat/jinja_internal.h"

/* Nesting deeper than this (of brackets, operators or blocks) is refused, which bounds the
 * recursion of the parser and of the evaluator that walks the tree. */
enum { MAX_NESTING = 200 };

typedef struct open_block {
  const char *tag;
  const char *const *ends; /* the tags that may close or continue it */
} open_block;

typedef struct parser {
  jinja_template *tmpl;
  jinja_arena *arena;
  jinja_token *tok;
  jmp_buf fail;
  chord_error *error;
  int depth;
  int loops; /* for loops around the current statement: break/continue need one */
  open_block open[MAX_NESTING];
  int open_count;
} parser;

_Noreturn static void fail_at(parser *p, size_t pos, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

_Noreturn static void fail_at(parser *p, size_t pos, const char *format, ...) {
  char message[512];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  jinja_format_error(p->error, CHORD_ERROR_FORMAT, p->tmpl->name, p->tmpl->source, p->tmpl->size,
                     pos, message);
  longjmp(p->fail, 1);
}

/* ---- tokens ---------------------------------------------------------------------------------- */

static bool is_op(const jinja_token *t, const char *op) {
  return t->kind == TOKEN_OPERATOR && strcmp(t->text->data, op) == 0;
}

static bool is_name(const jinja_token *t, const char *name) {
  return t->kind == TOKEN_NAME && strcmp(t->text->data, name) == 0;
}

/* A token as messages quote it. */
static void describe(const jinja_token *t, char *out, size_t size) {
  switch (t->kind) {
  case TOKEN_DATA: snprintf(out, size, "template text"); return;
  case TOKEN_VARIABLE_BEGIN: snprintf(out, size, "'{{'"); return;
  case TOKEN_VARIABLE_END: snprintf(out, size, "'}}' (end of print statement)"); return;
  case TOKEN_BLOCK_BEGIN: snprintf(out, size, "'{%%'"); return;
  case TOKEN_BLOCK_END: snprintf(out, size, "'%%}' (end of statement block)"); return;
  case TOKEN_EOF: snprintf(out, size, "end of template"); return;
  case TOKEN_STRING: snprintf(out, size, "string literal"); return;
  case TOKEN_NAME:
  case TOKEN_OPERATOR: snprintf(out, size, "'%s'", t->text->data); return;
  case TOKEN_INTEGER:
  case TOKEN_FLOAT: snprintf(out, size, "number"); return;
  }
}

_Noreturn static void fail_unexpected(parser *p, const char *expected) {
  char got[64];
  describe(p->tok, got, sizeof got);
  if (expected)
    fail_at(p, p->tok->pos, "expected %s, got %s", expected, got);
  fail_at(p, p->tok->pos, "unexpected %s", got);
}

static jinja_token *advance(parser *p) {
  jinja_token *t = p->tok;
  if (p->tok->kind != TOKEN_EOF)
    p->tok++;
  return t;
}

static jinja_token *peek(parser *p) { return p->tok->kind == TOKEN_EOF ? p->tok : p->tok + 1; }

static bool skip_op(parser *p, const char *op) {
  if (!is_op(p->tok, op))
    return false;
  advance(p);
  return true;
}

static bool skip_name(parser *p, const char *name) {
  if (!is_name(p->tok, name))
    return false;
  advance(p);
  return true;
}

static void expect_op(parser *p, const char *op) {
  if (!skip_op(p, op)) {
    char expected[16];
    snprintf(expected, sizeof expected, "'%s'", op);
    fail_unexpected(p, expected);
  }
}

static void expect_kind(parser *p, jinja_token_kind kind, const char *expected) {
  if (p->tok->kind != kind)
    fail_unexpected(p, expected);
  advance(p);
}

static jinja_token *expect_name(parser *p) {
  if (p->tok->kind != TOKEN_NAME)
    fail_unexpected(p, "a name");
  return advance(p);
}

/* ---- nodes ----------------------------------------------------------------------------------- */

static jinja_node *new_node(parser *p, jinja_node_kind kind, size_t pos) {
  jinja_node *n = jinja_alloc(p->arena, sizeof *n);
  *n = (jinja_node){.kind = kind, .pos = (uint32_t)pos};
  return n;
}

static jinja_node *new_unary(parser *p, jinja_node_kind kind, size_t pos, jinja_node *lhs) {
  jinja_node *n = new_node(p, kind, pos);
  n->lhs = lhs;
  return n;
}

static jinja_node *new_binary(parser *p, jinja_node_kind kind, int op, size_t pos, jinja_node *lhs,
                              jinja_node *rhs) {
  jinja_node *n = new_node(p, kind, pos);
  n->op = op;
  n->lhs = lhs;
  n->rhs = rhs;
  return n;
}

/* Where an expression starts in the source: calls point there (raise_exception(...)). */
static size_t start_of(const jinja_node *n) {
  while ((n->kind == NODE_GETATTR || n->kind == NODE_GETITEM || n->kind == NODE_CALL ||
          n->kind == NODE_FILTER || n->kind == NODE_TEST || n->kind == NODE_BINARY ||
          n->kind == NODE_COMPARE || n->kind == NODE_AND || n->kind == NODE_OR ||
          n->kind == NODE_CONDEXPR) &&
         n->lhs)
    n = n->lhs;
  return n->pos;
}

/* Appends to a singly linked list kept as head and tail. */
typedef struct node_list {
  jinja_node *head, *tail;
} node_list;

static void list_add(node_list *l, jinja_node *n) {
  if (l->tail)
    l->tail->next = n;
  else
    l->head = n;
  l->tail = n;
}

static void enter(parser *p) {
  if (++p->depth > MAX_NESTING)
    fail_at(p, p->tok->pos, "expression or block nested too deeply");
}

static void leave(parser *p) { p->depth--; }

/* ---- expressions ----------------------------------------------------------------------------- */

static jinja_node *parse_expression(parser *p, bool with_condexpr);
static jinja_node *parse_unary(parser *p, bool with_filter);
static jinja_node *parse_primary(parser *p, bool with_namespace);
static jinja_node *parse_postfix(parser *p, jinja_node *node);
static jinja_node *parse_filter(parser *p, jinja_node *node, bool start_inline);

/* The end of a tuple without parentheses: the tag's end, a ')' or one of the extra names. */
static bool is_tuple_end(parser *p, const char *const *extra_end) {
  if (p->tok->kind == TOKEN_VARIABLE_END || p->tok->kind == TOKEN_BLOCK_END ||
      p->tok->kind == TOKEN_EOF || is_op(p->tok, ")"))
    return true;
  for (; extra_end && *extra_end; extra_end++)
    if (is_name(p->tok, *extra_end))
      return true;
  return false;
}

/* A comma-separated list becomes a tuple; one item stays itself. `simplified` reads only
 * primaries (assignment targets). */
static jinja_node *parse_tuple(parser *p, bool simplified, bool with_condexpr,
                               const char *const *extra_end, bool explicit_parentheses,
                               bool with_namespace) {
  size_t pos = p->tok->pos;
  node_list items = {0};
  bool is_tuple = false;
  for (;;) {
    if (items.head)
      expect_op(p, ",");
    if (is_tuple_end(p, extra_end))
      break;
    list_add(&items,
             simplified ? parse_primary(p, with_namespace) : parse_expression(p, with_condexpr));
    if (!is_op(p->tok, ","))
      break;
    is_tuple = true;
  }
  if (!is_tuple) {
    if (items.head)
      return items.head;
    if (!explicit_parentheses)
      fail_unexpected(p, "an expression");
  }
  jinja_node *n = new_node(p, NODE_TUPLE, pos);
  n->args = items.head;
  return n;
}

static jinja_node *parse_list(parser *p) {
  jinja_node *n = new_node(p, NODE_LIST, p->tok->pos);
  expect_op(p, "[");
  node_list items = {0};
  while (!is_op(p->tok, "]")) {
    if (items.head)
      expect_op(p, ",");
    if (is_op(p->tok, "]"))
      break;
    list_add(&items, parse_expression(p, true));
  }
  expect_op(p, "]");
  n->args = items.head;
  return n;
}

static jinja_node *parse_dict(parser *p) {
  jinja_node *n = new_node(p, NODE_DICT, p->tok->pos);
  expect_op(p, "{");
  node_list items = {0};
  while (!is_op(p->tok, "}")) {
    if (items.head)
      expect_op(p, ",");
    if (is_op(p->tok, "}"))
      break;
    jinja_node *key = parse_expression(p, true);
    expect_op(p, ":");
    jinja_node *value = parse_expression(p, true);
    list_add(&items, new_binary(p, NODE_PAIR, 0, key->pos, key, value));
  }
  expect_op(p, "}");
  n->args = items.head;
  return n;
}

static jinja_node *parse_primary(parser *p, bool with_namespace) {
  jinja_token *t = p->tok;
  jinja_node *n;
  switch (t->kind) {
  case TOKEN_NAME: {
    advance(p);
    const char *name = t->text->data;
    n = new_node(p, NODE_CONST, t->pos);
    if (!strcmp(name, "true") || !strcmp(name, "True")) {
      n->value = jinja_bool(true);
    } else if (!strcmp(name, "false") || !strcmp(name, "False")) {
      n->value = jinja_bool(false);
    } else if (!strcmp(name, "none") || !strcmp(name, "None")) {
      n->value = jinja_none();
    } else if (with_namespace && is_op(p->tok, ".")) {
      advance(p);
      jinja_node *base = new_node(p, NODE_NAME, t->pos);
      base->name = t->text;
      n = new_unary(p, NODE_NSREF, p->tok->pos, base);
      n->name = expect_name(p)->text;
    } else {
      n->kind = NODE_NAME;
      n->name = t->text;
    }
    return n;
  }
  case TOKEN_STRING: {
    /* Adjacent literals join, as in Python: "a" "b" is "ab". */
    jinja_buf buf;
    jinja_buf_init(&buf, p->arena);
    n = new_node(p, NODE_CONST, t->pos);
    while (p->tok->kind == TOKEN_STRING) {
      jinja_buf_append(&buf, p->tok->text->data, p->tok->text->size);
      advance(p);
    }
    n->value = jinja_string_value(jinja_buf_finish(&buf));
    return n;
  }
  case TOKEN_INTEGER:
  case TOKEN_FLOAT:
    advance(p);
    n = new_node(p, NODE_CONST, t->pos);
    n->value = t->kind == TOKEN_INTEGER ? jinja_int(t->integer) : jinja_float(t->number);
    return n;
  case TOKEN_OPERATOR:
    if (is_op(t, "(")) {
      advance(p);
      enter(p);
      n = parse_tuple(p, false, true, NULL, true, false);
      leave(p);
      expect_op(p, ")");
      return n;
    }
    if (is_op(t, "["))
      return parse_list(p);
    if (is_op(t, "{"))
      return parse_dict(p);
    break;
  case TOKEN_DATA:
  case TOKEN_VARIABLE_BEGIN:
  case TOKEN_VARIABLE_END:
  case TOKEN_BLOCK_BEGIN:
  case TOKEN_BLOCK_END:
  case TOKEN_EOF: break;
  }
  fail_unexpected(p, "an expression");
}

/* (args, name=value, ...) of a call, a filter or a test. */
static void parse_call_args(parser *p, jinja_node *call) {
  size_t open = p->tok->pos;
  expect_op(p, "(");
  node_list args = {0}, kwargs = {0};
  bool comma_needed = false;
  while (!is_op(p->tok, ")")) {
    if (comma_needed) {
      expect_op(p, ",");
      if (is_op(p->tok, ")"))
        break;
    }
    if (is_op(p->tok, "*") || is_op(p->tok, "**"))
      fail_at(p, p->tok->pos, "*args and **kwargs in calls are not supported");
    if (p->tok->kind == TOKEN_NAME && is_op(peek(p), "=")) {
      jinja_token *key = advance(p);
      advance(p);
      jinja_node *kw = new_unary(p, NODE_KEYWORD, key->pos, parse_expression(p, true));
      kw->name = key->text;
      list_add(&kwargs, kw);
    } else {
      if (kwargs.head)
        fail_at(p, open,
                "invalid syntax for function call expression: a positional "
                "argument follows a keyword argument");
      list_add(&args, parse_expression(p, true));
    }
    comma_needed = true;
  }
  expect_op(p, ")");
  call->args = args.head;
  call->kwargs = kwargs.head;
}

static jinja_node *parse_call(parser *p, jinja_node *callee) {
  jinja_node *n = new_unary(p, NODE_CALL, start_of(callee), callee);
  parse_call_args(p, n);
  return n;
}

/* Inside [ ]: an expression or a slice a:b:c with any part left out. */
static jinja_node *parse_subscribed(parser *p) {
  size_t pos = p->tok->pos;
  jinja_node *start = NULL;
  if (!is_op(p->tok, ":")) {
    start = parse_expression(p, true);
    if (!is_op(p->tok, ":"))
      return start;
  }
  advance(p); /* the first ':' */
  jinja_node *n = new_node(p, NODE_SLICE, pos);
  n->lhs = start;
  if (!is_op(p->tok, ":") && !is_op(p->tok, "]") && !is_op(p->tok, ","))
    n->rhs = parse_expression(p, true);
  if (skip_op(p, ":") && !is_op(p->tok, "]") && !is_op(p->tok, ","))
    n->step = parse_expression(p, true);
  return n;
}

static jinja_node *parse_subscript(parser *p, jinja_node *node) {
  jinja_token *t = advance(p);
  if (is_op(t, ".")) {
    jinja_token *attr = p->tok;
    if (attr->kind == TOKEN_NAME) {
      advance(p);
      jinja_node *n = new_unary(p, NODE_GETATTR, attr->pos, node);
      n->name = attr->text;
      return n;
    }
    if (attr->kind != TOKEN_INTEGER)
      fail_unexpected(p, "a name or number after '.'");
    advance(p);
    jinja_node *index = new_node(p, NODE_CONST, attr->pos);
    index->value = jinja_int(attr->integer);
    return new_binary(p, NODE_GETITEM, 0, attr->pos, node, index);
  }
  /* '[' */
  node_list items = {0};
  enter(p);
  while (!is_op(p->tok, "]")) {
    if (items.head)
      expect_op(p, ",");
    list_add(&items, parse_subscribed(p));
  }
  leave(p);
  expect_op(p, "]");
  jinja_node *index = items.head;
  if (!items.head || items.head != items.tail) { /* x[a, b] and x[] index with a tuple */
    index = new_node(p, NODE_TUPLE, t->pos);
    index->args = items.head;
  }
  return new_binary(p, NODE_GETITEM, 0, t->pos, node, index);
}

static jinja_node *parse_postfix(parser *p, jinja_node *node) {
  for (;;) {
    if (is_op(p->tok, ".") || is_op(p->tok, "["))
      node = parse_subscript(p, node);
    else if (is_op(p->tok, "("))
      node = parse_call(p, node);
    else
      return node;
  }
}

/* A dotted filter or test name: `a.b` is looked up as "a.b". */
static const jinja_string *parse_dotted_name(parser *p) {
  jinja_token *t = expect_name(p);
  if (!is_op(p->tok, "."))
    return t->text;
  jinja_buf buf;
  jinja_buf_init(&buf, p->arena);
  jinja_buf_append(&buf, t->text->data, t->text->size);
  while (skip_op(p, ".")) {
    jinja_buf_putc(&buf, '.');
    const jinja_string *part = expect_name(p)->text;
    jinja_buf_append(&buf, part->data, part->size);
  }
  return jinja_buf_finish(&buf);
}

static jinja_node *parse_filter(parser *p, jinja_node *node, bool start_inline) {
  while (is_op(p->tok, "|") || start_inline) {
    if (!start_inline)
      advance(p);
    start_inline = false;
    size_t pos = p->tok->pos;
    jinja_node *n = new_unary(p, NODE_FILTER, pos, node);
    n->name = parse_dotted_name(p);
    if (is_op(p->tok, "("))
      parse_call_args(p, n);
    node = n;
  }
  return node;
}

static jinja_node *parse_test(parser *p, jinja_node *node) {
  size_t is_pos = advance(p)->pos; /* "is" */
  bool negated = skip_name(p, "not");
  size_t pos = p->tok->pos;
  jinja_node *n = new_unary(p, NODE_TEST, pos, node);
  n->name = parse_dotted_name(p);
  jinja_token *t = p->tok;
  if (is_op(t, "(")) {
    parse_call_args(p, n);
  } else if ((t->kind == TOKEN_NAME || t->kind == TOKEN_STRING || t->kind == TOKEN_INTEGER ||
              t->kind == TOKEN_FLOAT || is_op(t, "[") || is_op(t, "{")) &&
             !is_name(t, "else") && !is_name(t, "or") && !is_name(t, "and")) {
    /* One argument without parentheses: `x is divisibleby 3`, `x is sameas false`. */
    if (is_name(t, "is"))
      fail_at(p, t->pos, "tests cannot be chained with 'is'");
    n->args = parse_postfix(p, parse_primary(p, false));
  }
  return negated ? new_unary(p, NODE_NOT, is_pos, n) : n;
}

static jinja_node *parse_filter_expr(parser *p, jinja_node *node) {
  for (;;) {
    if (is_op(p->tok, "|"))
      node = parse_filter(p, node, false);
    else if (is_name(p->tok, "is"))
      node = parse_test(p, node);
    else if (is_op(p->tok, "("))
      node = parse_call(p, node);
    else
      return node;
  }
}

static jinja_node *parse_unary(parser *p, bool with_filter) {
  jinja_token *t = p->tok;
  jinja_node *node;
  enter(p);
  if (is_op(t, "-")) {
    advance(p);
    node = new_unary(p, NODE_NEGATE, t->pos, parse_unary(p, false));
  } else if (is_op(t, "+")) {
    advance(p);
    node = new_unary(p, NODE_PLUS, t->pos, parse_unary(p, false));
  } else {
    node = parse_primary(p, false);
  }
  node = parse_postfix(p, node);
  if (with_filter)
    node = parse_filter_expr(p, node);
  leave(p);
  return node;
}

static jinja_node *parse_pow(parser *p) {
  jinja_node *left = parse_unary(p, true);
  while (is_op(p->tok, "**")) {
    size_t pos = advance(p)->pos;
    left = new_binary(p, NODE_BINARY, BINARY_POW, pos, left, parse_unary(p, true));
  }
  return left;
}

static jinja_node *parse_math2(parser *p) {
  static const struct {
    const char *op;
    jinja_binary_op binary;
  } ops[] = {{"*", BINARY_MUL}, {"/", BINARY_DIV}, {"//", BINARY_FLOORDIV}, {"%", BINARY_MOD}};
  jinja_node *left = parse_pow(p);
  for (;;) {
    size_t k = 0;
    while (k < 4 && !is_op(p->tok, ops[k].op))
      k++;
    if (k == 4)
      return left;
    size_t pos = advance(p)->pos;
    left = new_binary(p, NODE_BINARY, ops[k].binary, pos, left, parse_pow(p));
  }
}

static jinja_node *parse_concat(parser *p) {
  jinja_node *first = parse_math2(p);
  if (!is_op(p->tok, "~"))
    return first;
  jinja_node *n = new_node(p, NODE_CONCAT, p->tok->pos);
  node_list parts = {0};
  list_add(&parts, first);
  while (skip_op(p, "~"))
    list_add(&parts, parse_math2(p));
  n->args = parts.head;
  return n;
}

static jinja_node *parse_math1(parser *p) {
  jinja_node *left = parse_concat(p);
  while (is_op(p->tok, "+") || is_op(p->tok, "-")) {
    jinja_binary_op op = is_op(p->tok, "+") ? BINARY_ADD : BINARY_SUB;
    size_t pos = advance(p)->pos;
    left = new_binary(p, NODE_BINARY, op, pos, left, parse_concat(p));
  }
  return left;
}

static jinja_node *parse_compare(parser *p) {
  static const struct {
    const char *op;
    jinja_compare_op compare;
  } ops[] = {{"==", COMPARE_EQ}, {"!=", COMPARE_NE}, {"<", COMPARE_LT},
             {"<=", COMPARE_LE}, {">", COMPARE_GT},  {">=", COMPARE_GE}};
  jinja_node *expr = parse_math1(p);
  node_list operands = {0};
  for (;;) {
    size_t pos = p->tok->pos;
    int op = -1;
    for (size_t k = 0; k < 6 && op < 0; k++)
      if (is_op(p->tok, ops[k].op))
        op = (int)ops[k].compare;
    if (op >= 0) {
      advance(p);
    } else if (is_name(p->tok, "in")) {
      advance(p);
      op = COMPARE_IN;
    } else if (is_name(p->tok, "not") && is_name(peek(p), "in")) {
      advance(p);
      advance(p);
      op = COMPARE_NOT_IN;
    } else {
      break;
    }
    list_add(&operands, new_binary(p, NODE_OPERAND, op, pos, NULL, parse_math1(p)));
  }
  if (!operands.head)
    return expr;
  jinja_node *n = new_unary(p, NODE_COMPARE, operands.head->pos, expr);
  n->args = operands.head;
  return n;
}

static jinja_node *parse_not(parser *p) {
  if (is_name(p->tok, "not")) {
    size_t pos = advance(p)->pos;
    enter(p);
    jinja_node *n = new_unary(p, NODE_NOT, pos, parse_not(p));
    leave(p);
    return n;
  }
  return parse_compare(p);
}

static jinja_node *parse_and(parser *p) {
  jinja_node *left = parse_not(p);
  while (is_name(p->tok, "and")) {
    size_t pos = advance(p)->pos;
    left = new_binary(p, NODE_AND, 0, pos, left, parse_not(p));
  }
  return left;
}

static jinja_node *parse_or(parser *p) {
  jinja_node *left = parse_and(p);
  while (is_name(p->tok, "or")) {
    size_t pos = advance(p)->pos;
    left = new_binary(p, NODE_OR, 0, pos, left, parse_and(p));
  }
  return left;
}

static jinja_node *parse_condexpr(parser *p) {
  jinja_node *expr = parse_or(p);
  while (is_name(p->tok, "if")) {
    size_t pos = advance(p)->pos;
    jinja_node *n = new_node(p, NODE_CONDEXPR, pos);
    n->lhs = expr;
    n->cond = parse_or(p);
    if (skip_name(p, "else"))
      n->rhs = parse_condexpr(p);
    expr = n;
  }
  return expr;
}

static jinja_node *parse_expression(parser *p, bool with_condexpr) {
  enter(p);
  jinja_node *n = with_condexpr ? parse_condexpr(p) : parse_or(p);
  leave(p);
  return n;
}

/* ---- assignment targets ---------------------------------------------------------------------- */

static void check_assignable(parser *p, jinja_node *target) {
  if (target->kind == NODE_TUPLE) {
    for (jinja_node *t = target->args; t; t = t->next)
      check_assignable(p, t);
  } else if (target->kind != NODE_NAME && target->kind != NODE_NSREF) {
    fail_at(p, target->pos, "can't assign to this expression");
  }
}

static jinja_node *parse_assign_target(parser *p, const char *const *extra_end,
                                       bool with_namespace) {
  jinja_node *target = parse_tuple(p, true, true, extra_end, false, with_namespace);
  check_assignable(p, target);
  return target;
}

/* ---- statements ------------------------------------------------------------------------------ */

/* Unknown filters and tests are errors when the template is read, as in Jinja2, except where
 * Jinja2 compiles in a "soft" frame (an if's test and branches, an inline if): there they fail
 * only if reached. Loop, macro and block bodies start hard again, as Jinja2's inner frames do. */
static void check_names(parser *p, const jinja_node *n, bool soft) {
  for (; n; n = n->next) {
    bool inner = soft;
    if (n->kind == NODE_FILTER || n->kind == NODE_TEST) {
      bool known = n->kind == NODE_FILTER ? jinja_find_filter(n->name->data) != NULL
                                          : jinja_find_test(n->name->data) != NULL;
      if (!known && !soft)
        fail_at(p, n->pos, "no %s named '%s'", n->kind == NODE_FILTER ? "filter" : "test",
                n->name->data);
    }
    if (n->kind == NODE_IF || n->kind == NODE_CONDEXPR)
      inner = true;
    check_names(p, n->lhs, inner);
    check_names(p, n->rhs, inner);
    check_names(p, n->step, inner);
    check_names(p, n->cond, n->kind == NODE_FOR ? false : inner);
    check_names(p, n->iter, inner);
    check_names(p, n->args, inner);
    check_names(p, n->kwargs, inner);
    bool body_soft = n->kind == NODE_IF ? true : false;
    check_names(p, n->body, body_soft);
    check_names(p, n->else_body, body_soft);
  }
}

static jinja_node *subparse(parser *p, const char *const *ends);

/* After a statement's head: its %}, then the body up to one of `ends` (left as the current
 * token; consumed too when drop_end). */
static jinja_node *parse_statements(parser *p, const char *tag, const char *const *ends,
                                    bool drop_end) {
  skip_op(p, ":");
  expect_kind(p, TOKEN_BLOCK_END, "'%}'");
  if (p->open_count == MAX_NESTING)
    fail_at(p, p->tok->pos, "blocks nested too deeply");
  p->open[p->open_count++] = (open_block){tag, ends};
  jinja_node *body = subparse(p, ends);
  if (p->tok->kind == TOKEN_EOF) {
    char expected[128] = "";
    for (const char *const *e = ends; *e; e++)
      snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s'%s'",
               e == ends ? ""
               : e[1]    ? ", "
                         : " or ",
               *e);
    fail_at(p, p->tok->pos,
            "unexpected end of template: the '%s' block is not closed (expected %s)", tag,
            expected);
  }
  p->open_count--;
  if (drop_end)
    advance(p);
  return body;
}

static jinja_node *parse_for(parser *p, size_t pos) {
  static const char *const in_end[] = {"in", NULL};
  static const char *const iter_end[] = {"recursive", NULL};
  static const char *const body_end[] = {"endfor", "else", NULL};
  static const char *const else_end[] = {"endfor", NULL};
  jinja_node *n = new_node(p, NODE_FOR, pos);
  n->target = parse_assign_target(p, in_end, false);
  if (!skip_name(p, "in"))
    fail_unexpected(p, "'in'");
  n->iter = parse_tuple(p, false, false, iter_end, false, false);
  if (skip_name(p, "if"))
    n->cond = parse_expression(p, true);
  if (is_name(p->tok, "recursive"))
    fail_at(p, p->tok->pos, "recursive loops are not supported");
  p->loops++;
  n->body = parse_statements(p, "for", body_end, false);
  p->loops--;
  if (is_name(advance(p), "else"))
    n->else_body = parse_statements(p, "for", else_end, true);
  return n;
}

static jinja_node *parse_if(parser *p, size_t pos) {
  static const char *const ends[] = {"elif", "else", "endif", NULL};
  static const char *const else_end[] = {"endif", NULL};
  jinja_node *result = new_node(p, NODE_IF, pos), *n = result;
  for (;;) {
    n->cond = parse_tuple(p, false, false, NULL, false, false);
    n->body = parse_statements(p, "if", ends, false);
    jinja_token *t = advance(p);
    if (is_name(t, "elif")) {
      jinja_node *elif = new_node(p, NODE_IF, t->pos);
      n->else_body = elif;
      n = elif;
      continue;
    }
    if (is_name(t, "else"))
      n->else_body = parse_statements(p, "if", else_end, true);
    break;
  }
  return result;
}

static jinja_node *parse_set(parser *p, size_t pos) {
  static const char *const ends[] = {"endset", NULL};
  jinja_node *target = parse_assign_target(p, NULL, true);
  if (skip_op(p, "=")) {
    jinja_node *n = new_node(p, NODE_SET, pos);
    n->target = target;
    n->rhs = parse_tuple(p, false, true, NULL, false, false);
    return n;
  }
  jinja_node *n = new_node(p, NODE_SET_BLOCK, pos);
  n->target = target;
  if (is_op(p->tok, "|"))
    n->lhs = parse_filter(p, NULL, false);
  n->body = parse_statements(p, "set", ends, true);
  return n;
}

static jinja_node *parse_macro(parser *p, size_t pos) {
  static const char *const ends[] = {"endmacro", NULL};
  jinja_node *n = new_node(p, NODE_MACRO, pos);
  n->name = expect_name(p)->text;
  expect_op(p, "(");
  node_list params = {0};
  bool defaults = false;
  while (!is_op(p->tok, ")")) {
    if (params.head)
      expect_op(p, ",");
    jinja_token *name = expect_name(p);
    jinja_node *param;
    if (skip_op(p, "=")) {
      param = new_unary(p, NODE_KEYWORD, name->pos, parse_expression(p, true));
      defaults = true;
    } else {
      if (defaults)
        fail_at(p, name->pos, "non-default argument follows default argument");
      param = new_node(p, NODE_NAME, name->pos);
    }
    param->name = name->text;
    list_add(&params, param);
  }
  expect_op(p, ")");
  n->args = params.head;
  /* break and continue cannot reach a loop outside the macro */
  int loops = p->loops;
  p->loops = 0;
  n->body = parse_statements(p, "macro", ends, true);
  p->loops = loops;
  return n;
}

static jinja_node *parse_filter_block(parser *p, size_t pos) {
  static const char *const ends[] = {"endfilter", NULL};
  jinja_node *n = new_node(p, NODE_FILTER_BLOCK, pos);
  n->lhs = parse_filter(p, NULL, true);
  n->body = parse_statements(p, "filter", ends, true);
  return n;
}

static jinja_node *parse_with(parser *p, size_t pos) {
  static const char *const ends[] = {"endwith", NULL};
  jinja_node *n = new_node(p, NODE_WITH, pos);
  node_list assigns = {0};
  while (p->tok->kind != TOKEN_BLOCK_END) {
    if (assigns.head)
      expect_op(p, ",");
    jinja_node *a = new_node(p, NODE_SET, p->tok->pos);
    a->target = parse_tuple(p, true, true, NULL, false, false);
    check_assignable(p, a->target);
    expect_op(p, "=");
    a->rhs = parse_expression(p, true);
    list_add(&assigns, a);
  }
  n->args = assigns.head;
  n->body = parse_statements(p, "with", ends, true);
  return n;
}

static jinja_node *parse_loop_control(parser *p, size_t pos, jinja_node_kind kind) {
  if (p->loops == 0)
    fail_at(p, pos, "'%s' outside of a loop", kind == NODE_BREAK ? "break" : "continue");
  return new_node(p, kind, pos);
}

static jinja_node *parse_break(parser *p, size_t pos) {
  return parse_loop_control(p, pos, NODE_BREAK);
}

static jinja_node *parse_continue(parser *p, size_t pos) {
  return parse_loop_control(p, pos, NODE_CONTINUE);
}

/* transformers' AssistantTracker: {% generation %} marks what the assistant said; rendering
 * only prints the body. */
static jinja_node *parse_generation(parser *p, size_t pos) {
  static const char *const ends[] = {"endgeneration", NULL};
  jinja_node *n = new_node(p, NODE_GENERATION, pos);
  n->body = parse_statements(p, "generation", ends, true);
  return n;
}

static const struct {
  const char *name;
  jinja_node *(*parse)(parser *p, size_t pos);
} statements[] = {
    {"for", parse_for},
    {"if", parse_if},
    {"set", parse_set},
    {"macro", parse_macro},
    {"filter", parse_filter_block},
    {"with", parse_with},
    {"break", parse_break},
    {"continue", parse_continue},
    {"generation", parse_generation},
};

/* Valid Jinja that chat templates have no use for. */
static const char *const unsupported_tags[] = {"block", "extends", "include",   "import",
                                               "from",  "call",    "autoescape"};

static jinja_node *parse_statement(parser *p) {
  jinja_token *t = p->tok;
  if (t->kind != TOKEN_NAME)
    fail_unexpected(p, "a tag name");
  const char *name = t->text->data;
  for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
    if (strcmp(statements[i].name, name) == 0) {
      advance(p);
      enter(p);
      jinja_node *n = statements[i].parse(p, t->pos);
      leave(p);
      return n;
    }
  }
  for (size_t i = 0; i < sizeof unsupported_tags / sizeof unsupported_tags[0]; i++)
    if (strcmp(unsupported_tags[i], name) == 0)
      fail_at(p, t->pos, "the '%s' tag is not supported in chat templates", name);
  if (p->open_count > 0) {
    const open_block *b = &p->open[p->open_count - 1];
    char expected[128] = "";
    for (const char *const *e = b->ends; *e; e++)
      snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s'%s'",
               e == b->ends ? ""
               : e[1]       ? ", "
                            : " or ",
               *e);
    fail_at(p, t->pos, "unknown tag '%s' (the innermost open block is '%s', expecting %s)", name,
            b->tag, expected);
  }
  fail_at(p, t->pos, "unknown tag '%s'", name);
}

static bool is_end(parser *p, const char *const *ends) {
  for (; ends && *ends; ends++)
    if (is_name(p->tok, *ends))
      return true;
  return false;
}

static jinja_node *subparse(parser *p, const char *const *ends) {
  node_list body = {0};
  for (;;) {
    jinja_token *t = p->tok;
    switch (t->kind) {
    case TOKEN_DATA: {
      jinja_node *n = new_node(p, NODE_DATA, t->pos);
      n->name = t->text;
      list_add(&body, n);
      advance(p);
      break;
    }
    case TOKEN_VARIABLE_BEGIN: {
      advance(p);
      jinja_node *expr = parse_tuple(p, false, true, NULL, false, false);
      list_add(&body, new_unary(p, NODE_OUTPUT, start_of(expr), expr));
      expect_kind(p, TOKEN_VARIABLE_END, "'}}'");
      break;
    }
    case TOKEN_BLOCK_BEGIN:
      advance(p);
      if (is_end(p, ends))
        return body.head;
      list_add(&body, parse_statement(p));
      expect_kind(p, TOKEN_BLOCK_END, "'%}'");
      break;
    case TOKEN_EOF: return body.head;
    case TOKEN_VARIABLE_END:
    case TOKEN_BLOCK_END:
    case TOKEN_NAME:
    case TOKEN_STRING:
    case TOKEN_INTEGER:
    case TOKEN_FLOAT:
    case TOKEN_OPERATOR: fail_unexpected(p, NULL);
    }
  }
}

jinja_node *jinja_parse(jinja_template *tmpl, const jinja_syntax_options *options,
                        chord_error *error) {
  jinja_token *tokens;
  size_t count;
  jinja_lex_error lex_error;
  if (!jinja_lex(&tmpl->arena, tmpl->source, tmpl->size, options, &tokens, &count, &lex_error)) {
    jinja_format_error(error, CHORD_ERROR_FORMAT, tmpl->name, tmpl->source, tmpl->size,
                       lex_error.pos, lex_error.message);
    return NULL;
  }
  parser *p = jinja_alloc(&tmpl->arena, sizeof *p);
  *p = (parser){.tmpl = tmpl, .arena = &tmpl->arena, .tok = tokens, .error = error};
  if (setjmp(p->fail))
    return NULL;
  jinja_node *body = subparse(p, NULL);
  if (!body) { /* an empty template renders nothing */
    body = new_node(p, NODE_DATA, 0);
    body->name = jinja_str(p->arena, "", 0);
  }
  check_names(p, body, false);
  return body;
}
