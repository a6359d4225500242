/* The GGUF reader on good input: a hand-encoded file with every value type reads back exactly,
 * every prefix of it fails cleanly, typed look-ups convert or refuse as documented, the real
 * vocabulary files open, and every allocation failure during an open is clean. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontends/gguf/gguf.h"
#include "runtime/support/alloc.h"
#include "test_bytes.h"

/* ---- a small file with metadata of every value type and two tensors -------------------------- */

/* The scalar keys, one per value type, with the value each holds. */
static const struct {
  const char *key;
  gguf_type type;
  uint64_t bits; /* the raw little-endian bits (two's complement, IEEE) */
} scalar_keys[] = {
    {"t.u8", GGUF_TYPE_UINT8, 200},
    {"t.i8", GGUF_TYPE_INT8, (uint8_t)-100},
    {"t.u16", GGUF_TYPE_UINT16, 60000},
    {"t.i16", GGUF_TYPE_INT16, (uint16_t)-30000},
    {"t.u32", GGUF_TYPE_UINT32, 4000000000u},
    {"t.i32", GGUF_TYPE_INT32, (uint32_t)-2000000000},
    {"t.f32", GGUF_TYPE_FLOAT32, 0x3fc00000u}, /* 1.5f */
    {"t.bool", GGUF_TYPE_BOOL, 1},
    {"t.u64", GGUF_TYPE_UINT64, UINT64_MAX - 1},
    {"t.i64", GGUF_TYPE_INT64, (uint64_t)INT64_MIN},
    {"t.f64", GGUF_TYPE_FLOAT64, 0x400921fb54442d18ull}, /* pi */
};
enum { N_SCALAR_KEYS = sizeof scalar_keys / sizeof scalar_keys[0] };

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

/* Tensor data: "w" is f32 [4, 2] (32 bytes at 0), "q" is q8_0 [32] (34 bytes at 32) and ends the
 * file exactly, so that every proper prefix misses some byte the reader needs. */
#define RICH_ALIGNMENT 16
#define RICH_KV_COUNT (N_SCALAR_KEYS + 1 + N_SCALAR_KEYS + 4 + 1)

static void build_rich_file(test_bytes *b) {
  test_bytes_header(b, 3, 2, RICH_KV_COUNT);
  for (int i = 0; i < N_SCALAR_KEYS; i++) {
    test_bytes_key(b, scalar_keys[i].key, scalar_keys[i].type);
    test_bytes_uint(b, scalar_keys[i].bits, (int)scalar_size(scalar_keys[i].type));
  }
  test_bytes_key(b, "t.string", GGUF_TYPE_STRING);
  test_bytes_string(b, "hello, gguf");
  /* An array of two elements of every scalar type: the value and its index. */
  for (int i = 0; i < N_SCALAR_KEYS; i++) {
    char key[64];
    snprintf(key, sizeof key, "%s.array", scalar_keys[i].key);
    test_bytes_key(b, key, GGUF_TYPE_ARRAY);
    test_bytes_u32(b, scalar_keys[i].type);
    test_bytes_u64(b, 2);
    test_bytes_uint(b, scalar_keys[i].bits, (int)scalar_size(scalar_keys[i].type));
    test_bytes_uint(b, 0, (int)scalar_size(scalar_keys[i].type));
  }
  test_bytes_key(b, "t.strings", GGUF_TYPE_ARRAY);
  test_bytes_u32(b, GGUF_TYPE_STRING);
  test_bytes_u64(b, 3);
  test_bytes_string(b, "a");
  test_bytes_string(b, "");
  test_bytes_string(b, "xyz");
  /* [[1, 2], [3]] of u16 */
  test_bytes_key(b, "t.arrays", GGUF_TYPE_ARRAY);
  test_bytes_u32(b, GGUF_TYPE_ARRAY);
  test_bytes_u64(b, 2);
  test_bytes_u32(b, GGUF_TYPE_UINT16);
  test_bytes_u64(b, 2);
  test_bytes_u16(b, 1);
  test_bytes_u16(b, 2);
  test_bytes_u32(b, GGUF_TYPE_UINT16);
  test_bytes_u64(b, 1);
  test_bytes_u16(b, 3);
  /* [["p"], ["q", "r"]] */
  test_bytes_key(b, "t.string_arrays", GGUF_TYPE_ARRAY);
  test_bytes_u32(b, GGUF_TYPE_ARRAY);
  test_bytes_u64(b, 2);
  test_bytes_u32(b, GGUF_TYPE_STRING);
  test_bytes_u64(b, 1);
  test_bytes_string(b, "p");
  test_bytes_u32(b, GGUF_TYPE_STRING);
  test_bytes_u64(b, 2);
  test_bytes_string(b, "q");
  test_bytes_string(b, "r");
  test_bytes_key(b, "t.empty", GGUF_TYPE_ARRAY);
  test_bytes_u32(b, GGUF_TYPE_UINT32);
  test_bytes_u64(b, 0);
  test_bytes_key(b, "general.alignment", GGUF_TYPE_UINT32);
  test_bytes_u32(b, RICH_ALIGNMENT);

  uint64_t w_dims[2] = {4, 2}, q_dims[1] = {32};
  test_bytes_tensor(b, "w", 2, w_dims, 0 /* f32 */, 0);
  test_bytes_tensor(b, "q", 1, q_dims, 8 /* q8_0 */, 32);
  test_bytes_pad(b, RICH_ALIGNMENT);
  for (int i = 0; i < 8; i++)
    test_bytes_f32(b, (float)i * 0.5f);
  for (int i = 0; i < 34; i++)
    test_bytes_u8(b, (uint8_t)(0xa0 + i));
}

static test_bytes rich;
static void rich_init(void) {
  memset(&rich, 0, sizeof rich);
  build_rich_file(&rich);
}
static void rich_fini(void) {
  test_bytes_free(&rich);
  rt_alloc_fail_after(-1);
}

TestSuite(gguf_reader, .init = rich_init, .fini = rich_fini);

Test(gguf_reader, rich_file_reads_back_every_value) {
  gguf_file *f;
  chord_error error;
  void *copy;
  cr_assert_eq(test_open_exact(rich.data, rich.size, "rich.gguf", &f, &copy, &error), CHORD_OK,
               "%s", error.message);
  cr_assert_eq(f->version, 3);
  cr_assert_eq(f->n_kv, RICH_KV_COUNT);
  cr_assert_eq(f->alignment, RICH_ALIGNMENT);
  cr_assert_eq(f->kv[0].offset, 24);
  for (int i = 0; i < N_SCALAR_KEYS; i++) {
    const gguf_kv *kv = gguf_find_kv(f, scalar_keys[i].key);
    cr_assert_not_null(kv, "%s", scalar_keys[i].key);
    cr_assert_eq(kv, &f->kv[i], "keys keep the file's order");
    cr_assert_eq(kv->value.type, scalar_keys[i].type);

    char key[64];
    snprintf(key, sizeof key, "%s.array", scalar_keys[i].key);
    const gguf_array *a;
    cr_assert_eq(gguf_get_array(f, key, &a, &error), CHORD_OK, "%s", error.message);
    cr_assert_eq(a->elem_type, scalar_keys[i].type);
    cr_assert_eq(a->count, 2);
    cr_assert_eq(memcmp(a->data, &rich.data[kv->offset + 8 + strlen(scalar_keys[i].key) + 4],
                        scalar_size(a->elem_type)),
                 0, "array element 0 holds the scalar's bytes");
  }
  cr_assert_eq(gguf_find_kv(f, "t.u8")->value.as.u64, 200);
  cr_assert_eq(gguf_find_kv(f, "t.i8")->value.as.i64, -100);
  cr_assert_eq(gguf_find_kv(f, "t.u16")->value.as.u64, 60000);
  cr_assert_eq(gguf_find_kv(f, "t.i16")->value.as.i64, -30000);
  cr_assert_eq(gguf_find_kv(f, "t.u32")->value.as.u64, 4000000000u);
  cr_assert_eq(gguf_find_kv(f, "t.i32")->value.as.i64, -2000000000);
  cr_assert_eq(gguf_find_kv(f, "t.f32")->value.as.f64, 1.5);
  cr_assert_eq(gguf_find_kv(f, "t.bool")->value.as.u64, 1);
  cr_assert_eq(gguf_find_kv(f, "t.u64")->value.as.u64, UINT64_MAX - 1);
  cr_assert_eq(gguf_find_kv(f, "t.i64")->value.as.i64, INT64_MIN);
  cr_assert_eq(gguf_find_kv(f, "t.f64")->value.as.f64, 3.141592653589793);

  gguf_string s;
  cr_assert_eq(gguf_get_string(f, "t.string", &s, &error), CHORD_OK);
  cr_assert(gguf_string_eq(s, "hello, gguf"));

  const gguf_array *a;
  cr_assert_eq(gguf_get_array(f, "t.strings", &a, &error), CHORD_OK);
  cr_assert_eq(a->elem_type, GGUF_TYPE_STRING);
  cr_assert_eq(a->count, 3);
  cr_assert(gguf_string_eq(gguf_array_string(a, 0), "a"));
  cr_assert(gguf_string_eq(gguf_array_string(a, 1), ""));
  cr_assert(gguf_string_eq(gguf_array_string(a, 2), "xyz"));

  cr_assert_eq(gguf_get_array(f, "t.arrays", &a, &error), CHORD_OK);
  cr_assert_eq(a->elem_type, GGUF_TYPE_ARRAY);
  cr_assert_eq(a->count, 2);
  const gguf_array *a0 = &a->arrays[0].as.arr, *a1 = &a->arrays[1].as.arr;
  uint64_t v;
  cr_assert_eq(a->arrays[0].type, GGUF_TYPE_ARRAY);
  cr_assert_eq(a0->elem_type, GGUF_TYPE_UINT16);
  cr_assert_eq(a0->count, 2);
  cr_assert(gguf_array_u64(a0, 0, &v) && v == 1);
  cr_assert(gguf_array_u64(a0, 1, &v) && v == 2);
  cr_assert_eq(a1->count, 1);
  cr_assert(gguf_array_u64(a1, 0, &v) && v == 3);
  cr_assert_not(gguf_array_u64(a1, 1, &v), "index past the end");

  cr_assert_eq(gguf_get_array(f, "t.string_arrays", &a, &error), CHORD_OK);
  cr_assert_eq(a->count, 2);
  cr_assert_eq(a->arrays[0].as.arr.count, 1);
  cr_assert(gguf_string_eq(gguf_array_string(&a->arrays[0].as.arr, 0), "p"));
  cr_assert_eq(a->arrays[1].as.arr.count, 2);
  cr_assert(gguf_string_eq(gguf_array_string(&a->arrays[1].as.arr, 1), "r"));

  cr_assert_eq(gguf_get_array(f, "t.empty", &a, &error), CHORD_OK);
  cr_assert_eq(a->count, 0);
  cr_assert_not(gguf_array_u64(a, 0, &v));

  cr_assert_eq(f->n_tensors, 2);
  const gguf_tensor *w = gguf_find_tensor(f, "w"), *q = gguf_find_tensor(f, "q");
  cr_assert(w == &f->tensors[0] && q == &f->tensors[1]);
  cr_assert_null(gguf_find_tensor(f, "missing"));
  cr_assert_eq(w->n_dims, 2);
  cr_assert(w->dims[0] == 4 && w->dims[1] == 2 && w->dims[2] == 1 && w->dims[3] == 1);
  cr_assert_eq(w->type, IR_DTYPE_F32);
  cr_assert_eq(w->n_elems, 8);
  cr_assert_eq(w->n_bytes, 32);
  cr_assert_eq(q->type, IR_DTYPE_Q8_0);
  cr_assert_eq(q->n_elems, 32);
  cr_assert_eq(q->n_bytes, 34);
  cr_assert_eq(f->data_start % RICH_ALIGNMENT, 0);
  cr_assert_eq(f->data_start + 66, rich.size);
  const uint8_t *base = copy;
  cr_assert_eq(w->data, base + f->data_start);
  cr_assert_eq(q->data, base + f->data_start + 32);
  float w7;
  memcpy(&w7, w->data + 28, 4);
  cr_assert_eq(w7, 3.5f);
  cr_assert_eq(q->data[33], 0xa0 + 33);
  gguf_close(f);
  free(copy);
}

Test(gguf_reader, version_2_is_accepted) {
  rich.data[4] = 2;
  gguf_file *f;
  chord_error error;
  void *copy;
  cr_assert_eq(test_open_exact(rich.data, rich.size, "v2.gguf", &f, &copy, &error), CHORD_OK, "%s",
               error.message);
  cr_assert_eq(f->version, 2);
  gguf_close(f);
  free(copy);
}

/* Every proper prefix must fail with a format error that points inside the prefix and says the
 * data ran out; the whole file must open. Each prefix is a heap copy of exactly that length, so
 * AddressSanitizer reports any read past its end. */
Test(gguf_reader, every_prefix_fails_cleanly) {
  for (size_t n = 0; n < rich.size; n++) {
    gguf_file *f = (gguf_file *)1;
    chord_error error;
    void *copy;
    chord_status s = test_open_exact(rich.data, n, "trunc.gguf", &f, &copy, &error);
    cr_assert_eq(s, CHORD_ERROR_FORMAT, "prefix of %zu bytes: %s (%s)", n, chord_status_name(s),
                 error.message);
    cr_assert_null(f);
    int64_t at = test_message_offset(error.message, "trunc.gguf");
    cr_assert(at >= 0 && (uint64_t)at <= n, "prefix of %zu bytes: bad offset in \"%s\"", n,
              error.message);
    bool ran_out = strstr(error.message, "truncated") || strstr(error.message, "bytes remain") ||
                   strstr(error.message, "cannot fit") || strstr(error.message, "does not fit") ||
                   strstr(error.message, "lies outside the file");
    cr_assert(ran_out, "prefix of %zu bytes: \"%s\" does not say the file ended", n, error.message);
    free(copy);
  }
  gguf_file *f;
  chord_error error;
  void *copy;
  cr_assert_eq(test_open_exact(rich.data, rich.size, "trunc.gguf", &f, &copy, &error), CHORD_OK);
  gguf_close(f);
  free(copy);
  test_expect_no_leaks();
}

/* A file whose only tensor is empty may end before the padding of the data section (as
 * vocabulary-only files do); the tensor's pointer must still lie within the input. */
Test(gguf_reader, empty_tensor_without_padding) {
  test_bytes b = {0};
  uint64_t dims[2] = {0, 8};
  test_bytes_header(&b, 3, 1, 0);
  test_bytes_tensor(&b, "empty", 2, dims, 0, 0);
  cr_assert_neq(b.size % GGUF_DEFAULT_ALIGNMENT, 0, "the file must end unpadded");
  gguf_file *f;
  chord_error error;
  void *copy;
  cr_assert_eq(test_open_exact(b.data, b.size, "empty.gguf", &f, &copy, &error), CHORD_OK, "%s",
               error.message);
  const gguf_tensor *t = gguf_find_tensor(f, "empty");
  cr_assert_not_null(t);
  cr_assert_eq(t->n_elems, 0);
  cr_assert_eq(t->n_bytes, 0);
  const uint8_t *base = copy;
  cr_assert(t->data >= base && t->data <= base + b.size, "data pointer %p outside [%p, %p]",
            (const void *)t->data, copy, (const void *)(base + b.size));
  gguf_close(f);
  free(copy);
  test_bytes_free(&b);
}

/* ---- typed look-ups -------------------------------------------------------------------------- */

static gguf_file *open_rich(void **copy) {
  gguf_file *f;
  chord_error error;
  cr_assert_eq(test_open_exact(rich.data, rich.size, "rich.gguf", &f, copy, &error), CHORD_OK, "%s",
               error.message);
  return f;
}

/* Checks a look-up failure: status, the key in quotes and the extra words. */
static void expect_lookup_error(chord_status s, const chord_error *error, chord_status status,
                                const char *key, const char *what) {
  cr_assert_eq(s, status, "%s: %s (%s)", key, chord_status_name(s), error->message);
  cr_assert_eq(error->status, status);
  char quoted[128];
  snprintf(quoted, sizeof quoted, "'%s'", key);
  cr_assert(strstr(error->message, quoted) != NULL, "\"%s\" does not name %s", error->message,
            quoted);
  cr_assert(strstr(error->message, what) != NULL, "\"%s\" does not contain \"%s\"", error->message,
            what);
}

Test(gguf_reader, get_u64_on_string_is_a_format_error) {
  void *copy;
  gguf_file *f = open_rich(&copy);
  uint64_t v = 12345;
  chord_error error;
  chord_status s = gguf_get_u64(f, "t.string", &v, &error);
  char where[64];
  snprintf(where, sizeof where, "offset %" PRIu64 ": ", gguf_find_kv(f, "t.string")->offset);
  expect_lookup_error(s, &error, CHORD_ERROR_FORMAT, "t.string", where);
  expect_lookup_error(s, &error, CHORD_ERROR_FORMAT, "t.string",
                      "is string, expected an unsigned integer");
  cr_assert_eq(v, 12345, "a failed look-up leaves the output alone");
  gguf_close(f);
  free(copy);
}

Test(gguf_reader, absent_key_is_not_found) {
  void *copy;
  gguf_file *f = open_rich(&copy);
  chord_error error;
  uint64_t u;
  int64_t i;
  double d;
  bool flag;
  gguf_string str;
  const gguf_array *a;
  cr_assert_null(gguf_find_kv(f, "no.such.key"));
  expect_lookup_error(gguf_get_u64(f, "no.such.key", &u, &error), &error, CHORD_ERROR_NOT_FOUND,
                      "no.such.key", "not found");
  expect_lookup_error(gguf_get_i64(f, "no.such.key", &i, &error), &error, CHORD_ERROR_NOT_FOUND,
                      "no.such.key", "not found");
  expect_lookup_error(gguf_get_f64(f, "no.such.key", &d, &error), &error, CHORD_ERROR_NOT_FOUND,
                      "no.such.key", "not found");
  expect_lookup_error(gguf_get_bool(f, "no.such.key", &flag, &error), &error, CHORD_ERROR_NOT_FOUND,
                      "no.such.key", "not found");
  expect_lookup_error(gguf_get_string(f, "no.such.key", &str, &error), &error,
                      CHORD_ERROR_NOT_FOUND, "no.such.key", "not found");
  expect_lookup_error(gguf_get_array(f, "no.such.key", &a, &error), &error, CHORD_ERROR_NOT_FOUND,
                      "no.such.key", "not found");
  /* A prefix of an existing key is another key. */
  cr_assert_null(gguf_find_kv(f, "t.u"));
  cr_assert_null(gguf_find_kv(f, "t.u88"));
  gguf_close(f);
  free(copy);
}

Test(gguf_reader, integer_lookups_convert_when_the_value_fits) {
  void *copy;
  gguf_file *f = open_rich(&copy);
  chord_error error;
  uint64_t u;
  int64_t i;
  double d;
  bool flag;
  cr_assert_eq(gguf_get_u64(f, "t.u8", &u, &error), CHORD_OK);
  cr_assert_eq(u, 200);
  cr_assert_eq(gguf_get_u64(f, "t.u64", &u, &error), CHORD_OK);
  cr_assert_eq(u, UINT64_MAX - 1);
  cr_assert_eq(gguf_get_i64(f, "t.u32", &i, &error), CHORD_OK);
  cr_assert_eq(i, 4000000000);
  cr_assert_eq(gguf_get_i64(f, "t.i64", &i, &error), CHORD_OK);
  cr_assert_eq(i, INT64_MIN);
  cr_assert_eq(gguf_get_f64(f, "t.i16", &d, &error), CHORD_OK);
  cr_assert_eq(d, -30000.0);
  cr_assert_eq(gguf_get_f64(f, "t.f32", &d, &error), CHORD_OK);
  cr_assert_eq(d, 1.5);
  cr_assert_eq(gguf_get_bool(f, "t.bool", &flag, &error), CHORD_OK);
  cr_assert(flag);

  expect_lookup_error(gguf_get_u64(f, "t.i8", &u, &error), &error, CHORD_ERROR_FORMAT, "t.i8",
                      "is negative (-100)");
  expect_lookup_error(gguf_get_i64(f, "t.u64", &i, &error), &error, CHORD_ERROR_FORMAT, "t.u64",
                      "does not fit in 64-bit signed");
  expect_lookup_error(gguf_get_u64(f, "t.f32", &u, &error), &error, CHORD_ERROR_FORMAT, "t.f32",
                      "is f32, expected an unsigned integer");
  expect_lookup_error(gguf_get_i64(f, "t.f64", &i, &error), &error, CHORD_ERROR_FORMAT, "t.f64",
                      "is f64, expected an integer");
  expect_lookup_error(gguf_get_f64(f, "t.string", &d, &error), &error, CHORD_ERROR_FORMAT,
                      "t.string", "is string, expected a number");
  expect_lookup_error(gguf_get_bool(f, "t.u8", &flag, &error), &error, CHORD_ERROR_FORMAT, "t.u8",
                      "is u8, expected bool");
  gguf_string s;
  expect_lookup_error(gguf_get_string(f, "t.strings", &s, &error), &error, CHORD_ERROR_FORMAT,
                      "t.strings", "is array, expected string");
  const gguf_array *a;
  expect_lookup_error(gguf_get_array(f, "t.string", &a, &error), &error, CHORD_ERROR_FORMAT,
                      "t.string", "is string, expected array");
  gguf_close(f);
  free(copy);
}

Test(gguf_reader, array_element_lookups) {
  void *copy;
  gguf_file *f = open_rich(&copy);
  chord_error error;
  const gguf_array *a;
  uint64_t u;
  int64_t i;
  double d;
  cr_assert_eq(gguf_get_array(f, "t.i8.array", &a, &error), CHORD_OK);
  cr_assert(gguf_array_i64(a, 0, &i) && i == -100);
  cr_assert_not(gguf_array_u64(a, 0, &u), "a negative element is not a u64");
  cr_assert(gguf_array_u64(a, 1, &u) && u == 0);
  cr_assert(gguf_array_f64(a, 0, &d) && d == -100.0);
  cr_assert_not(gguf_array_i64(a, 2, &i), "index past the end");
  cr_assert_eq(gguf_get_array(f, "t.u64.array", &a, &error), CHORD_OK);
  cr_assert(gguf_array_u64(a, 0, &u) && u == UINT64_MAX - 1);
  cr_assert_not(gguf_array_i64(a, 0, &i), "too large for i64");
  cr_assert_eq(gguf_get_array(f, "t.f64.array", &a, &error), CHORD_OK);
  cr_assert(gguf_array_f64(a, 0, &d) && d == 3.141592653589793);
  cr_assert_not(gguf_array_u64(a, 0, &u), "a float is not an integer");
  cr_assert_eq(gguf_get_array(f, "t.bool.array", &a, &error), CHORD_OK);
  cr_assert(gguf_array_u64(a, 0, &u) && u == 1);
  cr_assert_eq(gguf_get_array(f, "t.strings", &a, &error), CHORD_OK);
  cr_assert_not(gguf_array_u64(a, 0, &u), "strings are not scalars");
  cr_assert_not(gguf_array_f64(a, 0, &d));
  cr_assert_eq(gguf_get_array(f, "t.arrays", &a, &error), CHORD_OK);
  cr_assert_not(gguf_array_i64(a, 0, &i), "arrays are not scalars");
  gguf_close(f);
  free(copy);
}

/* ---- the real vocabulary files --------------------------------------------------------------- */

/* Calls fn(path) for every *.gguf in $CHORD_TEST_DATA/vocab; returns how many there were. */
static int for_each_vocab_file(void (*fn)(const char *path)) {
  const char *data = getenv("CHORD_TEST_DATA");
  cr_assert_not_null(data, "CHORD_TEST_DATA is not set");
  char dir_path[1024];
  snprintf(dir_path, sizeof dir_path, "%s/vocab", data);
  DIR *dir = opendir(dir_path);
  cr_assert_not_null(dir, "cannot open %s", dir_path);
  int count = 0;
  for (struct dirent *e; (e = readdir(dir));) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 5, ".gguf") != 0)
      continue;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir_path, e->d_name);
    fn(path);
    count++;
  }
  closedir(dir);
  return count;
}

static void check_vocab_file(const char *path) {
  gguf_file *f;
  chord_error error;
  cr_assert_eq(gguf_open(path, &f, &error), CHORD_OK, "%s", error.message);
  cr_assert_eq(f->n_tensors, 0, "%s: vocabulary files hold no tensors", path);
  cr_assert_gt(f->n_kv, 5, "%s", path);
  gguf_string arch, model;
  cr_assert_eq(gguf_get_string(f, "general.architecture", &arch, &error), CHORD_OK, "%s",
               error.message);
  cr_assert_gt(arch.size, 0);
  cr_assert_eq(gguf_get_string(f, "tokenizer.ggml.model", &model, &error), CHORD_OK, "%s",
               error.message);
  const gguf_array *tokens;
  cr_assert_eq(gguf_get_array(f, "tokenizer.ggml.tokens", &tokens, &error), CHORD_OK, "%s",
               error.message);
  cr_assert_eq(tokens->elem_type, GGUF_TYPE_STRING);
  cr_assert_gt(tokens->count, 1000, "%s: %" PRIu64 " tokens", path, tokens->count);
  for (uint64_t i = 0; i < tokens->count; i++) {
    gguf_string t = gguf_array_string(tokens, i);
    cr_assert(t.data >= (const char *)f->map.data &&
                  t.data + t.size <= (const char *)f->map.data + f->map.size,
              "%s: token %" PRIu64 " lies outside the mapping", path, i);
  }
  /* Every key can be found by name and is the entry it names. */
  for (uint64_t i = 0; i < f->n_kv; i++) {
    char key[512];
    cr_assert_lt(f->kv[i].key.size, sizeof key);
    memcpy(key, f->kv[i].key.data, f->kv[i].key.size);
    key[f->kv[i].key.size] = '\0';
    cr_assert_eq(gguf_find_kv(f, key), &f->kv[i], "%s: key %s", path, key);
  }
  gguf_close(f);
}

Test(gguf_reader, every_vocab_file_opens) {
  int n = for_each_vocab_file(check_vocab_file);
  cr_assert_geq(n, 6, "expected the six vocabulary files, found %d", n);
}

/* ---- fault injection ------------------------------------------------------------------------- */

/* Opens with the n-th allocation failing for n = 0, 1, 2, ... until an open succeeds. Every
 * failure must be a clean out-of-memory error with a message; LeakSanitizer (in the sanitizer
 * build) checks that nothing the failed opens allocated is left behind. */
static long open_with_failures(chord_status (*open)(const void *ctx, gguf_file **out,
                                                    chord_error *error),
                               const void *ctx, const char *name) {
  for (long n = 0;; n++) {
    cr_assert_lt(n, 100000, "%s: the open never succeeds", name);
    gguf_file *f = (gguf_file *)1;
    chord_error error = {0};
    rt_alloc_fail_after(n);
    chord_status s = open(ctx, &f, &error);
    rt_alloc_fail_after(-1);
    if (s == CHORD_OK) {
      gguf_close(f);
      return n;
    }
    cr_assert_eq(s, CHORD_ERROR_NO_MEMORY, "%s: allocation %ld failing gave %s: %s", name, n,
                 chord_status_name(s), error.message);
    cr_assert_eq(error.status, CHORD_ERROR_NO_MEMORY);
    cr_assert_null(f);
    cr_assert(strstr(error.message, "out of memory") != NULL, "%s: message \"%s\"", name,
              error.message);
    cr_assert(strncmp(error.message, name, strlen(name)) == 0,
              "%s: message \"%s\" does not name the file", name, error.message);
  }
}

static chord_status open_path(const void *ctx, gguf_file **out, chord_error *error) {
  return gguf_open(ctx, out, error);
}

static void fail_allocations_opening(const char *path) {
  long n = open_with_failures(open_path, path, path);
  cr_assert_gt(n, 2, "%s: an open allocates the file, its name and its tables", path);
}

Test(gguf_reader, vocab_open_survives_every_allocation_failure) {
  cr_assert_geq(for_each_vocab_file(fail_allocations_opening), 6);
  test_expect_no_leaks();
}

static chord_status open_rich_memory(const void *ctx, gguf_file **out, chord_error *error) {
  const test_bytes *b = ctx;
  return gguf_open_memory(b->data, b->size, "rich.gguf", out, error);
}

Test(gguf_reader, memory_open_survives_every_allocation_failure) {
  /* The rich file allocates for its string array and both arrays of arrays, too. */
  long n = open_with_failures(open_rich_memory, &rich, "rich.gguf");
  cr_assert_geq(n, 8);
  test_expect_no_leaks();
}
