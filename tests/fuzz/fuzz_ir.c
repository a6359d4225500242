/* libFuzzer target for the IR text parser: parse the input as it is (not NUL-terminated, so
 * AddressSanitizer catches any read past its end), then check what the text form promises. A
 * failure returns no graph and a "FILE:LINE:COL: error:" message. A graph that parsed prints, and
 * its printed text parses again with the same verifier verdict; for a graph that also verifies,
 * print -> parse -> print is byte-identical (docs/ir.md, ir/print.c). A broken promise aborts, so
 * the fuzzer reports it like a crash, with both texts on stderr. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "runtime/support/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FILE_NAME "fuzz.cir"

typedef struct text {
  char *data;
  size_t size;
} text;

/* Prints g into memory; the stream is the printer's only sink, so a failure here is a bug. */
static text print_graph(const ir_graph *g) {
  text t = {NULL, 0};
  FILE *out = open_memstream(&t.data, &t.size);
  RT_ASSERT(out != NULL);
  chord_error error;
  RT_ASSERT(ir_print(g, out, &error) == CHORD_OK);
  RT_ASSERT(fclose(out) == 0);
  return t;
}

/* Reports a broken round trip with what a triage needs: the printed text, why it failed and
 * whether the original graph verified (the byte-identical promise is only made for those). */
static _Noreturn void round_trip_failed(const char *what, const text *first, const char *detail,
                                        bool verified, const char *verify_message) {
  fprintf(stderr,
          "fuzz_ir: round trip broken: %s\n--- printed:\n%.*s--- detail:\n%s\n"
          "--- the parsed graph %s%s\n",
          what, (int)first->size, first->data, detail,
          verified ? "verified" : "did not verify: ", verified ? "" : verify_message);
  abort();
}

static void check_failure(chord_status s, const ir_graph *g, const chord_error *error) {
  RT_ASSERT(g == NULL);
  RT_ASSERT(error->status == s);
  /* Parse errors point at the text; only running out of memory has no position. */
  if (s == CHORD_ERROR_NO_MEMORY)
    return;
  RT_ASSERT(s == CHORD_ERROR_FORMAT);
  RT_ASSERT(strncmp(error->message, FILE_NAME ":", strlen(FILE_NAME ":")) == 0);
  RT_ASSERT(strstr(error->message, ": error: ") != NULL);
  RT_ASSERT(strchr(error->message, '^') != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  chord_error error;
  memset(&error, 0, sizeof error);
  ir_graph *g = (ir_graph *)&error; /* must be overwritten with NULL on failure */
  chord_status s = ir_parse((const char *)data, size, FILE_NAME, &g, &error);
  if (s != CHORD_OK) {
    check_failure(s, g, &error);
    return 0;
  }
  RT_ASSERT(g != NULL);
  chord_error verify_error;
  bool verified = ir_verify(g, &verify_error) == CHORD_OK;

  /* The printer is canonical, so its output of any parsed graph must read back; the byte-identical
   * second print is what the golden round-trip tests rely on, checked here for verified graphs. */
  text first = print_graph(g);
  ir_graph *again = NULL;
  chord_error again_error;
  if (ir_parse(first.data, first.size, "printed.cir", &again, &again_error) != CHORD_OK)
    round_trip_failed("the printed text does not parse", &first, again_error.message, verified,
                      verify_error.message);
  bool again_verified = ir_verify(again, &again_error) == CHORD_OK;
  if (again_verified != verified)
    round_trip_failed("the reparsed graph's verifier verdict differs", &first,
                      again_verified ? "(the reparsed graph verifies)" : again_error.message,
                      verified, verify_error.message);
  if (verified) {
    text second = print_graph(again);
    if (second.size != first.size || memcmp(second.data, first.data, first.size) != 0) {
      fprintf(stderr, "--- printed again:\n%.*s", (int)second.size, second.data);
      round_trip_failed("print -> parse -> print differs", &first, "(compare the two texts)",
                        verified, verify_error.message);
    }
    free(second.data);
  }
  free(first.data);
  ir_graph_free(again);
  ir_graph_free(g);
  return 0;
}
