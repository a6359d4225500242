/* Text to ids: special tokens first, then each raw fragment through the vocabulary's
 * algorithm, with BOS/EOS around the whole as llama.cpp adds them (llama_vocab::tokenize). */
#include <string.h>

#include "runtime/support/alloc.h"
#include "runtime/support/error.h"
#include "runtime/tokenizer/tok_internal.h"

bool tok_ids_push(tok_ids *ids, tok_id id) {
  if (ids->count == ids->capacity) {
    size_t cap = ids->capacity ? ids->capacity * 2 : 64;
    tok_id *grown = rt_realloc(ids->ids, cap * sizeof *grown);
    if (!grown)
      return false;
    ids->ids = grown;
    ids->capacity = cap;
  }
  ids->ids[ids->count++] = id;
  return true;
}

void tok_ids_free(tok_ids *ids) {
  rt_free(ids->ids);
  memset(ids, 0, sizeof *ids);
}

bool tok_text_reserve(tok_text *text, size_t extra) {
  if (extra > SIZE_MAX - text->size - 1)
    return false;
  size_t need = text->size + extra + 1;
  if (need <= text->capacity)
    return true;
  size_t cap = text->capacity ? text->capacity : 64;
  while (cap < need)
    cap *= 2;
  char *grown = rt_realloc(text->data, cap);
  if (!grown)
    return false;
  text->data = grown;
  text->capacity = cap;
  return true;
}

bool tok_text_append(tok_text *text, const void *data, size_t size) {
  if (!tok_text_reserve(text, size))
    return false;
  if (size)
    memcpy(text->data + text->size, data, size);
  text->size += size;
  text->data[text->size] = '\0';
  return true;
}

void tok_text_free(tok_text *text) {
  rt_free(text->data);
  memset(text, 0, sizeof *text);
}

chord_status tok_tokenize(const tok_vocab *v, const char *text, size_t size, bool add_special,
                          bool parse_special, tok_ids *out, chord_error *error) {
  if (!text && size)
    return rt_error(error, CHORD_ERROR_INVALID, "tok_tokenize: no text given");
  const uint8_t *bytes = (const uint8_t *)text;
  size_t first = out->count;
  tok_fragments fragments = {0};
  tok_scratch scratch = {0};
  chord_status st = tok_partition(v, bytes, size, parse_special, &fragments, error);
  if (st)
    goto done;
  /* The loader checked that the ids these flags need exist. */
  if (add_special && v->add_bos && !tok_ids_push(out, v->specials.bos))
    goto oom;
  bool prev_special = true; /* SPM: text at the start or after a special token gets a space */
  for (size_t i = 0; i < fragments.count; i++) {
    const tok_fragment *f = &fragments.items[i];
    if (f->token != TOK_NULL) {
      if (!tok_ids_push(out, f->token))
        goto oom;
      prev_special = true;
      continue;
    }
    if (v->kind == TOK_KIND_SPM)
      st = tok_spm_fragment(v, &scratch, bytes + f->offset, f->size,
                            v->add_space_prefix && prev_special, out, error);
    else
      st = tok_bpe_fragment(v, &scratch, bytes + f->offset, f->size, out, error);
    if (st)
      goto done;
    prev_special = false;
  }
  if (add_special && v->add_eos && !tok_ids_push(out, v->specials.eos))
    goto oom;
  goto done;
oom:
  st = rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory tokenizing");
done:
  if (st)
    out->count = first;
  rt_free(fragments.items);
  tok_scratch_free(&scratch);
  return st;
}
