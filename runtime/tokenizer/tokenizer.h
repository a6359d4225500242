/* Tokenizers exact to llama.cpp: a vocabulary read from GGUF metadata (vocabulary-only files
 * too), SentencePiece-style merges by score (tokenizer.ggml.model "llama") and byte-level BPE by
 * merge rank (tokenizer.ggml.model "gpt2") with the pre-tokenizer that tokenizer.ggml.pre names,
 * special-token recognition, detokenization and a streaming detokenizer.
 *
 * "Exact" means the ids, pieces and texts llama.cpp produces for the same vocabulary and flags,
 * including its quirks; docs/tokenizer.md lists them and the few known differences. Every call
 * that can fail returns a chord_status and leaves a message in `error`; nothing prints. A loaded
 * vocabulary is read-only, so one may be shared by threads that tokenize concurrently. */
#ifndef CHORD_RUNTIME_TOKENIZER_H
#define CHORD_RUNTIME_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chord.h"
#include "frontends/gguf/gguf.h"

typedef int32_t tok_id;
#define TOK_NULL ((tok_id)-1)

typedef enum tok_kind {
  TOK_KIND_SPM, /* tokenizer.ggml.model = "llama": merges by score, <0xNN> byte fallback */
  TOK_KIND_BPE, /* tokenizer.ggml.model = "gpt2": byte-level BPE, merges by rank */
} tok_kind;

/* Token attributes, the bits llama.cpp derives from tokenizer.ggml.token_type and adjusts by
 * token text and model name (the same values as its llama_token_attr). */
enum {
  TOK_ATTR_UNDEFINED = 0,
  TOK_ATTR_UNKNOWN = 1 << 0,
  TOK_ATTR_UNUSED = 1 << 1,
  TOK_ATTR_NORMAL = 1 << 2,
  TOK_ATTR_CONTROL = 1 << 3,
  TOK_ATTR_USER_DEFINED = 1 << 4,
  TOK_ATTR_BYTE = 1 << 5,
  TOK_ATTR_NORMALIZED = 1 << 6,
  TOK_ATTR_LSTRIP = 1 << 7,
  TOK_ATTR_RSTRIP = 1 << 8,
  TOK_ATTR_SINGLE_WORD = 1 << 9,
};

/* The special ids, TOK_NULL where the vocabulary has none. */
typedef struct tok_specials {
  tok_id bos, eos, eot, eom, unk, sep, pad, mask, nl;
  tok_id fim_pre, fim_suf, fim_mid, fim_pad, fim_rep, fim_sep;
} tok_specials;

typedef struct tok_vocab tok_vocab;

/* Reads the tokenizer of an open GGUF file; the vocabulary keeps no reference to the file. An
 * unknown or unsupported tokenizer.ggml.model or tokenizer.ggml.pre is CHORD_ERROR_UNSUPPORTED
 * with a message that names it. */
chord_status tok_vocab_load(const gguf_file *file, tok_vocab **out, chord_error *error);
/* Opens `path`, loads its tokenizer and closes the file again. */
chord_status tok_vocab_open(const char *path, tok_vocab **out, chord_error *error);
void tok_vocab_free(tok_vocab *vocab);

tok_kind tok_vocab_kind(const tok_vocab *vocab);
const char *tok_vocab_model_name(const tok_vocab *vocab); /* tokenizer.ggml.model */
const char *tok_vocab_pre_name(const tok_vocab *vocab);   /* tokenizer.ggml.pre, "" if none */
uint32_t tok_vocab_size(const tok_vocab *vocab);
const tok_specials *tok_vocab_specials(const tok_vocab *vocab);
bool tok_vocab_add_bos(const tok_vocab *vocab);
/* Whether generation stops at id (llama_vocab_is_eog): EOS, EOT, EOM and the end-of-turn texts
 * llama.cpp knows (<|im_end|>, <end_of_turn>, <|eot_id|>, ...). */
bool tok_vocab_is_eog(const tok_vocab *vocab, tok_id id);
bool tok_vocab_add_eos(const tok_vocab *vocab);
bool tok_vocab_add_space_prefix(const tok_vocab *vocab);
/* A token's text as stored (SPM texts carry ▁ for spaces, BPE texts are byte-level mapped). */
const char *tok_vocab_text(const tok_vocab *vocab, tok_id id, size_t *size);
float tok_vocab_score(const tok_vocab *vocab, tok_id id);
uint32_t tok_vocab_attr(const tok_vocab *vocab, tok_id id);
/* The id of the token whose text is exactly these bytes, or TOK_NULL. */
tok_id tok_vocab_find(const tok_vocab *vocab, const char *text, size_t size);

/* A growable array of ids and a growable byte string (zero-initialize, free with *_free). */
typedef struct tok_ids {
  tok_id *ids;
  size_t count, capacity;
} tok_ids;
void tok_ids_free(tok_ids *ids);

typedef struct tok_text {
  char *data; /* NUL-terminated when not NULL; may also contain NULs */
  size_t size, capacity;
} tok_text;
void tok_text_free(tok_text *text);

/* Appends the tokens of `size` bytes of text to `out`. add_special adds BOS/EOS where the
 * vocabulary asks for them (llama.cpp's add_special); parse_special lets control and unknown
 * tokens be recognized in the text (user-defined ones always are, as in llama.cpp). Invalid
 * UTF-8 is tokenized as llama.cpp does (byte fallback for SPM, U+FFFD per bad byte for BPE). */
chord_status tok_tokenize(const tok_vocab *vocab, const char *text, size_t size, bool add_special,
                          bool parse_special, tok_ids *out, chord_error *error);

/* The bytes one token stands for (llama_token_to_piece with lstrip 0): control and unknown
 * tokens give "" unless `special`. The pointer stays valid while the vocabulary lives. */
const char *tok_token_piece(const tok_vocab *vocab, tok_id id, bool special, size_t *size);

/* Appends the text of a token sequence (llama_detokenize): remove_special drops a leading BOS and
 * a trailing EOS where the vocabulary adds them; unparse_special renders control tokens; the
 * leading space an SPM vocabulary adds is removed, and BPE vocabularies with clean-up enabled get
 * llama.cpp's space clean-up. Fails only on an id out of range or when out of memory. */
chord_status tok_detokenize(const tok_vocab *vocab, const tok_id *ids, size_t count,
                            bool remove_special, bool unparse_special, tok_text *out,
                            chord_error *error);

/* Streaming detokenization: pieces as tokens arrive, holding back an incomplete UTF-8 sequence
 * at the end until the bytes that complete it arrive (or until tok_stream_finish), so that no
 * broken character reaches the screen. A sequence that cannot complete is released as it is.
 * No space clean-up is applied (it needs text that has not arrived yet); the leading space of
 * an SPM vocabulary that adds one is removed from the first piece, as tok_detokenize does. */
typedef struct tok_stream {
  const tok_vocab *vocab;
  bool special;
  bool strip_space; /* the next piece is the first one and loses one leading space */
  uint8_t held[4];
  uint8_t n_held;
} tok_stream;

void tok_stream_init(tok_stream *stream, const tok_vocab *vocab, bool special);
/* Appends to `out` what can be shown after token `id`. */
chord_status tok_stream_push(tok_stream *stream, tok_id id, tok_text *out, chord_error *error);
/* Appends whatever is still held (an incomplete sequence at the very end). */
chord_status tok_stream_finish(tok_stream *stream, tok_text *out, chord_error *error);

#endif
