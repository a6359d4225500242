/* Every malformed-input diagnostic of the GGUF reader: one test per case, each checking the
 * status, the byte offset in the message and the words that say what is wrong. The bad files are
 * built byte by byte here (see test_bytes.h for the layout helpers). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontends/gguf/gguf.h"
#include "test_bytes.h"

/* The header is magic (4) + version (4) + tensor count (8) + metadata count (8). */
#define HEADER_SIZE 24
/* A one-letter key: u64 length + 1 byte; its value type follows. */
#define SHORT_KEY_SIZE 9

static test_bytes b;

static void reset(void) { memset(&b, 0, sizeof b); }
static void release(void) { test_bytes_free(&b); }

TestSuite(gguf_errors, .init = reset, .fini = release);

/* ---- header ---------------------------------------------------------------------------------- */

Test(gguf_errors, empty_input) {
  test_expect_failure(&b, CHORD_ERROR_FORMAT, 0,
                      "truncated: the magic needs 4 bytes but the file ends after 0");
}

Test(gguf_errors, wrong_magic) {
  test_bytes_raw(&b, "GGML", 4);
  test_bytes_u32(&b, 3);
  test_bytes_u64(&b, 0);
  test_bytes_u64(&b, 0);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, 0,
                      "not a GGUF file: magic is \"GGML\", expected \"GGUF\"");
}

Test(gguf_errors, wrong_magic_unprintable) {
  test_bytes_raw(&b,
                 "\x00\x7f"
                 "GU",
                 4);
  test_bytes_u32(&b, 3);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, 0, "magic is \"\\x00\\x7fGU\"");
}

Test(gguf_errors, version_1) {
  test_bytes_header(&b, 1, 0, 0);
  test_expect_failure(&b, CHORD_ERROR_UNSUPPORTED, 4,
                      "unsupported GGUF version 1 (chord reads versions 2 and 3)");
}

Test(gguf_errors, version_4) {
  test_bytes_header(&b, 4, 0, 0);
  test_expect_failure(&b, CHORD_ERROR_UNSUPPORTED, 4, "unsupported GGUF version 4");
}

Test(gguf_errors, big_endian) {
  /* A big-endian v3 file stores the version as 00 00 00 03. */
  test_bytes_raw(&b, "GGUF", 4);
  test_bytes_raw(&b, "\x00\x00\x00\x03", 4);
  test_bytes_u64(&b, 0);
  test_bytes_u64(&b, 0);
  test_expect_failure(&b, CHORD_ERROR_UNSUPPORTED, 4,
                      "big-endian GGUF (version 3 byte-swapped) is not supported");
}

Test(gguf_errors, metadata_count_exceeds_file) {
  test_bytes_header(&b, 3, 0, 1000);
  test_bytes_raw(&b, "0123456789", 10);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, 16,
                      "metadata count 1000 cannot fit in the 10 bytes that remain");
}

Test(gguf_errors, metadata_count_near_uint64_max) {
  test_bytes_header(&b, 3, 0, UINT64_MAX);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, 16,
                      "metadata count 18446744073709551615 cannot fit in the 0 bytes");
}

Test(gguf_errors, tensor_count_exceeds_file) {
  test_bytes_header(&b, 3, 1000, 0);
  test_bytes_raw(&b, "0123456789", 10);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, 8,
                      "tensor count 1000 cannot fit in the 10 bytes that remain");
}

Test(gguf_errors, tensor_count_near_uint64_max) {
  test_bytes_header(&b, 2, UINT64_MAX - 1, 0);
  test_bytes_raw(&b, "0123456789", 10);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, 8, "tensor count 18446744073709551614 cannot fit");
}

/* ---- strings --------------------------------------------------------------------------------- */

Test(gguf_errors, key_length_exceeds_file) {
  test_bytes_header(&b, 3, 0, 1);
  test_bytes_u64(&b, 100);
  test_bytes_raw(&b, "general.x", 9);
  test_bytes_u32(&b, GGUF_TYPE_UINT8);
  test_bytes_u8(&b, 1);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, HEADER_SIZE,
                      "metadata key has length 100 but only 14 bytes remain in the file");
}

Test(gguf_errors, key_length_near_uint64_max) {
  test_bytes_header(&b, 3, 0, 1);
  test_bytes_u64(&b, UINT64_MAX - 2);
  test_bytes_raw(&b, "0123456789abcdef", 16);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, HEADER_SIZE,
                      "metadata key has length 18446744073709551613 but only 16 bytes remain");
}

Test(gguf_errors, string_value_length_near_uint64_max) {
  test_bytes_header(&b, 3, 0, 1);
  test_bytes_key(&b, "k", GGUF_TYPE_STRING);
  test_bytes_u64(&b, UINT64_MAX);
  test_bytes_raw(&b, "abc", 3);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, HEADER_SIZE + SHORT_KEY_SIZE + 4,
                      "value of 'k' has length 18446744073709551615 but only 3 bytes remain");
}

Test(gguf_errors, tensor_name_length_exceeds_file) {
  test_bytes_header(&b, 3, 1, 0);
  test_bytes_u64(&b, 30);
  test_bytes_raw(&b, "0123456789abcdef", 16);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, HEADER_SIZE,
                      "tensor name has length 30 but only 16 bytes remain");
}

/* ---- arrays ---------------------------------------------------------------------------------- */

/* Writes key "a" of type array with the given element type and count; returns the offset of the
 * count field. */
static uint64_t array_start(gguf_type elem_type, uint64_t count) {
  test_bytes_header(&b, 3, 0, 1);
  test_bytes_key(&b, "a", GGUF_TYPE_ARRAY);
  test_bytes_u32(&b, (uint32_t)elem_type);
  uint64_t at = b.size;
  test_bytes_u64(&b, count);
  return at;
}

Test(gguf_errors, array_length_overflows_u64) {
  /* 2^61 + 1 elements of 8 bytes: the byte count wraps around to 8, which would fit. */
  uint64_t at = array_start(GGUF_TYPE_UINT64, (1ull << 61) + 1);
  test_bytes_u64(&b, 7);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, at,
                      "value of 'a': array of 2305843009213693953 u64 elements does not fit in "
                      "the 8 bytes that remain");
}

Test(gguf_errors, array_length_overflows_u32) {
  uint64_t at = array_start(GGUF_TYPE_FLOAT32, (1ull << 62) + 1);
  test_bytes_u32(&b, 7);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, at,
                      "array of 4611686018427387905 f32 elements does not fit in the 4 bytes");
}

Test(gguf_errors, array_length_exceeds_file) {
  uint64_t at = array_start(GGUF_TYPE_UINT32, 5);
  for (uint32_t i = 0; i < 3; i++)
    test_bytes_u32(&b, i);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, at,
                      "array of 5 u32 elements does not fit in the 12 bytes that remain");
}

Test(gguf_errors, string_array_length_near_uint64_max) {
  /* Must be rejected before anything is allocated for the strings. */
  uint64_t at = array_start(GGUF_TYPE_STRING, UINT64_MAX);
  test_bytes_string(&b, "x");
  test_expect_failure(&b, CHORD_ERROR_FORMAT, at,
                      "array of 18446744073709551615 string elements does not fit in the 9 bytes");
}

Test(gguf_errors, string_array_element_exceeds_file) {
  array_start(GGUF_TYPE_STRING, 2);
  test_bytes_string(&b, "first");
  uint64_t at = b.size;
  test_bytes_u64(&b, 50);
  test_bytes_raw(&b, "second", 6);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, at,
                      "array string has length 50 but only 6 bytes remain");
}

Test(gguf_errors, array_of_arrays_length_exceeds_file) {
  uint64_t at = array_start(GGUF_TYPE_ARRAY, 3);
  for (int i = 0; i < 2; i++) {
    test_bytes_u32(&b, GGUF_TYPE_UINT8);
    test_bytes_u64(&b, 0);
  }
  test_expect_failure(&b, CHORD_ERROR_FORMAT, at,
                      "array of 3 array elements does not fit in the 24 bytes that remain");
}

/* A metadata value of `levels` nested arrays (each holding one array, the innermost one u8). */
static void nested_arrays(int levels) {
  test_bytes_header(&b, 3, 0, 1);
  test_bytes_key(&b, "n", GGUF_TYPE_ARRAY);
  for (int level = 0; level < levels; level++) {
    test_bytes_u32(&b, level + 1 < levels ? GGUF_TYPE_ARRAY : GGUF_TYPE_UINT8);
    test_bytes_u64(&b, 1);
  }
  test_bytes_u8(&b, 42);
}

Test(gguf_errors, arrays_nested_too_deep) {
  nested_arrays(GGUF_MAX_ARRAY_DEPTH + 1);
  /* The array at depth GGUF_MAX_ARRAY_DEPTH - 1 may not hold arrays: its element type is the
   * offending field. */
  uint64_t at = HEADER_SIZE + SHORT_KEY_SIZE + 4 + 12 * (GGUF_MAX_ARRAY_DEPTH - 1);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, at, "value of 'n': arrays nested deeper than 16");
}

Test(gguf_errors, arrays_nested_to_the_limit_are_accepted) {
  nested_arrays(GGUF_MAX_ARRAY_DEPTH);
  gguf_file *file;
  chord_error error;
  void *copy;
  cr_assert_eq(test_open_exact(b.data, b.size, "deep.gguf", &file, &copy, &error), CHORD_OK, "%s",
               error.message);
  const gguf_array *a;
  cr_assert_eq(gguf_get_array(file, "n", &a, &error), CHORD_OK);
  for (int level = 1; level < GGUF_MAX_ARRAY_DEPTH; level++) {
    cr_assert_eq(a->elem_type, GGUF_TYPE_ARRAY);
    cr_assert_eq(a->count, 1);
    a = &a->arrays[0].as.arr;
  }
  uint64_t v;
  cr_assert_eq(a->elem_type, GGUF_TYPE_UINT8);
  cr_assert(gguf_array_u64(a, 0, &v));
  cr_assert_eq(v, 42);
  gguf_close(file);
  free(copy);
}

Test(gguf_errors, unknown_value_type) {
  test_bytes_header(&b, 3, 0, 1);
  test_bytes_key(&b, "k", 13);
  test_bytes_u8(&b, 0);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, HEADER_SIZE + SHORT_KEY_SIZE,
                      "metadata key 'k' has unknown value type 13");
}

Test(gguf_errors, unknown_value_type_huge) {
  test_bytes_header(&b, 3, 0, 1);
  test_bytes_key(&b, "k", (gguf_type)0xffffffffu);
  test_bytes_u8(&b, 0);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, HEADER_SIZE + SHORT_KEY_SIZE,
                      "has unknown value type 4294967295");
}

Test(gguf_errors, unknown_array_element_type) {
  test_bytes_header(&b, 3, 0, 1);
  test_bytes_key(&b, "k", GGUF_TYPE_ARRAY);
  test_bytes_u32(&b, 13);
  test_bytes_u64(&b, 1);
  test_bytes_u8(&b, 0);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, HEADER_SIZE + SHORT_KEY_SIZE + 4,
                      "value of 'k': unknown array element type 13");
}

Test(gguf_errors, unknown_nested_array_element_type) {
  test_bytes_header(&b, 3, 0, 1);
  test_bytes_key(&b, "k", GGUF_TYPE_ARRAY);
  test_bytes_u32(&b, GGUF_TYPE_ARRAY);
  test_bytes_u64(&b, 1);
  uint64_t at = b.size;
  test_bytes_u32(&b, 99);
  test_bytes_u64(&b, 0);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, at, "unknown array element type 99");
}

Test(gguf_errors, duplicate_key) {
  test_bytes_header(&b, 3, 0, 2);
  test_bytes_key(&b, "k", GGUF_TYPE_UINT8);
  test_bytes_u8(&b, 1);
  uint64_t second = b.size;
  test_bytes_key(&b, "k", GGUF_TYPE_UINT8);
  test_bytes_u8(&b, 2);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, second,
                      "duplicate metadata key 'k' (first at offset 24)");
}

/* ---- general.alignment ----------------------------------------------------------------------- */

Test(gguf_errors, alignment_not_power_of_two) {
  test_bytes_header(&b, 3, 0, 1);
  test_bytes_key(&b, "general.alignment", GGUF_TYPE_UINT32);
  test_bytes_u32(&b, 48);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, HEADER_SIZE,
                      "general.alignment 48 is not a power of two");
}

Test(gguf_errors, alignment_zero) {
  test_bytes_header(&b, 3, 0, 2);
  test_bytes_key(&b, "x", GGUF_TYPE_UINT8);
  test_bytes_u8(&b, 0);
  uint64_t at = b.size;
  test_bytes_key(&b, "general.alignment", GGUF_TYPE_UINT32);
  test_bytes_u32(&b, 0);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, at, "general.alignment 0 is not a power of two");
}

Test(gguf_errors, alignment_wrong_type_u64) {
  test_bytes_header(&b, 3, 0, 1);
  test_bytes_key(&b, "general.alignment", GGUF_TYPE_UINT64);
  test_bytes_u64(&b, 32);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, HEADER_SIZE,
                      "general.alignment must be u32, not u64");
}

Test(gguf_errors, alignment_wrong_type_string) {
  test_bytes_header(&b, 3, 0, 1);
  test_bytes_key(&b, "general.alignment", GGUF_TYPE_STRING);
  test_bytes_string(&b, "32");
  test_expect_failure(&b, CHORD_ERROR_FORMAT, HEADER_SIZE,
                      "general.alignment must be u32, not string");
}

/* ---- tensor infos ---------------------------------------------------------------------------- */

/* A file with no metadata and one tensor info "t" at offset 24, followed by zero padding so the
 * tensor count passes the size bound. Offsets inside the info: name 24, n_dims 33, dims 37. */
static void one_tensor(uint32_t n_dims, const uint64_t *dims, uint32_t type, uint64_t offset) {
  test_bytes_header(&b, 3, 1, 0);
  test_bytes_tensor(&b, "t", n_dims, dims, type, offset);
}

#define TENSOR_N_DIMS_AT (HEADER_SIZE + SHORT_KEY_SIZE)
#define TENSOR_DIMS_AT (TENSOR_N_DIMS_AT + 4)

Test(gguf_errors, too_many_dimensions) {
  uint64_t dims[5] = {1, 1, 1, 1, 1};
  one_tensor(5, dims, 0, 0);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, TENSOR_N_DIMS_AT,
                      "tensor 't' has 5 dimensions (at most 4)");
}

Test(gguf_errors, dimension_count_near_uint32_max) {
  test_bytes_header(&b, 3, 1, 0);
  test_bytes_string(&b, "t");
  test_bytes_u32(&b, UINT32_MAX);
  test_bytes_raw(&b, "0123456789abcdef", 16);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, TENSOR_N_DIMS_AT,
                      "tensor 't' has 4294967295 dimensions");
}

Test(gguf_errors, dimension_product_overflows) {
  uint64_t dims[2] = {1ull << 32, 1ull << 32};
  one_tensor(2, dims, 0, 0);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, TENSOR_DIMS_AT,
                      "tensor 't': the element count overflows 64 bits");
}

Test(gguf_errors, dimension_product_exceeds_int64) {
  /* 2^31 * 2^32 = 2^63 does not fit in ggml's int64_t element count. */
  uint64_t dims[3] = {1ull << 31, 1, 1ull << 32};
  one_tensor(3, dims, 0, 0);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, TENSOR_DIMS_AT, "the element count overflows");
}

Test(gguf_errors, dimension_exceeds_int64) {
  uint64_t dims[1] = {UINT64_MAX};
  one_tensor(1, dims, 0, 0);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, TENSOR_DIMS_AT, "the element count overflows");
}

Test(gguf_errors, byte_size_overflows) {
  /* 2^62 f32 elements are a valid count but 2^64 bytes. */
  uint64_t dims[1] = {1ull << 62};
  one_tensor(1, dims, 0, 0);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, TENSOR_DIMS_AT + 8,
                      "tensor 't': the byte size overflows 64 bits");
}

Test(gguf_errors, row_not_multiple_of_block) {
  uint64_t dims[2] = {33, 2};
  one_tensor(2, dims, 2 /* q4_0 */, 0);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, TENSOR_DIMS_AT + 16,
                      "tensor 't': row length 33 is not a multiple of the q4_0 block size 32");
}

Test(gguf_errors, row_not_multiple_of_k_block) {
  /* 512 elements in all, a multiple of 256, but each row of 128 is not. */
  uint64_t dims[2] = {128, 4};
  one_tensor(2, dims, 12 /* q4_k */, 0);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, TENSOR_DIMS_AT + 16,
                      "row length 128 is not a multiple of the q4_k block size 256");
}

Test(gguf_errors, unknown_tensor_type) {
  uint64_t dims[1] = {4};
  one_tensor(1, dims, 4 /* the removed Q4_2 */, 0);
  test_expect_failure(&b, CHORD_ERROR_UNSUPPORTED, TENSOR_DIMS_AT + 8,
                      "tensor 't' has unknown type 4");
}

Test(gguf_errors, unknown_tensor_type_huge) {
  uint64_t dims[1] = {4};
  one_tensor(1, dims, 0x7fffffff, 0);
  test_expect_failure(&b, CHORD_ERROR_UNSUPPORTED, TENSOR_DIMS_AT + 8,
                      "tensor 't' has unknown type 2147483647");
}

Test(gguf_errors, misaligned_tensor_offset) {
  uint64_t dims[1] = {4};
  one_tensor(1, dims, 0, 3);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, TENSOR_DIMS_AT + 12,
                      "tensor 't': data offset 3 is not a multiple of the alignment 32");
}

Test(gguf_errors, misaligned_for_custom_alignment) {
  test_bytes_header(&b, 3, 1, 1);
  test_bytes_key(&b, "general.alignment", GGUF_TYPE_UINT32);
  test_bytes_u32(&b, 64);
  uint64_t dims[1] = {4};
  uint64_t info = b.size;
  test_bytes_tensor(&b, "t", 1, dims, 0, 32);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, info + SHORT_KEY_SIZE + 4 + 8 + 4,
                      "data offset 32 is not a multiple of the alignment 64");
}

Test(gguf_errors, duplicate_tensor_name) {
  uint64_t dims[1] = {1};
  test_bytes_header(&b, 3, 2, 0);
  test_bytes_tensor(&b, "t", 1, dims, 0, 0);
  uint64_t second = b.size;
  test_bytes_tensor(&b, "t", 1, dims, 0, 32);
  test_bytes_pad(&b, 32);
  test_bytes_raw(&b, "0123456789abcdef0123456789abcdef0123", 36);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, second,
                      "duplicate tensor name 't' (first at offset 24)");
}

Test(gguf_errors, tensor_data_outside_file) {
  uint64_t dims[1] = {8}; /* 32 bytes at 32, but the data section holds only 32 */
  one_tensor(1, dims, 0, 32);
  test_bytes_pad(&b, 32);
  for (int i = 0; i < 8; i++)
    test_bytes_f32(&b, (float)i);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, HEADER_SIZE,
                      "tensor 't': data [32, 64) lies outside the file's 32-byte data section "
                      "(starting at offset 64)");
}

Test(gguf_errors, tensor_data_one_byte_short) {
  uint64_t dims[1] = {8};
  one_tensor(1, dims, 0, 0);
  test_bytes_pad(&b, 32);
  test_bytes_raw(&b, "0123456789abcdef0123456789abcde", 31);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, HEADER_SIZE,
                      "data [0, 32) lies outside the file's 31-byte data section");
}

Test(gguf_errors, tensor_offset_near_uint64_max) {
  /* An aligned offset so large that offset + size wraps around. */
  uint64_t dims[1] = {8};
  one_tensor(1, dims, 0, UINT64_MAX - 31);
  test_bytes_pad(&b, 32);
  test_bytes_raw(&b, "0123456789abcdef0123456789abcdef", 32);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, HEADER_SIZE,
                      "data [18446744073709551584, 0) lies outside the file's 32-byte data");
}

Test(gguf_errors, second_tensor_data_outside_file) {
  uint64_t dims[1] = {8};
  test_bytes_header(&b, 3, 2, 0);
  test_bytes_tensor(&b, "a", 1, dims, 0, 0);
  uint64_t second = b.size;
  test_bytes_tensor(&b, "b", 1, dims, 0, 32);
  test_bytes_pad(&b, 32);
  test_bytes_raw(&b, "0123456789abcdef0123456789abcdef0123456789", 42);
  test_expect_failure(&b, CHORD_ERROR_FORMAT, second,
                      "tensor 'b': data [32, 64) lies outside the file's 42-byte data section");
}

/* ---- through gguf_open on real files --------------------------------------------------------- */

static char temp_dir[256];

static void make_temp_dir(void) {
  reset();
  const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(temp_dir, sizeof temp_dir, "%s/chord-gguf-errors-XXXXXX", base);
  cr_assert(mkdtemp(temp_dir) != NULL, "mkdtemp: %s", strerror(errno));
}

static void remove_temp_dir(void) {
  char path[512];
  const char *names[] = {"bad.gguf", "empty.gguf", "truncated.gguf"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", temp_dir, names[i]);
    unlink(path);
  }
  rmdir(temp_dir);
  release();
}

static void write_file(const char *path, const void *data, size_t size) {
  FILE *f = fopen(path, "wb");
  cr_assert(f != NULL, "%s: %s", path, strerror(errno));
  cr_assert_eq(fwrite(data, 1, size, f), size);
  cr_assert_eq(fclose(f), 0);
}

/* Opens path and checks the status, that no file came back and that the message starts with the
 * path and contains `what`. */
static void expect_open_failure(const char *path, chord_status status, const char *what) {
  gguf_file *file = (gguf_file *)1;
  chord_error error = {0};
  chord_status s = gguf_open(path, &file, &error);
  cr_assert_eq(s, status, "status %s; message: %s", chord_status_name(s), error.message);
  cr_assert_null(file);
  cr_assert(strncmp(error.message, path, strlen(path)) == 0, "message \"%s\" does not name %s",
            error.message, path);
  cr_assert(strstr(error.message, what) != NULL, "message \"%s\" does not contain \"%s\"",
            error.message, what);
}

TestSuite(gguf_open_errors, .init = make_temp_dir, .fini = remove_temp_dir);

Test(gguf_open_errors, bad_magic_file) {
  char path[512];
  snprintf(path, sizeof path, "%s/bad.gguf", temp_dir);
  test_bytes_raw(&b, "PK\x03\x04", 4);
  test_bytes_u32(&b, 3);
  write_file(path, b.data, b.size);
  char what[600];
  snprintf(what, sizeof what, "%s: offset 0: not a GGUF file: magic is \"PK\\x03\\x04\"", path);
  expect_open_failure(path, CHORD_ERROR_FORMAT, what);
}

Test(gguf_open_errors, empty_file) {
  char path[512];
  snprintf(path, sizeof path, "%s/empty.gguf", temp_dir);
  write_file(path, "", 0);
  char what[600];
  snprintf(what, sizeof what, "%s: offset 0: truncated: the magic needs 4 bytes", path);
  expect_open_failure(path, CHORD_ERROR_FORMAT, what);
}

Test(gguf_open_errors, truncated_file) {
  char path[512];
  snprintf(path, sizeof path, "%s/truncated.gguf", temp_dir);
  test_bytes_header(&b, 3, 0, 1);
  test_bytes_key(&b, "some.key", GGUF_TYPE_UINT64);
  test_bytes_u32(&b, 7); /* half of the u64 */
  write_file(path, b.data, b.size);
  char what[600];
  snprintf(what, sizeof what,
           "%s: offset 44: truncated: value of 'some.key' needs 8 bytes but the file ends after 4",
           path);
  expect_open_failure(path, CHORD_ERROR_FORMAT, what);
}

Test(gguf_open_errors, missing_file) {
  char path[512];
  snprintf(path, sizeof path, "%s/no-such-file.gguf", temp_dir);
  expect_open_failure(path, CHORD_ERROR_IO, "cannot open: No such file or directory");
}

Test(gguf_open_errors, directory) {
  expect_open_failure(temp_dir, CHORD_ERROR_IO, "not a regular file");
}
