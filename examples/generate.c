/* The smallest program on chord's public C API (include/chord.h): open a model, compile it, and
 * stream a greedy continuation of a prompt.
 *
 *   generate MODEL.gguf "PROMPT" [N]
 *
 * Link with libchord (CMake target chord_static or chord_shared). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chord.h"

static bool print_piece(void *user, int32_t token, const char *text, size_t size) {
  (void)user;
  (void)token;
  fwrite(text, 1, size, stdout);
  fflush(stdout);
  return true; /* false would stop the generation */
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL.gguf PROMPT [N]\n", argv[0]);
    return 2;
  }
  int n_predict = argc > 3 ? atoi(argv[3]) : 32;
  chord_error error;
  chord_model *model = NULL;
  chord_program *program = NULL;
  chord_session *session = NULL;
  int32_t *prompt = NULL;
  size_t n_prompt = 0;
  chord_generate_result result = {0};
  int rc = 1;

  chord_compile_options options;
  chord_compile_options_default(&options);
  chord_sampling sampling;
  chord_sampling_default(&sampling);
  sampling.temperature = 0; /* greedy */

  if (chord_model_open(argv[1], &model, &error) != CHORD_OK ||
      chord_compile(model, &options, &program, &error) != CHORD_OK ||
      chord_session_new(program, &sampling, &session, &error) != CHORD_OK ||
      chord_tokenize(model, argv[2], strlen(argv[2]), true, true, &prompt, &n_prompt, &error) !=
          CHORD_OK)
    goto fail;
  chord_generate_options generate = {.n_predict = n_predict, .stop_at_full_context = true};
  if (chord_session_generate(session, prompt, n_prompt, &generate, print_piece, NULL, &result,
                             &error) != CHORD_OK)
    goto fail;
  printf("\n[%zu prompt tokens, %zu generated]\n", n_prompt, result.n_tokens);
  rc = 0;
  goto done;
fail:
  fprintf(stderr, "error: %s\n", error.message);
done:
  chord_generate_result_free(&result);
  chord_free(prompt);
  chord_session_free(session);
  chord_program_free(program);
  chord_model_free(model);
  return rc;
}
