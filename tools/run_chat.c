/* chord run --chat: a conversation on stdin through the model's chat template. The history stays
 * in the KV cache: each turn renders the whole conversation, and only the text after what the
 * cache already holds is tokenized and fed (llama-cli's way). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/chat/chat.h"
#include "runtime/model_internal.h"
#include "runtime/support/alloc.h"
#include "tools/cli.h"
#include "tools/json_writer.h"
#include "tools/run.h"

typedef struct message {
  const char *role;
  char *content;
} message;

typedef struct conversation {
  message *messages;
  size_t count, capacity;
} conversation;

static bool add_message(conversation *c, const char *role, const char *content, size_t size) {
  if (c->count == c->capacity) {
    size_t cap = c->capacity ? 2 * c->capacity : 8;
    message *grown = rt_realloc(c->messages, sizeof *grown * cap);
    if (!grown)
      return false;
    c->messages = grown;
    c->capacity = cap;
  }
  char *copy = rt_strndup(content, size);
  if (!copy)
    return false;
  c->messages[c->count++] = (message){role, copy};
  return true;
}

static void conversation_free(conversation *c) {
  for (size_t i = 0; i < c->count; i++)
    rt_free(c->messages[i].content);
  rt_free(c->messages);
}

/* The conversation as the JSON array the template renderer takes. */
static char *messages_json(const conversation *c, size_t *size) {
  char *text = NULL;
  FILE *out = open_memstream(&text, size);
  if (!out)
    return NULL;
  json_writer j;
  jw_init(&j, out);
  jw_array_begin(&j);
  for (size_t i = 0; i < c->count; i++) {
    jw_object_begin(&j);
    jw_key(&j, "role");
    jw_string(&j, c->messages[i].role);
    jw_key(&j, "content");
    jw_string(&j, c->messages[i].content);
    jw_object_end(&j);
  }
  jw_array_end(&j);
  if (fclose(out) != 0) {
    free(text); /* open_memstream's buffer is the C library's */
    return NULL;
  }
  return text;
}

static chord_status load_template(const gguf_file *file, const run_args *a, chat_template **out,
                                  chord_error *error) {
  if (a->template_name)
    return chat_template_init_builtin(a->template_name, out, error);
  if (!a->template_file)
    return chat_template_init_model(file, out, error);
  size_t size;
  char *source = cli_read_file(a->template_file, &size);
  if (!source)
    return CHORD_ERROR_IO; /* reported */
  chord_status st = chat_template_init(a->template_file, source, size, out, error);
  rt_free(source);
  return st;
}

/* Renders the conversation with the assistant's turn opened. */
static chord_status render(const chat_template *tmpl, const chat_tokens *tokens,
                           const conversation *c, char **out, size_t *size, chord_error *error) {
  size_t json_size;
  char *json = messages_json(c, &json_size);
  if (!json) {
    error->status = CHORD_ERROR_NO_MEMORY;
    snprintf(error->message, sizeof error->message, "out of memory rendering the conversation");
    return CHORD_ERROR_NO_MEMORY;
  }
  time_t now_t = time(NULL);
  struct tm now;
  localtime_r(&now_t, &now);
  chat_render_options o = {.messages_json = json,
                           .messages_size = json_size,
                           .messages_name = "the conversation",
                           .add_generation_prompt = true,
                           .tokens = tokens,
                           .now = &now};
  chord_status st = chat_template_render(tmpl, &o, out, size, error);
  free(json);
  return st;
}

/* One line from stdin without its newline; NULL at EOF or on Ctrl-C. */
static char *read_turn(size_t *size) {
  char *line = NULL;
  size_t cap = 0;
  errno = 0;
  ssize_t n = getline(&line, &cap, stdin);
  if (n < 0 || run_interrupted) {
    free(line);
    return NULL;
  }
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  *size = (size_t)n;
  return line;
}

int run_chat(chord_model *model, chord_session *session, const run_args *a) {
  chord_error error;
  chat_template *tmpl = NULL;
  chat_tokens tokens = {0};
  conversation conv = {0};
  char *cached = NULL; /* the text whose tokens are in the KV cache */
  size_t cached_size = 0;
  int rc = 1;
  if (load_template(model->file, a, &tmpl, &error) != CHORD_OK) {
    if (error.status != CHORD_ERROR_IO || tmpl)
      cli_error("%s", error.message);
    goto done;
  }
  if (chat_tokens_from_model(model->file, &tokens, &error) != CHORD_OK) {
    cli_error("%s", error.message);
    goto done;
  }
  if (a->system && !add_message(&conv, "system", a->system, strlen(a->system))) {
    cli_error("out of memory");
    goto done;
  }
  fprintf(stderr, "chord: chat with %s's template; Ctrl-C stops a reply, Ctrl-D ends\n",
          chat_template_name(tmpl));
  for (;;) {
    fputs("\n> ", stdout);
    fflush(stdout);
    size_t size;
    char *line = read_turn(&size);
    if (!line) {
      rc = 0;
      break;
    }
    bool added = add_message(&conv, "user", line, size);
    free(line);
    char *full = NULL;
    size_t full_size;
    if (!added || render(tmpl, &tokens, &conv, &full, &full_size, &error) != CHORD_OK) {
      cli_error("%s", added ? error.message : "out of memory");
      break;
    }
    /* feed what the cache does not hold yet; a template that rewrites history starts over */
    size_t from = 0;
    if (cached && cached_size <= full_size && memcmp(full, cached, cached_size) == 0) {
      from = cached_size;
    } else if (chord_session_reset(session, &error) != CHORD_OK) {
      rt_free(full);
      cli_error("%s", error.message);
      break;
    }
    int32_t *ids = NULL;
    size_t n_ids = 0;
    /* the template writes BOS itself where the model wants one: no add_special */
    chord_status st =
        chord_tokenize(model, full + from, full_size - from, false, true, &ids, &n_ids, &error);
    chord_generate_result r = {0};
    run_interrupted = 0;
    /* a context shift keeps BOS (the template's) and --keep tokens after it */
    chord_generate_options options = a->generate;
    options.n_keep = 1 + (a->generate.n_keep > 0 ? a->generate.n_keep : 0);
    if (st == CHORD_OK)
      st = chord_session_generate(session, ids, n_ids, &options, run_stream_stdout, NULL, &r,
                                  &error);
    chord_free(ids);
    if (st != CHORD_OK) {
      rt_free(full);
      cli_error("%s", error.message);
      break;
    }
    fputc('\n', stdout);
    if (r.stop == CHORD_STOP_CALLBACK)
      fprintf(stderr, "chord: (stopped)\n");
    /* the cache now holds the rendered prompt and the reply, unless a context shift dropped
     * some of it: then the next turn starts over */
    rt_free(cached);
    cached = NULL;
    if (r.n_discarded)
      fprintf(stderr, "chord: (the context was shifted: the next turn starts over)\n");
    cached = r.n_discarded ? NULL : rt_malloc(full_size + r.text_size + 1);
    bool ok = (cached || r.n_discarded) && add_message(&conv, "assistant", r.text, r.text_size);
    if (cached) {
      memcpy(cached, full, full_size);
      memcpy(cached + full_size, r.text, r.text_size);
      cached_size = full_size + r.text_size;
    }
    rt_free(full);
    chord_generate_result_free(&r);
    run_interrupted = 0;
    if (!ok) {
      cli_error("out of memory");
      break;
    }
  }
done:
  rt_free(cached);
  conversation_free(&conv);
  chat_tokens_free(&tokens);
  chat_template_free(tmpl);
  return rc;
}
