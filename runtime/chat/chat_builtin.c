/* Built-in chat templates for model files that carry none, written as Jinja and rendered by the
 * same engine under the same rules as a model's own template. Every tag trims the whitespace
 * around it ({%- -%}), so only the string literals make text: what a template prints is what its
 * literals say. */
#include <stdio.h>
#include <string.h>

#include "runtime/chat/chat.h"
#include "runtime/support/error.h"

/* The text of a message's content: a string as it is; a list of parts ({"type": "text",
 * "text": ...}), its text parts joined; anything else, nothing. */
#define CONTENT_MACRO                                                                              \
  "{%- macro text(content) -%}\n"                                                                  \
  "  {%- if content is string -%}\n"                                                               \
  "    {{- content -}}\n"                                                                          \
  "  {%- elif content is iterable and content is not mapping -%}\n"                                \
  "    {%- for part in content if part is mapping and part.type == 'text' -%}\n"                   \
  "      {{- part.text -}}\n"                                                                      \
  "    {%- endfor -%}\n"                                                                           \
  "  {%- endif -%}\n"                                                                              \
  "{%- endmacro -%}\n"

/* <|im_start|>role\ncontent<|im_end|>\n, as Qwen, Yi, SmolLM and many fine-tunes use. */
static const char chatml[] = CONTENT_MACRO
    "{%- for message in messages -%}\n"
    "  {{- '<|im_start|>' ~ message.role ~ '\\n' ~ text(message.content) ~ '<|im_end|>\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "  {{- '<|im_start|>assistant\\n' -}}\n"
    "{%- endif -%}\n";

/* Llama 2 chat: the system prompt inside the first [INST] between <<SYS>> markers. */
static const char llama2[] =
    CONTENT_MACRO "{%- if messages and messages[0].role == 'system' -%}\n"
                  "  {%- set system = text(messages[0].content) | trim -%}\n"
                  "  {%- set messages = messages[1:] -%}\n"
                  "{%- endif -%}\n"
                  "{%- for message in messages -%}\n"
                  "  {%- if message.role == 'user' -%}\n"
                  "    {{- bos_token ~ '[INST] ' -}}\n"
                  "    {%- if loop.first and system is defined -%}\n"
                  "      {{- '<<SYS>>\\n' ~ system ~ '\\n<</SYS>>\\n\\n' -}}\n"
                  "    {%- endif -%}\n"
                  "    {{- text(message.content) | trim ~ ' [/INST]' -}}\n"
                  "  {%- elif message.role == 'assistant' -%}\n"
                  "    {{- ' ' ~ text(message.content) | trim ~ ' ' ~ eos_token -}}\n"
                  "  {%- endif -%}\n"
                  "{%- endfor -%}\n";

/* Llama 3: a header per turn, <|eot_id|> after each. */
static const char llama3[] =
    CONTENT_MACRO "{{- bos_token -}}\n"
                  "{%- for message in messages -%}\n"
                  "  {{- '<|start_header_id|>' ~ message.role ~ '<|end_header_id|>\\n\\n' -}}\n"
                  "  {{- text(message.content) | trim ~ '<|eot_id|>' -}}\n"
                  "{%- endfor -%}\n"
                  "{%- if add_generation_prompt -%}\n"
                  "  {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}\n"
                  "{%- endif -%}\n";

/* Gemma (1, 2 and 3): user and model turns that alternate, the system prompt at the start of
 * the first user turn, images as <start_of_image>. */
static const char gemma[] =
    "{{- bos_token -}}\n"
    "{%- set first = namespace(prefix='') -%}\n"
    "{%- if messages and messages[0].role == 'system' -%}\n"
    "  {%- set system = messages[0].content -%}\n"
    "  {%- if system is not string -%}\n"
    "    {%- set system = system | selectattr('type', 'equalto', 'text') | map(attribute='text')"
    " | join -%}\n"
    "  {%- endif -%}\n"
    "  {%- set first.prefix = system ~ '\\n\\n' -%}\n"
    "  {%- set turns = messages[1:] -%}\n"
    "{%- else -%}\n"
    "  {%- set turns = messages -%}\n"
    "{%- endif -%}\n"
    "{%- for message in turns -%}\n"
    "  {%- if message.role != ('user' if loop.index0 is even else 'assistant') -%}\n"
    "    {{- raise_exception('Gemma conversations alternate user and assistant turns, starting"
    " with the user (after an optional system message)') -}}\n"
    "  {%- endif -%}\n"
    "  {{- '<start_of_turn>' ~ ('model' if message.role == 'assistant' else 'user') ~ '\\n' -}}\n"
    "  {%- if loop.first -%}\n"
    "    {{- first.prefix -}}\n"
    "  {%- endif -%}\n"
    "  {%- if message.content is string -%}\n"
    "    {{- message.content | trim -}}\n"
    "  {%- elif message.content is iterable and message.content is not mapping -%}\n"
    "    {%- for part in message.content -%}\n"
    "      {%- if part.type == 'image' -%}\n"
    "        {{- '<start_of_image>' -}}\n"
    "      {%- elif part.type == 'text' -%}\n"
    "        {{- part.text | trim -}}\n"
    "      {%- endif -%}\n"
    "    {%- endfor -%}\n"
    "  {%- else -%}\n"
    "    {{- raise_exception('Gemma message content must be a string or a list of parts') -}}\n"
    "  {%- endif -%}\n"
    "  {{- '<end_of_turn>\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "  {{- '<start_of_turn>model\\n' -}}\n"
    "{%- endif -%}\n";

/* Alpaca instructions: ### Instruction: / ### Response: blocks after an optional preamble. */
static const char alpaca[] = CONTENT_MACRO
    "{{- bos_token -}}\n"
    "{%- if messages and messages[0].role == 'system' -%}\n"
    "  {{- text(messages[0].content) | trim ~ '\\n\\n' -}}\n"
    "  {%- set messages = messages[1:] -%}\n"
    "{%- endif -%}\n"
    "{%- for message in messages -%}\n"
    "  {%- if message.role == 'user' -%}\n"
    "    {{- '### Instruction:\\n' ~ text(message.content) | trim ~ '\\n\\n' -}}\n"
    "  {%- elif message.role == 'assistant' -%}\n"
    "    {{- '### Response:\\n' ~ text(message.content) | trim ~ eos_token ~ '\\n\\n' -}}\n"
    "  {%- endif -%}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "  {{- '### Response:\\n' -}}\n"
    "{%- endif -%}\n";

/* Mistral instruct: [INST] ... [/INST] answer</s>, the system prompt before the first user
 * message. */
static const char mistral[] =
    CONTENT_MACRO "{{- bos_token -}}\n"
                  "{%- set first = namespace(prefix='') -%}\n"
                  "{%- if messages and messages[0].role == 'system' -%}\n"
                  "  {%- set first.prefix = text(messages[0].content) ~ '\\n\\n' -%}\n"
                  "  {%- set messages = messages[1:] -%}\n"
                  "{%- endif -%}\n"
                  "{%- for message in messages -%}\n"
                  "  {%- if message.role == 'user' -%}\n"
                  "    {{- '[INST] ' ~ first.prefix ~ text(message.content) ~ ' [/INST]' -}}\n"
                  "    {%- set first.prefix = '' -%}\n"
                  "  {%- elif message.role == 'assistant' -%}\n"
                  "    {{- text(message.content) ~ eos_token -}}\n"
                  "  {%- endif -%}\n"
                  "{%- endfor -%}\n";

/* Phi-3: <|role|>\ncontent<|end|>\n; without a generation prompt the text ends with eos. */
static const char phi3[] = CONTENT_MACRO
    "{%- for message in messages -%}\n"
    "  {%- if message.role in ['system', 'user', 'assistant'] -%}\n"
    "    {{- '<|' ~ message.role ~ '|>\\n' ~ text(message.content) ~ '<|end|>\\n' -}}\n"
    "  {%- endif -%}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "  {{- '<|assistant|>\\n' -}}\n"
    "{%- else -%}\n"
    "  {{- eos_token -}}\n"
    "{%- endif -%}\n";

static const struct {
  const char *name;
  const char *source;
  const char *summary;
} builtins[] = {
    {"chatml", chatml, "<|im_start|>role ... <|im_end|> (Qwen, Yi, SmolLM, many fine-tunes)"},
    {"llama2", llama2, "[INST] <<SYS>> ... <</SYS>> ... [/INST] (Llama 2 chat)"},
    {"llama3", llama3, "<|start_header_id|>role<|end_header_id|> ... <|eot_id|> (Llama 3)"},
    {"gemma", gemma, "<start_of_turn>user|model ... <end_of_turn> (Gemma 1, 2, 3)"},
    {"alpaca", alpaca, "### Instruction: ... ### Response: (Alpaca-style instructions)"},
    {"mistral", mistral, "[INST] ... [/INST] answer</s> (Mistral instruct)"},
    {"phi3", phi3, "<|user|> ... <|end|> <|assistant|> (Phi-3)"},
};
enum { BUILTIN_COUNT = sizeof builtins / sizeof builtins[0] };

size_t chat_builtin_count(void) { return BUILTIN_COUNT; }

const char *chat_builtin_name(size_t index) {
  return index < BUILTIN_COUNT ? builtins[index].name : NULL;
}

const char *chat_builtin_summary(size_t index) {
  return index < BUILTIN_COUNT ? builtins[index].summary : NULL;
}

const char *chat_builtin_source(const char *name) {
  for (size_t i = 0; i < BUILTIN_COUNT; i++)
    if (strcmp(builtins[i].name, name) == 0)
      return builtins[i].source;
  return NULL;
}

chord_status chat_template_init_builtin(const char *name, chat_template **out, chord_error *error) {
  *out = NULL;
  const char *source = chat_builtin_source(name);
  if (!source) {
    char names[256] = "";
    for (size_t i = 0; i < BUILTIN_COUNT; i++)
      snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
               builtins[i].name);
    return rt_error(error, CHORD_ERROR_NOT_FOUND,
                    "no built-in chat template named '%s' (there are: %s)", name, names);
  }
  char label[96];
  snprintf(label, sizeof label, "built-in template '%s'", name);
  return chat_template_init(label, source, strlen(source), out, error);
}
