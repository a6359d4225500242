/* Loading a vocabulary from GGUF metadata with llama.cpp's rules (llama_vocab::impl::load):
 * defaults per tokenizer model and pre-tokenizer, the keys that override them, and the
 * attributes llama.cpp derives from token texts and the model name, which decide what is
 * recognized as a special token and what a token renders as. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/support/alloc.h"
#include "runtime/support/error.h"
#include "runtime/tokenizer/tok_internal.h"

/* ---- tables ---------------------------------------------------------------------------------- */

/* tokenizer.ggml.model values llama.cpp knows; only "llama" and "gpt2" are implemented. */
static const struct {
  const char *name;
  const char *what;
} other_models[] = {
    {"no_vocab", "no vocabulary"},    {"none", "no vocabulary"},
    {"bert", "WordPiece (BERT)"},     {"t5", "Unigram (T5)"},
    {"rwkv", "RWKV greedy tries"},    {"plamo2", "PLaMo-2"},
    {"gemma4", "Gemma 4 BPE"},        {"hybriddna", "hybrid DNA k-mer BPE"},
    {"whitespace", "whitespace BPE"},
};

/* tokenizer.ggml.token_type values, and the attribute each gives (llama_token_type). */
static const uint32_t type_attr[] = {
    TOK_ATTR_UNDEFINED,    /* 0 undefined */
    TOK_ATTR_NORMAL,       /* 1 normal */
    TOK_ATTR_UNKNOWN,      /* 2 unknown */
    TOK_ATTR_CONTROL,      /* 3 control */
    TOK_ATTR_USER_DEFINED, /* 4 user-defined */
    TOK_ATTR_UNUSED,       /* 5 unused */
    TOK_ATTR_BYTE,         /* 6 byte */
};

/* Non-ASCII characters are written as \u escapes (U+FF5C fullwidth bar, U+2581 ▁). */
#define TEXTS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Special ids llama.cpp finds by token text when the file does not give them; the token found
 * is made a control token. */
static const struct {
  size_t field; /* offset in tok_specials */
  const char *const *texts;
} by_text[] = {
    {offsetof(tok_specials, eot),
     TEXTS("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
           "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>",
           "<end_of_utterance>")},
    {offsetof(tok_specials, eom), TEXTS("<|eom_id|>")},
    {offsetof(tok_specials, fim_pre),
     TEXTS("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\uFF5Cfim\u2581begin\uFF5C>",
           "<PRE>", "\u2581<PRE>", "<|code_prefix|>", "<|prefix|>")},
    {offsetof(tok_specials, fim_suf),
     TEXTS("<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\uFF5Cfim\u2581hole\uFF5C>", "<SUF>",
           "\u2581<SUF>", "<|code_suffix|>", "<|suffix|>")},
    {offsetof(tok_specials, fim_mid),
     TEXTS("<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\uFF5Cfim\u2581end\uFF5C>", "<MID>",
           "\u2581<MID>", "<|code_middle|>", "<|middle|>")},
    {offsetof(tok_specials, fim_pad),
     TEXTS("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]")},
    {offsetof(tok_specials, fim_rep),
     TEXTS("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>")},
    {offsetof(tok_specials, fim_sep), TEXTS("<|file_sep|>")},
};

/* Texts llama.cpp treats as end of generation; each such token is made a control token. */
static const char *const end_of_generation[] = {"<|eot_id|>",
                                                "<|im_end|>",
                                                "<|end|>",
                                                "<|return|>",
                                                "<|call|>",
                                                "<|flush|>",
                                                "<|calls|>",
                                                "<end_of_turn>",
                                                "<|endoftext|>",
                                                "</s>",
                                                "<|eom_id|>",
                                                "<EOT>",
                                                "_<EOT>",
                                                "[EOT]",
                                                "[EOS]",
                                                "<|end_of_text|>",
                                                "<end_of_utterance>",
                                                "<eos>",
                                                "<turn|>",
                                                "<|tool_response>",
                                                "<\uFF5Cend\u2581of\u2581sentence\uFF5C>",
                                                "[e~[",
                                                NULL};

/* Tokens llama.cpp always renders (and recognizes) as user-defined (gpt-oss). */
static const char *const always_user_defined[] = {"<|channel|>", "<|message|>", "<|start|>",
                                                  "<|constrain|>", NULL};

/* The special-id keys, in llama.cpp's order (later keys may overwrite what earlier ones set). */
static const struct {
  const char *key;
  size_t field;
} special_keys[] = {
    {"tokenizer.ggml.bos_token_id", offsetof(tok_specials, bos)},
    {"tokenizer.ggml.eos_token_id", offsetof(tok_specials, eos)},
    {"tokenizer.ggml.eot_token_id", offsetof(tok_specials, eot)},
    {"tokenizer.ggml.eom_token_id", offsetof(tok_specials, eom)},
    {"tokenizer.ggml.unknown_token_id", offsetof(tok_specials, unk)},
    {"tokenizer.ggml.seperator_token_id", offsetof(tok_specials, sep)}, /* sic, as in GGUF */
    {"tokenizer.ggml.padding_token_id", offsetof(tok_specials, pad)},
    {"tokenizer.ggml.mask_token_id", offsetof(tok_specials, mask)},
    {"tokenizer.ggml.fim_pre_token_id", offsetof(tok_specials, fim_pre)},
    {"tokenizer.ggml.fim_suf_token_id", offsetof(tok_specials, fim_suf)},
    {"tokenizer.ggml.fim_mid_token_id", offsetof(tok_specials, fim_mid)},
    {"tokenizer.ggml.fim_pad_token_id", offsetof(tok_specials, fim_pad)},
    {"tokenizer.ggml.fim_rep_token_id", offsetof(tok_specials, fim_rep)},
    {"tokenizer.ggml.fim_sep_token_id", offsetof(tok_specials, fim_sep)},
    {"tokenizer.ggml.prefix_token_id", offsetof(tok_specials, fim_pre)}, /* deprecated names */
    {"tokenizer.ggml.suffix_token_id", offsetof(tok_specials, fim_suf)},
    {"tokenizer.ggml.middle_token_id", offsetof(tok_specials, fim_mid)},
};

static inline tok_id *special_field(tok_specials *s, size_t offset) {
  return (tok_id *)((char *)s + offset);
}

/* ---- helpers --------------------------------------------------------------------------------- */

static tok_id find_token(const tok_vocab *v, const char *text) {
  int32_t id = tok_strings_find(&v->texts, text, strlen(text));
  return id >= 0 && (uint32_t)id < v->n_tokens ? id : TOK_NULL;
}

tok_id tok_vocab_find(const tok_vocab *v, const char *text, size_t size) {
  int32_t id = tok_strings_find(&v->texts, text, size);
  return id >= 0 && (uint32_t)id < v->n_tokens ? id : TOK_NULL;
}

static chord_status optional_bool(const gguf_file *f, const char *key, bool *value,
                                  chord_error *error) {
  bool b;
  chord_status st = gguf_get_bool(f, key, &b, error);
  if (st == CHORD_ERROR_NOT_FOUND)
    return CHORD_OK;
  if (st == CHORD_OK)
    *value = b;
  return st;
}

static chord_status optional_string(const gguf_file *f, const char *key, char **out,
                                    chord_error *error) {
  gguf_string s = {"", 0};
  chord_status st = gguf_get_string(f, key, &s, error);
  if (st && st != CHORD_ERROR_NOT_FOUND)
    return st;
  *out = rt_strndup(s.data, (size_t)s.size);
  return *out ? CHORD_OK : rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory");
}

static bool contains(const char *haystack, const char *needle) {
  return strstr(haystack, needle) != NULL;
}

/* ---- the steps of loading -------------------------------------------------------------------- */

static chord_status load_tokens(const gguf_file *f, tok_vocab *v, chord_error *error) {
  const gguf_array *tokens, *scores = NULL, *types = NULL;
  chord_status st = gguf_get_array(f, "tokenizer.ggml.tokens", &tokens, error);
  if (st == CHORD_ERROR_NOT_FOUND)
    return rt_error(error, CHORD_ERROR_FORMAT, "%s: no tokenizer.ggml.tokens (no vocabulary)",
                    f->path);
  if (st)
    return st;
  if (tokens->elem_type != GGUF_TYPE_STRING)
    return rt_error(error, CHORD_ERROR_FORMAT,
                    "%s: tokenizer.ggml.tokens is an array of %s, not "
                    "of strings",
                    f->path, gguf_type_name(tokens->elem_type));
  if (tokens->count == 0 || tokens->count > INT32_MAX / 2)
    return rt_error(error, CHORD_ERROR_FORMAT, "%s: tokenizer.ggml.tokens has %llu entries",
                    f->path, (unsigned long long)tokens->count);
  v->n_tokens = (uint32_t)tokens->count;

  st = gguf_get_array(f, "tokenizer.ggml.scores", &scores, error);
  if (st && st != CHORD_ERROR_NOT_FOUND)
    return st;
  if (scores && scores->elem_type != GGUF_TYPE_FLOAT32 && scores->elem_type != GGUF_TYPE_INT32)
    return rt_error(error, CHORD_ERROR_FORMAT,
                    "%s: tokenizer.ggml.scores is an array of %s, not "
                    "of float32 or int32",
                    f->path, gguf_type_name(scores->elem_type));
  if (scores && scores->count < v->n_tokens)
    return rt_error(error, CHORD_ERROR_FORMAT,
                    "%s: tokenizer.ggml.scores has %llu entries for "
                    "%u tokens",
                    f->path, (unsigned long long)scores->count, v->n_tokens);
  st = gguf_get_array(f, "tokenizer.ggml.token_type", &types, error);
  if (st && st != CHORD_ERROR_NOT_FOUND)
    return st;
  if (types && types->elem_type != GGUF_TYPE_INT32)
    return rt_error(error, CHORD_ERROR_FORMAT,
                    "%s: tokenizer.ggml.token_type is an array of %s, "
                    "not of int32",
                    f->path, gguf_type_name(types->elem_type));
  if (types && types->count < v->n_tokens)
    return rt_error(error, CHORD_ERROR_FORMAT,
                    "%s: tokenizer.ggml.token_type has %llu entries "
                    "for %u tokens",
                    f->path, (unsigned long long)types->count, v->n_tokens);

  /* The table sized for every text at once, the texts hashed first and the slots fetched some
   * tokens ahead: a quarter of a million inserts at a cache miss each otherwise take 60 ms. */
  enum { AHEAD = 16 };
  size_t text_bytes = 0;
  for (uint32_t i = 0; i < v->n_tokens; i++)
    /* + 16: an empty one is named, "[EMPTY_i]" */
    text_bytes += (size_t)gguf_array_string(tokens, i).size + 16;
  v->scores = rt_malloc((size_t)v->n_tokens * sizeof *v->scores);
  v->attrs = rt_malloc((size_t)v->n_tokens * sizeof *v->attrs);
  uint64_t *hashes = rt_malloc((size_t)v->n_tokens * sizeof *hashes);
  if (!v->scores || !v->attrs || !hashes ||
      !tok_strings_reserve(&v->texts, v->n_tokens, text_bytes)) {
    rt_free(hashes);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "%s: out of memory loading the vocabulary",
                    f->path);
  }
  for (uint32_t i = 0; i < v->n_tokens; i++) {
    gguf_string t = gguf_array_string(tokens, i);
    hashes[i] = t.size ? tok_hash_bytes(t.data, (size_t)t.size) : 0; /* empty: hashed below */
  }
  for (uint32_t i = 0; i < v->n_tokens; i++) {
    if (i + AHEAD < v->n_tokens)
      tok_strings_prefetch(&v->texts, hashes[i + AHEAD]);
    gguf_string t = gguf_array_string(tokens, i);
    char empty[32];
    if (t.size == 0) { /* llama.cpp names empty tokens so that every text is unique */
      int n = snprintf(empty, sizeof empty, "[EMPTY_%u]", i);
      t = (gguf_string){empty, (uint64_t)n};
      hashes[i] = tok_hash_bytes(t.data, (size_t)t.size);
    }
    if (t.size > UINT32_MAX / 2) {
      rt_free(hashes);
      return rt_error(error, CHORD_ERROR_FORMAT, "%s: token %u is %llu bytes long", f->path, i,
                      (unsigned long long)t.size);
    }
    int32_t id;
    bool added;
    if (!tok_strings_add_hashed(&v->texts, t.data, (size_t)t.size, hashes[i], &id, &added)) {
      rt_free(hashes);
      return rt_error(error, CHORD_ERROR_NO_MEMORY, "%s: out of memory loading the vocabulary",
                      f->path);
    }
    if (!added) {
      rt_free(hashes);
      return rt_error(error, CHORD_ERROR_FORMAT,
                      "%s: duplicate token in vocabulary: '%.*s' has ids %d and %u", f->path,
                      (int)t.size, t.data, id, i);
    }
    double score = 0;
    int64_t type = 1;
    if (scores)
      gguf_array_f64(scores, i, &score);
    v->scores[i] = (float)score;
    if (types)
      gguf_array_i64(types, i, &type);
    v->attrs[i] = !types ? TOK_ATTR_NORMAL
                  : type >= 0 && type < (int64_t)(sizeof type_attr / sizeof type_attr[0])
                      ? type_attr[type]
                      : TOK_ATTR_UNDEFINED;
  }
  rt_free(hashes);
  return CHORD_OK;
}

/* tokenizer.ggml.merges: "left right" split at the first space after the first character; the
 * first rule for a pair keeps its rank. Sides that are no token are interned after the tokens. */
static chord_status load_merges(const gguf_file *f, tok_vocab *v, chord_error *error) {
  const gguf_array *merges;
  chord_status st = gguf_get_array(f, "tokenizer.ggml.merges", &merges, error);
  if (st == CHORD_ERROR_NOT_FOUND)
    return rt_error(error, CHORD_ERROR_FORMAT,
                    "%s: cannot find tokenizer.ggml.merges, which a "
                    "gpt2 (BPE) vocabulary needs",
                    f->path);
  if (st)
    return st;
  if (merges->elem_type != GGUF_TYPE_STRING)
    return rt_error(error, CHORD_ERROR_FORMAT,
                    "%s: tokenizer.ggml.merges is an array of %s, not "
                    "of strings",
                    f->path, gguf_type_name(merges->elem_type));
  if (merges->count > INT32_MAX / 4)
    return rt_error(error, CHORD_ERROR_FORMAT, "%s: tokenizer.ggml.merges has %llu entries",
                    f->path, (unsigned long long)merges->count);
  if (!tok_merges_init(&v->merges, (uint32_t)merges->count))
    goto oom;
  for (uint64_t i = 0; i < merges->count; i++) {
    gguf_string m = gguf_array_string(merges, i);
    const char *space = m.size > 1 ? memchr(m.data + 1, ' ', (size_t)m.size - 1) : NULL;
    size_t left_size = space ? (size_t)(space - m.data) : 0;
    const char *right = space ? space + 1 : "";
    size_t right_size = space ? (size_t)m.size - left_size - 1 : 0;
    int32_t left_id, right_id;
    bool added;
    if (!tok_strings_add(&v->texts, m.data, left_size, &left_id, &added) ||
        !tok_strings_add(&v->texts, right, right_size, &right_id, &added))
      goto oom;
    tok_merge *rule = tok_merges_insert(&v->merges, left_id, right_id, &added);
    if (added) {
      rule->rank = (int32_t)i;
      rule->result = -1;
    }
  }
  /* What each rule makes: the interned id of the two sides joined, if anything has that text. */
  tok_text joined = {0};
  for (uint32_t i = 0; i <= v->merges.mask; i++) {
    tok_merge *rule = &v->merges.slots[i];
    if (rule->left < 0)
      continue;
    size_t ln, rn;
    const char *l = tok_strings_get(&v->texts, rule->left, &ln);
    const char *r = tok_strings_get(&v->texts, rule->right, &rn);
    joined.size = 0;
    if (!tok_text_append(&joined, l, ln) || !tok_text_append(&joined, r, rn)) {
      tok_text_free(&joined);
      goto oom;
    }
    rule->result = tok_strings_find(&v->texts, joined.data, joined.size);
  }
  tok_text_free(&joined);
  return CHORD_OK;
oom:
  return rt_error(error, CHORD_ERROR_NO_MEMORY, "%s: out of memory loading the merges", f->path);
}

static void build_byte_tables(tok_vocab *v) {
  for (int b = 0; b < 256; b++) {
    char one = (char)b;
    int32_t single = tok_strings_find(&v->texts, &one, 1);
    v->single_byte_token[b] = single >= 0 && (uint32_t)single < v->n_tokens ? single : TOK_NULL;
    if (v->kind == TOK_KIND_SPM) {
      char hex[8];
      snprintf(hex, sizeof hex, "<0x%02X>", b);
      tok_id t = find_token(v, hex);
      /* llama.cpp falls back to the byte as a one-character token, and aborts if there is none;
       * we use the unknown token there. */
      v->spm_byte_token[b] = t != TOK_NULL ? t
                             : b != 0 && v->single_byte_token[b] != TOK_NULL
                                 ? v->single_byte_token[b]
                                 : v->specials.unk;
    } else {
      uint8_t utf8[4];
      size_t n = tok_utf8_encode(tok_byte_to_cpt((uint8_t)b), utf8);
      memcpy(v->byte_utf8[b], utf8, n);
      v->byte_utf8_size[b] = (uint8_t)n;
      v->byte_piece[b] = tok_strings_find(&v->texts, (const char *)utf8, n);
    }
  }
}

/* The special ids: per-model defaults (cleared when out of range), then the file's keys (ignored
 * when out of range, as llama.cpp does after a warning). */
static chord_status load_special_ids(const gguf_file *f, tok_vocab *v, chord_error *error) {
  for (size_t k = 0; k < sizeof special_keys / sizeof special_keys[0]; k++) {
    tok_id *id = special_field(&v->specials, special_keys[k].field);
    if (*id >= 0 && (uint32_t)*id >= v->n_tokens)
      *id = TOK_NULL;
    uint64_t value;
    chord_status st = gguf_get_u64(f, special_keys[k].key, &value, error);
    if (st == CHORD_ERROR_NOT_FOUND)
      continue;
    if (st == CHORD_ERROR_FORMAT) {
      /* A negative value (a "no such token" -1 some converters write) is not a uint32: as in
       * llama.cpp, where reading it fails, the default stays. */
      int64_t signed_value;
      if (gguf_get_i64(f, special_keys[k].key, &signed_value, NULL) == CHORD_OK)
        continue;
      return st;
    }
    if (st)
      return st;
    if (value < v->n_tokens)
      *id = (tok_id)value;
  }
  chord_status st;
  if ((st = optional_bool(f, "tokenizer.ggml.add_bos_token", &v->add_bos, error)) ||
      (st = optional_bool(f, "tokenizer.ggml.add_eos_token", &v->add_eos, error)) ||
      (st = optional_bool(f, "tokenizer.ggml.add_sep_token", &v->add_sep, error)))
    return st;
  static const struct {
    const char *flag, *id;
    size_t flag_offset, field;
  } needed[] = {
      {"tokenizer.ggml.add_bos_token", "tokenizer.ggml.bos_token_id", offsetof(tok_vocab, add_bos),
       offsetof(tok_specials, bos)},
      {"tokenizer.ggml.add_eos_token", "tokenizer.ggml.eos_token_id", offsetof(tok_vocab, add_eos),
       offsetof(tok_specials, eos)},
      {"tokenizer.ggml.add_sep_token", "tokenizer.ggml.seperator_token_id",
       offsetof(tok_vocab, add_sep), offsetof(tok_specials, sep)},
  };
  for (size_t k = 0; k < sizeof needed / sizeof needed[0]; k++)
    if (*(bool *)((char *)v + needed[k].flag_offset) &&
        *special_field(&v->specials, needed[k].field) == TOK_NULL)
      return rt_error(error, CHORD_ERROR_FORMAT, "%s: %s is true, but %s is not set", f->path,
                      needed[k].flag, needed[k].id);
  return CHORD_OK;
}

static void make_control(tok_vocab *v, tok_id id) { v->attrs[id] |= TOK_ATTR_CONTROL; }

/* llama.cpp's adjustments by token text, in its order. Where several candidate texts for one
 * id exist, llama.cpp takes the first in its hash table's order; we take the first in the list
 * (the more specific texts come first: Phi-3's <|end|> before <|endoftext|>, as llama.cpp too
 * ends up choosing there). */
static void adjust_attributes(tok_vocab *v) {
  for (size_t k = 0; k < sizeof by_text / sizeof by_text[0]; k++) {
    tok_id *id = special_field(&v->specials, by_text[k].field);
    if (*id != TOK_NULL)
      continue;
    for (const char *const *t = by_text[k].texts; *t && *id == TOK_NULL; t++)
      *id = find_token(v, *t);
    if (*id != TOK_NULL)
      make_control(v, *id);
  }
  for (uint32_t i = 0; i < v->n_tokens; i++) {
    size_t n;
    const char *t = tok_strings_get(&v->texts, (int32_t)i, &n);
    /* strstr as llama.cpp uses it: the text up to a first NUL */
    if ((v->attrs[i] & TOK_ATTR_CONTROL) && !(v->attrs[i] & TOK_ATTR_UNUSED) &&
        contains(t, "unused"))
      v->attrs[i] |= TOK_ATTR_UNUSED;
  }

  /* End of generation: which ids, for the two workarounds below. */
  tok_id eog[64];
  size_t n_eog = 0;
  const tok_id fim_eog[] = {v->specials.fim_pad, v->specials.fim_rep, v->specials.fim_sep};
  for (size_t k = 0; k < 3; k++)
    if (fim_eog[k] != TOK_NULL)
      eog[n_eog++] = fim_eog[k];
  for (const char *const *t = end_of_generation; *t; t++) {
    tok_id id = find_token(v, *t);
    if (id != TOK_NULL) {
      eog[n_eog++] = id;
      make_control(v, id);
    }
  }
  for (const char *const *t = always_user_defined; *t; t++) {
    tok_id id = find_token(v, *t);
    if (id != TOK_NULL)
      v->attrs[id] = TOK_ATTR_USER_DEFINED;
  }
  const tok_id own[] = {v->specials.eos, v->specials.eot, v->specials.eom};
  for (size_t k = 0; k < 3; k++)
    if (own[k] != TOK_NULL)
      eog[n_eog++] = own[k];
  bool has_return = false, has_call = false, has_flush = false, has_end = false;
  bool has_tool_response = false, has_s = false;
  tok_id end_id = TOK_NULL, s_id = TOK_NULL;
  for (size_t k = 0; k < n_eog; k++) {
    size_t n;
    const char *t = tok_strings_get(&v->texts, eog[k], &n);
    has_return |= strcmp(t, "<|return|>") == 0;
    has_call |= strcmp(t, "<|call|>") == 0 || strcmp(t, "<|calls|>") == 0;
    has_flush |= strcmp(t, "<|flush|>") == 0;
    has_tool_response |= strcmp(t, "<|tool_response>") == 0;
    if (strcmp(t, "<|end|>") == 0) {
      has_end = true;
      end_id = eog[k];
    }
    if (strcmp(t, "</s>") == 0) {
      has_s = true;
      s_id = eog[k];
    }
  }
  /* o200k_harmony and solar-open: <|end|> is no end of generation there. */
  bool drop_end = (has_return && has_call && has_end) || (has_call && has_flush && has_end);
  if (drop_end)
    v->attrs[end_id] = TOK_ATTR_USER_DEFINED;
  /* Gemma 4 and paddleocr: </s> is an ordinary token there. */
  bool drop_s = has_tool_response && has_s;
  if (drop_s)
    v->attrs[s_id] = TOK_ATTR_NORMAL;
  /* what generation stops at: the set less the two exceptions */
  v->n_eog = 0;
  for (size_t k = 0; k < n_eog; k++) {
    tok_id id = eog[k];
    bool seen = (drop_end && id == end_id) || (drop_s && id == s_id);
    for (uint32_t j = 0; j < v->n_eog && !seen; j++)
      seen = v->eog[j] == id;
    if (!seen && v->n_eog < sizeof v->eog / sizeof v->eog[0])
      v->eog[v->n_eog++] = id;
  }
}

bool tok_vocab_is_eog(const tok_vocab *vocab, tok_id id) {
  for (uint32_t j = 0; j < vocab->n_eog; j++)
    if (vocab->eog[j] == id)
      return true;
  return false;
}

static int by_key(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Control, user-defined and unknown tokens, longest text first: the order llama.cpp tries them
 * in. (llama.cpp's sort is not stable; among texts of one length we keep id order, which gives
 * the same partition unless two such texts can overlap, as none do in the tested vocabularies.) */
static chord_status build_special_order(tok_vocab *v, chord_error *error) {
  v->special_order = rt_malloc((size_t)v->n_tokens * sizeof *v->special_order);
  if (!v->special_order)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory loading the vocabulary");
  uint64_t *keys = rt_malloc((size_t)v->n_tokens * sizeof *keys);
  if (!keys)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory loading the vocabulary");
  v->n_special = 0;
  for (uint32_t i = 0; i < v->n_tokens; i++) {
    if (v->attrs[i] & (TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED | TOK_ATTR_UNKNOWN)) {
      size_t n;
      tok_strings_get(&v->texts, (int32_t)i, &n);
      keys[v->n_special++] = (uint64_t)(UINT32_MAX - n) << 32 | i; /* longest, then lowest id */
    }
  }
  qsort(keys, v->n_special, sizeof *keys, by_key);
  for (uint32_t k = 0; k < v->n_special; k++)
    v->special_order[k] = (tok_id)(uint32_t)keys[k];
  rt_free(keys);
  return tok_trie_build(v, error);
}

/* Attributes llama.cpp sets by model and tokenizer name after everything else. */
static chord_status adjust_by_name(const gguf_file *f, tok_vocab *v, chord_error *error) {
  char *name = NULL, *arch = NULL;
  chord_status st = optional_string(f, "general.name", &name, error);
  if (!st)
    st = optional_string(f, "general.architecture", &arch, error);
  if (st) {
    rt_free(name);
    return st;
  }
  for (char *c = name; *c; c++)
    if (*c >= 'A' && *c <= 'Z')
      *c = (char)(*c - 'A' + 'a');
  if (contains(v->pre_name, "jina-v2-de") || contains(v->pre_name, "jina-v2-es") ||
      contains(v->pre_name, "jina-v2-code") || contains(arch, "nomic-bert-moe") ||
      contains(arch, "jina-bert-v3")) {
    tok_id mask = find_token(v, "<mask>");
    if (mask != TOK_NULL)
      v->attrs[mask] |= TOK_ATTR_LSTRIP;
  } else if (contains(name, "phi-3") || contains(name, "phi3")) {
    for (uint32_t k = 0; k < v->n_special; k++)
      v->attrs[v->special_order[k]] |= TOK_ATTR_RSTRIP;
    tok_id t = find_token(v, "</s>");
    if (t != TOK_NULL)
      v->attrs[t] |= TOK_ATTR_RSTRIP;
    static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
    for (size_t k = 0; k < 3; k++)
      if ((t = find_token(v, keep[k])) != TOK_NULL)
        v->attrs[t] &= (uint16_t)~TOK_ATTR_RSTRIP;
  } else if (contains(name, "modern-bert")) {
    tok_id mask = find_token(v, "[MASK]");
    if (mask != TOK_NULL)
      v->attrs[mask] |= TOK_ATTR_LSTRIP;
  }
  rt_free(name);
  rt_free(arch);
  return CHORD_OK;
}

/* Where an SPM fragment can be cut into independent pieces (spm.c): before a ▁ that follows
 * another character, unless a token with a ▁ after another character occurs across the cut.
 * Those tokens are few (none in Llama 2, one in Gemma 3); with many, cutting is off. */
static chord_status find_spm_spans(tok_vocab *v, chord_error *error) {
  enum { MAX_SPANS = 256 };
  static const char space[] = "\xe2\x96\x81";
  v->spm_span_token = rt_malloc(MAX_SPANS * sizeof *v->spm_span_token);
  v->spm_span_offset = rt_malloc(MAX_SPANS * sizeof *v->spm_span_offset);
  if (!v->spm_span_token || !v->spm_span_offset)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory loading the vocabulary");
  v->spm_cuts = true;
  for (uint32_t i = 0; i < v->n_tokens && v->spm_cuts; i++) {
    size_t n;
    const char *t = tok_strings_get(&v->texts, (int32_t)i, &n);
    for (size_t k = 1; k + 3 <= n; k++) {
      if (memcmp(t + k, space, 3) != 0 || (k >= 3 && memcmp(t + k - 3, space, 3) == 0))
        continue;
      if (v->n_spm_spans == MAX_SPANS) {
        v->spm_cuts = false;
        break;
      }
      v->spm_span_token[v->n_spm_spans] = (tok_id)i;
      v->spm_span_offset[v->n_spm_spans++] = (uint32_t)k;
    }
  }
  return CHORD_OK;
}

/* The newline token as llama.cpp determines it before the special ids are read. */
static chord_status find_newline(tok_vocab *v, chord_error *error) {
  if (v->kind == TOK_KIND_SPM) {
    tok_id t = find_token(v, "<0x0A>");
    v->specials.nl = t != TOK_NULL ? t : find_token(v, "\n");
    if (v->specials.nl == TOK_NULL)
      v->specials.nl = v->specials.pad;
    return CHORD_OK;
  }
  tok_ids ids = {0};
  tok_scratch s = {0};
  chord_status st = tok_bpe_fragment(v, &s, (const uint8_t *)"\n", 1, &ids, error);
  v->specials.nl = !st && ids.count ? ids.ids[0] : v->specials.pad;
  tok_ids_free(&ids);
  tok_scratch_free(&s);
  return st;
}

/* ---- loading --------------------------------------------------------------------------------- */

static chord_status load(const gguf_file *f, tok_vocab *v, chord_error *error) {
  gguf_string model;
  chord_status st = gguf_get_string(f, "tokenizer.ggml.model", &model, error);
  if (st == CHORD_ERROR_NOT_FOUND)
    return rt_error(error, CHORD_ERROR_NOT_FOUND,
                    "%s: no tokenizer (tokenizer.ggml.model is "
                    "missing)",
                    f->path);
  if (st)
    return st;
  if (!(v->model_name = rt_strndup(model.data, (size_t)model.size)))
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory");
  if ((st = optional_string(f, "tokenizer.ggml.pre", &v->pre_name, error)))
    return st;

  tok_specials none = {TOK_NULL, TOK_NULL, TOK_NULL, TOK_NULL, TOK_NULL,
                       TOK_NULL, TOK_NULL, TOK_NULL, TOK_NULL, TOK_NULL,
                       TOK_NULL, TOK_NULL, TOK_NULL, TOK_NULL, TOK_NULL};
  v->specials = none;
  if (strcmp(v->model_name, "llama") == 0) {
    v->kind = TOK_KIND_SPM;
    v->specials.bos = 1;
    v->specials.eos = 2;
    v->specials.unk = 0;
    v->add_space_prefix = true;
    v->add_bos = true;
  } else if (strcmp(v->model_name, "gpt2") == 0) {
    v->kind = TOK_KIND_BPE;
    v->specials.bos = 11;
    v->specials.eos = 11;
    v->clean_spaces = true;
    tok_pre_flags flags;
    v->pre = tok_pre_find(v->pre_name, &flags);
    if (!flags.known)
      return rt_error(error, CHORD_ERROR_UNSUPPORTED,
                      "%s: unknown pre-tokenizer type "
                      "(tokenizer.ggml.pre): '%s'",
                      f->path, v->pre_name);
    if (!flags.supported)
      return rt_error(error, CHORD_ERROR_UNSUPPORTED,
                      "%s: pre-tokenizer '%s' "
                      "(tokenizer.ggml.pre) is not supported by chord",
                      f->path, v->pre_name);
    v->ignore_merges = flags.ignore_merges;
    v->add_bos = flags.add_bos;
    v->add_sep = flags.add_sep;
    v->clean_spaces = !flags.keep_spaces;
    if (flags.no_bos)
      v->specials.bos = TOK_NULL;
  } else {
    for (size_t k = 0; k < sizeof other_models / sizeof other_models[0]; k++)
      if (strcmp(v->model_name, other_models[k].name) == 0)
        return rt_error(error, CHORD_ERROR_UNSUPPORTED,
                        "%s: tokenizer model '%s' "
                        "(tokenizer.ggml.model, %s) is not supported by chord",
                        f->path, v->model_name, other_models[k].what);
    return rt_error(error, CHORD_ERROR_UNSUPPORTED,
                    "%s: unknown tokenizer model "
                    "(tokenizer.ggml.model): '%s'",
                    f->path, v->model_name);
  }
  if ((st = optional_bool(f, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix, error)) ||
      (st = optional_bool(f, "tokenizer.ggml.remove_extra_whitespaces",
                          &v->remove_extra_whitespaces, error)))
    return st;

  if ((st = load_tokens(f, v, error)))
    return st;
  if (v->kind == TOK_KIND_SPM && (st = find_spm_spans(v, error)))
    return st;
  if (v->kind == TOK_KIND_BPE) {
    if ((st = load_merges(f, v, error)) || (st = tok_regexes_compile(v->pre, &v->regexes, error)))
      return st;
  }
  build_byte_tables(v);
  if ((st = find_newline(v, error)) || (st = load_special_ids(f, v, error)))
    return st;
  build_byte_tables(v); /* the SPM fallback may use the unknown token the file names */
  adjust_attributes(v);
  if ((st = build_special_order(v, error)) || (st = tok_pieces_build(v, error)) ||
      (st = adjust_by_name(f, v, error)))
    return st;
  return CHORD_OK;
}

chord_status tok_vocab_load(const gguf_file *file, tok_vocab **out, chord_error *error) {
  *out = NULL;
  tok_vocab *v = rt_calloc(1, sizeof *v);
  if (!v)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory loading the vocabulary");
  chord_status st = load(file, v, error);
  if (st) {
    tok_vocab_free(v);
    return st;
  }
  *out = v;
  return CHORD_OK;
}

chord_status tok_vocab_open(const char *path, tok_vocab **out, chord_error *error) {
  *out = NULL;
  gguf_file *f;
  chord_status st = gguf_open(path, &f, error);
  if (st)
    return st;
  st = tok_vocab_load(f, out, error);
  gguf_close(f);
  return st;
}

void tok_vocab_free(tok_vocab *v) {
  if (!v)
    return;
  rt_free(v->model_name);
  rt_free(v->pre_name);
  tok_strings_free(&v->texts);
  rt_free(v->scores);
  rt_free(v->attrs);
  rt_free(v->special_order);
  rt_free(v->trie);
  rt_free(v->spm_span_token);
  rt_free(v->spm_span_offset);
  rt_free(v->piece_pool);
  rt_free(v->piece_offsets);
  tok_regexes_free(v->regexes);
  tok_merges_free(&v->merges);
  rt_free(v);
}

/* ---- accessors ------------------------------------------------------------------------------- */

tok_kind tok_vocab_kind(const tok_vocab *v) { return v->kind; }
const char *tok_vocab_model_name(const tok_vocab *v) { return v->model_name; }
const char *tok_vocab_pre_name(const tok_vocab *v) { return v->pre_name; }
uint32_t tok_vocab_size(const tok_vocab *v) { return v->n_tokens; }
const tok_specials *tok_vocab_specials(const tok_vocab *v) { return &v->specials; }
bool tok_vocab_add_bos(const tok_vocab *v) { return v->add_bos; }
bool tok_vocab_add_eos(const tok_vocab *v) { return v->add_eos; }
bool tok_vocab_add_space_prefix(const tok_vocab *v) { return v->add_space_prefix; }

const char *tok_vocab_text(const tok_vocab *v, tok_id id, size_t *size) {
  if (id < 0 || (uint32_t)id >= v->n_tokens) {
    *size = 0;
    return "";
  }
  return tok_strings_get(&v->texts, id, size);
}

float tok_vocab_score(const tok_vocab *v, tok_id id) {
  return id >= 0 && (uint32_t)id < v->n_tokens ? v->scores[id] : 0.0f;
}

uint32_t tok_vocab_attr(const tok_vocab *v, tok_id id) {
  return id >= 0 && (uint32_t)id < v->n_tokens ? v->attrs[id] : TOK_ATTR_UNDEFINED;
}
