/* The engine against Python's jinja2, in process: every snippet of data/snippets.json (made by
 * scripts/make-template-reference.py) renders to jinja2's text byte for byte, or fails where
 * jinja2 raised, with the template's own message when it was raise_exception. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "runtime/chat/chat.h"
#include "runtime/support/alloc.h"

static json_t *load_cases(const char *file) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", CHAT_TEST_DATA, file);
  json_error_t error;
  json_t *root = json_load_file(path, 0, &error);
  cr_assert(root, "%s:%d: %s", path, error.line, error.text);
  return root;
}

/* Renders one snippet with its variables as template kwargs; returns the status. */
static chord_status render_snippet(const char *source, const json_t *variables, char **out,
                                   chord_error *error) {
  chat_template *tmpl;
  chord_status status = chat_template_init("snippet", source, strlen(source), &tmpl, error);
  if (status != CHORD_OK)
    return status;
  char *kwargs = json_dumps(variables, JSON_COMPACT);
  chat_render_options options = {.messages_json = "[]",
                                 .messages_size = 2,
                                 .kwargs_json = kwargs,
                                 .kwargs_size = strlen(kwargs),
                                 .add_generation_prompt = true,
                                 .now = &(struct tm){.tm_year = 125,
                                                     .tm_mon = 2,
                                                     .tm_mday = 14,
                                                     .tm_hour = 9,
                                                     .tm_min = 26,
                                                     .tm_sec = 53,
                                                     .tm_wday = 5,
                                                     .tm_yday = 72}};
  size_t size;
  status = chat_template_render(tmpl, &options, out, &size, error);
  free(kwargs);
  chat_template_free(tmpl);
  return status;
}

Test(conformance, snippets_render_as_jinja2) {
  json_t *root = load_cases("snippets.json");
  /* The reference's fixed time is what the test passes above. */
  cr_assert_str_eq(json_string_value(json_object_get(root, "now")), "2025-03-14T09:26:53");
  json_t *cases = json_object_get(root, "cases");
  size_t i, failed = 0;
  json_t *c;
  json_array_foreach(cases, i, c) {
    const char *source = json_string_value(json_object_get(c, "template"));
    const json_t *expected = json_object_get(c, "output");
    const char *expected_error = json_string_value(json_object_get(c, "error"));
    char *out = NULL;
    chord_error error = {0};
    chord_status status = render_snippet(source, json_object_get(c, "variables"), &out, &error);
    bool ok;
    if (expected) {
      ok = status == CHORD_OK && strcmp(out, json_string_value(expected)) == 0;
      if (!ok)
        cr_log_error("snippet %zu: %s\n  jinja2: [%s]\n  chord:  [%s]", i, source,
                     json_string_value(expected), status == CHORD_OK ? out : error.message);
    } else {
      const char *raised = "TemplateError: ";
      ok = status != CHORD_OK && strlen(error.message) > 0;
      /* raise_exception's message is the template author's: it must come through as it is */
      if (ok && strncmp(expected_error, raised, strlen(raised)) == 0)
        ok = strstr(error.message, expected_error + strlen(raised)) != NULL;
      if (!ok)
        cr_log_error("snippet %zu: %s\n  jinja2 raised: %s\n  chord: %s", i, source, expected_error,
                     status == CHORD_OK ? out : error.message);
    }
    failed += !ok;
    rt_free(out);
  }
  cr_log_info("%zu snippets, %zu failed", json_array_size(cases), failed);
  cr_expect_eq(failed, 0, "%zu of %zu snippets differ from jinja2", failed, json_array_size(cases));
  json_decref(root);
}
