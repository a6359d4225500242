/* The tokenizer against llama.cpp, one configuration per run (ctest sets TOK_MODE and TOK_NAME):
 *
 *   vocab NAME      llama.cpp's own cases for shared/testdata/vocab/ggml-vocab-NAME.gguf (.inp
 *                   and .out): every case's ids exactly, and its detokenization as llama.cpp's.
 *   corpus NAME     data/NAME.ref: the corpus with add_special and parse_special each off and on,
 *                   the detokenization of the reference ids, the special ids and flags, and every
 *                   token's attributes and pieces (hashed per block of 4096 tokens).
 *   roundtrip NAME  llama.cpp's test-tokenizer-1 property: every token's piece tokenizes and
 *                   detokenizes back to itself, and so does every codepoint (surrogates and
 *                   U+40000..U+E0000 excepted, as there); where llama.cpp itself fails the
 *                   property (pieces that are not valid UTF-8, bytes the vocabulary lacks) we
 *                   must give what it gives.
 *
 * Configurations whose pre-tokenizer has no vocabulary file of its own are the gpt-2 file with
 * tokenizer.ggml.pre changed, written here with the GGUF writer as the reference script did. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontends/gguf/gguf.h"
#include "runtime/tokenizer/tokenizer.h"
#include "tok_reference.h"

/* Under a sanitizer the round trips check every 4th token and every 31st codepoint above U+3000
 * (all below), to keep the suite's time modest; the plain build checks every one. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifdef SANITIZED
enum { TOKEN_STRIDE = 4, CODEPOINT_STRIDE = 31 };
#else
enum { TOKEN_STRIDE = 1, CODEPOINT_STRIDE = 1 };
#endif

static const char *env_or_fail(const char *name) {
  const char *v = getenv(name);
  cr_assert(v && *v, "%s is not set (run through ctest)", name);
  return v;
}

static char temp_dir[512];

static void remove_temp(void) {
  if (!temp_dir[0])
    return;
  char path[600];
  snprintf(path, sizeof path, "%s/vocab.gguf", temp_dir);
  unlink(path);
  rmdir(temp_dir);
  temp_dir[0] = '\0';
}

/* The vocabulary a configuration names, written as a copy with another pre-tokenizer if asked. */
static tok_vocab *open_config_vocab(const ref_config *c) {
  char path[1024];
  chord_error error;
  if (strcmp(c->vocab, "@default-model") == 0)
    cr_assert_eq(chord_default_model_path(path, sizeof path, &error), CHORD_OK, "%s",
                 error.message);
  else
    snprintf(path, sizeof path, "%s/vocab/%s", env_or_fail("CHORD_TEST_DATA"), c->vocab);
  if (strcmp(c->pre, "-") != 0) {
    gguf_file *f;
    cr_assert_eq(gguf_open(path, &f, &error), CHORD_OK, "%s", error.message);
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(temp_dir, sizeof temp_dir, "%s/chord-tok-XXXXXX", base);
    cr_assert(mkdtemp(temp_dir), "mkdtemp: %s", strerror(errno));
    snprintf(path, sizeof path, "%s/vocab.gguf", temp_dir);
    gguf_writer *w = gguf_writer_init();
    cr_assert_not_null(w);
    cr_assert_eq(gguf_writer_copy_kv(w, f, &error), CHORD_OK, "%s", error.message);
    cr_assert_eq(gguf_writer_set_string(w, "tokenizer.ggml.pre", c->pre, &error), CHORD_OK, "%s",
                 error.message);
    cr_assert_eq(gguf_writer_write(w, path, &error), CHORD_OK, "%s", error.message);
    gguf_writer_free(w);
    gguf_close(f);
  }
  tok_vocab *v;
  cr_assert_eq(tok_vocab_open(path, &v, &error), CHORD_OK, "%s", error.message);
  remove_temp();
  return v;
}

static void load_config(const char *name, ref_config *c) {
  const char *why = ref_load_config(env_or_fail("TOK_DATA"), name, c);
  cr_assert_null(why, "%s", why);
}

static uint32_t detok_hash(const tok_vocab *v, const ref_list *ids, bool remove_special,
                           bool unparse_special) {
  tok_text text = {0};
  chord_error error;
  cr_assert_eq(
      tok_detokenize(v, ids->ids, ids->count, remove_special, unparse_special, &text, &error),
      CHORD_OK, "%s", error.message);
  uint32_t h = (uint32_t)ref_fnv(text.data, text.size, REF_FNV_INIT);
  tok_text_free(&text);
  return h;
}

static void print_ids(const char *what, const int32_t *ids, size_t n) {
  fprintf(stderr, "  %s:", what);
  for (size_t i = 0; i < n; i++)
    fprintf(stderr, " %d", (int)ids[i]);
  fprintf(stderr, "\n");
}

static bool same_ids(const tok_ids *got, const ref_list *want) {
  return got->count == want->count &&
         (got->count == 0 || memcmp(got->ids, want->ids, got->count * sizeof *got->ids) == 0);
}

/* ---- vocab ----------------------------------------------------------------------------------- */

static void run_vocab(const char *name) {
  char path[1024], inp[1100], outp[1100];
  snprintf(path, sizeof path, "%s/vocab/ggml-vocab-%s.gguf", env_or_fail("CHORD_TEST_DATA"), name);
  snprintf(inp, sizeof inp, "%s.inp", path);
  snprintf(outp, sizeof outp, "%s.out", path);
  size_t in_size, out_size;
  char *in_text = ref_read_file(inp, &in_size), *out_text = ref_read_file(outp, &out_size);
  cr_assert(in_text && out_text, "cannot read %s or %s", inp, outp);

  tok_vocab *v;
  chord_error error;
  cr_assert_eq(tok_vocab_open(path, &v, &error), CHORD_OK, "%s", error.message);
  ref_config c;
  load_config(name, &c);
  ref_string *corpus;
  char corpus_path[1024];
  snprintf(corpus_path, sizeof corpus_path, "%s/corpus.txt", env_or_fail("TOK_DATA"));
  long n_corpus = ref_load_corpus(corpus_path, &corpus);
  cr_assert_gt(n_corpus, 0, "cannot read %s", corpus_path);

  static const char sep[] = "\n__ggml_vocab_test__\n";
  char *cursor = in_text, *out_cursor = out_text;
  int cases = 0, passed = 0, detok_checked = 0, detok_passed = 0;
  for (char *end; (end = strstr(cursor, sep)); cursor = end + strlen(sep)) {
    size_t size = (size_t)(end - cursor);
    char *line = ref_next_line(&out_cursor);
    cr_assert_not_null(line, "%s has fewer lines than %s has cases", outp, inp);
    tok_ids want = {0}, got = {0};
    for (char *p = line, *q; (want.count < 4096) && (strtol(p, &q, 10), q != p); p = q) {
      if (want.count == want.capacity)
        want.ids = realloc(want.ids, (want.capacity = want.capacity ? want.capacity * 2 : 64) *
                                         sizeof *want.ids);
      want.ids[want.count++] = (tok_id)strtol(p, &q, 10);
    }
    cr_assert_eq(tok_tokenize(v, cursor, size, false, false, &got, &error), CHORD_OK, "%s",
                 error.message);
    cases++;
    bool ok = got.count == want.count &&
              (!got.count || memcmp(got.ids, want.ids, got.count * sizeof *got.ids) == 0);
    if (ok) {
      passed++;
    } else {
      fprintf(stderr, "case %d '%.*s'\n", cases - 1, (int)size, cursor);
      print_ids("expected", want.ids, want.count);
      print_ids("got     ", got.ids, got.count);
    }
    /* The detokenization, against llama.cpp's for the same string in the corpus. */
    for (long k = 0; k < n_corpus && k < (long)c.n_cases; k++) {
      if (corpus[k].size != size || memcmp(corpus[k].data, cursor, size) != 0)
        continue;
      ref_list ids = {want.ids, want.count};
      detok_checked++;
      if (detok_hash(v, &ids, false, true) == c.cases[k].detok[0])
        detok_passed++;
      else
        fprintf(stderr, "case %d '%.*s': detokenizes differently from llama.cpp\n", cases - 1,
                (int)size, cursor);
      break;
    }
    tok_ids_free(&want);
    tok_ids_free(&got);
  }
  fprintf(stderr, "tokenizer_vocab_%s: %d/%d cases exact, %d/%d detokenized as llama.cpp\n", name,
          passed, cases, detok_passed, detok_checked);
  cr_assert_gt(cases, 0);
  cr_assert_eq(passed, cases, "%d of %d cases differ from llama.cpp", cases - passed, cases);
  cr_assert_eq(detok_checked, cases, "some cases are missing from the corpus (rerun the script)");
  cr_assert_eq(detok_passed, detok_checked);
  for (long k = 0; k < n_corpus; k++)
    free(corpus[k].data);
  free(corpus);
  ref_free(&c);
  tok_vocab_free(v);
  free(in_text);
  free(out_text);
}

/* ---- corpus ---------------------------------------------------------------------------------- */

static void run_corpus(const char *name) {
  ref_config c;
  load_config(name, &c);
  ref_string *corpus;
  char corpus_path[1024];
  snprintf(corpus_path, sizeof corpus_path, "%s/corpus.txt", env_or_fail("TOK_DATA"));
  long n_corpus = ref_load_corpus(corpus_path, &corpus);
  cr_assert_eq(n_corpus, (long)c.n_cases, "the corpus has %ld strings, %s.ref %zu", n_corpus, name,
               c.n_cases);
  cr_assert_geq(n_corpus, 300);
  tok_vocab *v = open_config_vocab(&c);
  chord_error error;

  /* The vocabulary as llama.cpp sees it. */
  cr_assert_eq(tok_vocab_size(v), c.n_tokens);
  const tok_specials *s = tok_vocab_specials(v);
  const tok_id specials[6] = {s->bos, s->eos, s->eot, s->sep, s->nl, s->pad};
  static const char *const special_names[6] = {"bos", "eos", "eot", "sep", "nl", "pad"};
  for (int k = 0; k < 6; k++)
    cr_expect_eq(specials[k], c.specials[k], "%s: %s id %d, llama.cpp %d", name, special_names[k],
                 (int)specials[k], (int)c.specials[k]);
  cr_expect_eq(tok_vocab_add_bos(v), c.add_bos != 0);
  cr_expect_eq(tok_vocab_add_eos(v), c.add_eos != 0);
  int bad_blocks = 0;
  for (size_t b = 0; b < c.n_blocks; b++) {
    uint64_t attrs = REF_FNV_INIT, pieces = REF_FNV_INIT;
    for (uint32_t t = (uint32_t)b * 4096; t < c.n_tokens && t < (b + 1) * 4096; t++) {
      uint32_t a = tok_vocab_attr(v, (tok_id)t);
      uint8_t le[4] = {(uint8_t)a, (uint8_t)(a >> 8), (uint8_t)(a >> 16), (uint8_t)(a >> 24)};
      attrs = ref_fnv(le, 4, attrs);
      for (int special = 1; special >= 0; special--) {
        size_t n;
        const char *p = tok_token_piece(v, (tok_id)t, special, &n);
        pieces = ref_fnv(p, n, pieces);
        pieces = ref_fnv("", 1, pieces);
      }
    }
    if (attrs != c.blocks[b][0] || pieces != c.blocks[b][1]) {
      fprintf(stderr, "%s: tokens %zu..%zu: %s differ from llama.cpp's\n", name, b * 4096,
              b * 4096 + 4095, attrs != c.blocks[b][0] ? "attributes" : "pieces");
      bad_blocks++;
    }
  }
  cr_expect_eq(bad_blocks, 0);

  int bad_ids = 0, bad_detok = 0, shown = 0;
  for (long i = 0; i < n_corpus; i++) {
    for (int k = 0; k < 4; k++) {
      tok_ids got = {0};
      cr_assert_eq(tok_tokenize(v, corpus[i].data, corpus[i].size, k >= 2, k & 1, &got, &error),
                   CHORD_OK, "%s", error.message);
      if (!same_ids(&got, &c.cases[i].ids[k])) {
        bad_ids++;
        if (shown++ < 10) {
          fprintf(stderr, "%s: case %ld (add_special %d, parse_special %d): '%.*s'\n", name, i,
                  k >= 2, k & 1, (int)corpus[i].size, corpus[i].data);
          print_ids("llama.cpp", c.cases[i].ids[k].ids, c.cases[i].ids[k].count);
          print_ids("chord    ", got.ids, got.count);
        }
      }
      tok_ids_free(&got);
    }
    if (detok_hash(v, &c.cases[i].ids[0], false, true) != c.cases[i].detok[0] ||
        detok_hash(v, &c.cases[i].ids[3], true, false) != c.cases[i].detok[1]) {
      bad_detok++;
      if (shown++ < 10)
        fprintf(stderr, "%s: case %ld detokenizes differently from llama.cpp: '%.*s'\n", name, i,
                (int)corpus[i].size, corpus[i].data);
    }
  }
  fprintf(stderr,
          "tokenizer_corpus_%s: %ld strings x 4 flag settings: %ld/%ld id lists and "
          "%ld/%ld detokenizations as llama.cpp\n",
          name, n_corpus, 4 * n_corpus - bad_ids, 4 * n_corpus, n_corpus - bad_detok, n_corpus);
  cr_expect_eq(bad_ids, 0, "%d id lists differ from llama.cpp", bad_ids);
  cr_expect_eq(bad_detok, 0, "%d detokenizations differ from llama.cpp", bad_detok);
  for (long i = 0; i < n_corpus; i++)
    free(corpus[i].data);
  free(corpus);
  ref_free(&c);
  tok_vocab_free(v);
}

/* ---- roundtrip ------------------------------------------------------------------------------- */

/* Detokenize(tokenize(text)) with llama.cpp's test-tokenizer-1 settings; returns the id count. */
static size_t round_trip(const tok_vocab *v, const char *text, size_t size, bool parse_special,
                         tok_text *check) {
  tok_ids ids = {0};
  chord_error error;
  cr_assert_eq(tok_tokenize(v, text, size, false, parse_special, &ids, &error), CHORD_OK, "%s",
               error.message);
  check->size = 0;
  cr_assert_eq(tok_detokenize(v, ids.ids, ids.count, false, true, check, &error), CHORD_OK, "%s",
               error.message);
  size_t n = ids.count;
  tok_ids_free(&ids);
  return n;
}

static void run_roundtrip(const char *name) {
  ref_config c;
  load_config(name, &c);
  cr_assert(c.roundtrip, "%s.ref has no round-trip data (add it to ROUNDTRIP in the script)", name);
  tok_vocab *v = open_config_vocab(&c);
  chord_error error;
  tok_text piece = {0}, check = {0};
  long bad = 0, exceptions = 0;
  uint32_t n_tokens = tok_vocab_size(v);
  for (uint32_t t = 0; t < n_tokens; t += TOKEN_STRIDE) {
    tok_id id = (tok_id)t;
    piece.size = 0;
    cr_assert_eq(tok_detokenize(v, &id, 1, false, true, &piece, &error), CHORD_OK, "%s",
                 error.message);
    size_t n = round_trip(v, piece.data, piece.size, true, &check);
    const ref_range *e = ref_find_exception(c.token_exceptions, c.n_token_exceptions, t);
    bool ok = e ? (uint32_t)ref_fnv(check.data, check.size, REF_FNV_INIT) == e->hash && n == e->n
                : check.size == piece.size && memcmp(check.data, piece.data, piece.size) == 0 &&
                      (!c.whole || n == 1);
    exceptions += e != NULL;
    if (!ok && bad++ < 10)
      fprintf(stderr, "%s: token %u '%s' detokenizes to '%s' after tokenizing (%zu tokens)%s\n",
              name, t, piece.data, check.data, n, e ? ", unlike llama.cpp" : "");
  }
  long cp_bad = 0, cp_exceptions = 0, cp_count = 0;
  bool spm = tok_vocab_kind(v) == TOK_KIND_SPM;
  for (uint32_t cp = 0; cp < 0x110000; cp += cp < 0x3000 ? 1 : CODEPOINT_STRIDE) {
    if ((cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x40000 && cp <= 0xe0000) || cp == 0x2581)
      continue;
    char utf8[4];
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (n == 1) {
      utf8[0] = (char)cp;
    } else {
      for (size_t k = n - 1; k > 0; k--)
        utf8[k] = (char)(0x80 | ((cp >> (6 * (n - 1 - k))) & 0x3f));
      utf8[0] = (char)((0xf00 >> n) | (cp >> (6 * (n - 1))));
    }
    round_trip(v, utf8, n, spm, &check);
    cp_count++;
    const ref_range *e = ref_find_exception(c.codepoint_exceptions, c.n_codepoint_exceptions, cp);
    bool ok = e ? (uint32_t)ref_fnv(check.data, check.size, REF_FNV_INIT) == e->hash
                : check.size == n && memcmp(check.data, utf8, n) == 0;
    cp_exceptions += e != NULL;
    if (!ok && cp_bad++ < 10)
      fprintf(stderr, "%s: codepoint U+%04X comes back as '%s'%s\n", name, cp, check.data,
              e ? ", unlike llama.cpp" : "");
  }
  fprintf(stderr,
          "tokenizer_roundtrip_%s: %u tokens (%ld where llama.cpp fails the property, "
          "matched), %ld codepoints (%ld such): %ld + %ld differences\n",
          name, (n_tokens + TOKEN_STRIDE - 1) / TOKEN_STRIDE, exceptions, cp_count, cp_exceptions,
          bad, cp_bad);
  cr_expect_eq(bad, 0, "%ld tokens do not round-trip as in llama.cpp", bad);
  cr_expect_eq(cp_bad, 0, "%ld codepoints do not round-trip as in llama.cpp", cp_bad);
  tok_text_free(&piece);
  tok_text_free(&check);
  ref_free(&c);
  tok_vocab_free(v);
}

Test(tokenizer, reference, .fini = remove_temp) {
  const char *mode = env_or_fail("TOK_MODE"), *name = env_or_fail("TOK_NAME");
  if (strcmp(mode, "vocab") == 0)
    run_vocab(name);
  else if (strcmp(mode, "corpus") == 0)
    run_corpus(name);
  else if (strcmp(mode, "roundtrip") == 0)
    run_roundtrip(name);
  else
    cr_assert_fail("unknown TOK_MODE %s", mode);
}
