/* chord template: render a conversation through a model's chat template and print the prompt, byte
 * for byte what the model will be given. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontends/gguf/gguf.h"
#include "runtime/chat/chat.h"
#include "runtime/platform/file.h"
#include "runtime/support/alloc.h"
#include "tools/cli.h"

static const char template_usage[] =
    "usage: chord template [OPTIONS] --messages FILE.json\n"
    "\n"
    "Renders a conversation through a chat template and prints the prompt text, exactly as\n"
    "Hugging Face transformers' apply_chat_template(tokenize=False) would. The template is the\n"
    "model's own (tokenizer.chat_template); for a model without one, the built-in template of its\n"
    "architecture. With no model, uses the default model.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE              the model whose template and special tokens to use\n"
    "      --messages FILE           the conversation: a JSON array of messages (role, content,\n"
    "                                tool_calls, tool_call_id, name, ...) or a request body with\n"
    "                                \"messages\" and \"tools\"; - reads standard input\n"
    "      --tools FILE              a JSON array of tools (function schemas)\n"
    "      --chat-template NAME      use a built-in template instead of the model's\n"
    "      --chat-template-file FILE use a Jinja template file instead of the model's\n"
    "      --chat-template-kwargs JSON\n"
    "                                further template variables, e.g. '{\"enable_thinking\": "
    "false}'\n"
    "      --no-add-generation-prompt\n"
    "                                do not open the assistant's turn at the end\n"
    "      --bos-token TEXT          bos_token instead of the model's\n"
    "      --eos-token TEXT          eos_token instead of the model's\n"
    "      --print-template          print the template's source instead of rendering\n"
    "      --list-templates          list the built-in templates\n"
    "  -h, --help                    show this help\n"
    "\n"
    "environment:\n"
    "  CHORD_TEMPLATE_NOW=YYYY-MM-DD[THH:MM:SS]  the date strftime_now() sees (default: now)\n";

typedef struct template_args {
  const char *model, *messages, *tools, *builtin, *template_file, *kwargs, *bos, *eos;
  bool add_generation_prompt, print_template, list_templates;
} template_args;

/* The whole of a file (or of standard input for "-"), NUL-terminated. */

/* CHORD_TEMPLATE_NOW, so that templates that print today's date render reproducibly. */
static bool render_time(struct tm *now) {
  const char *fixed = getenv("CHORD_TEMPLATE_NOW");
  if (!fixed || !*fixed) {
    time_t t = time(NULL);
    localtime_r(&t, now);
    return true;
  }
  int year, month, day, hour = 0, minute = 0, second = 0;
  int n = sscanf(fixed, "%d-%d-%d%*[T ]%d:%d:%d", &year, &month, &day, &hour, &minute, &second);
  if (n != 3 && n != 6) {
    cli_error("CHORD_TEMPLATE_NOW='%s': expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS", fixed);
    return false;
  }
  struct tm tm = {.tm_year = year - 1900,
                  .tm_mon = month - 1,
                  .tm_mday = day,
                  .tm_hour = hour,
                  .tm_min = minute,
                  .tm_sec = second};
  time_t t = timegm(&tm); /* fills in the weekday and the day of the year */
  gmtime_r(&t, now);
  return true;
}

static int list_templates(void) {
  for (size_t i = 0; i < chat_builtin_count(); i++)
    printf("%-8s %s\n", chat_builtin_name(i), chat_builtin_summary(i));
  return 0;
}

/* The template: a file, a built-in, or the model's (which then needs the model). */
static int load_template(const template_args *a, const gguf_file *model, chat_template **out) {
  chord_error error;
  chord_status status;
  if (a->template_file) {
    size_t size;
    char *source = cli_read_file(a->template_file, &size);
    if (!source)
      return 1;
    status = chat_template_init(a->template_file, source, size, out, &error);
    rt_free(source);
  } else if (a->builtin) {
    status = chat_template_init_builtin(a->builtin, out, &error);
  } else {
    status = chat_template_init_model(model, out, &error);
  }
  return status == CHORD_OK ? 0 : cli_error("%s", error.message);
}

static int render(const template_args *a, const chat_template *tmpl, const chat_tokens *tokens) {
  struct tm now;
  if (!render_time(&now))
    return 1;
  size_t messages_size, tools_size = 0;
  char *messages = cli_read_file(a->messages, &messages_size);
  if (!messages)
    return 1;
  char *tools = NULL;
  if (a->tools && !(tools = cli_read_file(a->tools, &tools_size))) {
    rt_free(messages);
    return 1;
  }
  chat_render_options options = {.messages_json = messages,
                                 .messages_size = messages_size,
                                 .messages_name =
                                     strcmp(a->messages, "-") ? a->messages : "<stdin>",
                                 .tools_json = tools,
                                 .tools_size = tools_size,
                                 .tools_name = a->tools,
                                 .kwargs_json = a->kwargs,
                                 .kwargs_size = a->kwargs ? strlen(a->kwargs) : 0,
                                 .kwargs_name = "--chat-template-kwargs",
                                 .add_generation_prompt = a->add_generation_prompt,
                                 .tokens = tokens,
                                 .now = &now};
  char *text;
  size_t size;
  chord_error error;
  chord_status status = chat_template_render(tmpl, &options, &text, &size, &error);
  rt_free(messages);
  rt_free(tools);
  if (status != CHORD_OK)
    return cli_error("%s", error.message);
  fwrite(text, 1, size, stdout);
  rt_free(text);
  return 0;
}

static int run(const template_args *a) {
  if (a->list_templates)
    return list_templates();
  /* The model is opened when something comes from it: the template or a special token. */
  bool template_given = a->builtin || a->template_file;
  bool need_model = a->model || !template_given || !a->bos || !a->eos;
  if (a->print_template && template_given && !a->model)
    need_model = false;
  gguf_file *model = NULL;
  if (need_model) {
    char default_path[4096];
    const char *path = cli_model_path(a->model, default_path, sizeof default_path);
    if (!path)
      return 1;
    chord_error error;
    if (gguf_open(path, &model, &error) != CHORD_OK)
      return cli_error("%s", error.message);
  }
  chat_template *tmpl = NULL;
  chat_tokens tokens = {0};
  chord_error error;
  int rc = load_template(a, model, &tmpl);
  if (rc == 0 && a->print_template) {
    fputs(chat_template_source(tmpl), stdout);
  } else if (rc == 0) {
    if (model && chat_tokens_from_model(model, &tokens, &error) != CHORD_OK)
      rc = cli_error("%s", error.message);
    if (rc == 0 && a->bos && chat_tokens_set(&tokens, "bos_token", a->bos, &error) != CHORD_OK)
      rc = cli_error("%s", error.message);
    if (rc == 0 && a->eos && chat_tokens_set(&tokens, "eos_token", a->eos, &error) != CHORD_OK)
      rc = cli_error("%s", error.message);
    if (rc == 0)
      rc = render(a, tmpl, &tokens);
  }
  chat_tokens_free(&tokens);
  chat_template_free(tmpl);
  gguf_close(model);
  return rc;
}

int cmd_template(int argc, char **argv) {
  enum {
    OPT_MESSAGES = 256,
    OPT_TOOLS,
    OPT_CHAT_TEMPLATE,
    OPT_CHAT_TEMPLATE_FILE,
    OPT_KWARGS,
    OPT_NO_GENERATION_PROMPT,
    OPT_BOS,
    OPT_EOS,
    OPT_PRINT_TEMPLATE,
    OPT_LIST_TEMPLATES,
  };
  static const struct option options[] = {
      {"model", required_argument, NULL, 'm'},
      {"messages", required_argument, NULL, OPT_MESSAGES},
      {"tools", required_argument, NULL, OPT_TOOLS},
      {"chat-template", required_argument, NULL, OPT_CHAT_TEMPLATE},
      {"chat-template-file", required_argument, NULL, OPT_CHAT_TEMPLATE_FILE},
      {"chat-template-kwargs", required_argument, NULL, OPT_KWARGS},
      {"no-add-generation-prompt", no_argument, NULL, OPT_NO_GENERATION_PROMPT},
      {"bos-token", required_argument, NULL, OPT_BOS},
      {"eos-token", required_argument, NULL, OPT_EOS},
      {"print-template", no_argument, NULL, OPT_PRINT_TEMPLATE},
      {"list-templates", no_argument, NULL, OPT_LIST_TEMPLATES},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  template_args a = {.add_generation_prompt = true};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "m:h", options, NULL)) != -1) {
    switch (c) {
    case 'm': a.model = optarg; break;
    case OPT_MESSAGES: a.messages = optarg; break;
    case OPT_TOOLS: a.tools = optarg; break;
    case OPT_CHAT_TEMPLATE: a.builtin = optarg; break;
    case OPT_CHAT_TEMPLATE_FILE: a.template_file = optarg; break;
    case OPT_KWARGS: a.kwargs = optarg; break;
    case OPT_NO_GENERATION_PROMPT: a.add_generation_prompt = false; break;
    case OPT_BOS: a.bos = optarg; break;
    case OPT_EOS: a.eos = optarg; break;
    case OPT_PRINT_TEMPLATE: a.print_template = true; break;
    case OPT_LIST_TEMPLATES: a.list_templates = true; break;
    case 'h': fputs(template_usage, stdout); return 0;
    default: return cli_usage_error("template", "invalid option");
    }
  }
  if (optind < argc)
    return cli_usage_error("template", "unexpected argument '%s'", argv[optind]);
  if (a.builtin && a.template_file)
    return cli_usage_error("template", "--chat-template and --chat-template-file are alternatives");
  if (!a.messages && !a.print_template && !a.list_templates)
    return cli_usage_error("template", "--messages FILE is required");
  return run(&a);
}
