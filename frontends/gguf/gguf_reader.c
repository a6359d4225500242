/* GGUF reader: one forward pass over the mapped header that validates every count and offset
 * before using it. The layout (facts of the format):
 *   magic "GGUF", u32 version, u64 tensor_count, u64 kv_count,
 *   kv_count × (string key, u32 type, value),
 *   tensor_count × (string name, u32 n_dims, n_dims × u64 dim, u32 type, u64 offset),
 *   padding to general.alignment, then the data section.
 * Strings are u64 length + bytes; arrays are u32 element type + u64 count + elements. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "frontends/gguf/gguf.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

static const struct {
  const char *name;
  uint32_t size;
  bool valid;
} value_types[] = {
#define X(NAME, id, name, size) [id] = {name, size, true},
#include "frontends/gguf/gguf_value_types.def"
#undef X
};
enum { VALUE_TYPE_LIMIT = sizeof value_types / sizeof value_types[0] };

bool gguf_type_valid(uint32_t type) { return type < VALUE_TYPE_LIMIT && value_types[type].valid; }

const char *gguf_type_name(gguf_type type) {
  return gguf_type_valid((uint32_t)type) ? value_types[type].name : "?";
}

uint32_t gguf_type_size(gguf_type type) {
  return gguf_type_valid((uint32_t)type) ? value_types[type].size : 0;
}

/* ---- storage: every allocation behind a file, freed together ----------------------------------
 */

typedef struct storage_block {
  struct storage_block *next;
  max_align_t align[]; /* payload */
} storage_block;

static void *storage_alloc(gguf_file *file, uint64_t bytes) {
  if (bytes > SIZE_MAX - sizeof(storage_block))
    return NULL;
  storage_block *block = rt_calloc(1, sizeof(storage_block) + (size_t)bytes);
  if (!block)
    return NULL;
  block->next = file->storage;
  file->storage = block;
  return block->align;
}

static void storage_free(gguf_file *file) {
  for (storage_block *b = file->storage, *next; b; b = next) {
    next = b->next;
    rt_free(b);
  }
  file->storage = NULL;
}

/* ---- name index: open addressing over key and tensor names ----------------------------------- */

typedef struct name_index {
  uint64_t *slots; /* entry index + 1, 0 = empty */
  uint64_t mask;
} name_index;

typedef struct gguf_indexes {
  name_index keys;
  name_index tensors;
} gguf_indexes;

static uint64_t hash_bytes(const char *s, uint64_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (uint64_t i = 0; i < n; i++)
    h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
  return h;
}

static bool name_index_init(gguf_file *file, name_index *index, uint64_t count) {
  uint64_t cap = 16;
  while (cap < count * 2)
    cap *= 2;
  index->slots = storage_alloc(file, cap * sizeof(uint64_t));
  index->mask = cap - 1;
  return index->slots != NULL;
}

/* Returns the slot for name: either empty or holding the entry with that name. */
typedef gguf_string (*name_of_fn)(const gguf_file *file, uint64_t entry);

static uint64_t *name_index_slot(const gguf_file *file, const name_index *index, name_of_fn name_of,
                                 const char *name, uint64_t size) {
  uint64_t i = hash_bytes(name, size) & index->mask;
  for (;; i = (i + 1) & index->mask) {
    uint64_t *slot = &index->slots[i];
    if (*slot == 0)
      return slot;
    gguf_string other = name_of(file, *slot - 1);
    if (other.size == size && memcmp(other.data, name, size) == 0)
      return slot;
  }
}

static gguf_string key_name(const gguf_file *file, uint64_t i) { return file->kv[i].key; }
static gguf_string tensor_name(const gguf_file *file, uint64_t i) { return file->tensors[i].name; }

static gguf_indexes *indexes_of(const gguf_file *file) { return file->index; }

/* ---- the parser ------------------------------------------------------------------------------ */

typedef struct reader {
  const uint8_t *base;
  uint64_t size;
  uint64_t pos;
  const char *name;
  chord_error *error;
  gguf_file *file;
} reader;

__attribute__((format(printf, 3, 4))) static chord_status fail(reader *r, chord_status status,
                                                               const char *format, ...) {
  char what[768];
  va_list args;
  va_start(args, format);
  vsnprintf(what, sizeof what, format, args);
  va_end(args);
  return rt_error(r->error, status, "%s: offset %" PRIu64 ": %s", r->name, r->pos, what);
}

static uint64_t remaining(const reader *r) { return r->size - r->pos; }

static chord_status need(reader *r, uint64_t n, const char *what) {
  if (remaining(r) < n)
    return fail(r, CHORD_ERROR_FORMAT,
                "truncated: %s needs %" PRIu64 " bytes but the file ends after %" PRIu64, what, n,
                remaining(r));
  return CHORD_OK;
}

static chord_status read_bytes(reader *r, void *out, uint64_t n, const char *what) {
  chord_status s = need(r, n, what);
  if (s)
    return s;
  memcpy(out, r->base + r->pos, n);
  r->pos += n;
  return CHORD_OK;
}

static chord_status read_u32(reader *r, uint32_t *out, const char *what) {
  return read_bytes(r, out, 4, what);
}

static chord_status read_u64(reader *r, uint64_t *out, const char *what) {
  return read_bytes(r, out, 8, what);
}

static chord_status read_string(reader *r, gguf_string *out, const char *what) {
  uint64_t start = r->pos, size;
  chord_status s = read_u64(r, &size, what);
  if (s)
    return s;
  if (size > remaining(r)) {
    r->pos = start;
    return fail(r, CHORD_ERROR_FORMAT,
                "%s has length %" PRIu64 " but only %" PRIu64 " bytes remain in the file", what,
                size, remaining(r) - 8);
  }
  out->data = (const char *)r->base + r->pos;
  out->size = size;
  r->pos += size;
  return CHORD_OK;
}

/* Reads a scalar of `type` (size bytes) into value. */
static void decode_scalar(gguf_type type, const uint8_t *p, gguf_value *value) {
  value->type = type;
  switch (type) {
  case GGUF_TYPE_UINT8: value->as.u64 = p[0]; break;
  case GGUF_TYPE_BOOL: value->as.u64 = p[0] != 0; break;
  case GGUF_TYPE_INT8: value->as.i64 = (int8_t)p[0]; break;
  case GGUF_TYPE_UINT16: {
    uint16_t v;
    memcpy(&v, p, 2);
    value->as.u64 = v;
    break;
  }
  case GGUF_TYPE_INT16: {
    int16_t v;
    memcpy(&v, p, 2);
    value->as.i64 = v;
    break;
  }
  case GGUF_TYPE_UINT32: {
    uint32_t v;
    memcpy(&v, p, 4);
    value->as.u64 = v;
    break;
  }
  case GGUF_TYPE_INT32: {
    int32_t v;
    memcpy(&v, p, 4);
    value->as.i64 = v;
    break;
  }
  case GGUF_TYPE_UINT64: {
    uint64_t v;
    memcpy(&v, p, 8);
    value->as.u64 = v;
    break;
  }
  case GGUF_TYPE_INT64: {
    int64_t v;
    memcpy(&v, p, 8);
    value->as.i64 = v;
    break;
  }
  case GGUF_TYPE_FLOAT32: {
    float v;
    memcpy(&v, p, 4);
    value->as.f64 = v;
    break;
  }
  case GGUF_TYPE_FLOAT64: {
    double v;
    memcpy(&v, p, 8);
    value->as.f64 = v;
    break;
  }
  case GGUF_TYPE_STRING:
  case GGUF_TYPE_ARRAY: RT_ASSERT(!"not a scalar"); break;
  }
}

static chord_status read_value(reader *r, gguf_type type, gguf_value *value, unsigned depth,
                               const char *what);

static chord_status read_array(reader *r, gguf_array *arr, unsigned depth, const char *what) {
  uint32_t elem_type;
  chord_status s = read_u32(r, &elem_type, "array element type");
  if (s)
    return s;
  if (!gguf_type_valid(elem_type)) {
    r->pos -= 4;
    return fail(r, CHORD_ERROR_FORMAT, "%s: unknown array element type %" PRIu32, what, elem_type);
  }
  if (elem_type == GGUF_TYPE_ARRAY && depth + 1 >= GGUF_MAX_ARRAY_DEPTH) {
    r->pos -= 4;
    return fail(r, CHORD_ERROR_FORMAT, "%s: arrays nested deeper than %d", what,
                GGUF_MAX_ARRAY_DEPTH);
  }
  uint64_t count;
  if ((s = read_u64(r, &count, "array length")))
    return s;
  arr->elem_type = (gguf_type)elem_type;
  arr->count = count;
  /* The smallest encoding of one element bounds how many can fit in what remains. */
  uint64_t min_size = value_types[elem_type].size;
  if (elem_type == GGUF_TYPE_STRING)
    min_size = 8;
  else if (elem_type == GGUF_TYPE_ARRAY)
    min_size = 12;
  if (count > remaining(r) / min_size) {
    r->pos -= 8;
    return fail(r, CHORD_ERROR_FORMAT,
                "%s: array of %" PRIu64 " %s elements does not fit in the %" PRIu64
                " bytes that remain",
                what, count, value_types[elem_type].name, remaining(r) - 8);
  }
  if (elem_type != GGUF_TYPE_STRING && elem_type != GGUF_TYPE_ARRAY) {
    arr->data = r->base + r->pos;
    r->pos += count * min_size;
    return CHORD_OK;
  }
  if (elem_type == GGUF_TYPE_STRING) {
    uint32_t *offsets = storage_alloc(r->file, count * sizeof *offsets);
    if (!offsets)
      return fail(r, CHORD_ERROR_NO_MEMORY, "%s: out of memory for %" PRIu64 " strings", what,
                  count);
    uint64_t first = r->pos;
    arr->data = r->base + first;
    arr->string_offsets = offsets;
    for (uint64_t i = 0; i < count; i++) {
      if (r->pos - first > UINT32_MAX)
        return fail(r, CHORD_ERROR_FORMAT,
                    "%s: array of strings spans more than 4 GiB (string %" PRIu64 " starts %" PRIu64
                    " bytes after the first)",
                    what, i, r->pos - first);
      offsets[i] = (uint32_t)(r->pos - first);
      gguf_string str;
      if ((s = read_string(r, &str, "array string")))
        return s;
    }
    return CHORD_OK;
  }
  arr->arrays = storage_alloc(r->file, count * sizeof(gguf_value));
  if (!arr->arrays)
    return fail(r, CHORD_ERROR_NO_MEMORY, "%s: out of memory for %" PRIu64 " arrays", what, count);
  for (uint64_t i = 0; i < count; i++)
    if ((s = read_value(r, GGUF_TYPE_ARRAY, &arr->arrays[i], depth + 1, what)))
      return s;
  return CHORD_OK;
}

static chord_status read_value(reader *r, gguf_type type, gguf_value *value, unsigned depth,
                               const char *what) {
  memset(value, 0, sizeof *value);
  value->type = type;
  if (type == GGUF_TYPE_STRING)
    return read_string(r, &value->as.str, what);
  if (type == GGUF_TYPE_ARRAY)
    return read_array(r, &value->as.arr, depth, what);
  uint32_t size = value_types[type].size;
  chord_status s = need(r, size, what);
  if (s)
    return s;
  decode_scalar(type, r->base + r->pos, value);
  r->pos += size;
  return CHORD_OK;
}

static chord_status read_header(reader *r) {
  gguf_file *f = r->file;
  char magic[4];
  chord_status s = read_bytes(r, magic, 4, "the magic");
  if (s)
    return s;
  if (memcmp(magic, GGUF_MAGIC, 4) != 0) {
    r->pos = 0;
    char shown[17];
    int n = 0;
    for (int i = 0; i < 4; i++)
      n += snprintf(shown + n, sizeof shown - (size_t)n,
                    magic[i] >= 0x20 && magic[i] < 0x7f ? "%c" : "\\x%02x", (uint8_t)magic[i]);
    return fail(r, CHORD_ERROR_FORMAT, "not a GGUF file: magic is \"%s\", expected \"GGUF\"",
                shown);
  }
  if ((s = read_u32(r, &f->version, "the version")))
    return s;
  if (f->version != 2 && f->version != 3) {
    r->pos -= 4;
    if ((f->version & 0xffff) == 0 && (f->version >> 24) >= 1 && (f->version >> 24) <= 3)
      return fail(r, CHORD_ERROR_UNSUPPORTED,
                  "big-endian GGUF (version %" PRIu32 " byte-swapped) is not supported",
                  f->version >> 24);
    return fail(r, CHORD_ERROR_UNSUPPORTED,
                "unsupported GGUF version %" PRIu32 " (chord reads versions 2 and 3)", f->version);
  }
  if ((s = read_u64(r, &f->n_tensors, "the tensor count")) ||
      (s = read_u64(r, &f->n_kv, "the metadata count")))
    return s;
  /* Each key/value takes at least 13 bytes (length, type, one-byte value) and each tensor info
   * at least 24 (length, n_dims, type, offset): larger counts cannot fit in the file. */
  if (f->n_kv > remaining(r) / 13) {
    r->pos -= 8;
    return fail(r, CHORD_ERROR_FORMAT,
                "metadata count %" PRIu64 " cannot fit in the %" PRIu64 " bytes that remain",
                f->n_kv, remaining(r) - 8);
  }
  if (f->n_tensors > remaining(r) / 24) {
    r->pos -= 16;
    return fail(r, CHORD_ERROR_FORMAT,
                "tensor count %" PRIu64 " cannot fit in the %" PRIu64 " bytes that remain",
                f->n_tensors, remaining(r) - 16);
  }
  return CHORD_OK;
}

static chord_status read_metadata(reader *r, gguf_indexes *idx) {
  gguf_file *f = r->file;
  f->kv = storage_alloc(f, f->n_kv * sizeof(gguf_kv));
  if (!f->kv || !name_index_init(f, &idx->keys, f->n_kv))
    return fail(r, CHORD_ERROR_NO_MEMORY, "out of memory for %" PRIu64 " metadata keys", f->n_kv);
  for (uint64_t i = 0; i < f->n_kv; i++) {
    gguf_kv *kv = &f->kv[i];
    kv->offset = r->pos;
    chord_status s = read_string(r, &kv->key, "metadata key");
    if (s)
      return s;
    uint64_t *slot = name_index_slot(f, &idx->keys, key_name, kv->key.data, kv->key.size);
    if (*slot) {
      r->pos = kv->offset;
      return fail(r, CHORD_ERROR_FORMAT,
                  "duplicate metadata key '%.*s' (first at offset %" PRIu64 ")", (int)kv->key.size,
                  kv->key.data, f->kv[*slot - 1].offset);
    }
    *slot = i + 1;
    uint32_t type;
    if ((s = read_u32(r, &type, "metadata value type")))
      return s;
    if (!gguf_type_valid(type)) {
      r->pos -= 4;
      return fail(r, CHORD_ERROR_FORMAT, "metadata key '%.*s' has unknown value type %" PRIu32,
                  (int)kv->key.size, kv->key.data, type);
    }
    char what[160];
    snprintf(what, sizeof what, "value of '%.*s'", (int)(kv->key.size > 100 ? 100 : kv->key.size),
             kv->key.data);
    if ((s = read_value(r, (gguf_type)type, &kv->value, 0, what)))
      return s;
  }
  f->alignment = GGUF_DEFAULT_ALIGNMENT;
  const gguf_kv *align = gguf_find_kv(f, "general.alignment");
  if (align) {
    uint64_t saved = r->pos;
    r->pos = align->offset;
    if (align->value.type != GGUF_TYPE_UINT32)
      return fail(r, CHORD_ERROR_FORMAT, "general.alignment must be u32, not %s",
                  gguf_type_name(align->value.type));
    uint64_t a = align->value.as.u64;
    if (a == 0 || (a & (a - 1)) != 0)
      return fail(r, CHORD_ERROR_FORMAT, "general.alignment %" PRIu64 " is not a power of two", a);
    f->alignment = (uint32_t)a;
    r->pos = saved;
  }
  return CHORD_OK;
}

static chord_status read_tensor_info(reader *r, gguf_indexes *idx, uint64_t i) {
  gguf_file *f = r->file;
  gguf_tensor *t = &f->tensors[i];
  t->info_offset = r->pos;
  chord_status s = read_string(r, &t->name, "tensor name");
  if (s)
    return s;
  int nlen = (int)(t->name.size > 200 ? 200 : t->name.size);
  uint64_t *slot = name_index_slot(f, &idx->tensors, tensor_name, t->name.data, t->name.size);
  if (*slot) {
    r->pos = t->info_offset;
    return fail(r, CHORD_ERROR_FORMAT, "duplicate tensor name '%.*s' (first at offset %" PRIu64 ")",
                nlen, t->name.data, f->tensors[*slot - 1].info_offset);
  }
  *slot = i + 1;
  if ((s = read_u32(r, &t->n_dims, "tensor dimension count")))
    return s;
  if (t->n_dims > GGUF_MAX_DIMS) {
    r->pos -= 4;
    return fail(r, CHORD_ERROR_FORMAT, "tensor '%.*s' has %" PRIu32 " dimensions (at most %d)",
                nlen, t->name.data, t->n_dims, GGUF_MAX_DIMS);
  }
  uint64_t n_elems = 1;
  bool overflow = false;
  for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++)
    t->dims[d] = 1;
  for (uint32_t d = 0; d < t->n_dims; d++) {
    if ((s = read_u64(r, &t->dims[d], "tensor dimension")))
      return s;
    /* ggml counts elements in int64_t, so the product must stay below 2^63. */
    if (t->dims[d] > INT64_MAX || (t->dims[d] && n_elems > (uint64_t)INT64_MAX / t->dims[d]))
      overflow = true;
    else
      n_elems *= t->dims[d];
  }
  if (overflow) {
    r->pos -= 8ull * t->n_dims;
    return fail(r, CHORD_ERROR_FORMAT, "tensor '%.*s': the element count overflows 64 bits", nlen,
                t->name.data);
  }
  t->n_elems = n_elems;
  uint32_t type_id;
  if ((s = read_u32(r, &type_id, "tensor type")))
    return s;
  if (!ir_dtype_from_ggml_id(type_id, &t->type)) {
    r->pos -= 4;
    return fail(r, CHORD_ERROR_UNSUPPORTED, "tensor '%.*s' has unknown type %" PRIu32, nlen,
                t->name.data, type_id);
  }
  const ir_dtype_info *info = ir_dtype_get(t->type);
  if (t->dims[0] % info->block_elems != 0) {
    r->pos -= 4;
    return fail(r, CHORD_ERROR_FORMAT,
                "tensor '%.*s': row length %" PRIu64
                " is not a multiple of the %s block size %" PRIu32,
                nlen, t->name.data, t->dims[0], info->name, info->block_elems);
  }
  if (!ir_dtype_row_bytes(t->type, n_elems, &t->n_bytes)) {
    r->pos -= 4;
    return fail(r, CHORD_ERROR_FORMAT, "tensor '%.*s': the byte size overflows 64 bits", nlen,
                t->name.data);
  }
  if ((s = read_u64(r, &t->data_offset, "tensor data offset")))
    return s;
  if (t->data_offset % f->alignment != 0) {
    r->pos -= 8;
    return fail(r, CHORD_ERROR_FORMAT,
                "tensor '%.*s': data offset %" PRIu64
                " is not a multiple of the alignment %" PRIu32,
                nlen, t->name.data, t->data_offset, f->alignment);
  }
  return CHORD_OK;
}

static chord_status read_tensors(reader *r, gguf_indexes *idx) {
  gguf_file *f = r->file;
  f->tensors = storage_alloc(f, f->n_tensors * sizeof(gguf_tensor));
  if (!f->tensors || !name_index_init(f, &idx->tensors, f->n_tensors))
    return fail(r, CHORD_ERROR_NO_MEMORY, "out of memory for %" PRIu64 " tensors", f->n_tensors);
  chord_status s;
  for (uint64_t i = 0; i < f->n_tensors; i++)
    if ((s = read_tensor_info(r, idx, i)))
      return s;
  uint64_t pad = (f->alignment - r->pos % f->alignment) % f->alignment;
  f->data_start = r->pos + pad;
  /* Files without tensors (vocabulary-only files) may end without the padding. */
  uint64_t data_size = f->data_start <= r->size ? r->size - f->data_start : 0;
  for (uint64_t i = 0; i < f->n_tensors; i++) {
    gguf_tensor *t = &f->tensors[i];
    if (t->data_offset > data_size || t->n_bytes > data_size - t->data_offset) {
      r->pos = t->info_offset;
      return fail(r, CHORD_ERROR_FORMAT,
                  "tensor '%.*s': data [%" PRIu64 ", %" PRIu64 ") lies outside the file's %" PRIu64
                  "-byte data section (starting at offset %" PRIu64 ")",
                  (int)(t->name.size > 200 ? 200 : t->name.size), t->name.data, t->data_offset,
                  t->data_offset + t->n_bytes, data_size, f->data_start);
    }
    /* An empty tensor may lie past the end of a file that omits the final padding; keep its
     * pointer inside the mapping rather than form one beyond it. */
    uint64_t at = f->data_start + t->data_offset;
    t->data = r->base + (at <= r->size ? at : r->size);
  }
  return CHORD_OK;
}

static chord_status parse(gguf_file *f, const char *name, chord_error *error) {
  reader r = {.base = f->map.data, .size = f->map.size, .name = name, .error = error, .file = f};
  gguf_indexes *idx = f->index = storage_alloc(f, sizeof(gguf_indexes));
  if (!idx)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "%s: out of memory", name);
  chord_status s;
  if ((s = read_header(&r)) || (s = read_metadata(&r, idx)) || (s = read_tensors(&r, idx)))
    return s;
  return CHORD_OK;
}

static chord_status open_common(gguf_file *f, const char *name, gguf_file **out,
                                chord_error *error) {
  chord_status s = parse(f, name, error);
  if (s) {
    gguf_close(f);
    return s;
  }
  *out = f;
  return CHORD_OK;
}

chord_status gguf_open(const char *path, gguf_file **out, chord_error *error) {
  *out = NULL;
  gguf_file *f = rt_calloc(1, sizeof *f);
  if (!f || !(f->path = rt_strndup(path, strlen(path)))) {
    rt_free(f);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "%s: out of memory", path);
  }
  chord_status s = rt_file_map(path, &f->map, error);
  if (s) {
    gguf_close(f);
    return s;
  }
  f->mapped = true;
  return open_common(f, path, out, error);
}

chord_status gguf_open_memory(const void *data, uint64_t size, const char *name, gguf_file **out,
                              chord_error *error) {
  *out = NULL;
  gguf_file *f = rt_calloc(1, sizeof *f);
  if (!f || !(f->path = rt_strndup(name, strlen(name)))) {
    rt_free(f);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "%s: out of memory", name);
  }
  /* The caller owns the buffer: mapped stays false so gguf_close leaves it alone. */
  f->map.data = data;
  f->map.size = size;
  return open_common(f, name, out, error);
}

void gguf_close(gguf_file *file) {
  if (!file)
    return;
  storage_free(file);
  if (file->mapped)
    rt_file_unmap(&file->map);
  rt_free(file->path);
  rt_free(file);
}

/* ---- look-ups -------------------------------------------------------------------------------- */

bool gguf_string_eq(gguf_string s, const char *c) {
  size_t n = strlen(c);
  return s.size == n && memcmp(s.data, c, n) == 0;
}

const gguf_kv *gguf_find_kv(const gguf_file *file, const char *key) {
  gguf_indexes *idx = indexes_of(file);
  if (!idx || !idx->keys.slots)
    return NULL;
  uint64_t *slot = name_index_slot(file, &idx->keys, key_name, key, strlen(key));
  return *slot ? &file->kv[*slot - 1] : NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *file, const char *name) {
  gguf_indexes *idx = indexes_of(file);
  if (!idx || !idx->tensors.slots)
    return NULL;
  uint64_t *slot = name_index_slot(file, &idx->tensors, tensor_name, name, strlen(name));
  return *slot ? &file->tensors[*slot - 1] : NULL;
}

static bool type_is_unsigned(gguf_type t) {
  return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_UINT16 || t == GGUF_TYPE_UINT32 ||
         t == GGUF_TYPE_UINT64 || t == GGUF_TYPE_BOOL;
}
static bool type_is_signed(gguf_type t) {
  return t == GGUF_TYPE_INT8 || t == GGUF_TYPE_INT16 || t == GGUF_TYPE_INT32 ||
         t == GGUF_TYPE_INT64;
}

static chord_status find_typed(const gguf_file *file, const char *key, const char *wanted,
                               bool ok_type(gguf_type), const gguf_kv **out, chord_error *error) {
  const gguf_kv *kv = gguf_find_kv(file, key);
  const char *name = file->path;
  if (!kv)
    return rt_error(error, CHORD_ERROR_NOT_FOUND, "%s: metadata key '%s' not found", name, key);
  if (!ok_type(kv->value.type))
    return rt_error(error, CHORD_ERROR_FORMAT,
                    "%s: offset %" PRIu64 ": metadata key '%s' is %s, expected %s", name,
                    kv->offset, key, gguf_type_name(kv->value.type), wanted);
  *out = kv;
  return CHORD_OK;
}

static bool is_string(gguf_type t) { return t == GGUF_TYPE_STRING; }
static bool is_integer(gguf_type t) { return type_is_unsigned(t) || type_is_signed(t); }
static bool is_number(gguf_type t) {
  return is_integer(t) || t == GGUF_TYPE_FLOAT32 || t == GGUF_TYPE_FLOAT64;
}
static bool is_bool(gguf_type t) { return t == GGUF_TYPE_BOOL; }
static bool is_array(gguf_type t) { return t == GGUF_TYPE_ARRAY; }

chord_status gguf_get_string(const gguf_file *file, const char *key, gguf_string *out,
                             chord_error *error) {
  const gguf_kv *kv = NULL;
  chord_status s = find_typed(file, key, "string", is_string, &kv, error);
  if (!s)
    *out = kv->value.as.str;
  return s;
}

chord_status gguf_get_u64(const gguf_file *file, const char *key, uint64_t *out,
                          chord_error *error) {
  const gguf_kv *kv = NULL;
  chord_status s = find_typed(file, key, "an unsigned integer", is_integer, &kv, error);
  if (s)
    return s;
  if (type_is_signed(kv->value.type) && kv->value.as.i64 < 0)
    return rt_error(error, CHORD_ERROR_FORMAT,
                    "%s: offset %" PRIu64 ": metadata key '%s' is negative (%" PRId64 ")",
                    file->path, kv->offset, key, kv->value.as.i64);
  *out = kv->value.as.u64;
  return CHORD_OK;
}

chord_status gguf_get_i64(const gguf_file *file, const char *key, int64_t *out,
                          chord_error *error) {
  const gguf_kv *kv = NULL;
  chord_status s = find_typed(file, key, "an integer", is_integer, &kv, error);
  if (s)
    return s;
  if (type_is_unsigned(kv->value.type) && kv->value.as.u64 > INT64_MAX)
    return rt_error(error, CHORD_ERROR_FORMAT,
                    "%s: offset %" PRIu64 ": metadata key '%s' does not fit in 64-bit signed",
                    file->path, kv->offset, key);
  *out = kv->value.as.i64;
  return CHORD_OK;
}

chord_status gguf_get_f64(const gguf_file *file, const char *key, double *out, chord_error *error) {
  const gguf_kv *kv = NULL;
  chord_status s = find_typed(file, key, "a number", is_number, &kv, error);
  if (s)
    return s;
  gguf_type t = kv->value.type;
  *out = type_is_unsigned(t) ? (double)kv->value.as.u64
         : type_is_signed(t) ? (double)kv->value.as.i64
                             : kv->value.as.f64;
  return CHORD_OK;
}

chord_status gguf_get_bool(const gguf_file *file, const char *key, bool *out, chord_error *error) {
  const gguf_kv *kv = NULL;
  chord_status s = find_typed(file, key, "bool", is_bool, &kv, error);
  if (!s)
    *out = kv->value.as.u64 != 0;
  return s;
}

chord_status gguf_get_array(const gguf_file *file, const char *key, const gguf_array **out,
                            chord_error *error) {
  const gguf_kv *kv = NULL;
  chord_status s = find_typed(file, key, "array", is_array, &kv, error);
  if (!s)
    *out = &kv->value.as.arr;
  return s;
}

static bool array_scalar(const gguf_array *array, uint64_t i, gguf_value *out) {
  if (i >= array->count || array->elem_type == GGUF_TYPE_STRING ||
      array->elem_type == GGUF_TYPE_ARRAY)
    return false;
  decode_scalar(array->elem_type, array->data + i * value_types[array->elem_type].size, out);
  return true;
}

bool gguf_array_u64(const gguf_array *array, uint64_t i, uint64_t *out) {
  gguf_value v;
  if (!array_scalar(array, i, &v) || !is_integer(v.type) ||
      (type_is_signed(v.type) && v.as.i64 < 0))
    return false;
  *out = v.as.u64;
  return true;
}

bool gguf_array_i64(const gguf_array *array, uint64_t i, int64_t *out) {
  gguf_value v;
  if (!array_scalar(array, i, &v) || !is_integer(v.type) ||
      (type_is_unsigned(v.type) && v.as.u64 > INT64_MAX))
    return false;
  *out = v.as.i64;
  return true;
}

bool gguf_array_f64(const gguf_array *array, uint64_t i, double *out) {
  gguf_value v;
  if (!array_scalar(array, i, &v) || !is_number(v.type))
    return false;
  *out = type_is_unsigned(v.type) ? (double)v.as.u64
         : type_is_signed(v.type) ? (double)v.as.i64
                                  : v.as.f64;
  return true;
}
