/* The platform layer for files: read-only mapping and write-then-rename output. Kept small so a
 * wasm32 build (no mmap) can swap in a read-into-memory version. */
#ifndef CHORD_RUNTIME_FILE_H
#define CHORD_RUNTIME_FILE_H

#include <stdint.h>
#include <stdio.h>

#include "chord.h"

typedef struct rt_mapped_file {
  const uint8_t *data; /* NULL for an empty file */
  uint64_t size;
} rt_mapped_file;

chord_status rt_file_map(const char *path, rt_mapped_file *out, chord_error *error);
void rt_file_unmap(rt_mapped_file *file);

/* An output file written under a temporary name in the same directory and renamed over `path`
 * only by rt_output_commit, so a failure never leaves a partial file. */
typedef struct rt_output_file {
  FILE *stream;
  char *path;
  char *temp_path;
} rt_output_file;

chord_status rt_output_open(const char *path, rt_output_file *out, chord_error *error);
/* Flushes, closes and renames into place; on failure removes the temporary file. */
chord_status rt_output_commit(rt_output_file *file, chord_error *error);
/* Closes and removes the temporary file (safe to call after a commit, then it does nothing). */
void rt_output_abandon(rt_output_file *file);

/* Milliseconds from a monotonic clock, for progress and timings. */
double rt_time_ms(void);

#endif
