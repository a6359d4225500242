/* A C program with a model compiled into it ahead of time: `chord compile --emit obj` writes the
 * model's kernels and its program (the symbol chord_compiled_model, include/chord.h); linked with
 * the runtime library (no LLVM, no compiler), the program opens the weights and generates.
 *
 *   chord compile --emit obj -m MODEL.gguf -o model.o
 *   cc -Iinclude compiled.c model.o build/lib/x86_64-linux-gnu/libchord_runtime.a \
 *      -lpcre2-8 -lutf8proc -ljansson -lm -lpthread -o compiled
 *   ./compiled MODEL.gguf "PROMPT" [N]
 *
 * It streams a greedy continuation, then prints the generated token ids on one line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chord.h"

static bool print_piece(void *user, int32_t token, const char *text, size_t size) {
  (void)user;
  (void)token;
  fwrite(text, 1, size, stdout);
  fflush(stdout);
  return true;
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

  chord_compile_options options; /* only the thread count and batch size count here */
  chord_compile_options_default(&options);
  options.n_threads = 2;
  chord_sampling sampling;
  chord_sampling_default(&sampling);
  sampling.temperature = 0; /* greedy */

  fprintf(stderr, "compiled for %s (CPU %s)\n", chord_compiled_triple(&chord_compiled_model),
          chord_compiled_cpu(&chord_compiled_model));
  if (chord_model_open(argv[1], &model, &error) != CHORD_OK ||
      chord_program_from_compiled(model, &chord_compiled_model, &options, &program, &error) !=
          CHORD_OK ||
      chord_session_new(program, &sampling, &session, &error) != CHORD_OK ||
      chord_tokenize(model, argv[2], strlen(argv[2]), true, true, &prompt, &n_prompt, &error) !=
          CHORD_OK)
    goto fail;
  chord_generate_options generate = {.n_predict = n_predict, .stop_at_full_context = true};
  if (chord_session_generate(session, prompt, n_prompt, &generate, print_piece, NULL, &result,
                             &error) != CHORD_OK)
    goto fail;
  printf("\ntokens:");
  for (size_t i = 0; i < result.n_tokens; i++)
    printf(" %d", (int)result.tokens[i]);
  printf("\n");
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
