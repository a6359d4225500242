/* GGUF v2/v3 reader (mmap, zero-copy, fully validated) and writer.
 *
 * Reading never touches bytes outside the mapping: every count, length and offset is checked
 * against the bytes that remain before it is used, and every failure names the file, the byte
 * offset and what was wrong. */
#ifndef CHORD_FRONTENDS_GGUF_H
#define CHORD_FRONTENDS_GGUF_H

#include <stdbool.h>
#include <stdint.h>

#include "chord.h"
#include "ir/dtype.h"
#include "runtime/platform/file.h"

#define GGUF_MAGIC "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4
/* Arrays of arrays nest; deeper than this is treated as malformed (it bounds recursion). */
#define GGUF_MAX_ARRAY_DEPTH 16

typedef enum gguf_type {
#define X(NAME, id, name, size) GGUF_TYPE_##NAME = id,
#include "frontends/gguf/gguf_value_types.def"
#undef X
} gguf_type;

bool gguf_type_valid(uint32_t type);
const char *gguf_type_name(gguf_type type);
/* Bytes of one scalar of the type in the file; 0 for strings, arrays and unknown types. */
uint32_t gguf_type_size(gguf_type type);

/* A string inside the mapping (not NUL-terminated). */
typedef struct gguf_string {
  const char *data;
  uint64_t size;
} gguf_string;

typedef struct gguf_value gguf_value;

/* An array value. Read its strings with gguf_array_string: an array read from a file keeps only
 * each string's offset (4 bytes, not a 16-byte gguf_string: a 262144-token vocabulary costs 1 MiB,
 * not 4), an array built for the writer holds gguf_strings. */
typedef struct gguf_array {
  gguf_type elem_type;
  uint64_t count;
  /* Scalar elements, packed little-endian in the mapping (may be unaligned); for strings read
   * from a file, where the first one starts. */
  const uint8_t *data;
  const gguf_string *strings;     /* built in memory, for the writer: count entries */
  gguf_value *arrays;             /* for arrays of arrays: count entries */
  const uint32_t *string_offsets; /* read from a file: string i's length prefix is at data + it */
} gguf_array;

/* String i of an array of strings (i < count). */
static inline gguf_string gguf_array_string(const gguf_array *array, uint64_t i) {
  if (array->strings)
    return array->strings[i];
  const uint8_t *p = array->data + array->string_offsets[i];
  uint64_t size;
  __builtin_memcpy(&size, p, 8); /* the length prefix, read as the reader reads it */
  return (gguf_string){(const char *)p + 8, size};
}

struct gguf_value {
  gguf_type type;
  union {
    uint64_t u64; /* UINT8..UINT64 and BOOL, zero-extended */
    int64_t i64;  /* INT8..INT64, sign-extended */
    double f64;   /* FLOAT32 and FLOAT64 */
    gguf_string str;
    gguf_array arr;
  } as;
};

typedef struct gguf_kv {
  gguf_string key;
  gguf_value value;
  uint64_t offset; /* file offset of the key/value pair */
} gguf_kv;

typedef struct gguf_tensor {
  gguf_string name;
  uint32_t n_dims;
  uint64_t dims[GGUF_MAX_DIMS]; /* dims[0] is the innermost (contiguous) dimension; unused are 1 */
  ir_dtype type;
  uint64_t n_elems;
  uint64_t n_bytes;
  uint64_t data_offset; /* relative to the start of the data section, as stored */
  const uint8_t *data;  /* inside the mapping */
  uint64_t info_offset; /* file offset of the tensor info */
} gguf_tensor;

typedef struct gguf_file {
  char *path;  /* the file's path, or the name given to gguf_open_memory */
  bool mapped; /* whether gguf_close unmaps (false for gguf_open_memory) */
  rt_mapped_file map;
  uint32_t version;
  uint64_t n_kv;
  gguf_kv *kv;
  uint64_t n_tensors;
  gguf_tensor *tensors;
  uint32_t alignment;
  uint64_t data_start;        /* file offset of the data section */
  void *storage;              /* internal: the allocations behind strings/arrays */
  struct gguf_indexes *index; /* internal: name look-up tables */
} gguf_file;

/* Maps and validates a file. On failure *out is NULL and error says what and where. */
chord_status gguf_open(const char *path, gguf_file **out, chord_error *error);
/* Validates a buffer already in memory (the fuzzer's entry point); `name` is used in messages.
 * The buffer must outlive the returned file. */
chord_status gguf_open_memory(const void *data, uint64_t size, const char *name, gguf_file **out,
                              chord_error *error);
void gguf_close(gguf_file *file);

/* Typed look-ups. Each returns CHORD_ERROR_NOT_FOUND if the key is absent and
 * CHORD_ERROR_FORMAT (with the key and the type found) if it has another type. Integer look-ups
 * accept any integer type whose value fits. */
const gguf_kv *gguf_find_kv(const gguf_file *file, const char *key);
chord_status gguf_get_string(const gguf_file *file, const char *key, gguf_string *out,
                             chord_error *error);
chord_status gguf_get_u64(const gguf_file *file, const char *key, uint64_t *out,
                          chord_error *error);
chord_status gguf_get_i64(const gguf_file *file, const char *key, int64_t *out, chord_error *error);
chord_status gguf_get_f64(const gguf_file *file, const char *key, double *out, chord_error *error);
chord_status gguf_get_bool(const gguf_file *file, const char *key, bool *out, chord_error *error);
chord_status gguf_get_array(const gguf_file *file, const char *key, const gguf_array **out,
                            chord_error *error);
/* Element i of a scalar array, converted (false if i is out of range or the type does not fit). */
bool gguf_array_u64(const gguf_array *array, uint64_t i, uint64_t *out);
bool gguf_array_i64(const gguf_array *array, uint64_t i, int64_t *out);
bool gguf_array_f64(const gguf_array *array, uint64_t i, double *out);

const gguf_tensor *gguf_find_tensor(const gguf_file *file, const char *name);

/* True if s equals the NUL-terminated c. */
bool gguf_string_eq(gguf_string s, const char *c);

/* ---- writer ---------------------------------------------------------------------------------- */

/* Builds a GGUF v3 file (metadata is copied; tensor data is referenced, or asked for while the
 * file is written) and writes it to a temporary name that is renamed into place only when
 * complete. */
typedef struct gguf_writer gguf_writer;

gguf_writer *gguf_writer_init(void);
void gguf_writer_free(gguf_writer *writer);
void gguf_writer_set_alignment(gguf_writer *writer, uint32_t alignment);
/* Setters replace a key that is already present, so copying a file and changing keys is easy. */
chord_status gguf_writer_set_value(gguf_writer *writer, const char *key, const gguf_value *value,
                                   chord_error *error);
chord_status gguf_writer_set_string(gguf_writer *writer, const char *key, const char *value,
                                    chord_error *error);
chord_status gguf_writer_set_u32(gguf_writer *writer, const char *key, uint32_t value,
                                 chord_error *error);
chord_status gguf_writer_set_i32(gguf_writer *writer, const char *key, int32_t value,
                                 chord_error *error);
chord_status gguf_writer_set_f32(gguf_writer *writer, const char *key, float value,
                                 chord_error *error);
chord_status gguf_writer_set_bool(gguf_writer *writer, const char *key, bool value,
                                  chord_error *error);
/* Copies every key/value of an open file (arrays included). */
chord_status gguf_writer_copy_kv(gguf_writer *writer, const gguf_file *file, chord_error *error);
/* Adds a tensor whose n_bytes bytes at data stay valid until gguf_writer_write returns. dims as in
 * gguf_tensor (innermost first). */
chord_status gguf_writer_add_tensor(gguf_writer *writer, const char *name, ir_dtype type,
                                    uint32_t n_dims, const uint64_t *dims, const void *data,
                                    uint64_t n_bytes, chord_error *error);
/* Produces a tensor's n_bytes bytes into out; an error status (with error set) aborts the write. */
typedef chord_status (*gguf_tensor_fill_fn)(void *ctx, void *out, uint64_t n_bytes,
                                            chord_error *error);
/* Adds a tensor whose bytes are produced while the file is written: gguf_writer_write calls fill
 * once, in file order, into one buffer it reuses for every such tensor (allocated once, at the
 * largest one's size), so a writer of N tensors holds about one in memory instead of all. ctx must
 * stay valid until gguf_writer_write returns. Arguments are checked as by gguf_writer_add_tensor.
 */
chord_status gguf_writer_add_tensor_source(gguf_writer *writer, const char *name, ir_dtype type,
                                           uint32_t n_dims, const uint64_t *dims, uint64_t n_bytes,
                                           gguf_tensor_fill_fn fill, void *ctx, chord_error *error);
/* Writes the file. A fill that fails, like any other failure, leaves no file (nor a temporary
 * one) and its error is returned. */
chord_status gguf_writer_write(gguf_writer *writer, const char *path, chord_error *error);

#endif
