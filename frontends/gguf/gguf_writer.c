/* GGUF v3 writer. Metadata values are serialized the moment they are set (so the writer owns its
 * bytes and the source of a copied value may be closed); tensor data is referenced, or produced by
 * the caller's fill into one reused buffer, and streamed out at write time. Output goes through
 * rt_output_*: a temporary file renamed when complete. */
#include <inttypes.h>
#include <string.h>

#include "frontends/gguf/gguf.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

typedef struct byte_buffer {
  uint8_t *data;
  uint64_t size, capacity;
  bool failed; /* an allocation failed; reported once at the end of the serialization */
} byte_buffer;

static void buffer_append(byte_buffer *b, const void *data, uint64_t n) {
  /* n == 0 returns early: data may then be NULL (an empty array), which memcpy may not be given. */
  if (b->failed || n == 0)
    return;
  if (b->size + n > b->capacity) {
    uint64_t cap = b->capacity ? b->capacity : 64;
    while (cap < b->size + n)
      cap *= 2;
    uint8_t *p = rt_realloc(b->data, (size_t)cap);
    if (!p) {
      b->failed = true;
      return;
    }
    b->data = p;
    b->capacity = cap;
  }
  memcpy(b->data + b->size, data, (size_t)n);
  b->size += n;
}

static void buffer_u32(byte_buffer *b, uint32_t v) { buffer_append(b, &v, 4); }
static void buffer_u64(byte_buffer *b, uint64_t v) { buffer_append(b, &v, 8); }
static void buffer_string(byte_buffer *b, const char *s, uint64_t n) {
  buffer_u64(b, n);
  buffer_append(b, s, n);
}

typedef struct writer_kv {
  char *key;
  byte_buffer encoded; /* u32 type + value, exactly as in the file */
} writer_kv;

typedef struct writer_tensor {
  char *name;
  ir_dtype type;
  uint32_t n_dims;
  uint64_t dims[GGUF_MAX_DIMS];
  const void *data;         /* the bytes, or NULL for a source */
  gguf_tensor_fill_fn fill; /* a source: asked for the bytes while writing */
  void *fill_ctx;
  uint64_t n_bytes;
} writer_tensor;

struct gguf_writer {
  uint32_t alignment;
  writer_kv *kv;
  uint64_t n_kv, cap_kv;
  writer_tensor *tensors;
  uint64_t n_tensors, cap_tensors;
};

gguf_writer *gguf_writer_init(void) {
  gguf_writer *w = rt_calloc(1, sizeof *w);
  if (w)
    w->alignment = GGUF_DEFAULT_ALIGNMENT;
  return w;
}

void gguf_writer_free(gguf_writer *w) {
  if (!w)
    return;
  for (uint64_t i = 0; i < w->n_kv; i++) {
    rt_free(w->kv[i].key);
    rt_free(w->kv[i].encoded.data);
  }
  for (uint64_t i = 0; i < w->n_tensors; i++)
    rt_free(w->tensors[i].name);
  rt_free(w->kv);
  rt_free(w->tensors);
  rt_free(w);
}

void gguf_writer_set_alignment(gguf_writer *w, uint32_t alignment) { w->alignment = alignment; }

static void encode_scalar(byte_buffer *b, const gguf_value *v) {
  switch (v->type) {
  case GGUF_TYPE_FLOAT32: {
    float f = (float)v->as.f64;
    buffer_append(b, &f, 4);
    return;
  }
  case GGUF_TYPE_FLOAT64: buffer_append(b, &v->as.f64, 8); return;
  default: {
    /* Integers are stored little-endian in their low bytes (two's complement for signed). */
    uint64_t bits = v->as.u64;
    buffer_append(b, &bits, gguf_type_size(v->type));
    return;
  }
  }
}

static void encode_array(byte_buffer *b, const gguf_array *a);

static void encode_value_body(byte_buffer *b, const gguf_value *v) {
  if (v->type == GGUF_TYPE_STRING)
    buffer_string(b, v->as.str.data, v->as.str.size);
  else if (v->type == GGUF_TYPE_ARRAY)
    encode_array(b, &v->as.arr);
  else
    encode_scalar(b, v);
}

static void encode_array(byte_buffer *b, const gguf_array *a) {
  buffer_u32(b, (uint32_t)a->elem_type);
  buffer_u64(b, a->count);
  if (a->elem_type == GGUF_TYPE_STRING) {
    for (uint64_t i = 0; i < a->count; i++) {
      gguf_string str = gguf_array_string(a, i);
      buffer_string(b, str.data, str.size);
    }
  } else if (a->elem_type == GGUF_TYPE_ARRAY) {
    for (uint64_t i = 0; i < a->count; i++)
      encode_value_body(b, &a->arrays[i]);
  } else {
    buffer_append(b, a->data, a->count * gguf_type_size(a->elem_type));
  }
}

static writer_kv *find_or_add_kv(gguf_writer *w, const char *key) {
  for (uint64_t i = 0; i < w->n_kv; i++)
    if (strcmp(w->kv[i].key, key) == 0)
      return &w->kv[i];
  if (w->n_kv == w->cap_kv) {
    uint64_t cap = w->cap_kv ? w->cap_kv * 2 : 32;
    writer_kv *p = rt_realloc(w->kv, (size_t)cap * sizeof *p);
    if (!p)
      return NULL;
    w->kv = p;
    w->cap_kv = cap;
  }
  writer_kv *kv = &w->kv[w->n_kv];
  memset(kv, 0, sizeof *kv);
  if (!(kv->key = rt_strndup(key, strlen(key))))
    return NULL;
  w->n_kv++;
  return kv;
}

chord_status gguf_writer_set_value(gguf_writer *w, const char *key, const gguf_value *value,
                                   chord_error *error) {
  if (!gguf_type_valid(value->type) ||
      (value->type == GGUF_TYPE_ARRAY && !gguf_type_valid(value->as.arr.elem_type)))
    return rt_error(error, CHORD_ERROR_INVALID, "gguf writer: '%s' has unknown value type %d", key,
                    (int)value->type);
  byte_buffer encoded = {0};
  buffer_u32(&encoded, (uint32_t)value->type);
  encode_value_body(&encoded, value);
  writer_kv *kv = encoded.failed ? NULL : find_or_add_kv(w, key);
  if (!kv) {
    rt_free(encoded.data);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "gguf writer: out of memory setting '%s'", key);
  }
  rt_free(kv->encoded.data);
  kv->encoded = encoded;
  return CHORD_OK;
}

chord_status gguf_writer_set_string(gguf_writer *w, const char *key, const char *value,
                                    chord_error *error) {
  gguf_value v = {.type = GGUF_TYPE_STRING, .as.str = {value, strlen(value)}};
  return gguf_writer_set_value(w, key, &v, error);
}

chord_status gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t value,
                                 chord_error *error) {
  gguf_value v = {.type = GGUF_TYPE_UINT32, .as.u64 = value};
  return gguf_writer_set_value(w, key, &v, error);
}

chord_status gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t value,
                                 chord_error *error) {
  gguf_value v = {.type = GGUF_TYPE_INT32, .as.i64 = value};
  return gguf_writer_set_value(w, key, &v, error);
}

chord_status gguf_writer_set_f32(gguf_writer *w, const char *key, float value, chord_error *error) {
  gguf_value v = {.type = GGUF_TYPE_FLOAT32, .as.f64 = value};
  return gguf_writer_set_value(w, key, &v, error);
}

chord_status gguf_writer_set_bool(gguf_writer *w, const char *key, bool value, chord_error *error) {
  gguf_value v = {.type = GGUF_TYPE_BOOL, .as.u64 = value};
  return gguf_writer_set_value(w, key, &v, error);
}

chord_status gguf_writer_copy_kv(gguf_writer *w, const gguf_file *file, chord_error *error) {
  char key[4096];
  for (uint64_t i = 0; i < file->n_kv; i++) {
    const gguf_kv *kv = &file->kv[i];
    if (kv->key.size >= sizeof key)
      return rt_error(error, CHORD_ERROR_UNSUPPORTED,
                      "gguf writer: key of %" PRIu64 " bytes is too long", kv->key.size);
    memcpy(key, kv->key.data, kv->key.size);
    key[kv->key.size] = '\0';
    chord_status s = gguf_writer_set_value(w, key, &kv->value, error);
    if (s)
      return s;
  }
  return CHORD_OK;
}

/* Checks a tensor's description and appends it; the caller then sets its data or source. */
static chord_status add_tensor(gguf_writer *w, const char *name, ir_dtype type, uint32_t n_dims,
                               const uint64_t *dims, uint64_t n_bytes, writer_tensor **out,
                               chord_error *error) {
  if (n_dims > GGUF_MAX_DIMS)
    return rt_error(error, CHORD_ERROR_INVALID,
                    "gguf writer: tensor '%s' has %" PRIu32 " dimensions", name, n_dims);
  uint64_t n_elems = 1, expected;
  bool overflow = false;
  for (uint32_t d = 0; d < n_dims; d++) {
    /* The reader rejects element counts of 2^63 or more (ggml counts in int64_t). */
    if (dims[d] > INT64_MAX || (dims[d] && n_elems > (uint64_t)INT64_MAX / dims[d]))
      overflow = true;
    n_elems *= dims[d];
  }
  if (overflow || !ir_dtype_row_bytes(type, n_elems, &expected) || expected != n_bytes ||
      (n_dims && dims[0] % ir_dtype_get(type)->block_elems))
    return rt_error(error, CHORD_ERROR_INVALID,
                    "gguf writer: tensor '%s': %" PRIu64 " bytes do not hold %" PRIu64
                    " %s elements",
                    name, n_bytes, n_elems, ir_dtype_name(type));
  for (uint64_t i = 0; i < w->n_tensors; i++)
    if (strcmp(w->tensors[i].name, name) == 0)
      return rt_error(error, CHORD_ERROR_INVALID, "gguf writer: duplicate tensor '%s'", name);
  if (w->n_tensors == w->cap_tensors) {
    uint64_t cap = w->cap_tensors ? w->cap_tensors * 2 : 64;
    writer_tensor *p = rt_realloc(w->tensors, (size_t)cap * sizeof *p);
    if (!p)
      return rt_error(error, CHORD_ERROR_NO_MEMORY, "gguf writer: out of memory");
    w->tensors = p;
    w->cap_tensors = cap;
  }
  writer_tensor *t = &w->tensors[w->n_tensors];
  memset(t, 0, sizeof *t);
  if (!(t->name = rt_strndup(name, strlen(name))))
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "gguf writer: out of memory");
  t->type = type;
  t->n_dims = n_dims;
  for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++)
    t->dims[d] = d < n_dims ? dims[d] : 1;
  t->n_bytes = n_bytes;
  w->n_tensors++;
  *out = t;
  return CHORD_OK;
}

chord_status gguf_writer_add_tensor(gguf_writer *w, const char *name, ir_dtype type,
                                    uint32_t n_dims, const uint64_t *dims, const void *data,
                                    uint64_t n_bytes, chord_error *error) {
  writer_tensor *t;
  chord_status s = add_tensor(w, name, type, n_dims, dims, n_bytes, &t, error);
  if (s == CHORD_OK)
    t->data = data;
  return s;
}

chord_status gguf_writer_add_tensor_source(gguf_writer *w, const char *name, ir_dtype type,
                                           uint32_t n_dims, const uint64_t *dims, uint64_t n_bytes,
                                           gguf_tensor_fill_fn fill, void *ctx,
                                           chord_error *error) {
  writer_tensor *t;
  chord_status s = add_tensor(w, name, type, n_dims, dims, n_bytes, &t, error);
  if (s == CHORD_OK) {
    t->fill = fill;
    t->fill_ctx = ctx;
  }
  return s;
}

static uint64_t align_up(uint64_t x, uint32_t alignment) {
  return (x + alignment - 1) / alignment * alignment;
}

static void write_padding(FILE *out, uint64_t n) {
  static const uint8_t zeros[64];
  while (n) {
    uint64_t k = n < sizeof zeros ? n : sizeof zeros;
    fwrite(zeros, 1, (size_t)k, out);
    n -= k;
  }
}

chord_status gguf_writer_write(gguf_writer *w, const char *path, chord_error *error) {
  if (w->alignment == 0 || (w->alignment & (w->alignment - 1)))
    return rt_error(error, CHORD_ERROR_INVALID, "%s: alignment %" PRIu32 " is not a power of two",
                    path, w->alignment);
  /* general.alignment is written only when it differs from the default, as other writers do,
   * or when the key was set (or copied) and must then agree with the layout written here. */
  bool has_alignment_key = false;
  for (uint64_t i = 0; i < w->n_kv; i++)
    has_alignment_key |= strcmp(w->kv[i].key, "general.alignment") == 0;
  if (w->alignment != GGUF_DEFAULT_ALIGNMENT || has_alignment_key) {
    chord_status s = gguf_writer_set_u32(w, "general.alignment", w->alignment, error);
    if (s)
      return s;
  }
  byte_buffer header = {0};
  buffer_append(&header, GGUF_MAGIC, 4);
  buffer_u32(&header, 3);
  buffer_u64(&header, w->n_tensors);
  buffer_u64(&header, w->n_kv);
  for (uint64_t i = 0; i < w->n_kv; i++) {
    buffer_string(&header, w->kv[i].key, strlen(w->kv[i].key));
    buffer_append(&header, w->kv[i].encoded.data, w->kv[i].encoded.size);
  }
  uint64_t offset = 0;
  for (uint64_t i = 0; i < w->n_tensors; i++) {
    const writer_tensor *t = &w->tensors[i];
    buffer_string(&header, t->name, strlen(t->name));
    buffer_u32(&header, t->n_dims);
    for (uint32_t d = 0; d < t->n_dims; d++)
      buffer_u64(&header, t->dims[d]);
    buffer_u32(&header, ir_dtype_get(t->type)->ggml_id);
    buffer_u64(&header, offset);
    offset = align_up(offset + t->n_bytes, w->alignment);
  }
  if (header.failed) {
    rt_free(header.data);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "%s: out of memory", path);
  }
  /* One buffer serves every source, allocated before the file is created so that running out
   * of memory leaves nothing behind. */
  bool has_source = false;
  uint64_t largest_source = 0;
  for (uint64_t i = 0; i < w->n_tensors; i++) {
    if (w->tensors[i].fill) {
      has_source = true;
      largest_source =
          w->tensors[i].n_bytes > largest_source ? w->tensors[i].n_bytes : largest_source;
    }
  }
  uint8_t *buffer = has_source ? rt_malloc((size_t)largest_source) : NULL;
  if (has_source && !buffer) {
    rt_free(header.data);
    return rt_error(error, CHORD_ERROR_NO_MEMORY,
                    "%s: out of memory for a tensor of %" PRIu64 " bytes", path, largest_source);
  }
  rt_output_file out;
  chord_status s = rt_output_open(path, &out, error);
  if (s) {
    rt_free(header.data);
    rt_free(buffer);
    return s;
  }
  fwrite(header.data, 1, (size_t)header.size, out.stream);
  write_padding(out.stream, align_up(header.size, w->alignment) - header.size);
  rt_free(header.data);
  for (uint64_t i = 0; i < w->n_tensors && !ferror(out.stream); i++) {
    const writer_tensor *t = &w->tensors[i];
    const void *data = t->data;
    if (t->fill) {
      if ((s = t->fill(t->fill_ctx, buffer, t->n_bytes, error)) != CHORD_OK) {
        rt_output_abandon(&out);
        rt_free(buffer);
        return s;
      }
      data = buffer;
    }
    fwrite(data, 1, (size_t)t->n_bytes, out.stream);
    /* The last tensor is padded too, so every tensor's data is a whole number of aligned units. */
    write_padding(out.stream, align_up(t->n_bytes, w->alignment) - t->n_bytes);
  }
  /* A write that failed (the loop stopped early, before filling the rest) is reported here. */
  rt_free(buffer);
  return rt_output_commit(&out, error);
}
