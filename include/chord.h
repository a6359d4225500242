/* chord: a compiler for language models. Public C API (stable C ABI).
 *
 * Every call that can fail returns a chord_status and, when given a chord_error, leaves a readable
 * message in it that says what went wrong and where (file offset, tensor name, ...). Nothing in the
 * library prints to stdout or exits. */
#ifndef CHORD_H
#define CHORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CHORD_VERSION_MAJOR 0
#define CHORD_VERSION_MINOR 1
#define CHORD_VERSION_PATCH 0

typedef enum chord_status {
  CHORD_OK = 0,
  CHORD_ERROR_IO,          /* a file could not be opened, read, mapped or written */
  CHORD_ERROR_FORMAT,      /* the input is malformed (bad magic, truncation, bad counts, ...) */
  CHORD_ERROR_UNSUPPORTED, /* well-formed but not supported (version, type, architecture) */
  CHORD_ERROR_NOT_FOUND,   /* a key, tensor or file that was asked for does not exist */
  CHORD_ERROR_INVALID,     /* a bad argument from the caller */
  CHORD_ERROR_NO_MEMORY,   /* an allocation failed */
} chord_status;

/* Holds the message of the last failure of a call it was passed to. */
typedef struct chord_error {
  chord_status status;
  char message[1024];
} chord_error;

const char *chord_version(void);
const char *chord_status_name(chord_status status);

/* The path of the default model (Gemma 3 270M Q4_K_M as installed by scripts/setup.sh), or the
 * value of CHORD_MODEL when that is set. Writes into buf (size bytes); fails if the file is absent.
 */
chord_status chord_default_model_path(char *buf, size_t size, chord_error *error);

/* A GGUF model file, mapped read-only. */
typedef struct chord_model chord_model;

chord_status chord_model_open(const char *path, chord_model **out, chord_error *error);
void chord_model_free(chord_model *model);

const char *chord_model_architecture(const chord_model *model); /* general.architecture or "" */
uint64_t chord_model_tensor_count(const chord_model *model);
uint64_t chord_model_parameter_count(const chord_model *model);
uint64_t chord_model_file_size(const chord_model *model);

#ifdef __cplusplus
}
#endif

#endif
