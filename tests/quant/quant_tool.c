/* Test-only bridge from the Python checks to chord's reference quantization: raw blocks or f32
 * values in on stdin, the other out on stdout.
 *
 *   quant_tool types              one line per dtype: name ggml_id block_elems block_bytes
 *                                 has_dequantize has_quantize
 *   quant_tool dequantize TYPE    blocks -> f32 (native byte order)
 *   quant_tool quantize TYPE      f32 -> blocks
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/quant/quant.h"

/* Reads all of stdin; NULL on failure. */
static unsigned char *read_stdin(size_t *size) {
  size_t cap = 1 << 16, len = 0;
  unsigned char *buf = malloc(cap);
  while (buf) {
    len += fread(buf + len, 1, cap - len, stdin);
    if (len < cap)
      break;
    unsigned char *grown = realloc(buf, cap * 2);
    if (!grown)
      free(buf);
    buf = grown;
    cap *= 2;
  }
  if (!buf || ferror(stdin)) {
    free(buf);
    return NULL;
  }
  *size = len;
  return buf;
}

static int write_stdout(const void *data, size_t size) {
  return fwrite(data, 1, size, stdout) == size && fflush(stdout) == 0 ? 0 : 1;
}

static int tool_list_types(const char *unused) {
  for (int t = 0; t < IR_DTYPE_COUNT; t++) {
    const ir_dtype_info *info = ir_dtype_get((ir_dtype)t);
    printf("%s %u %u %u %d %d\n", info->name, info->ggml_id, info->block_elems, info->block_bytes,
           quant_dequantizer((ir_dtype)t) != NULL, quant_quantizer((ir_dtype)t) != NULL);
  }
  return 0;
}

/* Decodes (to_float) or encodes all of stdin as blocks of the named type. */
static int tool_convert(const char *type_name, bool to_float) {
  ir_dtype type;
  if (!type_name || !ir_dtype_from_name(type_name, &type)) {
    fprintf(stderr, "quant_tool: unknown type '%s'\n", type_name ? type_name : "");
    return 2;
  }
  const ir_dtype_info *info = ir_dtype_get(type);
  const size_t float_bytes = (size_t)info->block_elems * sizeof(float);
  const size_t in_unit = to_float ? info->block_bytes : float_bytes;
  const size_t out_unit = to_float ? float_bytes : info->block_bytes;
  size_t size = 0;
  unsigned char *in = read_stdin(&size);
  if (!in || size % in_unit != 0) {
    fprintf(stderr, "quant_tool: input is not a whole number of %s blocks\n", info->name);
    free(in);
    return 1;
  }
  const size_t blocks = size / in_unit;
  const int64_t n = (int64_t)(blocks * info->block_elems);
  unsigned char *out = malloc(blocks * out_unit + 1); /* + 1: no zero-size malloc */
  bool ok = out != NULL;
  if (ok)
    ok = to_float ? quant_dequantize(type, in, (float *)out, n)
                  : quant_quantize(type, (const float *)in, out, n);
  int rc = 1;
  if (!ok)
    fprintf(stderr, "quant_tool: %s has no %s\n", info->name, to_float ? "decoder" : "encoder");
  else
    rc = write_stdout(out, blocks * out_unit);
  free(in);
  free(out);
  return rc;
}

static int tool_dequantize(const char *type_name) { return tool_convert(type_name, true); }
static int tool_quantize(const char *type_name) { return tool_convert(type_name, false); }

/* Each command gets its one optional argument (NULL when absent). */
static const struct {
  const char *name;
  int (*run)(const char *arg);
} commands[] = {
    {"types", tool_list_types},
    {"dequantize", tool_dequantize},
    {"quantize", tool_quantize},
};

int main(int argc, char **argv) {
  for (size_t c = 0; argc >= 2 && c < sizeof commands / sizeof commands[0]; c++) {
    if (strcmp(argv[1], commands[c].name) == 0)
      return commands[c].run(argc >= 3 ? argv[2] : NULL);
  }
  fprintf(stderr, "usage: quant_tool types | dequantize TYPE | quantize TYPE\n");
  return 2;
}
