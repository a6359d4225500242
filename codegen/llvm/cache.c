/* The CPU target's code cache on disk (codegen/llvm/cache.h). */
#include "codegen/llvm/cache.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/support/error.h"

/* FNV-1a, 64 bits: the key only has to tell descriptions apart, not resist an adversary. */
static uint64_t fnv1a(uint64_t h, const char *text) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    h = (h ^ *p) * 0x100000001b3ull;
  return h;
}

static bool cache_dir(char *dir, size_t size) {
  const char *env = getenv("CHORD_CACHE_DIR");
  if (env)
    return *env && strcmp(env, "off") != 0 && snprintf(dir, size, "%s", env) < (int)size;
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  if (xdg && *xdg)
    return snprintf(dir, size, "%s/chord", xdg) < (int)size;
  return home && *home && snprintf(dir, size, "%s/.cache/chord", home) < (int)size;
}

bool code_cache_path(const char *description, const char *ir, char *path, size_t size) {
  char dir[4096];
  if (!cache_dir(dir, sizeof dir))
    return false;
  uint64_t key = fnv1a(fnv1a(0xcbf29ce484222325ull, description), ir);
  int n = snprintf(path, size, "%s/kernels-%016" PRIx64 ".o", dir, key);
  return n > 0 && (size_t)n < size;
}

bool code_cache_load(const char *path, rt_mapped_file *out) {
  chord_error ignored;
  return rt_file_map(path, out, &ignored) == CHORD_OK && out->size > 0;
}

/* mkdir -p of the directory part of path. */
static chord_status make_parents(const char *path, chord_error *error) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash)
    return CHORD_OK;
  *slash = '\0';
  for (char *p = dir + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
      return rt_error(error, CHORD_ERROR_IO, "%s: %s", dir, strerror(errno));
    *p = '/';
  }
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    return rt_error(error, CHORD_ERROR_IO, "%s: %s", dir, strerror(errno));
  return CHORD_OK;
}

chord_status code_cache_store(const char *path, const void *data, size_t size, chord_error *error) {
  chord_status st = make_parents(path, error);
  rt_output_file out;
  if (st == CHORD_OK)
    st = rt_output_open(path, &out, error);
  if (st != CHORD_OK)
    return st;
  if (fwrite(data, 1, size, out.stream) != size) {
    rt_output_abandon(&out);
    return rt_error(error, CHORD_ERROR_IO, "%s: cannot write", path);
  }
  return rt_output_commit(&out, error);
}
