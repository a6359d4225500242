/* What the files of the Jinja engine share: tokens, the syntax tree, the evaluator's state, and the
 * Python semantics (str, repr, ==, <, truthiness, json.dumps, str methods) that filters, methods
 * and the evaluator all use. Not for use outside runtime/chat/jinja_*.c. */
#ifndef CHORD_RUNTIME_CHAT_JINJA_INTERNAL_H
#define CHORD_RUNTIME_CHAT_JINJA_INTERNAL_H

#include <stdarg.h>

#include "runtime/chat/jinja.h"

/* ---- growable text in an arena ----------------------------------------------------------------
 */

/* The arena must have on_failure set: appending never fails, it jumps. */
typedef struct jinja_buf {
  jinja_arena *arena;
  jinja_string *string; /* header of the storage, so finishing needs no copy */
  size_t capacity;
} jinja_buf;

void jinja_buf_init(jinja_buf *buf, jinja_arena *arena);
void jinja_buf_append(jinja_buf *buf, const char *data, size_t size);
void jinja_buf_puts(jinja_buf *buf, const char *text);
void jinja_buf_putc(jinja_buf *buf, char c);
void jinja_buf_printf(jinja_buf *buf, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void jinja_buf_utf8(jinja_buf *buf, int32_t code_point);
/* The text so far as a string, without a copy; the buffer is empty afterwards. */
const jinja_string *jinja_buf_finish(jinja_buf *buf);
static inline size_t jinja_buf_size(const jinja_buf *buf) {
  return buf->string ? buf->string->size : 0;
}

/* Allocation that jumps on failure (the arena's on_failure must be set). */
void *jinja_alloc(jinja_arena *arena, size_t size);
const jinja_string *jinja_str(jinja_arena *arena, const char *data, size_t size);
const jinja_string *jinja_cstr(jinja_arena *arena, const char *text);
jinja_value jinja_string_value(const jinja_string *s);
jinja_value jinja_str_value(jinja_arena *arena, const char *data, size_t size);
jinja_list *jinja_list_make(jinja_arena *arena, size_t capacity);
jinja_list *jinja_tuple_make(jinja_arena *arena, size_t capacity);
/* An empty iterator (LIST_ITERATOR) or view (LIST_VIEW) with Python's type name. */
jinja_list *jinja_iterator_make(jinja_arena *arena, jinja_list_kind kind, const char *type_name);
/* A list or a tuple: what [] and slices work on. */
static inline bool jinja_is_indexable(const jinja_list *l) {
  return l->kind == LIST_PLAIN || l->kind == LIST_TUPLE;
}
void jinja_list_append(jinja_arena *arena, jinja_list *list, jinja_value item);
jinja_dict *jinja_dict_make(jinja_arena *arena);
void jinja_dict_put(jinja_arena *arena, jinja_dict *dict, jinja_value key, jinja_value value);

/* ---- diagnostics ------------------------------------------------------------------------------
 */

/* "NAME:LINE:COL: MESSAGE" followed by the source line and a caret under byte `pos`. */
void jinja_format_error(chord_error *error, chord_status status, const char *name,
                        const char *source, size_t size, size_t pos, const char *message);

/* ---- tokens -----------------------------------------------------------------------------------
 */

typedef enum jinja_token_kind {
  TOKEN_DATA,           /* template text outside tags, whitespace control applied */
  TOKEN_VARIABLE_BEGIN, /* {{ */
  TOKEN_VARIABLE_END,   /* }} */
  TOKEN_BLOCK_BEGIN,    /* {% */
  TOKEN_BLOCK_END,      /* %} */
  TOKEN_NAME,
  TOKEN_STRING, /* a literal, escapes decoded */
  TOKEN_INTEGER,
  TOKEN_FLOAT,
  TOKEN_OPERATOR, /* punctuation: text holds it ("==", "(", ...) */
  TOKEN_EOF,
} jinja_token_kind;

typedef struct jinja_token {
  jinja_token_kind kind;
  uint32_t pos, len;        /* bytes of the source it was read from */
  const jinja_string *text; /* DATA, NAME, STRING and OPERATOR */
  int64_t integer;
  double number;
} jinja_token;

typedef struct jinja_lex_error {
  size_t pos;
  char message[256];
} jinja_lex_error;

/* Splits normalized source into tokens (ending with TOKEN_EOF) allocated in the arena. */
bool jinja_lex(jinja_arena *arena, const char *source, size_t size,
               const jinja_syntax_options *options, jinja_token **tokens, size_t *count,
               jinja_lex_error *error);

/* ---- syntax tree ------------------------------------------------------------------------------
 */

typedef enum jinja_node_kind {
  /* expressions */
  NODE_CONST,    /* value */
  NODE_NAME,     /* name */
  NODE_GETATTR,  /* lhs.name */
  NODE_GETITEM,  /* lhs[rhs] */
  NODE_SLICE,    /* inside [], lhs:rhs:step; each part may be NULL */
  NODE_CALL,     /* lhs(args, kwargs) */
  NODE_FILTER,   /* lhs|name(args, kwargs); lhs is NULL for the filter of a block */
  NODE_TEST,     /* lhs is name(args, kwargs) */
  NODE_NOT,      /* not lhs */
  NODE_NEGATE,   /* -lhs */
  NODE_PLUS,     /* +lhs */
  NODE_BINARY,   /* lhs op rhs, op a jinja_binary_op */
  NODE_CONCAT,   /* args joined with ~ */
  NODE_COMPARE,  /* lhs then args: OPERAND nodes, a chain as in Python */
  NODE_OPERAND,  /* op (a jinja_compare_op) rhs */
  NODE_AND,      /* lhs and rhs */
  NODE_OR,       /* lhs or rhs */
  NODE_CONDEXPR, /* lhs if cond else rhs (rhs may be NULL) */
  NODE_LIST,     /* [args] */
  NODE_TUPLE,    /* (args) */
  NODE_DICT,     /* {args: PAIR nodes} */
  NODE_PAIR,     /* lhs: rhs */
  NODE_KEYWORD,  /* name=lhs, in calls; a macro parameter with a default */
  NODE_NSREF,    /* assignment target lhs.name where lhs is a namespace */
  /* statements */
  NODE_DATA,         /* text */
  NODE_OUTPUT,       /* {{ lhs }} */
  NODE_IF,           /* if cond: body else else_body */
  NODE_FOR,          /* for target in iter [if cond]: body else else_body */
  NODE_SET,          /* set target = rhs */
  NODE_SET_BLOCK,    /* set target [| filter lhs] body endset */
  NODE_MACRO,        /* macro name(args) body */
  NODE_FILTER_BLOCK, /* filter lhs body endfilter */
  NODE_WITH,         /* with args (SET nodes) body */
  NODE_BREAK,
  NODE_CONTINUE,
  NODE_GENERATION, /* transformers' {% generation %} block: renders its body */
} jinja_node_kind;

typedef enum jinja_binary_op {
  BINARY_ADD,
  BINARY_SUB,
  BINARY_MUL,
  BINARY_DIV,
  BINARY_FLOORDIV,
  BINARY_MOD,
  BINARY_POW,
} jinja_binary_op;

typedef enum jinja_compare_op {
  COMPARE_EQ,
  COMPARE_NE,
  COMPARE_LT,
  COMPARE_LE,
  COMPARE_GT,
  COMPARE_GE,
  COMPARE_IN,
  COMPARE_NOT_IN,
} jinja_compare_op;

typedef struct jinja_node jinja_node;
struct jinja_node {
  jinja_node_kind kind;
  int op;
  uint32_t pos;     /* where in the source errors about it point */
  jinja_node *next; /* the next statement of a body, or the next item of args */
  jinja_node *lhs, *rhs, *step;
  jinja_node *cond, *target, *iter;
  jinja_node *body, *else_body;
  jinja_node *args, *kwargs;
  const jinja_string *name;
  jinja_value value;
};

struct jinja_template {
  jinja_arena arena;
  char *name;
  const char *source; /* normalized */
  size_t size;
  jinja_node *body;
};

/* Builds the tree of a template (the arena must have on_failure set; on a syntax error it
 * records the message and returns NULL). */
jinja_node *jinja_parse(jinja_template *tmpl, const jinja_syntax_options *options,
                        chord_error *error);

/* ---- evaluation -------------------------------------------------------------------------------
 */

typedef struct jinja_scope jinja_scope;

typedef enum jinja_flow { FLOW_NORMAL, FLOW_BREAK, FLOW_CONTINUE } jinja_flow;

typedef struct jinja_eval {
  const jinja_template *tmpl;
  jinja_arena *arena;
  jmp_buf *fail;
  chord_error *error;
  jinja_buf *out;
  jinja_scope *scope;
  const jinja_render_options *options;
  jinja_flow flow;
  int depth; /* macro calls in progress, bounded so a runaway recursion is an error */
  const jinja_string *result;
} jinja_eval;

/* Records "NAME:LINE:COL: ..." pointing at pos and unwinds the render. */
_Noreturn void jinja_fail(jinja_eval *ev, size_t pos, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
/* Fails with the message of an undefined value that was used. */
_Noreturn void jinja_fail_undefined(jinja_eval *ev, size_t pos, jinja_value undefined);

/* Arguments of a call, evaluated. */
typedef struct jinja_args {
  size_t count;
  jinja_value *values;
  size_t keyword_count;
  const jinja_string **keyword_names;
  jinja_value *keyword_values;
  size_t pos; /* of the call, for errors */
} jinja_args;

/* A function a template can call: a global, a filter, a test or a bound method. Parameters are
 * bound the way Python binds them: positions first, then keywords by name. */
typedef jinja_value (*jinja_native_fn)(jinja_eval *ev, jinja_value self, const jinja_value *arg,
                                       const bool *given, const jinja_args *args);
enum { JINJA_MAX_PARAMS = 6 };
typedef struct jinja_native {
  const char *name;
  jinja_native_fn fn;
  /* NULL-terminated names; a last "*" lets further positional arguments through, "**" further
   * keyword arguments too: the function reads them from args */
  const char *params[JINJA_MAX_PARAMS];
} jinja_native;

typedef enum jinja_callable_kind { CALLABLE_MACRO, CALLABLE_NATIVE } jinja_callable_kind;

struct jinja_callable {
  jinja_callable_kind kind;
  const jinja_node *macro; /* CALLABLE_MACRO */
  jinja_scope *closure;
  const jinja_native *native; /* CALLABLE_NATIVE; self is the receiver of a method */
  jinja_value self;
  const char *owner; /* "str", "dict", ... for the sandbox's message about unsafe methods */
};

struct jinja_loop {
  jinja_list *items;
  size_t index0;
  size_t depth0;
  jinja_value last_changed; /* for loop.changed() */
  bool changed_seen;
};

/* Calls a callable value (macro or native) with evaluated arguments. */
jinja_value jinja_call(jinja_eval *ev, jinja_value callee, const jinja_args *args);
/* Binds args to a native's parameters; fails with Python's message on a mismatch. */
void jinja_bind(jinja_eval *ev, const jinja_native *native, const jinja_args *args,
                jinja_value *values, bool *given);
/* Python's a + b (numbers, strings, lists), as the + operator computes it. */
jinja_value jinja_add(jinja_eval *ev, size_t pos, jinja_value a, jinja_value b);
/* Test by name with arguments; fails if there is no such test. */
bool jinja_run_test(jinja_eval *ev, size_t pos, const char *name, jinja_value value,
                    const jinja_args *args);
/* obj.name and obj[key] with Jinja's rules (attribute first for '.', item first for []). */
jinja_value jinja_getattr(jinja_eval *ev, size_t pos, jinja_value obj, const jinja_string *name);
jinja_value jinja_getitem(jinja_eval *ev, size_t pos, jinja_value obj, jinja_value key);

/* The tables: filters, tests, methods per receiver, globals, loop attributes. */
const jinja_native *jinja_find_filter(const char *name);
const jinja_native *jinja_find_test(const char *name);
/* A method of str, list, dict or loop; *unsafe for the mutating ones the sandbox refuses. */
const jinja_native *jinja_find_method(jinja_kind kind, const char *name, bool *unsafe);
const jinja_native *jinja_find_global(const char *name);
bool jinja_loop_attribute(jinja_eval *ev, jinja_loop *loop, const char *name, jinja_value *out);

/* Python's printf-style formatting: format % args (a tuple, a dict for %(name)s, or one value). */
jinja_value jinja_percent_format(jinja_eval *ev, size_t pos, const jinja_string *format,
                                 jinja_value args);
/* str.format(*args, **kwargs) for {}, {0} and {name} fields. */
jinja_value jinja_str_format(jinja_eval *ev, const jinja_string *format, const jinja_args *args);

/* ---- Python semantics -------------------------------------------------------------------------
 */

/* Values nest deeper than this only when a loop builds them so: printing, comparing and JSON stop
 * there (where Python would hit its recursion limit), instead of overflowing the stack. */
enum { JINJA_MAX_VALUE_DEPTH = 512 };

bool jinja_truthy(jinja_value v);
bool jinja_equal(jinja_value a, jinja_value b);
/* Python's <, <=, >, >= (op a jinja_compare_op); fails with Python's TypeError otherwise. */
bool jinja_order(jinja_eval *ev, size_t pos, jinja_compare_op op, jinja_value a, jinja_value b);
/* -1, 0, 1 as Python's sort sees it; fails when not comparable. */
int jinja_compare_values(jinja_eval *ev, size_t pos, jinja_value a, jinja_value b);
/* "str", "int", "dict", ...: Python's type(x).__name__. */
const char *jinja_type_name(jinja_value v);
/* str(v) and repr(v), appended to buf. */
void jinja_write_str(jinja_buf *buf, jinja_value v);
void jinja_write_repr(jinja_buf *buf, jinja_value v);
const jinja_string *jinja_to_str(jinja_arena *arena, jinja_value v);
/* Python's repr(float): the shortest text that reads back as the same double. */
void jinja_format_float(double value, char out[32]);
/* Items of an iterable value (a dict gives its keys, a string its characters); fails for what
 * Python cannot iterate. */
jinja_list *jinja_iterate(jinja_eval *ev, size_t pos, jinja_value v);
/* len(v), or fails. */
int64_t jinja_length(jinja_eval *ev, size_t pos, jinja_value v);

/* json.dumps with the arguments of transformers' tojson filter. */
typedef struct jinja_json_style {
  bool ensure_ascii;
  bool indent_set;
  const jinja_string *indent; /* the text of one level when indent_set */
  const jinja_string *item_separator, *key_separator;
  bool sort_keys;
} jinja_json_style;
void jinja_write_json(jinja_eval *ev, size_t pos, jinja_buf *buf, jinja_value v,
                      const jinja_json_style *style);

/* ---- text (Python str semantics on UTF-8) -----------------------------------------------------
 */

/* The code point at s[*i], advancing *i; malformed bytes come back one by one as U+FFFD. */
int32_t jinja_utf8_next(const char *s, size_t size, size_t *i);
/* False if s is not valid UTF-8, with the offset of the first bad byte. */
bool jinja_utf8_valid(const char *s, size_t size, size_t *bad);
size_t jinja_utf8_length(const char *s, size_t size);
/* Byte offset of code point `index` (clamped to the end). */
size_t jinja_utf8_offset(const char *s, size_t size, size_t index);
bool jinja_is_space(int32_t c);     /* str.isspace() */
bool jinja_is_printable(int32_t c); /* str.isprintable() */
bool jinja_is_cased(int32_t c);
int32_t jinja_to_upper(int32_t c);
int32_t jinja_to_lower(int32_t c);
int32_t jinja_to_title(int32_t c);
bool jinja_is_upper(int32_t c);
bool jinja_is_lower(int32_t c);
bool jinja_is_alpha(int32_t c);
bool jinja_is_digit(int32_t c);
bool jinja_is_decimal(int32_t c);
bool jinja_is_numeric(int32_t c);

typedef enum jinja_strip_side { STRIP_LEFT = 1, STRIP_RIGHT = 2, STRIP_BOTH = 3 } jinja_strip_side;
/* str.strip/lstrip/rstrip: chars NULL strips whitespace. */
const jinja_string *jinja_text_strip(jinja_arena *arena, const jinja_string *s,
                                     const jinja_string *chars, jinja_strip_side side);
/* Applies fn to every code point (str.upper, str.lower). */
const jinja_string *jinja_text_map(jinja_arena *arena, const jinja_string *s,
                                   int32_t (*fn)(int32_t));
const jinja_string *jinja_text_title(jinja_arena *arena, const jinja_string *s);
const jinja_string *jinja_text_capitalize(jinja_arena *arena, const jinja_string *s);
const jinja_string *jinja_text_replace(jinja_arena *arena, const jinja_string *s,
                                       const jinja_string *old, const jinja_string *new_text,
                                       int64_t count);
/* Byte offset of the first (or last) occurrence of needle in s[start, end), or -1. */
int64_t jinja_text_find(const jinja_string *s, const jinja_string *needle, size_t start, size_t end,
                        bool last);
/* str.split(sep, maxsplit) / str.rsplit: sep NULL splits on runs of whitespace. */
jinja_list *jinja_text_split(jinja_arena *arena, const jinja_string *s, const jinja_string *sep,
                             int64_t maxsplit, bool from_right);
void jinja_write_string_repr(jinja_buf *buf, const jinja_string *s);
/* str.splitlines(keepends) as a list. */
jinja_value jinja_splitlines(jinja_eval *ev, const jinja_string *s, bool keepends);

#endif
