/* A Jinja engine for chat templates: the subset of Jinja2 that real models' chat templates use,
 * with Python's semantics where the output depends on them (str(), repr(), json.dumps, string
 * methods, truthiness, equality), so that a template renders byte for byte as Hugging Face
 * transformers renders it with Python's jinja2.
 *
 * A template is parsed once (jinja_template_parse) and rendered any number of times. Every value
 * of a render lives in one arena that the caller frees when done with the output. Errors, syntax
 * and runtime, come back as a chord_status with a message that names the template, the line and
 * column, and shows the line with a caret under the place. */
#ifndef CHORD_RUNTIME_CHAT_JINJA_H
#define CHORD_RUNTIME_CHAT_JINJA_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "chord.h"

/* ---- arena ----------------------------------------------------------------------------------- */

/* A bump allocator: values, strings and the syntax tree are never freed one by one, only with
 * their arena. When `on_failure` is set, an allocation that fails jumps there (the engine's way
 * to unwind without an error check after every allocation); otherwise it returns NULL. */
typedef struct jinja_arena {
  struct jinja_chunk *chunks;
  jmp_buf *on_failure;
} jinja_arena;

void jinja_arena_init(jinja_arena *arena);
void jinja_arena_free(jinja_arena *arena);
void *jinja_arena_alloc(jinja_arena *arena, size_t size);

/* ---- values ---------------------------------------------------------------------------------- */

typedef enum jinja_kind {
  JINJA_UNDEFINED, /* a missing variable, key or attribute: prints as "", fails when used */
  JINJA_NONE,
  JINJA_BOOL,
  JINJA_INT,
  JINJA_FLOAT,
  JINJA_STRING,
  JINJA_LIST,     /* also tuples, iterators and dict views (list->kind) */
  JINJA_DICT,     /* also namespace() objects (dict->namespace) */
  JINJA_CALLABLE, /* macros, global functions, bound methods */
  JINJA_LOOP,     /* the `loop` variable of a for loop */
} jinja_kind;

typedef struct jinja_string {
  size_t size; /* bytes of UTF-8, without the terminating NUL */
  char data[]; /* NUL-terminated */
} jinja_string;

typedef struct jinja_list jinja_list;
typedef struct jinja_dict jinja_dict;
typedef struct jinja_callable jinja_callable;
typedef struct jinja_loop jinja_loop;

typedef struct jinja_value {
  jinja_kind kind;
  union {
    bool boolean;
    int64_t integer;
    double number;
    const jinja_string *string;
    jinja_list *list;
    jinja_dict *dict;
    const jinja_callable *callable;
    jinja_loop *loop;
    const jinja_string *undefined_hint; /* why it is undefined, for the error; may be NULL */
  } as;
} jinja_value;

/* The Python types that are lists here: they print, compare and answer len() differently. */
typedef enum jinja_list_kind {
  LIST_PLAIN,
  LIST_TUPLE,
  /* a generator or iterator (what select, map, items and unique return, as in Jinja2): always
   * true, no len() and no [], and read only once */
  LIST_ITERATOR,
  /* dict.keys(), .values(), .items(): len() but no [] */
  LIST_VIEW,
} jinja_list_kind;

struct jinja_list {
  size_t count, capacity;
  jinja_value *items;
  jinja_list_kind kind;
  const char *type_name;          /* iterators and views: "generator", "dict_keys", ... */
  size_t next;                    /* iterators: the items before it have been read */
  const jinja_string *lazy_error; /* iterators: reading fails with this (a generator raises late) */
};

typedef struct jinja_dict_entry {
  jinja_value key, value;
} jinja_dict_entry;

/* Keys keep their insertion order, as Python's dicts do (templates iterate them). */
struct jinja_dict {
  size_t count, capacity;
  jinja_dict_entry *entries;
  bool namespace;
};

static inline jinja_value jinja_none(void) { return (jinja_value){.kind = JINJA_NONE}; }
static inline jinja_value jinja_bool(bool b) {
  return (jinja_value){.kind = JINJA_BOOL, .as.boolean = b};
}
static inline jinja_value jinja_int(int64_t i) {
  return (jinja_value){.kind = JINJA_INT, .as.integer = i};
}
static inline jinja_value jinja_float(double f) {
  return (jinja_value){.kind = JINJA_FLOAT, .as.number = f};
}
static inline jinja_value jinja_undefined(const jinja_string *hint) {
  return (jinja_value){.kind = JINJA_UNDEFINED, .as.undefined_hint = hint};
}

/* Builders for callers that make the values a template renders (NULL or false when out of
 * memory, with no jump, unless the arena has on_failure set). */
const jinja_string *jinja_string_new(jinja_arena *arena, const char *data, size_t size);
bool jinja_make_string(jinja_arena *arena, const char *data, size_t size, jinja_value *out);
jinja_list *jinja_list_new(jinja_arena *arena);
bool jinja_list_push(jinja_arena *arena, jinja_list *list, jinja_value item);
jinja_dict *jinja_dict_new(jinja_arena *arena);
/* Sets key to value, replacing the value of an equal key in its place (as Python does). */
bool jinja_dict_set(jinja_arena *arena, jinja_dict *dict, jinja_value key, jinja_value value);
bool jinja_dict_set_cstr(jinja_arena *arena, jinja_dict *dict, const char *key, jinja_value value);
static inline jinja_value jinja_list_value(jinja_list *list) {
  return (jinja_value){.kind = JINJA_LIST, .as.list = list};
}
static inline jinja_value jinja_dict_value(jinja_dict *dict) {
  return (jinja_value){.kind = JINJA_DICT, .as.dict = dict};
}
/* The entry whose key equals `key` (Python ==), or NULL. */
jinja_dict_entry *jinja_dict_find(const jinja_dict *dict, jinja_value key);
jinja_dict_entry *jinja_dict_find_cstr(const jinja_dict *dict, const char *key);

/* ---- templates ------------------------------------------------------------------------------- */

typedef struct jinja_template jinja_template;

/* The environment settings of Jinja2 that change how a template's text is read. */
typedef struct jinja_syntax_options {
  bool trim_blocks;           /* drop the first newline after a block or comment tag */
  bool lstrip_blocks;         /* drop spaces and tabs before a block or comment tag on its line */
  bool keep_trailing_newline; /* keep a single newline at the end of the template */
} jinja_syntax_options;

/* Parses `size` bytes of UTF-8 Jinja source. `name` (the file, or a description) starts every
 * error message. */
chord_status jinja_template_parse(const char *name, const char *source, size_t size,
                                  const jinja_syntax_options *options, jinja_template **out,
                                  chord_error *error);
void jinja_template_free(jinja_template *tmpl);
/* The source as the lexer saw it (newlines normalized, the trailing one dropped). */
const char *jinja_template_source(const jinja_template *tmpl);

typedef struct jinja_render_options {
  struct tm now; /* what strftime_now() formats */
} jinja_render_options;

/* Renders with `variables` (a dict: messages, tools, bos_token, ...) over the globals that
 * transformers provides (raise_exception, strftime_now, namespace, range, dict, ...). The output
 * is NUL-terminated and lives in `arena`, as do all values made while rendering. */
chord_status jinja_template_render(const jinja_template *tmpl, const jinja_dict *variables,
                                   const jinja_render_options *options, jinja_arena *arena,
                                   const char **out, size_t *out_size, chord_error *error);

#endif
