/* The GGUF writer: what it writes reads back exactly (every value type, arrays of arrays, tensors
 * of several types, a non-default alignment), tensors from sources (a fill called while writing)
 * give the same file as tensors from memory, copying a real file's metadata is lossless, and a
 * failed write (a failing fill included) leaves neither the file nor a temporary behind. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontends/gguf/gguf.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"
#include "test_bytes.h"

static char temp_dir[256];

static void make_temp_dir(void) {
  const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(temp_dir, sizeof temp_dir, "%s/chord-gguf-writer-XXXXXX", base);
  cr_assert(mkdtemp(temp_dir) != NULL, "mkdtemp: %s", strerror(errno));
}

/* The number of entries in temp_dir (without . and ..); with `name` set, the first one's name. */
static int temp_dir_entries(char *name, size_t size) {
  DIR *dir = opendir(temp_dir);
  cr_assert_not_null(dir);
  int n = 0;
  for (struct dirent *e; (e = readdir(dir));) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (n++ == 0 && name)
      snprintf(name, size, "%s", e->d_name);
  }
  closedir(dir);
  return n;
}

static void remove_temp_dir(void) {
  rt_alloc_fail_after(-1);
  DIR *dir = opendir(temp_dir);
  if (dir) {
    char path[600];
    for (struct dirent *e; (e = readdir(dir));) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      snprintf(path, sizeof path, "%s/%s", temp_dir, e->d_name);
      unlink(path);
    }
    closedir(dir);
  }
  rmdir(temp_dir);
}

TestSuite(gguf_writer, .init = make_temp_dir, .fini = remove_temp_dir);

/* ---- deep comparison of values --------------------------------------------------------------- */

static uint32_t scalar_size(gguf_type type) {
  switch (type) {
  case GGUF_TYPE_UINT8:
  case GGUF_TYPE_INT8:
  case GGUF_TYPE_BOOL: return 1;
  case GGUF_TYPE_UINT16:
  case GGUF_TYPE_INT16: return 2;
  case GGUF_TYPE_UINT32:
  case GGUF_TYPE_INT32:
  case GGUF_TYPE_FLOAT32: return 4;
  case GGUF_TYPE_UINT64:
  case GGUF_TYPE_INT64:
  case GGUF_TYPE_FLOAT64: return 8;
  case GGUF_TYPE_STRING:
  case GGUF_TYPE_ARRAY: return 0;
  }
  return 0;
}

static bool strings_equal(gguf_string a, gguf_string b) {
  return a.size == b.size && (a.size == 0 || memcmp(a.data, b.data, a.size) == 0);
}

static bool values_equal(const gguf_value *a, const gguf_value *b);

static bool arrays_equal(const gguf_array *a, const gguf_array *b) {
  if (a->elem_type != b->elem_type || a->count != b->count)
    return false;
  for (uint64_t i = 0; i < a->count; i++) {
    if (a->elem_type == GGUF_TYPE_STRING) {
      if (!strings_equal(gguf_array_string(a, i), gguf_array_string(b, i)))
        return false;
    } else if (a->elem_type == GGUF_TYPE_ARRAY) {
      if (!values_equal(&a->arrays[i], &b->arrays[i]))
        return false;
    }
  }
  uint32_t size = scalar_size(a->elem_type);
  return size == 0 || a->count == 0 || memcmp(a->data, b->data, a->count * size) == 0;
}

static bool values_equal(const gguf_value *a, const gguf_value *b) {
  if (a->type != b->type)
    return false;
  switch (a->type) {
  case GGUF_TYPE_STRING: return strings_equal(a->as.str, b->as.str);
  case GGUF_TYPE_ARRAY: return arrays_equal(&a->as.arr, &b->as.arr);
  case GGUF_TYPE_FLOAT32:
  case GGUF_TYPE_FLOAT64: return memcmp(&a->as.f64, &b->as.f64, sizeof(double)) == 0;
  case GGUF_TYPE_UINT8:
  case GGUF_TYPE_INT8:
  case GGUF_TYPE_UINT16:
  case GGUF_TYPE_INT16:
  case GGUF_TYPE_UINT32:
  case GGUF_TYPE_INT32:
  case GGUF_TYPE_BOOL:
  case GGUF_TYPE_UINT64:
  case GGUF_TYPE_INT64: return a->as.u64 == b->as.u64;
  }
  return false;
}

/* ---- a file with everything ------------------------------------------------------------------ */

/* Scalars as the reader returns them (integers extended to 64 bits, floats as double). */
static const gguf_value scalars[] = {
    {GGUF_TYPE_UINT8, .as.u64 = 255},          {GGUF_TYPE_INT8, .as.i64 = -128},
    {GGUF_TYPE_UINT16, .as.u64 = 65535},       {GGUF_TYPE_INT16, .as.i64 = -32768},
    {GGUF_TYPE_UINT32, .as.u64 = 4294967295u}, {GGUF_TYPE_INT32, .as.i64 = INT32_MIN},
    {GGUF_TYPE_FLOAT32, .as.f64 = -0.25},      {GGUF_TYPE_BOOL, .as.u64 = 1},
    {GGUF_TYPE_UINT64, .as.u64 = UINT64_MAX},  {GGUF_TYPE_INT64, .as.i64 = INT64_MIN + 1},
    {GGUF_TYPE_FLOAT64, .as.f64 = 1e300},
};
enum { N_SCALARS = sizeof scalars / sizeof scalars[0] };

static const uint8_t u8_elems[] = {0, 1, 254, 255};
static const int16_t i16_elems[] = {-1, 2, -32768};
static const float f32_elems[] = {1.0f, -2.5f, 1e-30f};
static const uint8_t bool_elems[] = {1, 0, 1};
static const uint64_t u64_elems[] = {UINT64_MAX, 0};
static const double f64_elems[] = {-1e-300};
static const gguf_string string_elems[] = {{"alpha", 5}, {"", 0}, {"\xe2\x96\x81gamma", 8}};
static const uint32_t row0[] = {1, 2, 3}, row1[] = {4};

#define ARRAY_VALUE(ELEM_TYPE, ELEMS)                                                              \
  {                                                                                                \
    GGUF_TYPE_ARRAY, .as.arr = {                                                                   \
      ELEM_TYPE,                                                                                   \
      sizeof ELEMS / sizeof ELEMS[0],                                                              \
      (const uint8_t *)ELEMS,                                                                      \
      NULL,                                                                                        \
      NULL                                                                                         \
    }                                                                                              \
  }

static gguf_value rows[] = {
    {GGUF_TYPE_ARRAY, .as.arr = {GGUF_TYPE_UINT32, 3, (const uint8_t *)row0, NULL, NULL}},
    {GGUF_TYPE_ARRAY, .as.arr = {GGUF_TYPE_UINT32, 1, (const uint8_t *)row1, NULL, NULL}},
    {GGUF_TYPE_ARRAY, .as.arr = {GGUF_TYPE_UINT32, 0, (const uint8_t *)row1, NULL, NULL}},
};
static gguf_value string_rows[] = {
    {GGUF_TYPE_ARRAY, .as.arr = {GGUF_TYPE_STRING, 2, NULL, (gguf_string *)string_elems, NULL}},
    {GGUF_TYPE_ARRAY, .as.arr = {GGUF_TYPE_STRING, 1, NULL, (gguf_string *)string_elems, NULL}},
};
/* [[[1, 2, 3], [4], []], [["alpha", ""], ["alpha"]]]: arrays of arrays of arrays. */
static gguf_value nested_rows[] = {
    {GGUF_TYPE_ARRAY, .as.arr = {GGUF_TYPE_ARRAY, 3, NULL, NULL, rows}},
    {GGUF_TYPE_ARRAY, .as.arr = {GGUF_TYPE_ARRAY, 2, NULL, NULL, string_rows}},
};

static const struct {
  const char *key;
  gguf_value value;
} array_keys[] = {
    {"a.u8", ARRAY_VALUE(GGUF_TYPE_UINT8, u8_elems)},
    {"a.i16", ARRAY_VALUE(GGUF_TYPE_INT16, i16_elems)},
    {"a.f32", ARRAY_VALUE(GGUF_TYPE_FLOAT32, f32_elems)},
    {"a.bool", ARRAY_VALUE(GGUF_TYPE_BOOL, bool_elems)},
    {"a.u64", ARRAY_VALUE(GGUF_TYPE_UINT64, u64_elems)},
    {"a.f64", ARRAY_VALUE(GGUF_TYPE_FLOAT64, f64_elems)},
    {"a.strings",
     {GGUF_TYPE_ARRAY, .as.arr = {GGUF_TYPE_STRING, 3, NULL, (gguf_string *)string_elems, NULL}}},
    {"a.rows", {GGUF_TYPE_ARRAY, .as.arr = {GGUF_TYPE_ARRAY, 3, NULL, NULL, rows}}},
    {"a.nested", {GGUF_TYPE_ARRAY, .as.arr = {GGUF_TYPE_ARRAY, 2, NULL, NULL, nested_rows}}},
    {"a.empty", {GGUF_TYPE_ARRAY, .as.arr = {GGUF_TYPE_INT32, 0, NULL, NULL, NULL}}},
    {"a.empty_strings", {GGUF_TYPE_ARRAY, .as.arr = {GGUF_TYPE_STRING, 0, NULL, NULL, NULL}}},
};
enum { N_ARRAY_KEYS = sizeof array_keys / sizeof array_keys[0] };

/* Tensors of different types and sizes; data is filled with a pattern per tensor. */
static const struct {
  const char *name;
  ir_dtype type;
  uint32_t n_dims;
  uint64_t dims[GGUF_MAX_DIMS];
  uint64_t n_bytes;
} tensors[] = {
    {"token_embd.weight", IR_DTYPE_F32, 2, {4, 3}, 48},
    {"blk.0.attn_q.weight", IR_DTYPE_Q4_0, 2, {64, 2}, 4 * 18},
    {"blk.0.ffn.weight", IR_DTYPE_Q4_K, 2, {256, 3}, 3 * 144},
    {"norm.weight", IR_DTYPE_F16, 1, {7}, 14},
    {"scalar", IR_DTYPE_F32, 0, {0}, 4},
    {"ids", IR_DTYPE_I8, 4, {5, 1, 1, 3}, 15},
    {"empty", IR_DTYPE_Q8_0, 2, {32, 0}, 0},
};
enum { N_TENSORS = sizeof tensors / sizeof tensors[0] };

#define ALIGNMENT 128

static uint8_t tensor_data[N_TENSORS][512];

static void fill_tensor_data(void) {
  for (int t = 0; t < N_TENSORS; t++)
    for (size_t i = 0; i < sizeof tensor_data[t]; i++)
      tensor_data[t][i] = (uint8_t)(t * 37 + i * 11 + 1);
}

static char scalar_key[N_SCALARS][32];

/* A tensor whose bytes come from test_fill: the call is recorded, then tensor_data[index] is
 * copied out, or with `fail` set that status is returned instead. */
typedef struct test_source {
  int index;
  chord_status fail;
  int calls;
  int order; /* the place of its (last) call among all fills, from 1 */
  void *buffer;
  uint64_t n_bytes;
} test_source;

static int fill_calls;

static chord_status test_fill(void *ctx, void *out, uint64_t n_bytes, chord_error *error) {
  test_source *source = ctx;
  source->calls++;
  source->order = ++fill_calls;
  source->buffer = out;
  source->n_bytes = n_bytes;
  if (source->fail)
    return rt_error(error, source->fail, "source %d is unreadable", source->index);
  memcpy(out, tensor_data[source->index], (size_t)n_bytes);
  return CHORD_OK;
}

/* Fills w with everything above; returns the status of the first call that fails. With sources
 * (N_TENSORS of them), the tensors come from test_fill instead of memory. */
static chord_status fill_writer_from(gguf_writer *w, test_source *sources, chord_error *error) {
  chord_status s;
  fill_tensor_data();
  gguf_writer_set_alignment(w, ALIGNMENT);
  for (int i = 0; i < N_SCALARS; i++) {
    snprintf(scalar_key[i], sizeof scalar_key[i], "s.%s", gguf_type_name(scalars[i].type));
    if ((s = gguf_writer_set_value(w, scalar_key[i], &scalars[i], error)))
      return s;
  }
  if ((s = gguf_writer_set_string(w, "s.string", "h\xc3\xa9llo", error)) ||
      (s = gguf_writer_set_string(w, "s.empty_string", "", error)))
    return s;
  for (int i = 0; i < N_ARRAY_KEYS; i++)
    if ((s = gguf_writer_set_value(w, array_keys[i].key, &array_keys[i].value, error)))
      return s;
  /* The convenience setters, and replacing a key keeps one entry with the new value. */
  if ((s = gguf_writer_set_u32(w, "c.u32", 1, error)) ||
      (s = gguf_writer_set_u32(w, "c.u32", 77, error)) ||
      (s = gguf_writer_set_i32(w, "c.i32", -77, error)) ||
      (s = gguf_writer_set_f32(w, "c.f32", 0.125f, error)) ||
      (s = gguf_writer_set_bool(w, "c.bool", false, error)) ||
      (s = gguf_writer_set_string(w, "c.replaced", "first", error)) ||
      (s = gguf_writer_set_u32(w, "c.replaced", 5, error)))
    return s;
  for (int t = 0; t < N_TENSORS; t++) {
    if (sources) {
      sources[t] = (test_source){.index = t};
      s = gguf_writer_add_tensor_source(w, tensors[t].name, tensors[t].type, tensors[t].n_dims,
                                        tensors[t].dims, tensors[t].n_bytes, test_fill, &sources[t],
                                        error);
    } else {
      s = gguf_writer_add_tensor(w, tensors[t].name, tensors[t].type, tensors[t].n_dims,
                                 tensors[t].dims, tensor_data[t], tensors[t].n_bytes, error);
    }
    if (s)
      return s;
  }
  return CHORD_OK;
}

static chord_status fill_writer(gguf_writer *w, chord_error *error) {
  return fill_writer_from(w, NULL, error);
}

/* The keys fill_writer sets, in order, plus general.alignment added by the write. */
#define N_WRITTEN_KV (N_SCALARS + 2 + N_ARRAY_KEYS + 5 + 1)

static void expect_value(const gguf_file *f, const char *key, const gguf_value *want) {
  const gguf_kv *kv = gguf_find_kv(f, key);
  cr_assert_not_null(kv, "key %s is missing", key);
  cr_assert(values_equal(&kv->value, want), "key %s: the value read differs from the one written",
            key);
}

Test(gguf_writer, round_trip_every_value_and_tensor) {
  char path[512];
  snprintf(path, sizeof path, "%s/all.gguf", temp_dir);
  gguf_writer *w = gguf_writer_init();
  cr_assert_not_null(w);
  chord_error error;
  cr_assert_eq(fill_writer(w, &error), CHORD_OK, "%s", error.message);
  cr_assert_eq(gguf_writer_write(w, path, &error), CHORD_OK, "%s", error.message);
  gguf_writer_free(w);
  char only[256];
  cr_assert_eq(temp_dir_entries(only, sizeof only), 1, "no temporary file is left behind");
  cr_assert_str_eq(only, "all.gguf");

  gguf_file *f;
  cr_assert_eq(gguf_open(path, &f, &error), CHORD_OK, "%s", error.message);
  cr_assert_eq(f->version, 3);
  cr_assert_eq(f->n_kv, N_WRITTEN_KV);
  cr_assert_eq(f->alignment, ALIGNMENT);
  uint64_t u;
  cr_assert_eq(gguf_get_u64(f, "general.alignment", &u, &error), CHORD_OK);
  cr_assert_eq(u, ALIGNMENT);
  cr_assert_eq(gguf_find_kv(f, "general.alignment")->value.type, GGUF_TYPE_UINT32);

  for (int i = 0; i < N_SCALARS; i++) {
    expect_value(f, scalar_key[i], &scalars[i]);
    cr_assert(gguf_string_eq(f->kv[i].key, scalar_key[i]), "keys keep the order they were set");
  }
  gguf_string s;
  cr_assert_eq(gguf_get_string(f, "s.string", &s, &error), CHORD_OK);
  cr_assert(gguf_string_eq(s, "h\xc3\xa9llo"));
  cr_assert_eq(gguf_get_string(f, "s.empty_string", &s, &error), CHORD_OK);
  cr_assert_eq(s.size, 0);
  for (int i = 0; i < N_ARRAY_KEYS; i++)
    expect_value(f, array_keys[i].key, &array_keys[i].value);

  const gguf_array *nested;
  cr_assert_eq(gguf_get_array(f, "a.nested", &nested, &error), CHORD_OK);
  cr_assert(
      gguf_string_eq(gguf_array_string(&nested->arrays[1].as.arr.arrays[0].as.arr, 0), "alpha"));

  int64_t i64;
  double d;
  bool flag;
  cr_assert_eq(gguf_get_u64(f, "c.u32", &u, &error), CHORD_OK);
  cr_assert_eq(u, 77);
  cr_assert_eq(gguf_get_i64(f, "c.i32", &i64, &error), CHORD_OK);
  cr_assert_eq(i64, -77);
  cr_assert_eq(gguf_get_f64(f, "c.f32", &d, &error), CHORD_OK);
  cr_assert_eq(d, 0.125);
  cr_assert_eq(gguf_get_bool(f, "c.bool", &flag, &error), CHORD_OK);
  cr_assert_not(flag);
  cr_assert_eq(gguf_get_u64(f, "c.replaced", &u, &error), CHORD_OK, "%s", error.message);
  cr_assert_eq(u, 5);

  cr_assert_eq(f->n_tensors, N_TENSORS);
  cr_assert_eq(f->data_start % ALIGNMENT, 0);
  for (int t = 0; t < N_TENSORS; t++) {
    const gguf_tensor *ti = gguf_find_tensor(f, tensors[t].name);
    cr_assert_not_null(ti, "tensor %s is missing", tensors[t].name);
    cr_assert_eq(ti, &f->tensors[t], "tensors keep the order they were added");
    cr_assert_eq(ti->type, tensors[t].type, "%s", tensors[t].name);
    cr_assert_eq(ti->n_dims, tensors[t].n_dims, "%s", tensors[t].name);
    for (uint32_t dim = 0; dim < GGUF_MAX_DIMS; dim++)
      cr_assert_eq(ti->dims[dim], dim < tensors[t].n_dims ? tensors[t].dims[dim] : 1, "%s dim %u",
                   tensors[t].name, dim);
    cr_assert_eq(ti->n_bytes, tensors[t].n_bytes, "%s", tensors[t].name);
    cr_assert_eq(ti->data_offset % ALIGNMENT, 0, "%s", tensors[t].name);
    cr_assert_eq(((uintptr_t)ti->data - (uintptr_t)f->map.data) % ALIGNMENT, 0);
    cr_assert_eq(memcmp(ti->data, tensor_data[t], tensors[t].n_bytes), 0, "%s: data differs",
                 tensors[t].name);
  }
  gguf_close(f);
}

Test(gguf_writer, default_alignment_writes_no_alignment_key) {
  char path[512];
  snprintf(path, sizeof path, "%s/plain.gguf", temp_dir);
  gguf_writer *w = gguf_writer_init();
  chord_error error;
  static const float data[3] = {1, 2, 3};
  uint64_t dims[1] = {3};
  cr_assert_eq(gguf_writer_set_string(w, "general.architecture", "test", &error), CHORD_OK);
  cr_assert_eq(gguf_writer_add_tensor(w, "a", IR_DTYPE_F32, 1, dims, data, 12, &error), CHORD_OK);
  cr_assert_eq(gguf_writer_add_tensor(w, "b", IR_DTYPE_F32, 1, dims, data, 12, &error), CHORD_OK);
  cr_assert_eq(gguf_writer_write(w, path, &error), CHORD_OK, "%s", error.message);
  gguf_writer_free(w);
  gguf_file *f;
  cr_assert_eq(gguf_open(path, &f, &error), CHORD_OK, "%s", error.message);
  cr_assert_null(gguf_find_kv(f, "general.alignment"));
  cr_assert_eq(f->alignment, GGUF_DEFAULT_ALIGNMENT);
  cr_assert_eq(f->tensors[1].data_offset, 32, "the first tensor is padded to the alignment");
  cr_assert_eq(memcmp(f->tensors[1].data, data, 12), 0);
  gguf_close(f);
}

Test(gguf_writer, add_tensor_rejects_bad_arguments) {
  gguf_writer *w = gguf_writer_init();
  chord_error error;
  static const uint8_t data[64];
  uint64_t dims5[5] = {1, 1, 1, 1, 1}, dims[2] = {33, 1}, ok[1] = {4};
  cr_assert_eq(gguf_writer_add_tensor(w, "t", IR_DTYPE_F32, 5, dims5, data, 4, &error),
               CHORD_ERROR_INVALID);
  cr_assert(strstr(error.message, "tensor 't' has 5 dimensions") != NULL, "%s", error.message);
  cr_assert_eq(gguf_writer_add_tensor(w, "t", IR_DTYPE_Q8_0, 2, dims, data, 34, &error),
               CHORD_ERROR_INVALID, "a row of 33 is not whole q8_0 blocks");
  cr_assert_eq(gguf_writer_add_tensor(w, "t", IR_DTYPE_F32, 1, ok, data, 15, &error),
               CHORD_ERROR_INVALID);
  cr_assert(strstr(error.message, "15 bytes do not hold 4 f32 elements") != NULL, "%s",
            error.message);
  cr_assert_eq(gguf_writer_add_tensor(w, "t", IR_DTYPE_F32, 1, ok, data, 16, &error), CHORD_OK);
  cr_assert_eq(gguf_writer_add_tensor(w, "t", IR_DTYPE_F32, 1, ok, data, 16, &error),
               CHORD_ERROR_INVALID);
  cr_assert(strstr(error.message, "duplicate tensor 't'") != NULL, "%s", error.message);
  /* 2^32 * 2^32 elements wrap around to 0; that is not an empty tensor. */
  uint64_t huge[2] = {1ull << 32, 1ull << 32};
  cr_assert_eq(gguf_writer_add_tensor(w, "huge", IR_DTYPE_F32, 2, huge, data, 0, &error),
               CHORD_ERROR_INVALID);
  gguf_writer_free(w);
}

Test(gguf_writer, bad_alignment_is_rejected) {
  char path[512];
  snprintf(path, sizeof path, "%s/bad-alignment.gguf", temp_dir);
  gguf_writer *w = gguf_writer_init();
  chord_error error;
  gguf_writer_set_alignment(w, 48);
  cr_assert_eq(gguf_writer_write(w, path, &error), CHORD_ERROR_INVALID);
  cr_assert(strstr(error.message, "alignment 48 is not a power of two") != NULL, "%s",
            error.message);
  cr_assert_eq(temp_dir_entries(NULL, 0), 0);
  gguf_writer_free(w);
  test_expect_no_leaks();
}

/* A general.alignment key set by hand (or copied from another file) must not contradict the
 * layout the writer uses, or the file it writes would be unreadable. */
Test(gguf_writer, alignment_key_agrees_with_the_layout) {
  char path[512];
  snprintf(path, sizeof path, "%s/copied-alignment.gguf", temp_dir);
  gguf_writer *w = gguf_writer_init();
  chord_error error;
  static const float data[4] = {1, 2, 3, 4};
  uint64_t dims[1] = {1};
  cr_assert_eq(gguf_writer_set_u32(w, "general.alignment", 64, &error), CHORD_OK);
  cr_assert_eq(gguf_writer_add_tensor(w, "a", IR_DTYPE_F32, 1, dims, data, 4, &error), CHORD_OK);
  cr_assert_eq(gguf_writer_add_tensor(w, "b", IR_DTYPE_F32, 1, dims, data + 1, 4, &error),
               CHORD_OK);
  cr_assert_eq(gguf_writer_write(w, path, &error), CHORD_OK, "%s", error.message);
  gguf_writer_free(w);
  gguf_file *f;
  cr_assert_eq(gguf_open(path, &f, &error), CHORD_OK, "%s", error.message);
  cr_assert_eq(f->tensors[1].data_offset % f->alignment, 0);
  float b;
  memcpy(&b, f->tensors[1].data, 4);
  cr_assert_eq(b, 2.0f);
  gguf_close(f);
}

/* ---- tensors from sources ------------------------------------------------------------------- */

static uint8_t *read_whole_file(const char *path, long *size) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  fseek(f, 0, SEEK_END);
  *size = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *bytes = malloc(*size ? (size_t)*size : 1);
  cr_assert_not_null(bytes);
  cr_assert_eq(fread(bytes, 1, (size_t)*size, f), (size_t)*size);
  fclose(f);
  return bytes;
}

/* The same tensors from sources and from memory give the same bytes; each fill is called once, in
 * file order, with the tensor's size, into one buffer (ASan checks that it is large enough: the
 * largest tensor is not the first). */
Test(gguf_writer, sources_write_the_same_file_as_memory) {
  char from_memory[512], from_sources[512];
  snprintf(from_memory, sizeof from_memory, "%s/memory.gguf", temp_dir);
  snprintf(from_sources, sizeof from_sources, "%s/sources.gguf", temp_dir);
  chord_error error;
  gguf_writer *w = gguf_writer_init();
  cr_assert_eq(fill_writer(w, &error), CHORD_OK, "%s", error.message);
  cr_assert_eq(gguf_writer_write(w, from_memory, &error), CHORD_OK, "%s", error.message);
  gguf_writer_free(w);

  test_source sources[N_TENSORS];
  fill_calls = 0;
  w = gguf_writer_init();
  cr_assert_eq(fill_writer_from(w, sources, &error), CHORD_OK, "%s", error.message);
  cr_assert_eq(fill_calls, 0, "nothing is filled before the write");
  cr_assert_eq(gguf_writer_write(w, from_sources, &error), CHORD_OK, "%s", error.message);
  gguf_writer_free(w);
  for (int t = 0; t < N_TENSORS; t++) {
    cr_assert_eq(sources[t].calls, 1, "%s filled %d times", tensors[t].name, sources[t].calls);
    cr_assert_eq(sources[t].order, t + 1, "%s filled out of order", tensors[t].name);
    cr_assert_eq(sources[t].n_bytes, tensors[t].n_bytes, "%s", tensors[t].name);
    cr_assert_eq(sources[t].buffer, sources[0].buffer, "%s: a buffer of its own", tensors[t].name);
  }

  long memory_size, sources_size;
  uint8_t *a = read_whole_file(from_memory, &memory_size);
  uint8_t *b = read_whole_file(from_sources, &sources_size);
  cr_assert_eq(sources_size, memory_size);
  cr_assert_eq(memcmp(a, b, (size_t)memory_size), 0, "the files differ");
  free(a);
  free(b);
  test_expect_no_leaks();
}

/* Sources and tensors in memory mix in one file, each read back where it belongs. */
Test(gguf_writer, sources_mix_with_tensors_in_memory) {
  char path[512];
  snprintf(path, sizeof path, "%s/mixed.gguf", temp_dir);
  chord_error error;
  fill_tensor_data();
  test_source sources[N_TENSORS];
  fill_calls = 0;
  gguf_writer *w = gguf_writer_init();
  for (int t = 0; t < N_TENSORS; t++) {
    chord_status s;
    sources[t] = (test_source){.index = t};
    if (t % 2)
      s = gguf_writer_add_tensor_source(w, tensors[t].name, tensors[t].type, tensors[t].n_dims,
                                        tensors[t].dims, tensors[t].n_bytes, test_fill, &sources[t],
                                        &error);
    else
      s = gguf_writer_add_tensor(w, tensors[t].name, tensors[t].type, tensors[t].n_dims,
                                 tensors[t].dims, tensor_data[t], tensors[t].n_bytes, &error);
    cr_assert_eq(s, CHORD_OK, "%s", error.message);
  }
  cr_assert_eq(gguf_writer_write(w, path, &error), CHORD_OK, "%s", error.message);
  gguf_writer_free(w);
  gguf_file *f;
  cr_assert_eq(gguf_open(path, &f, &error), CHORD_OK, "%s", error.message);
  cr_assert_eq(f->n_tensors, N_TENSORS);
  for (int t = 0; t < N_TENSORS; t++) {
    cr_assert_eq(sources[t].calls, t % 2, "%s", tensors[t].name);
    cr_assert_eq(f->tensors[t].n_bytes, tensors[t].n_bytes);
    cr_assert_eq(memcmp(f->tensors[t].data, tensor_data[t], tensors[t].n_bytes), 0,
                 "%s: data differs", tensors[t].name);
  }
  gguf_close(f);
  test_expect_no_leaks();
}

Test(gguf_writer, add_tensor_source_rejects_bad_arguments) {
  gguf_writer *w = gguf_writer_init();
  chord_error error;
  test_source source = {0};
  uint64_t dims[1] = {4};
  cr_assert_eq(
      gguf_writer_add_tensor_source(w, "t", IR_DTYPE_F32, 1, dims, 15, test_fill, &source, &error),
      CHORD_ERROR_INVALID);
  cr_assert(strstr(error.message, "15 bytes do not hold 4 f32 elements") != NULL, "%s",
            error.message);
  static const float data[4];
  cr_assert_eq(gguf_writer_add_tensor(w, "t", IR_DTYPE_F32, 1, dims, data, 16, &error), CHORD_OK);
  cr_assert_eq(
      gguf_writer_add_tensor_source(w, "t", IR_DTYPE_F32, 1, dims, 16, test_fill, &source, &error),
      CHORD_ERROR_INVALID);
  cr_assert(strstr(error.message, "duplicate tensor 't'") != NULL, "%s", error.message);
  gguf_writer_free(w);
}

/* ---- copying a real file --------------------------------------------------------------------- */

Test(gguf_writer, copy_kv_of_a_vocab_file_is_lossless) {
  const char *data = getenv("CHORD_TEST_DATA");
  cr_assert_not_null(data, "CHORD_TEST_DATA is not set");
  char source[1024], path[512];
  snprintf(source, sizeof source, "%s/vocab/ggml-vocab-llama-spm.gguf", data);
  snprintf(path, sizeof path, "%s/copy.gguf", temp_dir);
  gguf_file *in, *out;
  chord_error error;
  cr_assert_eq(gguf_open(source, &in, &error), CHORD_OK, "%s", error.message);
  gguf_writer *w = gguf_writer_init();
  cr_assert_eq(gguf_writer_copy_kv(w, in, &error), CHORD_OK, "%s", error.message);
  cr_assert_eq(gguf_writer_write(w, path, &error), CHORD_OK, "%s", error.message);
  gguf_writer_free(w);
  cr_assert_eq(gguf_open(path, &out, &error), CHORD_OK, "%s", error.message);
  cr_assert_eq(out->n_kv, in->n_kv);
  for (uint64_t i = 0; i < in->n_kv; i++) {
    cr_assert(strings_equal(in->kv[i].key, out->kv[i].key));
    cr_assert(values_equal(&in->kv[i].value, &out->kv[i].value), "key %.*s differs",
              (int)in->kv[i].key.size, in->kv[i].key.data);
  }
  gguf_close(out);
  gguf_close(in);
  test_expect_no_leaks();
}

/* ---- failures leave nothing behind ----------------------------------------------------------- */

Test(gguf_writer, missing_directory_is_an_io_error) {
  char dir[512], path[600];
  snprintf(dir, sizeof dir, "%s/no-such-dir", temp_dir);
  snprintf(path, sizeof path, "%s/out.gguf", dir);
  gguf_writer *w = gguf_writer_init();
  chord_error error;
  cr_assert_eq(gguf_writer_set_u32(w, "k", 1, &error), CHORD_OK);
  cr_assert_eq(gguf_writer_write(w, path, &error), CHORD_ERROR_IO);
  cr_assert(strncmp(error.message, path, strlen(path)) == 0, "\"%s\" does not name %s",
            error.message, path);
  cr_assert(strstr(error.message, "cannot create: No such file or directory") != NULL, "%s",
            error.message);
  struct stat st;
  cr_assert_neq(stat(dir, &st), 0, "the directory must not be created");
  cr_assert_eq(temp_dir_entries(NULL, 0), 0);
  gguf_writer_free(w);
}

/* An older file at path, which a failed write must leave as it was. */
static void put_old_file(const char *path) {
  FILE *old = fopen(path, "wb");
  cr_assert_not_null(old);
  fputs("old contents", old);
  fclose(old);
}

/* temp_dir holds nothing but `name`, the file at path, with put_old_file's contents. */
static void expect_only_old_file(const char *path, const char *name) {
  char only[256];
  cr_assert_eq(temp_dir_entries(only, sizeof only), 1, "the temporary file must be removed");
  cr_assert_str_eq(only, name);
  long size;
  uint8_t *contents = read_whole_file(path, &size);
  cr_assert_eq(size, (long)strlen("old contents"));
  cr_assert_eq(memcmp(contents, "old contents", (size_t)size), 0, "the old file was changed");
  free(contents);
}

/* A write that fails half-way (the file size limit stops it after 4 KiB) reports an I/O error
 * and removes its temporary file; an older file at the path is left as it was. */
Test(gguf_writer, failed_write_leaves_no_temporary_file) {
  char path[512];
  snprintf(path, sizeof path, "%s/big.gguf", temp_dir);
  put_old_file(path);

  static uint8_t big[1 << 16];
  uint64_t dims[1] = {sizeof big};
  gguf_writer *w = gguf_writer_init();
  chord_error error;
  cr_assert_eq(gguf_writer_add_tensor(w, "big", IR_DTYPE_I8, 1, dims, big, sizeof big, &error),
               CHORD_OK);
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = {4096, 4096};
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &limit), 0, "%s", strerror(errno));
  chord_status s = gguf_writer_write(w, path, &error);
  cr_assert_eq(s, CHORD_ERROR_IO, "%s: %s", chord_status_name(s), error.message);
  cr_assert(strstr(error.message, "write failed") != NULL, "%s", error.message);
  gguf_writer_free(w);

  expect_only_old_file(path, "big.gguf");
  test_expect_no_leaks();
}

/* A fill that fails stops the write: its status and message are returned, later tensors are not
 * filled, and neither the new file nor a temporary is left; an older file at the path stays. */
Test(gguf_writer, failing_fill_leaves_no_file) {
  char path[512];
  snprintf(path, sizeof path, "%s/unfilled.gguf", temp_dir);
  put_old_file(path);

  test_source sources[N_TENSORS];
  fill_calls = 0;
  chord_error error;
  gguf_writer *w = gguf_writer_init();
  cr_assert_eq(fill_writer_from(w, sources, &error), CHORD_OK, "%s", error.message);
  sources[2].fail = CHORD_ERROR_IO;
  chord_status s = gguf_writer_write(w, path, &error);
  gguf_writer_free(w);
  cr_assert_eq(s, CHORD_ERROR_IO, "%s: %s", chord_status_name(s), error.message);
  cr_assert_str_eq(error.message, "source 2 is unreadable");
  for (int t = 0; t < N_TENSORS; t++)
    cr_assert_eq(sources[t].calls, t <= 2, "%s filled %d times", tensors[t].name, sources[t].calls);

  expect_only_old_file(path, "unfilled.gguf");
  test_expect_no_leaks();
}

/* Building and writing with the n-th allocation failing, for n = 0, 1, ... until it works: every
 * failure is a clean out-of-memory error and leaves no file; LeakSanitizer checks for leaks. With
 * sources, the buffer they share is one allocation more. */
static void check_every_allocation_failure(bool from_sources) {
  char path[512];
  snprintf(path, sizeof path, "%s/oom.gguf", temp_dir);
  test_source sources[N_TENSORS];
  for (long n = 0;; n++) {
    cr_assert_lt(n, 10000, "the write never succeeds");
    chord_error error = {0};
    rt_alloc_fail_after(n);
    gguf_writer *w = gguf_writer_init();
    chord_status s = CHORD_ERROR_NO_MEMORY;
    if (w && (s = fill_writer_from(w, from_sources ? sources : NULL, &error)) == CHORD_OK)
      s = gguf_writer_write(w, path, &error);
    rt_alloc_fail_after(-1);
    gguf_writer_free(w);
    if (s == CHORD_OK) {
      cr_assert_gt(n, 20, "every key, tensor and the header allocate");
      break;
    }
    cr_assert_eq(s, CHORD_ERROR_NO_MEMORY, "allocation %ld failing gave %s: %s", n,
                 chord_status_name(s), error.message);
    if (w)
      cr_assert(strstr(error.message, "out of memory") != NULL, "allocation %ld: \"%s\"", n,
                error.message);
    cr_assert_eq(temp_dir_entries(NULL, 0), 0, "allocation %ld: a file was left behind", n);
  }
  gguf_file *f;
  chord_error error;
  cr_assert_eq(gguf_open(path, &f, &error), CHORD_OK, "%s", error.message);
  cr_assert_eq(f->n_tensors, N_TENSORS);
  for (int t = 0; t < N_TENSORS; t++)
    cr_assert_eq(memcmp(f->tensors[t].data, tensor_data[t], tensors[t].n_bytes), 0,
                 "%s: data differs", tensors[t].name);
  gguf_close(f);
  test_expect_no_leaks();
}

Test(gguf_writer, every_allocation_failure_is_clean) { check_every_allocation_failure(false); }

Test(gguf_writer, every_allocation_failure_with_sources_is_clean) {
  check_every_allocation_failure(true);
}
