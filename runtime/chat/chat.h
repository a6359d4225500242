/* Chat templates: turning a conversation (OpenAI-style messages, optional tools) into the prompt
 * text a model was trained on, by rendering the model's own Jinja template
 * (tokenizer.chat_template) or a built-in one, exactly as Hugging Face transformers renders it:
 * jinja2 with trim_blocks and lstrip_blocks, raise_exception, strftime_now, its own tojson and
 * the loop controls; the variables messages, tools, documents, add_generation_prompt and the
 * special tokens (bos_token, eos_token, ...). See docs/chat-templates.md. */
#ifndef CHORD_RUNTIME_CHAT_H
#define CHORD_RUNTIME_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "chord.h"
#include "frontends/gguf/gguf.h"

typedef struct chat_template chat_template;

/* Parses a template. `name` (a file name, "tokenizer.chat_template", ...) starts its error
 * messages, which give the line, the column and a caret. */
chord_status chat_template_init(const char *name, const char *source, size_t size,
                                chat_template **out, chord_error *error);
void chat_template_free(chat_template *tmpl);
/* The source as parsed (newlines normalized) and the name it was given. */
const char *chat_template_source(const chat_template *tmpl);
const char *chat_template_name(const chat_template *tmpl);

/* ---- built-in templates ---------------------------------------------------------------------- */

/* chatml, llama2, llama3, gemma, alpaca, mistral, phi3: Jinja sources rendered like any other. */
size_t chat_builtin_count(void);
const char *chat_builtin_name(size_t index);
const char *chat_builtin_summary(size_t index);
/* The source of a built-in by name, or NULL. */
const char *chat_builtin_source(const char *name);
/* Parses a built-in by name; CHORD_ERROR_NOT_FOUND (listing the names) if there is none. */
chord_status chat_template_init_builtin(const char *name, chat_template **out, chord_error *error);

/* ---- models ---------------------------------------------------------------------------------- */

/* The template a model renders with: its tokenizer.chat_template, or, for a file that has none,
 * the built-in that fits its general.architecture (and vocabulary: Llama 3 or Llama 2 style);
 * CHORD_ERROR_NOT_FOUND if none fits. */
chord_status chat_template_init_model(const gguf_file *model, chat_template **out,
                                      chord_error *error);

/* A variable a template sees besides the conversation: the special tokens. */
typedef struct chat_variable {
  const char *name; /* "bos_token", ... */
  char *text;
} chat_variable;

enum { CHAT_MAX_TOKENS = 8 };

typedef struct chat_tokens {
  size_t count;
  chat_variable tokens[CHAT_MAX_TOKENS];
} chat_tokens;

/* The special tokens of a model's vocabulary as transformers names them (bos_token from
 * tokenizer.ggml.tokens[tokenizer.ggml.bos_token_id], eos_token, unk_token, sep_token, pad_token,
 * ...): only those whose id the file gives. */
chord_status chat_tokens_from_model(const gguf_file *model, chat_tokens *out, chord_error *error);
/* Sets (or replaces) one token by name, copying the text. */
chord_status chat_tokens_set(chat_tokens *tokens, const char *name, const char *text,
                             chord_error *error);
void chat_tokens_free(chat_tokens *tokens);

/* ---- rendering ------------------------------------------------------------------------------- */

typedef struct chat_render_options {
  /* The conversation: a JSON array of messages ({"role", "content", "tool_calls",
   * "tool_call_id", "name", ...}, passed as they are), or an object with "messages" and
   * optionally "tools" (an OpenAI request body). `messages_name` names it in errors. */
  const char *messages_json;
  size_t messages_size;
  const char *messages_name;
  /* A JSON array of tools, or NULL: then tools is none (or the request body's "tools"). */
  const char *tools_json;
  size_t tools_size;
  const char *tools_name;
  /* A JSON object of further variables (transformers' template kwargs, such as
   * {"enable_thinking": false}), or NULL. They cannot replace the four above. */
  const char *kwargs_json;
  size_t kwargs_size;
  const char *kwargs_name;
  bool add_generation_prompt;
  const chat_tokens *tokens; /* may be NULL */
  const struct tm *now;      /* what strftime_now() formats; NULL for the local time now */
} chat_render_options;

/* Renders the conversation. *out (NUL-terminated, *size bytes) is the caller's to free with
 * rt_free. A template that refuses the conversation (raise_exception) or fails is an error with
 * the template's line, column and caret. */
chord_status chat_template_render(const chat_template *tmpl, const chat_render_options *options,
                                  char **out, size_t *size, chord_error *error);

#endif
