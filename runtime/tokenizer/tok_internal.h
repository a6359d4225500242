/* What the tokenizer's files share: the vocabulary's layout, the hash tables, the Unicode and
 * byte-level helpers and the growable buffers. Not part of the tokenizer's interface. */
#ifndef CHORD_RUNTIME_TOK_INTERNAL_H
#define CHORD_RUNTIME_TOK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/tokenizer/tokenizer.h"

/* ---- hashing --------------------------------------------------------------------------------- */

uint64_t tok_hash_bytes(const void *data, size_t size);

/* Strings interned in one pool, looked up by content. Ids are dense from 0 in insertion order;
 * the vocabulary interns its tokens first, so a token's interned id is its token id. Each string
 * is followed by a NUL in the pool, so it can also be read as a C string (up to a first NUL). */
typedef struct tok_strings {
  char *pool;
  size_t pool_size, pool_capacity;
  uint32_t *offsets; /* count + 1 entries: string i starts at offsets[i], its NUL before i + 1 */
  uint32_t count, capacity;
  uint64_t *slots; /* hash high bits << 32 | (id + 1); 0 = empty */
  uint32_t mask;
} tok_strings;

void tok_strings_free(tok_strings *s);
/* The id of the string, or -1. */
int32_t tok_strings_find(const tok_strings *s, const char *data, size_t size);
/* Interns the string; *id is its id, *added whether it was new. False when out of memory. */
bool tok_strings_add(tok_strings *s, const char *data, size_t size, int32_t *id, bool *added);
/* tok_strings_add with the string's hash (tok_hash_bytes) given, and a hint that a string of
 * hash h will be added soon: loading a vocabulary hashes its texts first and fetches the table's
 * slots ahead, so that the cache misses of a table of a million slots overlap. */
bool tok_strings_add_hashed(tok_strings *s, const char *data, size_t size, uint64_t h, int32_t *id,
                            bool *added);
void tok_strings_prefetch(const tok_strings *s, uint64_t h);
/* Room for count more strings of bytes bytes in all, so that adding them neither grows nor
 * rehashes the table (a vocabulary's texts: 262144 of them for Gemma 3); false without memory. */
bool tok_strings_reserve(tok_strings *s, uint32_t count, size_t bytes);
static inline const char *tok_strings_get(const tok_strings *s, int32_t id, size_t *size) {
  *size = s->offsets[id + 1] - s->offsets[id] - 1;
  return s->pool + s->offsets[id];
}

/* BPE merge rules keyed by the interned ids of their two sides. */
typedef struct tok_merge {
  int32_t left, right; /* interned ids; left = -1 marks an empty slot */
  int32_t rank;        /* position in tokenizer.ggml.merges (the first one wins on duplicates) */
  int32_t result;      /* interned id of left+right, or -1 if no token or rule has that text */
} tok_merge;

typedef struct tok_merges {
  tok_merge *slots;
  uint32_t mask, count;
} tok_merges;

/* Sizes the table for `count` rules. */
bool tok_merges_init(tok_merges *m, uint32_t count);
/* The rule for (left, right), new (*added) or already there. */
tok_merge *tok_merges_insert(tok_merges *m, int32_t left, int32_t right, bool *added);
void tok_merges_free(tok_merges *m);
const tok_merge *tok_merges_find(const tok_merges *m, int32_t left, int32_t right);

/* ---- Unicode --------------------------------------------------------------------------------- */

/* Decodes one codepoint at text[*pos] the way llama.cpp does (it accepts overlong forms,
 * surrogates and values up to 0x1FFFFF); a byte that starts no complete sequence gives U+FFFD
 * and advances one byte. */
uint32_t tok_utf8_decode(const uint8_t *text, size_t size, size_t *pos);
/* The byte count llama.cpp assigns a lead byte (1 for continuation bytes). */
static inline size_t tok_utf8_length(uint8_t lead) {
  static const uint8_t lengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return lengths[lead >> 4];
}
/* Encodes cp (surrogates included); values past U+10FFFF, which llama.cpp cannot encode, become
 * U+FFFD. Returns the byte count (1..4). */
size_t tok_utf8_encode(uint32_t cp, uint8_t out[4]);

/* llama.cpp's whitespace: \t..\r, space, U+0085 and the Unicode separators (Zs, Zl, Zp). */
bool tok_is_whitespace(uint32_t cp);

/* The GPT-2 byte-level alphabet: each byte's stand-in character, and back. */
uint32_t tok_byte_to_cpt(uint8_t byte);
/* The byte a stand-in character stands for, or -1 if cp is not one. */
int tok_cpt_to_byte(uint32_t cp);

/* ---- growable buffers ------------------------------------------------------------------------ */

bool tok_ids_push(tok_ids *ids, tok_id id);
bool tok_text_append(tok_text *text, const void *data, size_t size);
/* Makes room for `extra` more bytes (plus the terminating NUL). */
bool tok_text_reserve(tok_text *text, size_t extra);

/* ---- the vocabulary -------------------------------------------------------------------------- */

typedef struct tok_pre_tokenizer tok_pre_tokenizer; /* pretokenize.c */

enum { TOK_NO_RANK = UINT32_MAX };

typedef struct tok_trie_node {
  int32_t child;   /* first child, -1 if none */
  int32_t sibling; /* next sibling, -1 if none */
  uint32_t rank;   /* the special token whose text ends here, special_order[rank]; or TOK_NO_RANK */
  uint8_t byte;
} tok_trie_node;

struct tok_vocab {
  tok_kind kind;
  char *model_name; /* tokenizer.ggml.model */
  char *pre_name;   /* tokenizer.ggml.pre ("" if absent) */
  uint32_t n_tokens;
  tok_strings texts; /* token i is string i; BPE merge sides that are no token follow */
  float *scores;
  uint16_t *attrs; /* TOK_ATTR_ flags (ten of them: 16 bits, half a MiB less for 262144 tokens) */
  tok_specials specials;
  tok_id eog[64]; /* end-of-generation ids (llama.cpp's special_eog_ids), no duplicates */
  uint32_t n_eog;

  bool add_bos, add_eos, add_sep, add_space_prefix;
  bool ignore_merges; /* BPE: a pre-tokenized word that is a token is kept whole */
  bool clean_spaces;  /* detokenize: llama.cpp's clean_up_tokenization_spaces */
  bool remove_extra_whitespaces;

  /* special-token recognition: control, user-defined and unknown tokens, longest text first */
  tok_id *special_order;
  uint32_t n_special;
  tok_trie_node *trie; /* the special tokens' texts; node 0 is the root */
  uint32_t n_trie;
  int32_t trie_root[256]; /* the root's child for each first byte */

  /* pieces (llama_token_to_piece with special = true): token i is piece_pool[piece_offsets[i]..
   * piece_offsets[i + 1]) */
  char *piece_pool;
  uint32_t *piece_offsets;

  /* SPM: the token for each byte when a character has no token (<0xNN>, else the byte itself) */
  tok_id spm_byte_token[256];
  /* SPM: whether a fragment may be cut before a ▁ that follows another character (see spm.c),
   * and the few tokens that would span such a cut: token ids and the offset of their ▁ */
  bool spm_cuts;
  uint32_t n_spm_spans;
  tok_id *spm_span_token;
  uint32_t *spm_span_offset;

  /* BPE */
  const tok_pre_tokenizer *pre;
  struct tok_regexes *regexes; /* compiled pre-tokenizer (pretokenize.c) */
  tok_merges merges;
  int32_t byte_piece[256];   /* interned id of each byte's stand-in character, or -1 */
  uint8_t byte_utf8[256][2]; /* each byte's stand-in character in UTF-8 (1 or 2 bytes) */
  uint8_t byte_utf8_size[256];
  tok_id single_byte_token[256]; /* token whose text is exactly this one byte, or TOK_NULL */
};

/* pretokenize.c: the pre-tokenizer table, compiling it for a vocabulary, and splitting text. */
typedef struct tok_pre_flags {
  bool known;         /* llama.cpp knows the name */
  bool supported;     /* chord implements it */
  bool ignore_merges; /* as llama.cpp sets for the name */
  bool add_bos;
  bool add_sep;
  bool keep_spaces; /* clean_spaces off */
  bool no_bos;      /* the BOS id is cleared */
} tok_pre_flags;

const tok_pre_tokenizer *tok_pre_find(const char *name, tok_pre_flags *flags);
chord_status tok_regexes_compile(const tok_pre_tokenizer *pre, struct tok_regexes **out,
                                 chord_error *error);
void tok_regexes_free(struct tok_regexes *regexes);

/* Scratch for one tokenize call, reused across its fragments and words. */
typedef struct tok_scratch {
  uint32_t *cpts;
  size_t cpts_capacity;
  uint8_t *subject[2]; /* the two subjects a regex may run on (collapsed, literal) */
  size_t subject_capacity[2];
  uint32_t *chunks, *chunks_next; /* word lengths in codepoints */
  size_t chunks_capacity, chunks_next_capacity;
  uint8_t *word;
  size_t word_capacity;
  uint8_t *encoded; /* a BPE word in the byte-level alphabet, or an SPM fragment escaped */
  size_t encoded_capacity;
  void *symbols;
  size_t symbols_capacity; /* in bytes */
  void *heap;
  size_t heap_capacity;         /* in bytes */
  void *match_data;             /* PCRE2 */
  struct tok_word_cache *words; /* bpe.c: words already tokenized in this call */
} tok_scratch;

void tok_scratch_free(tok_scratch *s);
void tok_word_cache_free(struct tok_word_cache *cache);
bool tok_scratch_grow(void **buf, size_t *capacity, size_t needed);

/* Splits `size` bytes of text (one raw fragment) into words and calls word() with each word's
 * UTF-8 bytes (codepoints re-encoded as llama.cpp does). */
typedef bool (*tok_word_fn)(void *ctx, const uint8_t *word, size_t size);
chord_status tok_pre_split(const tok_vocab *vocab, tok_scratch *s, const uint8_t *text, size_t size,
                           tok_word_fn word, void *ctx, chord_error *error);

/* bpe.c and spm.c */
chord_status tok_bpe_fragment(const tok_vocab *vocab, tok_scratch *s, const uint8_t *text,
                              size_t size, tok_ids *out, chord_error *error);
/* space_prefix: prepend the space an SPM vocabulary adds before text that starts the input or
 * follows a special token. */
chord_status tok_spm_fragment(const tok_vocab *vocab, tok_scratch *s, const uint8_t *text,
                              size_t size, bool space_prefix, tok_ids *out, chord_error *error);

/* special.c: splits text into raw fragments and recognized special tokens. */
typedef struct tok_fragment {
  size_t offset, size; /* raw text when token == TOK_NULL */
  tok_id token;
} tok_fragment;

typedef struct tok_fragments {
  tok_fragment *items;
  size_t count, capacity;
} tok_fragments;

chord_status tok_partition(const tok_vocab *vocab, const uint8_t *text, size_t size,
                           bool parse_special, tok_fragments *out, chord_error *error);
chord_status tok_trie_build(tok_vocab *vocab, chord_error *error);

/* detokenize.c: fills piece_pool and piece_offsets. */
chord_status tok_pieces_build(tok_vocab *vocab, chord_error *error);

#endif
