/* Rendering a conversation through a chat template: the JSON of the messages and tools becomes
 * Jinja values (objects keep their key order, as Python's dicts do), and the template sees the
 * variables transformers gives it. */
#include "runtime/chat/chat.h"

#include <jansson.h>
#include <string.h>

#include "runtime/chat/jinja.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

struct chat_template {
  jinja_template *jinja;
  char *name;
};

/* How transformers sets up jinja2 for chat templates. */
static const jinja_syntax_options chat_syntax = {
    .trim_blocks = true, .lstrip_blocks = true, .keep_trailing_newline = false};

chord_status chat_template_init(const char *name, const char *source, size_t size,
                                chat_template **out, chord_error *error) {
  *out = NULL;
  chat_template *tmpl = rt_calloc(1, sizeof *tmpl);
  char *copy = tmpl ? rt_strndup(name, strlen(name)) : NULL;
  if (!copy) {
    rt_free(tmpl);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory reading %s", name);
  }
  tmpl->name = copy;
  chord_status status = jinja_template_parse(name, source, size, &chat_syntax, &tmpl->jinja, error);
  if (status != CHORD_OK) {
    chat_template_free(tmpl);
    return status;
  }
  *out = tmpl;
  return CHORD_OK;
}

void chat_template_free(chat_template *tmpl) {
  if (!tmpl)
    return;
  jinja_template_free(tmpl->jinja);
  rt_free(tmpl->name);
  rt_free(tmpl);
}

const char *chat_template_source(const chat_template *tmpl) {
  return jinja_template_source(tmpl->jinja);
}

const char *chat_template_name(const chat_template *tmpl) { return tmpl->name; }

/* ---- JSON to values -------------------------------------------------------------------------- */

/* JSON nests deeper than this only in hostile input; it bounds the recursion. */
enum { MAX_JSON_DEPTH = 256 };

static bool from_json(jinja_arena *arena, const json_t *json, jinja_value *out, int depth) {
  if (depth > MAX_JSON_DEPTH)
    return false;
  switch (json_typeof(json)) {
  case JSON_OBJECT: {
    jinja_dict *dict = jinja_dict_new(arena);
    if (!dict)
      return false;
    const char *key;
    json_t *value;
    /* jansson keeps the keys in the order of the text, as Python's json module does. */
    json_object_foreach((json_t *)json, key, value) {
      jinja_value k, v;
      if (!jinja_make_string(arena, key, strlen(key), &k) ||
          !from_json(arena, value, &v, depth + 1) || !jinja_dict_set(arena, dict, k, v))
        return false;
    }
    *out = jinja_dict_value(dict);
    return true;
  }
  case JSON_ARRAY: {
    jinja_list *list = jinja_list_new(arena);
    if (!list)
      return false;
    size_t i;
    json_t *item;
    json_array_foreach(json, i, item) {
      jinja_value v;
      if (!from_json(arena, item, &v, depth + 1) || !jinja_list_push(arena, list, v))
        return false;
    }
    *out = jinja_list_value(list);
    return true;
  }
  case JSON_STRING:
    return jinja_make_string(arena, json_string_value(json), json_string_length(json), out);
  case JSON_INTEGER: *out = jinja_int(json_integer_value(json)); return true;
  case JSON_REAL: *out = jinja_float(json_real_value(json)); return true;
  case JSON_TRUE: *out = jinja_bool(true); return true;
  case JSON_FALSE: *out = jinja_bool(false); return true;
  case JSON_NULL: *out = jinja_none(); return true;
  }
  return false;
}

static chord_status parse_json(const char *text, size_t size, const char *name, json_t **out,
                               chord_error *error) {
  json_error_t json_error;
  *out = json_loadb(text, size, JSON_ALLOW_NUL, &json_error);
  if (!*out)
    return rt_error(error, CHORD_ERROR_FORMAT, "%s:%d:%d: invalid JSON: %s", name, json_error.line,
                    json_error.column, json_error.text);
  return CHORD_OK;
}

static chord_status convert(jinja_arena *arena, const json_t *json, const char *name,
                            jinja_value *out, chord_error *error) {
  if (!from_json(arena, json, out, 0))
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "%s: out of memory (or nested too deeply)", name);
  return CHORD_OK;
}

/* The messages and tools of the conversation, converted into the arena. */
static chord_status read_conversation(jinja_arena *arena, const chat_render_options *o,
                                      jinja_value *messages, jinja_value *tools,
                                      chord_error *error) {
  const char *messages_name = o->messages_name ? o->messages_name : "messages";
  const char *tools_name = o->tools_name ? o->tools_name : "tools";
  json_t *root, *tools_root = NULL;
  chord_status status = parse_json(o->messages_json, o->messages_size, messages_name, &root, error);
  if (status != CHORD_OK)
    return status;
  const json_t *list = root, *request_tools = NULL;
  if (json_is_object(root)) { /* an OpenAI request body */
    list = json_object_get(root, "messages");
    request_tools = json_object_get(root, "tools");
  }
  if (!json_is_array(list)) {
    json_decref(root);
    return rt_error(error, CHORD_ERROR_FORMAT,
                    "%s: expected a JSON array of messages (or an object with \"messages\")",
                    messages_name);
  }
  status = convert(arena, list, messages_name, messages, error);
  *tools = jinja_none();
  if (status == CHORD_OK && o->tools_json) {
    status = parse_json(o->tools_json, o->tools_size, tools_name, &tools_root, error);
    if (status == CHORD_OK) {
      const json_t *t = tools_root;
      if (json_is_object(t) && json_object_get(t, "tools"))
        t = json_object_get(t, "tools");
      if (!json_is_array(t))
        status =
            rt_error(error, CHORD_ERROR_FORMAT, "%s: expected a JSON array of tools", tools_name);
      else
        status = convert(arena, t, tools_name, tools, error);
    }
  } else if (status == CHORD_OK && request_tools && !json_is_null(request_tools)) {
    status = convert(arena, request_tools, messages_name, tools, error);
  }
  json_decref(tools_root);
  json_decref(root);
  return status;
}

/* The names transformers passes itself; template kwargs cannot pass them again. */
static const char *const reserved_variables[] = {"messages", "tools", "documents",
                                                 "add_generation_prompt"};

/* Template kwargs: each key of a JSON object becomes a variable. */
static chord_status read_kwargs(jinja_arena *arena, const chat_render_options *o,
                                jinja_dict *variables, chord_error *error) {
  const char *name = o->kwargs_name ? o->kwargs_name : "template kwargs";
  json_t *root;
  chord_status status = parse_json(o->kwargs_json, o->kwargs_size, name, &root, error);
  if (status != CHORD_OK)
    return status;
  jinja_value value;
  if (!json_is_object(root))
    status = rt_error(error, CHORD_ERROR_FORMAT, "%s: expected a JSON object", name);
  else
    status = convert(arena, root, name, &value, error);
  for (size_t i = 0; status == CHORD_OK && i < value.as.dict->count; i++) {
    jinja_dict_entry *e = &value.as.dict->entries[i];
    for (size_t r = 0; r < sizeof reserved_variables / sizeof reserved_variables[0]; r++)
      if (strcmp(e->key.as.string->data, reserved_variables[r]) == 0)
        status = rt_error(error, CHORD_ERROR_INVALID,
                          "%s: '%s' cannot be passed as a template "
                          "kwarg",
                          name, reserved_variables[r]);
    if (status == CHORD_OK && !jinja_dict_set(arena, variables, e->key, e->value))
      status = rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory");
  }
  json_decref(root);
  return status;
}

chord_status chat_template_render(const chat_template *tmpl, const chat_render_options *o,
                                  char **out, size_t *size, chord_error *error) {
  *out = NULL;
  *size = 0;
  jinja_arena arena;
  jinja_arena_init(&arena);
  jinja_value messages, tools;
  chord_status status = read_conversation(&arena, o, &messages, &tools, error);
  jinja_dict *variables = status == CHORD_OK ? jinja_dict_new(&arena) : NULL;
  if (status == CHORD_OK && !variables)
    status = rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory rendering %s", tmpl->name);
  /* What transformers passes to render(): the special tokens and the template kwargs, then the
   * named arguments. */
  bool ok = status == CHORD_OK;
  for (size_t i = 0; ok && o->tokens && i < o->tokens->count; i++) {
    jinja_value text;
    const chat_variable *t = &o->tokens->tokens[i];
    ok = jinja_make_string(&arena, t->text, strlen(t->text), &text) &&
         jinja_dict_set_cstr(&arena, variables, t->name, text);
  }
  if (ok && o->kwargs_json) {
    status = read_kwargs(&arena, o, variables, error);
    ok = status == CHORD_OK;
  }
  ok = ok && jinja_dict_set_cstr(&arena, variables, "messages", messages) &&
       jinja_dict_set_cstr(&arena, variables, "tools", tools) &&
       jinja_dict_set_cstr(&arena, variables, "documents", jinja_none()) &&
       jinja_dict_set_cstr(&arena, variables, "add_generation_prompt",
                           jinja_bool(o->add_generation_prompt));
  if (status == CHORD_OK && !ok)
    status = rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory rendering %s", tmpl->name);
  if (status == CHORD_OK) {
    jinja_render_options render = {0};
    if (o->now) {
      render.now = *o->now;
    } else {
      time_t now = time(NULL);
      localtime_r(&now, &render.now);
    }
    const char *text;
    size_t text_size;
    status =
        jinja_template_render(tmpl->jinja, variables, &render, &arena, &text, &text_size, error);
    if (status == CHORD_OK) {
      *out = rt_strndup(text, text_size);
      if (*out)
        *size = text_size;
      else
        status = rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory rendering %s", tmpl->name);
    }
  }
  jinja_arena_free(&arena);
  return status;
}
