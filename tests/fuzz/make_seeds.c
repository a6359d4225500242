/* Writes the fuzzer's seed corpus into a directory: small synthetic files that use every value
 * type, arrays of arrays, tensors of several types and a non-default alignment, plus, for each
 * vocabulary file given, a shrunken copy (every array cut to its first elements, so the seed
 * stays a few KiB but keeps the real keys) and its first 4 KiB as they are.
 *
 * usage: make_seeds OUT_DIR [VOCAB_DIR]
 * Seeds are generated at fuzz time so that no large file is committed. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontends/gguf/gguf.h"

#define KEEP_ELEMENTS 24
#define PREFIX_BYTES 4096

static int failures;

static void check(chord_status s, const chord_error *error, const char *what) {
  if (s != CHORD_OK) {
    fprintf(stderr, "make_seeds: %s: %s\n", what, error->message);
    failures++;
  }
}

static void write_synthetic(const char *dir) {
  chord_error error;
  char path[4096];

  /* Everything in one file. */
  gguf_writer *w = gguf_writer_init();
  gguf_writer_set_alignment(w, 64);
  static const gguf_type scalar_types[] = {
      GGUF_TYPE_UINT8,  GGUF_TYPE_INT8,  GGUF_TYPE_UINT16,  GGUF_TYPE_INT16,
      GGUF_TYPE_UINT32, GGUF_TYPE_INT32, GGUF_TYPE_FLOAT32, GGUF_TYPE_BOOL,
      GGUF_TYPE_UINT64, GGUF_TYPE_INT64, GGUF_TYPE_FLOAT64,
  };
  static const uint8_t elems[16] = {1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x80};
  for (size_t i = 0; i < sizeof scalar_types / sizeof scalar_types[0]; i++) {
    char key[64];
    gguf_value v = {.type = scalar_types[i], .as.u64 = 1};
    if (scalar_types[i] == GGUF_TYPE_FLOAT32 || scalar_types[i] == GGUF_TYPE_FLOAT64)
      v.as.f64 = 0.5;
    snprintf(key, sizeof key, "seed.%s", gguf_type_name(scalar_types[i]));
    check(gguf_writer_set_value(w, key, &v, &error), &error, key);
    gguf_value a = {.type = GGUF_TYPE_ARRAY,
                    .as.arr = {.elem_type = scalar_types[i], .count = 2, .data = elems}};
    snprintf(key, sizeof key, "seed.%s.array", gguf_type_name(scalar_types[i]));
    check(gguf_writer_set_value(w, key, &a, &error), &error, key);
  }
  gguf_string strings[3] = {{"a", 1}, {"", 0}, {"\xe2\x96\x81hello", 8}};
  gguf_value rows[2] = {
      {.type = GGUF_TYPE_ARRAY,
       .as.arr = {.elem_type = GGUF_TYPE_STRING, .count = 3, .strings = strings}},
      {.type = GGUF_TYPE_ARRAY,
       .as.arr = {.elem_type = GGUF_TYPE_UINT16, .count = 4, .data = elems}},
  };
  gguf_value nested = {.type = GGUF_TYPE_ARRAY,
                       .as.arr = {.elem_type = GGUF_TYPE_ARRAY, .count = 2, .arrays = rows}};
  gguf_value deeper = {.type = GGUF_TYPE_ARRAY,
                       .as.arr = {.elem_type = GGUF_TYPE_ARRAY, .count = 1, .arrays = &nested}};
  check(gguf_writer_set_value(w, "seed.strings", &rows[0], &error), &error, "strings");
  check(gguf_writer_set_value(w, "seed.nested", &nested, &error), &error, "nested");
  check(gguf_writer_set_value(w, "seed.deeper", &deeper, &error), &error, "deeper");
  check(gguf_writer_set_string(w, "general.architecture", "llama", &error), &error, "arch");
  static uint8_t data[4096];
  for (size_t i = 0; i < sizeof data; i++)
    data[i] = (uint8_t)(i * 7 + 3);
  static const struct {
    const char *name;
    ir_dtype type;
    uint32_t n_dims;
    uint64_t dims[4];
    uint64_t n_bytes;
  } tensors[] = {
      {"token_embd.weight", IR_DTYPE_F32, 2, {8, 2}, 64},
      {"blk.0.attn_q.weight", IR_DTYPE_Q4_0, 2, {32, 2}, 36},
      {"blk.0.ffn_up.weight", IR_DTYPE_Q4_K, 1, {256}, 144},
      {"blk.0.ffn_down.weight", IR_DTYPE_Q6_K, 2, {256, 1}, 210},
      {"output_norm.weight", IR_DTYPE_F16, 1, {5}, 10},
      {"cube", IR_DTYPE_Q8_0, 4, {32, 1, 2, 1}, 68},
  };
  for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++)
    check(gguf_writer_add_tensor(w, tensors[i].name, tensors[i].type, tensors[i].n_dims,
                                 tensors[i].dims, data, tensors[i].n_bytes, &error),
          &error, tensors[i].name);
  snprintf(path, sizeof path, "%s/synthetic-all.gguf", dir);
  check(gguf_writer_write(w, path, &error), &error, path);
  gguf_writer_free(w);

  /* Only a header; one key; one tensor and no metadata. */
  w = gguf_writer_init();
  snprintf(path, sizeof path, "%s/synthetic-empty.gguf", dir);
  check(gguf_writer_write(w, path, &error), &error, path);
  check(gguf_writer_set_u32(w, "general.alignment", 16, &error), &error, "alignment");
  gguf_writer_set_alignment(w, 16);
  snprintf(path, sizeof path, "%s/synthetic-one-key.gguf", dir);
  check(gguf_writer_write(w, path, &error), &error, path);
  gguf_writer_free(w);

  w = gguf_writer_init();
  uint64_t dims[1] = {4};
  check(gguf_writer_add_tensor(w, "t", IR_DTYPE_F32, 1, dims, data, 16, &error), &error, "t");
  snprintf(path, sizeof path, "%s/synthetic-one-tensor.gguf", dir);
  check(gguf_writer_write(w, path, &error), &error, path);
  gguf_writer_free(w);
}

/* A copy of v whose arrays (at every level) hold at most KEEP_ELEMENTS elements. The copies of
 * nested arrays are allocated; free_shrunk releases them. */
static gguf_value shrink(const gguf_value *v) {
  gguf_value out = *v;
  if (v->type != GGUF_TYPE_ARRAY)
    return out;
  if (out.as.arr.count > KEEP_ELEMENTS)
    out.as.arr.count = KEEP_ELEMENTS;
  if (v->as.arr.elem_type == GGUF_TYPE_ARRAY) {
    out.as.arr.arrays = calloc(out.as.arr.count ? out.as.arr.count : 1, sizeof(gguf_value));
    if (!out.as.arr.arrays) {
      out.as.arr.count = 0;
      return out;
    }
    for (uint64_t i = 0; i < out.as.arr.count; i++)
      out.as.arr.arrays[i] = shrink(&v->as.arr.arrays[i]);
  }
  return out;
}

static void free_shrunk(gguf_value *v) {
  if (v->type != GGUF_TYPE_ARRAY || v->as.arr.elem_type != GGUF_TYPE_ARRAY)
    return;
  for (uint64_t i = 0; i < v->as.arr.count; i++)
    free_shrunk(&v->as.arr.arrays[i]);
  free(v->as.arr.arrays);
}

static void write_from_vocab(const char *dir, const char *vocab_dir, const char *name) {
  char source[4096], path[4096];
  chord_error error;
  snprintf(source, sizeof source, "%s/%s", vocab_dir, name);
  gguf_file *in;
  chord_status s = gguf_open(source, &in, &error);
  check(s, &error, source);
  if (s)
    return;
  gguf_writer *w = gguf_writer_init();
  char key[4096];
  for (uint64_t i = 0; i < in->n_kv; i++) {
    const gguf_kv *kv = &in->kv[i];
    if (kv->key.size >= sizeof key)
      continue;
    memcpy(key, kv->key.data, kv->key.size);
    key[kv->key.size] = '\0';
    gguf_value v = shrink(&kv->value);
    check(gguf_writer_set_value(w, key, &v, &error), &error, key);
    free_shrunk(&v);
  }
  snprintf(path, sizeof path, "%s/shrunk-%s", dir, name);
  check(gguf_writer_write(w, path, &error), &error, path);
  gguf_writer_free(w);

  snprintf(path, sizeof path, "%s/prefix-%s", dir, name);
  FILE *out = fopen(path, "wb");
  uint64_t n = in->map.size < PREFIX_BYTES ? in->map.size : PREFIX_BYTES;
  if (!out || fwrite(in->map.data, 1, (size_t)n, out) != n || fclose(out) != 0) {
    fprintf(stderr, "make_seeds: %s: %s\n", path, strerror(errno));
    failures++;
  }
  gguf_close(in);
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s OUT_DIR [VOCAB_DIR]\n", argv[0]);
    return 2;
  }
  write_synthetic(argv[1]);
  int vocab_files = 0;
  if (argc == 3) {
    DIR *d = opendir(argv[2]);
    if (!d) {
      fprintf(stderr, "make_seeds: %s: %s (no vocabulary seeds)\n", argv[2], strerror(errno));
    } else {
      for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n > 5 && strcmp(e->d_name + n - 5, ".gguf") == 0) {
          write_from_vocab(argv[1], argv[2], e->d_name);
          vocab_files++;
        }
      }
      closedir(d);
    }
  }
  fprintf(stderr, "make_seeds: wrote seeds to %s (%d from vocabulary files), %d failures\n",
          argv[1], vocab_files, failures);
  return failures ? 1 : 0;
}
