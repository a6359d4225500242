/* What a model file says about chatting with it: its template (or the built-in that fits a file
 * without one) and the text of its special tokens. */
#include <stdio.h>
#include <string.h>

#include "runtime/chat/chat.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

/* The built-in for a file without tokenizer.chat_template, by general.architecture; where one
 * architecture covers several formats (llama: Llama 2, Llama 3 and Mistral), a token that only
 * the newer vocabularies have tells them apart. The first row that fits wins. */
static const struct {
  const char *architecture;
  const char *token; /* NULL: any vocabulary */
  const char *builtin;
} architecture_builtins[] = {
    {"gemma", NULL, "gemma"},
    {"gemma2", NULL, "gemma"},
    {"gemma3", NULL, "gemma"},
    {"gemma3n", NULL, "gemma"},
    {"llama", "<|start_header_id|>", "llama3"},
    {"llama", "[INST]", "mistral"},
    {"llama", NULL, "llama2"},
    {"qwen2", NULL, "chatml"},
    {"qwen2moe", NULL, "chatml"},
    {"qwen3", NULL, "chatml"},
    {"qwen3moe", NULL, "chatml"},
    {"phi3", NULL, "phi3"},
};

static bool vocabulary_has(const gguf_file *model, const char *token) {
  const gguf_array *tokens;
  if (gguf_get_array(model, "tokenizer.ggml.tokens", &tokens, NULL) != CHORD_OK ||
      tokens->elem_type != GGUF_TYPE_STRING)
    return false;
  for (uint64_t i = 0; i < tokens->count; i++)
    if (gguf_string_eq(gguf_array_string(tokens, i), token))
      return true;
  return false;
}

chord_status chat_template_init_model(const gguf_file *model, chat_template **out,
                                      chord_error *error) {
  *out = NULL;
  gguf_string source;
  chord_status status = gguf_get_string(model, "tokenizer.chat_template", &source, error);
  if (status == CHORD_OK)
    return chat_template_init("tokenizer.chat_template", source.data, source.size, out, error);
  if (status != CHORD_ERROR_NOT_FOUND)
    return status;
  gguf_string arch = {"", 0};
  gguf_get_string(model, "general.architecture", &arch, NULL);
  for (size_t i = 0; i < sizeof architecture_builtins / sizeof architecture_builtins[0]; i++) {
    if (!gguf_string_eq(arch, architecture_builtins[i].architecture))
      continue;
    const char *token = architecture_builtins[i].token;
    if (token && !vocabulary_has(model, token))
      continue;
    return chat_template_init_builtin(architecture_builtins[i].builtin, out, error);
  }
  return rt_error(error, CHORD_ERROR_NOT_FOUND,
                  "%s has no chat template (tokenizer.chat_template) and no built-in template "
                  "fits its architecture '%.*s'; choose one with --chat-template NAME",
                  model->path, (int)arch.size, arch.data);
}

/* transformers' names of the special tokens and the GGUF keys of their ids. */
static const struct {
  const char *name;
  const char *key;
} special_tokens[] = {
    {"bos_token", "tokenizer.ggml.bos_token_id"},
    {"eos_token", "tokenizer.ggml.eos_token_id"},
    {"unk_token", "tokenizer.ggml.unknown_token_id"},
    {"sep_token", "tokenizer.ggml.seperator_token_id"},
    {"pad_token", "tokenizer.ggml.padding_token_id"},
    {"cls_token", "tokenizer.ggml.cls_token_id"},
    {"mask_token", "tokenizer.ggml.mask_token_id"},
};

chord_status chat_tokens_set(chat_tokens *tokens, const char *name, const char *text,
                             chord_error *error) {
  char *copy = rt_strndup(text, strlen(text));
  if (!copy)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory");
  for (size_t i = 0; i < tokens->count; i++) {
    if (strcmp(tokens->tokens[i].name, name) == 0) {
      rt_free(tokens->tokens[i].text);
      tokens->tokens[i].text = copy;
      return CHORD_OK;
    }
  }
  if (tokens->count == CHAT_MAX_TOKENS) {
    rt_free(copy);
    return rt_error(error, CHORD_ERROR_INVALID, "too many special tokens");
  }
  tokens->tokens[tokens->count++] = (chat_variable){name, copy};
  return CHORD_OK;
}

chord_status chat_tokens_from_model(const gguf_file *model, chat_tokens *out, chord_error *error) {
  *out = (chat_tokens){0};
  const gguf_array *vocabulary;
  if (gguf_get_array(model, "tokenizer.ggml.tokens", &vocabulary, NULL) != CHORD_OK ||
      vocabulary->elem_type != GGUF_TYPE_STRING)
    return CHORD_OK; /* no vocabulary, no special tokens */
  for (size_t i = 0; i < sizeof special_tokens / sizeof special_tokens[0]; i++) {
    uint64_t id;
    if (gguf_get_u64(model, special_tokens[i].key, &id, NULL) != CHORD_OK)
      continue;
    if (id >= vocabulary->count) {
      chat_tokens_free(out);
      return rt_error(error, CHORD_ERROR_FORMAT, "%s: %s is %llu, past the %llu tokens",
                      model->path, special_tokens[i].key, (unsigned long long)id,
                      (unsigned long long)vocabulary->count);
    }
    gguf_string text = gguf_array_string(vocabulary, id);
    char *copy = rt_strndup(text.data, text.size);
    if (!copy) {
      chat_tokens_free(out);
      return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory");
    }
    out->tokens[out->count++] = (chat_variable){special_tokens[i].name, copy};
  }
  return CHORD_OK;
}

void chat_tokens_free(chat_tokens *tokens) {
  for (size_t i = 0; i < tokens->count; i++)
    rt_free(tokens->tokens[i].text);
  tokens->count = 0;
}
