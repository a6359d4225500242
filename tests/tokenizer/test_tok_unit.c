/* Tokenizer unit tests: llama.cpp's UTF-8 reading and the byte-level alphabet, merges by score
 * and by rank on small vocabularies written here, special tokens (recognized only when asked,
 * user-defined ones always, never split, RSTRIP), detokenization rules, the streaming
 * detokenizer, every loader diagnostic, and clean failures at every allocation. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontends/gguf/gguf.h"
#include "runtime/support/alloc.h"
#include "runtime/tokenizer/tok_internal.h"
#include "runtime/tokenizer/tokenizer.h"

static char temp_dir[256];

static void make_temp_dir(void) {
  const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(temp_dir, sizeof temp_dir, "%s/chord-tok-unit-XXXXXX", base);
  cr_assert(mkdtemp(temp_dir) != NULL, "mkdtemp: %s", strerror(errno));
}

static void remove_temp_dir(void) {
  rt_alloc_fail_after(-1);
  char path[512];
  static const char *const names[] = {"bpe.gguf", "spm.gguf", "bad.gguf", "copy.gguf"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", temp_dir, names[i]);
    unlink(path);
  }
  rmdir(temp_dir);
}

TestSuite(tok, .init = make_temp_dir, .fini = remove_temp_dir);

static const char *vocab_path(const char *name) {
  static char path[1024];
  const char *data = getenv("CHORD_TEST_DATA");
  cr_assert(data, "CHORD_TEST_DATA is not set (run through ctest)");
  snprintf(path, sizeof path, "%s/vocab/ggml-vocab-%s.gguf", data, name);
  return path;
}

static tok_vocab *open_vocab(const char *path) {
  tok_vocab *v;
  chord_error error;
  cr_assert_eq(tok_vocab_open(path, &v, &error), CHORD_OK, "%s", error.message);
  return v;
}

/* Tokenizes and compares with the expected ids (terminated by -2). */
static void expect_ids(const tok_vocab *v, const char *text, size_t size, bool add_special,
                       bool parse_special, const int *want) {
  tok_ids ids = {0};
  chord_error error;
  cr_assert_eq(tok_tokenize(v, text, size, add_special, parse_special, &ids, &error), CHORD_OK,
               "%s", error.message);
  size_t n = 0;
  while (want[n] != -2)
    n++;
  bool same = ids.count == n;
  for (size_t i = 0; same && i < n; i++)
    same = ids.ids[i] == want[i];
  if (!same) {
    fprintf(stderr, "'%.*s' gave", (int)size, text);
    for (size_t i = 0; i < ids.count; i++)
      fprintf(stderr, " %d", ids.ids[i]);
    fprintf(stderr, "\n");
  }
  cr_expect(same, "'%.*s' tokenizes differently", (int)size, text);
  tok_ids_free(&ids);
}
#define IDS(...) ((const int[]){__VA_ARGS__, -2})
#define EXPECT(v, text, add, parse, ...)                                                           \
  expect_ids(v, text, sizeof text - 1, add, parse, IDS(__VA_ARGS__))

static char *detok(const tok_vocab *v, const tok_id *ids, size_t n, bool remove, bool special,
                   size_t *size) {
  tok_text t = {0};
  chord_error error;
  cr_assert_eq(tok_detokenize(v, ids, n, remove, special, &t, &error), CHORD_OK, "%s",
               error.message);
  *size = t.size;
  return t.data;
}

/* ---- small vocabularies written with the GGUF writer ----------------------------------------- */

typedef struct spec {
  const char *model, *pre;
  const char *const *tokens;
  uint32_t n_tokens;
  const int32_t *types;
  const float *scores;
  const char *const *merges;
  uint32_t n_merges;
  int bos, eos;   /* -1: no key */
  int add_bos;    /* -1: no key */
  bool no_tokens; /* leave tokenizer.ggml.tokens out */
} spec;

static void set_strings(gguf_writer *w, const char *key, const char *const *items, uint32_t n) {
  gguf_string *s = calloc(n ? n : 1, sizeof *s);
  for (uint32_t i = 0; i < n; i++)
    s[i] = (gguf_string){items[i], strlen(items[i])};
  gguf_value v = {.type = GGUF_TYPE_ARRAY,
                  .as.arr = {.elem_type = GGUF_TYPE_STRING, .count = n, .strings = s}};
  chord_error error;
  cr_assert_eq(gguf_writer_set_value(w, key, &v, &error), CHORD_OK, "%s", error.message);
  free(s);
}

static void set_scalars(gguf_writer *w, const char *key, gguf_type type, const void *data,
                        uint32_t n) {
  gguf_value v = {.type = GGUF_TYPE_ARRAY, .as.arr = {.elem_type = type, .count = n, .data = data}};
  chord_error error;
  cr_assert_eq(gguf_writer_set_value(w, key, &v, &error), CHORD_OK, "%s", error.message);
}

static const char *write_spec(const char *name, const spec *s) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", temp_dir, name);
  gguf_writer *w = gguf_writer_init();
  chord_error error;
  cr_assert_eq(gguf_writer_set_string(w, "general.architecture", "llama", &error), CHORD_OK);
  if (s->model)
    cr_assert_eq(gguf_writer_set_string(w, "tokenizer.ggml.model", s->model, &error), CHORD_OK);
  if (s->pre)
    cr_assert_eq(gguf_writer_set_string(w, "tokenizer.ggml.pre", s->pre, &error), CHORD_OK);
  if (!s->no_tokens)
    set_strings(w, "tokenizer.ggml.tokens", s->tokens, s->n_tokens);
  if (s->types)
    set_scalars(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, s->types, s->n_tokens);
  if (s->scores)
    set_scalars(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, s->scores, s->n_tokens);
  if (s->merges)
    set_strings(w, "tokenizer.ggml.merges", s->merges, s->n_merges);
  if (s->bos >= 0)
    cr_assert_eq(gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)s->bos, &error),
                 CHORD_OK);
  if (s->eos >= 0)
    cr_assert_eq(gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)s->eos, &error),
                 CHORD_OK);
  if (s->add_bos >= 0)
    cr_assert_eq(gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", s->add_bos, &error),
                 CHORD_OK);
  cr_assert_eq(gguf_writer_write(w, path, &error), CHORD_OK, "%s", error.message);
  gguf_writer_free(w);
  return path;
}

/* A byte-level BPE vocabulary: the 256 byte characters (token i is byte i), then "ab" (256),
 * "bc" (257), "abc" (258), "<|end|>" (259, control). */
static char bpe_tokens_storage[256][4];
static const char *bpe_tokens[260];
static int32_t bpe_types[260];

static spec bpe_spec(const char *const *merges, uint32_t n_merges) {
  for (int b = 0; b < 256; b++) {
    uint8_t utf8[4];
    size_t n = tok_utf8_encode(tok_byte_to_cpt((uint8_t)b), utf8);
    memcpy(bpe_tokens_storage[b], utf8, n);
    bpe_tokens_storage[b][n] = '\0';
    bpe_tokens[b] = bpe_tokens_storage[b];
    bpe_types[b] = 1;
  }
  bpe_tokens[256] = "ab";
  bpe_tokens[257] = "bc";
  bpe_tokens[258] = "abc";
  bpe_tokens[259] = "<|end|>";
  bpe_types[256] = bpe_types[257] = bpe_types[258] = 1;
  bpe_types[259] = 3;
  return (spec){"gpt2", "gpt-2",  bpe_tokens, 260, bpe_types, NULL,
                merges, n_merges, 259,        259, -1,        false};
}

Test(tok, bpe_merges_by_rank) {
  static const char *const ab_first[] = {"a b", "b c", "ab c"};
  spec s = bpe_spec(ab_first, 3);
  tok_vocab *v = open_vocab(write_spec("bpe.gguf", &s));
  EXPECT(v, "abc", false, false, 258); /* a+b (rank 0), then ab+c (rank 2) */
  EXPECT(v, "xabcx", false, false, 'x', 258, 'x');
  EXPECT(v, "ab c", false, false, 256, ' ', 'c'); /* words "ab" and " c"; Ġc has no rule */
  expect_ids(v, "", 0, true, true, (const int[]){-2});
  tok_vocab_free(v);

  /* The lower rank wins: with b+c first, "abc" becomes a + bc and stops (no rule a bc). */
  static const char *const bc_first[] = {"b c", "a b", "ab c"};
  s = bpe_spec(bc_first, 3);
  v = open_vocab(write_spec("bpe.gguf", &s));
  EXPECT(v, "abc", false, false, 'a', 257);
  EXPECT(v, "abab", false, false, 256, 256);
  tok_vocab_free(v);
}

Test(tok, bpe_special_tokens_only_when_asked) {
  static const char *const merges[] = {"a b"};
  spec s = bpe_spec(merges, 1);
  tok_vocab *v = open_vocab(write_spec("bpe.gguf", &s));
  /* a control token is text unless parse_special; recognized, it is one token, never split */
  EXPECT(v, "ab<|end|>ab", false, true, 256, 259, 256);
  EXPECT(v, "<|end|><|end|>", false, true, 259, 259);
  EXPECT(v, "ab<|end|>ab", false, false, 256, '<', '|', 'e', 'n', 'd', '|', '>', 256);
  /* gpt-2 adds no BOS: add_special changes nothing */
  EXPECT(v, "ab", true, false, 256);
  tok_vocab_free(v);
}

/* The SPM vocabulary: <unk> <s> </s>, the 256 byte tokens, then ▁ a b ▁a ab ▁ab with scores. */
static const char *spm_tokens[265];
static int32_t spm_types[265];
static float spm_scores[265];
static char spm_bytes[256][8];

static spec spm_spec(float score_space_a, float score_ab) {
  spm_tokens[0] = "<unk>";
  spm_tokens[1] = "<s>";
  spm_tokens[2] = "</s>";
  spm_types[0] = 2;
  spm_types[1] = spm_types[2] = 3;
  for (int b = 0; b < 256; b++) {
    snprintf(spm_bytes[b], sizeof spm_bytes[b], "<0x%02X>", b);
    spm_tokens[3 + b] = spm_bytes[b];
    spm_types[3 + b] = 6;
  }
  static const char *const words[] = {"\xe2\x96\x81",
                                      "a",
                                      "b",
                                      "\xe2\x96\x81"
                                      "a",
                                      "ab",
                                      "\xe2\x96\x81"
                                      "ab"};
  const float scores[] = {-1, -2, -3, score_space_a, score_ab, -4};
  for (int k = 0; k < 6; k++) {
    spm_tokens[259 + k] = words[k];
    spm_types[259 + k] = 1;
    spm_scores[259 + k] = scores[k];
  }
  return (spec){"llama", NULL, spm_tokens, 265, spm_types, spm_scores, NULL, 0, -1, -1, -1, false};
}

Test(tok, spm_merges_by_score_and_byte_fallback) {
  /* ▁a scores higher than ab: ▁ a b -> ▁a b -> ▁ab */
  spec s = spm_spec(-0.5f, -0.7f);
  tok_vocab *v = open_vocab(write_spec("spm.gguf", &s));
  EXPECT(v, "ab", false, false, 264);     /* ▁a first, then ▁a+b = ▁ab */
  EXPECT(v, "ab", true, false, 1, 264);   /* the default BOS */
  EXPECT(v, "b", false, false, 259, 261); /* ▁ b: no ▁b token */
  /* é has no token: its two bytes' tokens */
  EXPECT(v, "\xc3\xa9", false, false, 259, 3 + 0xc3, 3 + 0xa9);
  /* invalid UTF-8 falls back to bytes too */
  EXPECT(v, "a\xff", false, false, 262, 3 + 0xff);
  size_t n;
  const tok_id ids[] = {1, 264, 3 + 0xc3, 3 + 0xa9};
  char *text = detok(v, ids, 4, false, true, &n);
  cr_expect(n == 8 && memcmp(text, "<s> ab\xc3\xa9", 8) == 0, "'%s'", text);
  rt_free(text);
  text = detok(v, ids, 4, true, false, &n); /* BOS removed, so the leading space stays */
  cr_expect(n == 5 && memcmp(text, " ab\xc3\xa9", 5) == 0, "'%s'", text);
  rt_free(text);
  text = detok(v, ids + 1, 3, false, false, &n); /* no BOS: the space SPM added goes */
  cr_expect(n == 4 && memcmp(text, "ab\xc3\xa9", 4) == 0, "'%s'", text);
  rt_free(text);
  tok_vocab_free(v);

  /* ab scores higher: ▁ a b -> ▁ ab -> ▁ab */
  s = spm_spec(-0.7f, -0.5f);
  v = open_vocab(write_spec("spm.gguf", &s));
  EXPECT(v, "ab", false, false, 264);
  EXPECT(v, "aab", false, false, 262, 263); /* ▁a a b: ab first (left ▁a a has no token) */
  tok_vocab_free(v);
}

/* ---- real vocabularies ----------------------------------------------------------------------- */

Test(tok, user_defined_tokens_always_control_tokens_when_asked) {
  tok_vocab *v = open_vocab(vocab_path("deepseek-coder"));
  EXPECT(v,
         "a\xc3\xb5"
         "b",
         false, false, 64, 32000, 65); /* õ is a user-defined token */
  tok_vocab_free(v);
  v = open_vocab(vocab_path("llama-spm"));
  EXPECT(v, "<s>", true, true, 1, 1);
  EXPECT(v, "<s>", true, false, 1, 529, 29879, 29958);
  EXPECT(v, "Hello world", true, true, 1, 15043, 3186);
  tok_vocab_free(v);
}

Test(tok, rstrip_tokens_swallow_whitespace) {
  /* Phi-3: llama.cpp gives its special tokens RSTRIP by model name */
  tok_vocab *v = open_vocab(vocab_path("phi-3"));
  EXPECT(v, "<|user|>\n  hi<|end|>\n", false, true, 32010, 7251, 32007);
  EXPECT(v, "<|user|>\n  hi<|end|>\n", false, false, 529, 29989, 1792, 29989, 29958, 13, 29871,
         7251, 29966, 29989, 355, 29989, 29958, 13);
  tok_vocab_free(v);
}

Test(tok, bpe_invalid_utf8_and_space_clean_up) {
  tok_vocab *v = open_vocab(vocab_path("gpt-2"));
  EXPECT(v, "Hello world", false, false, 15496, 995);
  EXPECT(v, "a<|endoftext|>b", true, true, 64, 50256, 65);
  /* a byte that starts no character becomes U+FFFD, one per byte, as in llama.cpp */
  EXPECT(v, "\xff\xfe abc \xe2\x96", false, false, 6353, 450, 66, 220, 6353);
  /* past U+10FFFF llama.cpp aborts; chord reads U+FFFD */
  tok_ids ids = {0};
  chord_error error;
  cr_assert_eq(tok_tokenize(v, "x\xf4\x90\x80\x80y", 6, false, false, &ids, &error), CHORD_OK);
  cr_expect_geq(ids.count, 3);
  tok_ids_free(&ids);
  cr_assert_eq(tok_tokenize(v, "Hello , world !  I ' m", 22, false, false, &ids, &error), CHORD_OK);
  size_t n;
  char *text = detok(v, ids.ids, ids.count, false, true, &n);
  cr_expect_str_eq(text, "Hello, world!  I'm");
  rt_free(text);
  tok_ids_free(&ids);
  tok_vocab_free(v);
}

Test(tok, pieces_and_detokenize_errors) {
  tok_vocab *v = open_vocab(vocab_path("gpt-2"));
  size_t n;
  const char *p = tok_token_piece(v, 50256, true, &n);
  cr_expect(n == 13 && memcmp(p, "<|endoftext|>", 13) == 0);
  tok_token_piece(v, 50256, false, &n);
  cr_expect_eq(n, 0, "a control token renders as nothing without special");
  p = tok_token_piece(v, 198, false, &n);
  cr_expect(n == 1 && p[0] == '\n');
  tok_token_piece(v, 50257, true, &n);
  cr_expect_eq(n, 0);
  tok_text t = {0};
  chord_error error;
  tok_id bad[] = {15496, 99999};
  cr_expect_eq(tok_detokenize(v, bad, 2, false, true, &t, &error), CHORD_ERROR_INVALID);
  cr_expect(strstr(error.message, "99999"), "%s", error.message);
  tok_text_free(&t);
  tok_vocab_free(v);
}

Test(tok, streaming_holds_back_incomplete_characters) {
  tok_vocab *v = open_vocab(vocab_path("llama-spm"));
  /* 🙂 is four byte tokens in this vocabulary */
  tok_ids ids = {0};
  chord_error error;
  const char text[] = "\xf0\x9f\x99\x82 h\xc3\xa9llo";
  cr_assert_eq(tok_tokenize(v, text, sizeof text - 1, false, false, &ids, &error), CHORD_OK);
  cr_assert_eq(ids.count, 8);
  tok_stream s;
  tok_stream_init(&s, v, false);
  tok_text out = {0};
  size_t before[16];
  for (size_t i = 0; i < ids.count; i++) {
    cr_assert_eq(tok_stream_push(&s, ids.ids[i], &out, &error), CHORD_OK, "%s", error.message);
    before[i] = out.size;
    /* what is out so far never ends inside a character */
    size_t k = out.size;
    while (k > 0 && ((uint8_t)out.data[k - 1] & 0xc0) == 0x80)
      k--;
    if (k > 0 && (uint8_t)out.data[k - 1] >= 0xc0) {
      uint8_t lead = (uint8_t)out.data[k - 1];
      size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
      cr_expect_eq(out.size - (k - 1), need, "a broken character after token %zu", i);
    }
  }
  cr_assert_eq(tok_stream_finish(&s, &out, &error), CHORD_OK);
  /* the space SPM added goes; three emoji bytes are held, the fourth releases them */
  cr_expect_eq(before[0], 0);
  cr_expect_eq(before[3], 0);
  cr_expect_eq(before[4], 4);
  size_t n;
  char *whole = detok(v, ids.ids, ids.count, false, false, &n);
  cr_expect(out.size == n && memcmp(out.data, whole, n) == 0, "'%s' vs '%s'", out.data, whole);
  cr_expect(memcmp(out.data, text, sizeof text - 1) == 0, "'%s'", out.data);
  rt_free(whole);
  /* a sequence that cannot complete is released when the next piece arrives */
  tok_stream_init(&s, v, false);
  out.size = 0;
  cr_assert_eq(tok_stream_push(&s, 3 + 0xe2, &out, &error), CHORD_OK);
  cr_expect_eq(out.size, 0);
  cr_assert_eq(tok_stream_push(&s, tok_vocab_find(v, "a", 1), &out, &error), CHORD_OK);
  cr_expect(out.size == 2 && (uint8_t)out.data[0] == 0xe2 && out.data[1] == 'a');
  tok_text_free(&out);
  tok_ids_free(&ids);
  tok_vocab_free(v);
}

Test(tok, default_model_gemma) {
  char path[4096];
  chord_error error;
  if (chord_default_model_path(path, sizeof path, &error) != CHORD_OK)
    cr_skip_test("%s", error.message);
  tok_vocab *v = open_vocab(path);
  cr_expect_eq(tok_vocab_kind(v), TOK_KIND_SPM);
  cr_expect_eq(tok_vocab_size(v), 262144);
  cr_expect(!tok_vocab_add_space_prefix(v));
  EXPECT(v, "Hello", true, true, 2, 9259);
  EXPECT(v, "<start_of_turn>user", true, true, 2, 105, 2364);
  /* </s> is user-defined there, but llama.cpp makes it control (an end-of-generation text) */
  EXPECT(v, "a  b</s>", false, false, 236746, 138, 236763, 954, 236751, 236813);
  EXPECT(v, "a  b</s>", false, true, 236746, 138, 236763, 212);
  /* ">▁</" is a token with a ▁ after another character: no cut before that ▁ (spm.c) */
  EXPECT(v, "x> </y", false, false, 236781, 107068, 236762);
  /* generation stops at <eos> (1), <end_of_turn> (106) and </s> (212), not at <bos> (2) */
  cr_expect(tok_vocab_is_eog(v, 1));
  cr_expect(tok_vocab_is_eog(v, 106));
  cr_expect(tok_vocab_is_eog(v, 212));
  cr_expect(!tok_vocab_is_eog(v, 2));
  cr_expect(!tok_vocab_is_eog(v, 105));
  tok_vocab_free(v);
}

Test(tok, end_of_generation_ids) {
  tok_vocab *v = open_vocab(vocab_path("llama-spm"));
  cr_expect(tok_vocab_is_eog(v, 2)); /* </s> */
  cr_expect(!tok_vocab_is_eog(v, 1));
  cr_expect(!tok_vocab_is_eog(v, 0));
  tok_vocab_free(v);
  v = open_vocab(vocab_path("deepseek-llm"));
  tok_id eos = tok_vocab_specials(v)->eos;
  cr_expect(eos != TOK_NULL && tok_vocab_is_eog(v, eos));
  cr_expect(!tok_vocab_is_eog(v, tok_vocab_specials(v)->bos));
  tok_vocab_free(v);
}

/* ---- Unicode helpers ------------------------------------------------------------------------- */

Test(tok, utf8_decoding_as_llama_cpp) {
  static const struct {
    const char *bytes;
    size_t size;
    uint32_t cp;
    size_t consumed;
  } cases[] = {
      {"A", 1, 'A', 1},
      {"\xc3\xa9", 2, 0xe9, 2},
      {"\xc0\x80", 2, 0, 2},                /* overlong NUL, accepted */
      {"\xed\xa0\x80", 3, 0xd800, 3},       /* a surrogate, accepted */
      {"\xf4\x90\x80\x80", 4, 0x110000, 4}, /* past U+10FFFF, accepted */
      {"\xf7\xbf\xbf\xbf", 4, 0x1fffff, 4},
      {"\x80", 1, 0xfffd, 1},                 /* continuation byte */
      {"\xe2\x82", 2, 0xfffd, 1},             /* truncated */
      {"\xe2\x28\xa1", 3, 0xfffd, 1},         /* bad continuation */
      {"\xf8\x88\x80\x80\x80", 5, 0xfffd, 1}, /* five-byte form */
      {"\xff", 1, 0xfffd, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t pos = 0;
    uint32_t cp = tok_utf8_decode((const uint8_t *)cases[i].bytes, cases[i].size, &pos);
    cr_expect_eq(cp, cases[i].cp, "case %zu: U+%04X", i, cp);
    cr_expect_eq(pos, cases[i].consumed, "case %zu", i);
  }
  uint8_t out[4];
  cr_expect_eq(tok_utf8_encode(0xd800, out), 3);
  cr_expect_eq(tok_utf8_encode(0x110000, out), 3); /* U+FFFD */
  cr_expect(out[0] == 0xef && out[1] == 0xbf && out[2] == 0xbd);
}

Test(tok, byte_level_alphabet) {
  int printable = 0;
  for (int b = 0; b < 256; b++) {
    uint32_t cp = tok_byte_to_cpt((uint8_t)b);
    cr_expect_eq(tok_cpt_to_byte(cp), b, "byte %d", b);
    printable += cp == (uint32_t)b;
  }
  cr_expect_eq(printable, 188);
  cr_expect_eq(tok_byte_to_cpt(' '), 0x120);  /* Ġ */
  cr_expect_eq(tok_byte_to_cpt('\n'), 0x10a); /* Ċ */
  cr_expect_eq(tok_cpt_to_byte(0x100 + 68), -1);
  cr_expect_eq(tok_cpt_to_byte(0x4e00), -1);
  cr_expect(tok_is_whitespace(0x3000) && tok_is_whitespace(0x85) && tok_is_whitespace(0x2028));
  cr_expect(!tok_is_whitespace(0x200b) && !tok_is_whitespace(0x180e) && !tok_is_whitespace('a'));
}

/* ---- diagnostics ----------------------------------------------------------------------------- */

static void expect_load_error(const spec *s, chord_status status, const char *needle) {
  const char *path = write_spec("bad.gguf", s);
  tok_vocab *v = (tok_vocab *)1;
  chord_error error;
  cr_expect_eq(tok_vocab_open(path, &v, &error), status, "%s", error.message);
  cr_expect_null(v);
  cr_expect(strstr(error.message, needle), "'%s' does not mention '%s'", error.message, needle);
}

Test(tok, loader_diagnostics_name_the_problem) {
  static const char *const merges[] = {"a b"};
  spec s = bpe_spec(merges, 1);
  s.model = "t5";
  expect_load_error(&s, CHORD_ERROR_UNSUPPORTED, "'t5'");
  s.model = "no-such-model";
  expect_load_error(&s, CHORD_ERROR_UNSUPPORTED, "'no-such-model'");
  s.model = NULL;
  expect_load_error(&s, CHORD_ERROR_NOT_FOUND, "tokenizer.ggml.model");
  s = bpe_spec(merges, 1);
  s.pre = "no-such-pre";
  expect_load_error(&s, CHORD_ERROR_UNSUPPORTED, "'no-such-pre'");
  s.pre = "kimi-k2";
  expect_load_error(&s, CHORD_ERROR_UNSUPPORTED, "'kimi-k2'");
  s = bpe_spec(NULL, 0);
  expect_load_error(&s, CHORD_ERROR_FORMAT, "tokenizer.ggml.merges");
  s = bpe_spec(merges, 1);
  s.no_tokens = true;
  s.types = NULL;
  expect_load_error(&s, CHORD_ERROR_FORMAT, "tokenizer.ggml.tokens");
  s = bpe_spec(merges, 1);
  const char *dup[260];
  memcpy(dup, bpe_tokens, sizeof dup);
  dup[257] = "ab";
  s.tokens = dup;
  expect_load_error(&s, CHORD_ERROR_FORMAT, "duplicate token");
  s = bpe_spec(merges, 1);
  s.bos = -1;
  s.pre = "llama-bpe"; /* adds a BOS, and the default BOS id 11 exists: fine */
  const char *path = write_spec("bpe.gguf", &s);
  tok_vocab *v = open_vocab(path);
  cr_expect_eq(tok_vocab_specials(v)->bos, 11);
  cr_expect(tok_vocab_add_bos(v));
  tok_vocab_free(v);
  s.pre = "chatglm-bpe"; /* clears the BOS: asking for one is then an error */
  s.add_bos = 1;
  expect_load_error(&s, CHORD_ERROR_FORMAT, "tokenizer.ggml.bos_token_id");
}

/* ---- allocation failures --------------------------------------------------------------------- */

Test(tok, every_allocation_failure_is_clean) {
  static const char *const merges[] = {"a b", "b c", "ab c"};
  spec s = bpe_spec(merges, 3);
  static char paths[2][512];
  snprintf(paths[0], sizeof paths[0], "%s", write_spec("bpe.gguf", &s));
  s = spm_spec(-0.5f, -0.7f);
  snprintf(paths[1], sizeof paths[1], "%s", write_spec("spm.gguf", &s));
  for (int k = 0; k < 2; k++) {
    long n, ok_load = -1, ok_tok = -1;
    for (n = 0; n < 100000 && ok_load < 0; n++) {
      tok_vocab *v;
      chord_error error;
      rt_alloc_fail_after(n);
      chord_status st = tok_vocab_open(paths[k], &v, &error);
      rt_alloc_fail_after(-1);
      if (st == CHORD_OK) {
        ok_load = n;
        tok_vocab_free(v);
      } else {
        cr_assert(st == CHORD_ERROR_NO_MEMORY || st == CHORD_ERROR_IO, "%d: %s", st, error.message);
        cr_assert_null(v);
      }
    }
    tok_vocab *v = open_vocab(paths[k]);
    const char text[] = "ab<|end|> abc \xc3\xa9\xff x";
    for (n = 0; n < 100000 && ok_tok < 0; n++) {
      tok_ids ids = {0};
      tok_text t = {0};
      chord_error error;
      rt_alloc_fail_after(n);
      chord_status st = tok_tokenize(v, text, sizeof text - 1, true, true, &ids, &error);
      if (st == CHORD_OK)
        st = tok_detokenize(v, ids.ids, ids.count, false, true, &t, &error);
      rt_alloc_fail_after(-1);
      if (st == CHORD_OK)
        ok_tok = n;
      else
        cr_assert_eq(st, CHORD_ERROR_NO_MEMORY, "%s", error.message);
      tok_ids_free(&ids);
      tok_text_free(&t);
    }
    tok_vocab_free(v);
    cr_expect_gt(ok_load, 5, "loading made only %ld allocations", ok_load);
    cr_expect_gt(ok_tok, 2);
  }
}
