/* A little-endian byte builder for hand-made GGUF files in tests, and the assertions that open
 * one and check the failure. Test code only: it uses malloc directly (not the library's hook) so
 * fault injection in a test never hits the builder. */
#ifndef CHORD_TESTS_GGUF_TEST_BYTES_H
#define CHORD_TESTS_GGUF_TEST_BYTES_H

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frontends/gguf/gguf.h"

typedef struct test_bytes {
  uint8_t *data;
  size_t size, capacity;
} test_bytes;

static inline void test_bytes_raw(test_bytes *b, const void *data, size_t n) {
  if (b->size + n > b->capacity) {
    size_t cap = b->capacity ? b->capacity : 256;
    while (cap < b->size + n)
      cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    cr_assert(p != NULL, "test byte builder: out of memory");
    b->data = p;
    b->capacity = cap;
  }
  if (n)
    memcpy(b->data + b->size, data, n);
  b->size += n;
}

/* GGUF is little-endian; these spell the bytes out so the tests do not depend on the host. */
static inline void test_bytes_uint(test_bytes *b, uint64_t v, int n) {
  uint8_t bytes[8];
  for (int i = 0; i < n; i++)
    bytes[i] = (uint8_t)(v >> (8 * i));
  test_bytes_raw(b, bytes, (size_t)n);
}

static inline void test_bytes_u8(test_bytes *b, uint8_t v) { test_bytes_uint(b, v, 1); }
static inline void test_bytes_u16(test_bytes *b, uint16_t v) { test_bytes_uint(b, v, 2); }
static inline void test_bytes_u32(test_bytes *b, uint32_t v) { test_bytes_uint(b, v, 4); }
static inline void test_bytes_u64(test_bytes *b, uint64_t v) { test_bytes_uint(b, v, 8); }

static inline void test_bytes_f32(test_bytes *b, float v) {
  uint32_t bits;
  memcpy(&bits, &v, 4);
  test_bytes_u32(b, bits);
}

static inline void test_bytes_f64(test_bytes *b, double v) {
  uint64_t bits;
  memcpy(&bits, &v, 8);
  test_bytes_u64(b, bits);
}

/* A GGUF string: u64 length, then the bytes. */
static inline void test_bytes_string(test_bytes *b, const char *s) {
  test_bytes_u64(b, strlen(s));
  test_bytes_raw(b, s, strlen(s));
}

/* Zero bytes up to the next multiple of alignment. */
static inline void test_bytes_pad(test_bytes *b, size_t alignment) {
  while (b->size % alignment)
    test_bytes_u8(b, 0);
}

static inline void test_bytes_header(test_bytes *b, uint32_t version, uint64_t n_tensors,
                                     uint64_t n_kv) {
  test_bytes_raw(b, "GGUF", 4);
  test_bytes_u32(b, version);
  test_bytes_u64(b, n_tensors);
  test_bytes_u64(b, n_kv);
}

/* A key and its value type; the value follows. */
static inline void test_bytes_key(test_bytes *b, const char *key, gguf_type type) {
  test_bytes_string(b, key);
  test_bytes_u32(b, (uint32_t)type);
}

/* A tensor info with n_dims dimensions, a ggml type id and a data offset. */
static inline void test_bytes_tensor(test_bytes *b, const char *name, uint32_t n_dims,
                                     const uint64_t *dims, uint32_t ggml_type, uint64_t offset) {
  test_bytes_string(b, name);
  test_bytes_u32(b, n_dims);
  for (uint32_t d = 0; d < n_dims; d++)
    test_bytes_u64(b, dims[d]);
  test_bytes_u32(b, ggml_type);
  test_bytes_u64(b, offset);
}

static inline void test_bytes_free(test_bytes *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

/* In a sanitizer build, fails the test if anything allocated so far is no longer reachable.
 * (LeakSanitizer's report at exit does not fail a Criterion test, so the tests that look for
 * leaks ask it directly.) Elsewhere it does nothing. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_HAVE_LSAN 1
#endif
#endif
#ifdef TEST_HAVE_LSAN
#include <sanitizer/lsan_interface.h>
static inline void test_expect_no_leaks(void) {
  cr_assert_eq(__lsan_do_recoverable_leak_check(), 0,
               "memory leaked (LeakSanitizer's report is "
               "on stderr)");
}
#else
static inline void test_expect_no_leaks(void) {}
#endif

/* Opens the first `size` bytes of data from a heap copy of exactly that size, so that
 * AddressSanitizer catches any read past the end. The copy is returned in *copy (the file points
 * into it). */
static inline chord_status test_open_exact(const void *data, size_t size, const char *name,
                                           gguf_file **out, void **copy, chord_error *error) {
  *copy = malloc(size ? size : 1);
  cr_assert(*copy != NULL);
  if (size)
    memcpy(*copy, data, size);
  memset(error, 0, sizeof *error);
  return gguf_open_memory(*copy, size, name, out, error);
}

/* The N of "<name>: offset <N>: " at the start of message, or -1 if the message has another form.
 */
static inline int64_t test_message_offset(const char *message, const char *name) {
  size_t n = strlen(name);
  if (strncmp(message, name, n) != 0 || strncmp(message + n, ": offset ", 9) != 0)
    return -1;
  char *end;
  uint64_t offset = strtoull(message + n + 9, &end, 10);
  if (end == message + n + 9 || strncmp(end, ": ", 2) != 0)
    return -1;
  return (int64_t)offset;
}

/* Opens b as "bad.gguf" and checks that it fails with `status` at file offset `offset` with a
 * message that contains `what`, and that nothing was returned. */
static inline void test_expect_failure(const test_bytes *b, chord_status status, uint64_t offset,
                                       const char *what) {
  gguf_file *file = (gguf_file *)1;
  chord_error error;
  void *copy;
  chord_status s = test_open_exact(b->data, b->size, "bad.gguf", &file, &copy, &error);
  cr_assert_eq(s, status, "status %s, expected %s; message: %s", chord_status_name(s),
               chord_status_name(status), error.message);
  cr_assert_eq(error.status, status);
  cr_assert_null(file, "a failed open must return no file");
  int64_t at = test_message_offset(error.message, "bad.gguf");
  cr_assert_eq(at, (int64_t)offset, "offset %" PRId64 ", expected %" PRIu64 "; message: %s", at,
               offset, error.message);
  cr_assert(strstr(error.message, what) != NULL, "message \"%s\" does not contain \"%s\"",
            error.message, what);
  free(copy);
  test_expect_no_leaks();
}

#endif
