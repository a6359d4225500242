/* libFuzzer target for the GGUF reader: open the input from memory, then walk every key/value and
 * tensor through the public look-ups and check what the reader promises (everything it hands out
 * lies inside the input, names find their own entries, sizes agree). A broken promise aborts, so
 * the fuzzer reports it like a crash; AddressSanitizer catches any read outside the input. */
#include <stdint.h>
#include <string.h>

#include "frontends/gguf/gguf.h"
#include "runtime/support/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct input {
  const uint8_t *begin, *end;
} input;

static volatile uint8_t sink;

static bool inside(const input *in, const void *p, uint64_t n) {
  const uint8_t *q = p;
  if (n == 0)
    return true; /* an empty string or array may point anywhere in or just past the input */
  return q >= in->begin && q <= in->end && n <= (uint64_t)(in->end - q);
}

/* Reads every byte so that a wrong pointer is caught here, not later in a user. */
static void touch(const void *p, uint64_t n) {
  const uint8_t *q = p;
  uint8_t sum = 0;
  for (uint64_t i = 0; i < n; i++)
    sum ^= q[i];
  sink = sum;
}

static void walk_string(const input *in, gguf_string s) {
  RT_ASSERT(inside(in, s.data, s.size));
  touch(s.data, s.size);
}

static void walk_array(const input *in, const gguf_array *a, unsigned depth) {
  RT_ASSERT(depth < GGUF_MAX_ARRAY_DEPTH);
  RT_ASSERT(strcmp(gguf_type_name(a->elem_type), "?") != 0);
  uint64_t u;
  int64_t i64;
  double d;
  if (a->elem_type == GGUF_TYPE_STRING) {
    for (uint64_t i = 0; i < a->count; i++)
      walk_string(in, gguf_array_string(a, i));
  } else if (a->elem_type == GGUF_TYPE_ARRAY) {
    for (uint64_t i = 0; i < a->count; i++) {
      RT_ASSERT(a->arrays[i].type == GGUF_TYPE_ARRAY);
      walk_array(in, &a->arrays[i].as.arr, depth + 1);
    }
  } else {
    uint32_t size = gguf_type_size(a->elem_type);
    RT_ASSERT(a->count <= (uint64_t)(in->end - in->begin) / size);
    RT_ASSERT(inside(in, a->data, a->count * size));
    for (uint64_t i = 0; i < a->count; i++) {
      /* Both integer look-ups run (no short-circuit); an integer is always a number. */
      bool as_u64 = gguf_array_u64(a, i, &u), as_i64 = gguf_array_i64(a, i, &i64);
      RT_ASSERT(gguf_array_f64(a, i, &d) || !(as_u64 || as_i64));
    }
  }
  RT_ASSERT(!gguf_array_u64(a, a->count, &u) && !gguf_array_i64(a, a->count, &i64) &&
            !gguf_array_f64(a, a->count, &d));
}

static void walk_kv(const input *in, const gguf_file *f, const gguf_kv *kv) {
  walk_string(in, kv->key);
  RT_ASSERT(kv->offset < (uint64_t)(in->end - in->begin));
  const gguf_value *v = &kv->value;
  if (v->type == GGUF_TYPE_STRING)
    walk_string(in, v->as.str);
  else if (v->type == GGUF_TYPE_ARRAY)
    walk_array(in, &v->as.arr, 0);

  /* The typed look-ups need a NUL-terminated name: skip keys with NUL bytes or too long. */
  char key[1024];
  if (kv->key.size >= sizeof key || memchr(kv->key.data, 0, kv->key.size))
    return;
  memcpy(key, kv->key.data, kv->key.size);
  key[kv->key.size] = '\0';
  RT_ASSERT(gguf_find_kv(f, key) == kv);
  chord_error error;
  gguf_string s;
  const gguf_array *a;
  uint64_t u;
  int64_t i;
  double d;
  bool b;
  RT_ASSERT((gguf_get_string(f, key, &s, &error) == CHORD_OK) == (v->type == GGUF_TYPE_STRING));
  RT_ASSERT((gguf_get_array(f, key, &a, &error) == CHORD_OK) == (v->type == GGUF_TYPE_ARRAY));
  RT_ASSERT((gguf_get_bool(f, key, &b, &error) == CHORD_OK) == (v->type == GGUF_TYPE_BOOL));
  chord_status su = gguf_get_u64(f, key, &u, &error);
  RT_ASSERT(su == CHORD_OK || (su == CHORD_ERROR_FORMAT && error.message[0]));
  chord_status si = gguf_get_i64(f, key, &i, &error);
  RT_ASSERT(si == CHORD_OK || (si == CHORD_ERROR_FORMAT && error.message[0]));
  chord_status sd = gguf_get_f64(f, key, &d, &error);
  RT_ASSERT(sd == CHORD_OK || sd == CHORD_ERROR_FORMAT);
  RT_ASSERT(sd == CHORD_OK || (su != CHORD_OK && si != CHORD_OK));
}

static void walk_tensor(const input *in, const gguf_file *f, const gguf_tensor *t) {
  walk_string(in, t->name);
  RT_ASSERT(t->n_dims <= GGUF_MAX_DIMS);
  uint64_t n_elems = 1;
  for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
    RT_ASSERT(d < t->n_dims || t->dims[d] == 1);
    RT_ASSERT(!__builtin_mul_overflow(n_elems, t->dims[d], &n_elems));
  }
  RT_ASSERT(n_elems == t->n_elems && n_elems <= INT64_MAX);
  uint64_t n_bytes;
  RT_ASSERT(ir_dtype_row_bytes(t->type, t->n_elems, &n_bytes) && n_bytes == t->n_bytes);
  RT_ASSERT(t->dims[0] % ir_dtype_get(t->type)->block_elems == 0);
  RT_ASSERT(t->data_offset % f->alignment == 0);
  RT_ASSERT(inside(in, t->data, t->n_bytes));
  if (t->n_bytes)
    RT_ASSERT(t->data == in->begin + f->data_start + t->data_offset);
  touch(t->data, t->n_bytes);

  char name[1024];
  if (t->name.size >= sizeof name || memchr(t->name.data, 0, t->name.size))
    return;
  memcpy(name, t->name.data, t->name.size);
  name[t->name.size] = '\0';
  RT_ASSERT(gguf_find_tensor(f, name) == t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gguf_file *f = (gguf_file *)&sink;
  chord_error error;
  memset(&error, 0, sizeof error);
  chord_status s = gguf_open_memory(data, size, "fuzz.gguf", &f, &error);
  if (s != CHORD_OK) {
    /* A failure returns nothing and says where: "fuzz.gguf: offset N: ...". */
    RT_ASSERT(f == NULL);
    RT_ASSERT(error.status == s);
    RT_ASSERT(strncmp(error.message, "fuzz.gguf: offset ", 18) == 0);
    return 0;
  }
  input in = {data, data + size};
  RT_ASSERT(f->version == 2 || f->version == 3);
  RT_ASSERT(f->alignment && (f->alignment & (f->alignment - 1)) == 0);
  RT_ASSERT(f->data_start % f->alignment == 0);
  for (uint64_t i = 0; i < f->n_kv; i++)
    walk_kv(&in, f, &f->kv[i]);
  for (uint64_t i = 0; i < f->n_tensors; i++)
    walk_tensor(&in, f, &f->tensors[i]);
  gguf_close(f);
  return 0;
}
