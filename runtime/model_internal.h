/* The public model handle's insides, for the runtime files that implement include/chord.h. */
#ifndef CHORD_RUNTIME_MODEL_INTERNAL_H
#define CHORD_RUNTIME_MODEL_INTERNAL_H

#include "chord.h"
#include "frontends/gguf/gguf.h"
#include "runtime/tokenizer/tokenizer.h"

struct chord_model {
  gguf_file *file;
  char architecture[128];
  uint64_t parameters;
  tok_vocab *vocab; /* loaded on first use */
};

/* The model's vocabulary, loading it the first time. */
chord_status model_vocab(chord_model *model, const tok_vocab **out, chord_error *error);

#endif
