/* The CPU target's code cache on disk: compiled kernel objects under a key that names everything
 * they depend on (chord's and LLVM's versions, the host's triple, CPU and features, the kernel
 * set, and the generated IR itself), so that a second run links them instead of generating and
 * compiling them again.
 *
 * The directory: $CHORD_CACHE_DIR, else $XDG_CACHE_HOME/chord, else $HOME/.cache/chord;
 * CHORD_CACHE_DIR=off (or empty) turns the cache off. Entries are written atomically (a temporary
 * file renamed into place); a cache that cannot be written only costs the next run the compile. */
#ifndef CHORD_CODEGEN_LLVM_CACHE_H
#define CHORD_CODEGEN_LLVM_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "chord.h"
#include "runtime/platform/file.h"

/* The entry's path for a description of what the code depends on and the code's LLVM IR (before
 * optimization); false when the cache is off. */
bool code_cache_path(const char *description, const char *ir, char *path, size_t size);

/* The entry at path, mapped; false when there is none (or it cannot be read). */
bool code_cache_load(const char *path, rt_mapped_file *out);
/* Writes an entry (creating the directory); the error says why it could not. */
chord_status code_cache_store(const char *path, const void *data, size_t size, chord_error *error);

#endif
