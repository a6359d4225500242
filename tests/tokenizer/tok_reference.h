/* Reading the tokenizer reference data that scripts/make-tokenizer-reference.py writes from
 * llama.cpp: the corpus (data/corpus.txt) and one .ref file per vocabulary configuration.
 *
 * corpus.txt: one string a line after the leading # comments, with \n \r \t \\ and \xHH
 * escapes.
 * NAME.ref, after the # comments, one record a line:
 *   vocab FILE | @default-model        the vocabulary (a file of shared/testdata/vocab)
 *   pre NAME | -                       tokenizer.ggml.pre to write into a copy of it
 *   tokens N                           vocabulary size
 *   specials BOS EOS EOT SEP NL PAD    llama.cpp's special ids (-1 for none)
 *   flags ADD_BOS ADD_EOS WHOLE        WHOLE: a piece must tokenize back to one token
 *   base NAME                          the configuration "^" refers to
 *   block I ATTRS PIECES               FNV-1a 64 of tokens I*4096.. attributes and pieces
 *   c V0 V1 V2 V3 D0 D1                one corpus case (see below)
 *   roundtrip 0|1                      whether the exceptions below were recorded
 *   token-exception FIRST LAST H N     tokens whose llama.cpp round trip fails: H, N of it
 *   codepoint-exception FIRST LAST H   the same for codepoints (hex)
 * V0..V3 are the ids for (add_special, parse_special) = (0,0), (0,1), (1,0), (1,1): "-" for
 * none, "=" for V0 (V1) with the BOS/EOS the flags add (for V1: the same as V0), otherwise the
 * ids in a prefix-free base 32 (0-9A-V end an id, a-z@#$%&* continue it). "^" instead of
 * V0..V3 means the base's lists, "^=" the base's V0 V1 with "=" for V2 V3; D0 D1 (the low 32 bits
 * of FNV-1a 64 of llama_detokenize of V0 with special pieces, and of V3 with remove_special and no
 * special pieces) may be left out to mean the base's; "token-exception ^" means the base's
 * exceptions. */
#ifndef CHORD_TESTS_TOK_REFERENCE_H
#define CHORD_TESTS_TOK_REFERENCE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline uint64_t ref_fnv(const void *data, size_t size, uint64_t h) {
  const uint8_t *p = data;
  for (size_t i = 0; i < size; i++)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}
#define REF_FNV_INIT 0xcbf29ce484222325ull

typedef struct ref_string {
  char *data;
  size_t size;
} ref_string;

typedef struct ref_list {
  int32_t *ids;
  size_t count;
} ref_list;

typedef struct ref_case {
  ref_list ids[4];
  uint32_t detok[2];
} ref_case;

typedef struct ref_range {
  uint32_t first, last, hash, n;
} ref_range;

typedef struct ref_config {
  char vocab[256], pre[128], base[128];
  uint32_t n_tokens;
  int32_t specials[6];
  int add_bos, add_eos;
  int whole;     /* a token's piece must tokenize back to one token (llama.cpp's ignore_merges) */
  int roundtrip; /* the round-trip exceptions were recorded */
  uint64_t (*blocks)[2];
  size_t n_blocks;
  ref_case *cases;
  size_t n_cases;
  ref_range *token_exceptions, *codepoint_exceptions;
  size_t n_token_exceptions, n_codepoint_exceptions;
} ref_config;

/* Reads a whole file; NULL if it cannot. */
static char *ref_read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
    n += got;
    if (n == cap) {
      char *grown = realloc(buf, 2 * cap + 1);
      if (!grown) {
        free(buf);
        buf = NULL;
      }
      buf = grown;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf) {
    buf[n] = '\0';
    *size = n;
  }
  return buf;
}

/* The next line of text (without its newline), or NULL at the end. */
static char *ref_next_line(char **cursor) {
  char *line = *cursor;
  if (!line || !*line)
    return NULL;
  char *nl = strchr(line, '\n');
  if (nl) {
    *nl = '\0';
    *cursor = nl + 1;
  } else {
    *cursor = line + strlen(line);
  }
  return line;
}

static int ref_hex(char c) {
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

/* The corpus strings; returns the count, or -1 if the file cannot be read. */
static long ref_load_corpus(const char *path, ref_string **out) {
  size_t size;
  char *text = ref_read_file(path, &size), *cursor = text, *line;
  if (!text)
    return -1;
  size_t n = 0, cap = 512;
  ref_string *cases = malloc(cap * sizeof *cases);
  bool header = true; /* comments only head the file: a string may start with # */
  while (cases && (line = ref_next_line(&cursor))) {
    if (header && line[0] == '#')
      continue;
    header = false;
    if (n == cap)
      cases = realloc(cases, (cap *= 2) * sizeof *cases);
    size_t len = strlen(line), k = 0;
    char *s = malloc(len + 1);
    for (size_t i = 0; i < len; i++) {
      if (line[i] != '\\' || i + 1 >= len) {
        s[k++] = line[i];
        continue;
      }
      char c = line[++i];
      if (c == 'n')
        s[k++] = '\n';
      else if (c == 'r')
        s[k++] = '\r';
      else if (c == 't')
        s[k++] = '\t';
      else if (c == 'x' && i + 2 < len) {
        s[k++] = (char)(ref_hex(line[i + 1]) * 16 + ref_hex(line[i + 2]));
        i += 2;
      } else
        s[k++] = c;
    }
    cases[n++] = (ref_string){s, k};
  }
  free(text);
  *out = cases;
  return (long)n;
}

static const char ref_terminal[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
static const char ref_continue[] = "abcdefghijklmnopqrstuvwxyz@#$%&*";

/* Decodes one id list field; false if malformed. */
static bool ref_decode_ids(const char *field, ref_list *out) {
  out->ids = NULL;
  out->count = 0;
  if (strcmp(field, "-") == 0)
    return true;
  size_t cap = 16;
  out->ids = malloc(cap * sizeof *out->ids);
  int64_t value = 0;
  for (const char *p = field; *p; p++) {
    const char *t = strchr(ref_terminal, *p), *c = strchr(ref_continue, *p);
    if (t && *p) {
      if (out->count == cap)
        out->ids = realloc(out->ids, (cap *= 2) * sizeof *out->ids);
      out->ids[out->count++] = (int32_t)(value * 32 + (t - ref_terminal));
      value = 0;
    } else if (c && *p) {
      value = value * 32 + (c - ref_continue);
    } else {
      return false;
    }
  }
  return value == 0;
}

static void ref_wrap(const ref_config *c, const ref_list *in, ref_list *out) {
  out->count = in->count + (size_t)c->add_bos + (size_t)c->add_eos;
  out->ids = malloc((out->count + 1) * sizeof *out->ids);
  size_t k = 0;
  if (c->add_bos)
    out->ids[k++] = c->specials[0];
  if (in->count)
    memcpy(out->ids + k, in->ids, in->count * sizeof *in->ids);
  k += in->count;
  if (c->add_eos)
    out->ids[k++] = c->specials[1];
}

static ref_list ref_copy(const ref_list *in) {
  ref_list out = {malloc((in->count + 1) * sizeof *in->ids), in->count};
  if (in->count)
    memcpy(out.ids, in->ids, in->count * sizeof *in->ids);
  return out;
}

static void ref_free(ref_config *c) {
  for (size_t i = 0; i < c->n_cases; i++)
    for (int k = 0; k < 4; k++)
      free(c->cases[i].ids[k].ids);
  free(c->cases);
  free(c->blocks);
  free(c->token_exceptions);
  free(c->codepoint_exceptions);
  memset(c, 0, sizeof *c);
}

/* Loads data_dir/name.ref (and its base). Returns NULL on success, else what is wrong. */
static const char *ref_load_config(const char *data_dir, const char *name, ref_config *c) {
  static char why[2048];
  memset(c, 0, sizeof *c);
  char path[1024];
  snprintf(path, sizeof path, "%s/%s.ref", data_dir, name);
  size_t size;
  char *text = ref_read_file(path, &size), *cursor = text, *line;
  if (!text) {
    snprintf(why, sizeof why, "cannot read %.1000s", path);
    return why;
  }
  ref_config base = {0};
  bool have_base = false;
  size_t cap_cases = 512, cap_tok = 16, cap_cp = 16, cap_blocks = 128;
  c->cases = calloc(cap_cases, sizeof *c->cases);
  c->token_exceptions = malloc(cap_tok * sizeof *c->token_exceptions);
  c->codepoint_exceptions = malloc(cap_cp * sizeof *c->codepoint_exceptions);
  c->blocks = malloc(cap_blocks * sizeof *c->blocks);
  const char *error = NULL;
  while (!error && (line = ref_next_line(&cursor))) {
    if (line[0] == '#' || !line[0])
      continue;
    char *save, *kind = strtok_r(line, " ", &save);
    char *f[8] = {0};
    int nf = 0;
    for (char *t; nf < 8 && (t = strtok_r(NULL, " ", &save));)
      f[nf++] = t;
    if (strcmp(kind, "vocab") == 0 && nf == 1) {
      snprintf(c->vocab, sizeof c->vocab, "%s", f[0]);
    } else if (strcmp(kind, "pre") == 0 && nf == 1) {
      snprintf(c->pre, sizeof c->pre, "%s", f[0]);
    } else if (strcmp(kind, "tokens") == 0 && nf == 1) {
      c->n_tokens = (uint32_t)strtoul(f[0], NULL, 10);
    } else if (strcmp(kind, "specials") == 0 && nf == 6) {
      for (int k = 0; k < 6; k++)
        c->specials[k] = (int32_t)strtol(f[k], NULL, 10);
    } else if (strcmp(kind, "flags") == 0 && nf == 3) {
      c->add_bos = atoi(f[0]);
      c->add_eos = atoi(f[1]);
      c->whole = atoi(f[2]);
    } else if (strcmp(kind, "roundtrip") == 0 && nf == 1) {
      c->roundtrip = atoi(f[0]);
    } else if (strcmp(kind, "base") == 0 && nf == 1) {
      snprintf(c->base, sizeof c->base, "%s", f[0]);
      error = ref_load_config(data_dir, f[0], &base);
      have_base = !error;
    } else if (strcmp(kind, "block") == 0 && nf == 3) {
      if (c->n_blocks == cap_blocks)
        c->blocks = realloc(c->blocks, (cap_blocks *= 2) * sizeof *c->blocks);
      c->blocks[c->n_blocks][0] = strtoull(f[1], NULL, 16);
      c->blocks[c->n_blocks][1] = strtoull(f[2], NULL, 16);
      c->n_blocks++;
    } else if (strcmp(kind, "c") == 0 && nf >= 1) {
      if (c->n_cases == cap_cases) {
        c->cases = realloc(c->cases, 2 * cap_cases * sizeof *c->cases);
        memset(c->cases + cap_cases, 0, cap_cases * sizeof *c->cases);
        cap_cases *= 2;
      }
      ref_case *rc = &c->cases[c->n_cases];
      const ref_case *bc = have_base && c->n_cases < base.n_cases ? &base.cases[c->n_cases] : NULL;
      int next = 0;
      if (strcmp(f[0], "^") == 0 || strcmp(f[0], "^=") == 0) {
        if (!bc) {
          error = "'^' without a base";
          break;
        }
        bool rewrap = f[0][1] == '=';
        for (int k = 0; k < 4; k++) {
          if (rewrap && k >= 2)
            ref_wrap(c, &rc->ids[k - 2], &rc->ids[k]);
          else
            rc->ids[k] = ref_copy(&bc->ids[k]);
        }
        next = 1;
      } else {
        if (nf < 4) {
          error = "a case line with fewer than four id lists";
          break;
        }
        for (int k = 0; k < 4; k++) {
          if (strcmp(f[k], "=") == 0 && k == 0) {
            error = "'=' for the first id list";
          } else if (strcmp(f[k], "=") == 0) {
            if (k == 1)
              rc->ids[1] = ref_copy(&rc->ids[0]);
            else
              ref_wrap(c, &rc->ids[k - 2], &rc->ids[k]);
          } else if (!ref_decode_ids(f[k], &rc->ids[k])) {
            error = "a malformed id list";
          }
        }
        next = 4;
      }
      if (nf >= next + 2) {
        rc->detok[0] = (uint32_t)strtoul(f[next], NULL, 16);
        rc->detok[1] = (uint32_t)strtoul(f[next + 1], NULL, 16);
      } else if (bc) {
        rc->detok[0] = bc->detok[0];
        rc->detok[1] = bc->detok[1];
      } else {
        error = "a case line without detokenization hashes";
      }
      c->n_cases++;
    } else if ((strcmp(kind, "token-exception") == 0 || strcmp(kind, "codepoint-exception") == 0) &&
               nf >= 1) {
      bool tokens = kind[0] == 't';
      ref_range **list = tokens ? &c->token_exceptions : &c->codepoint_exceptions;
      size_t *count = tokens ? &c->n_token_exceptions : &c->n_codepoint_exceptions;
      size_t *cap = tokens ? &cap_tok : &cap_cp;
      if (strcmp(f[0], "^") == 0) {
        if (!have_base) {
          error = "'^' without a base";
          break;
        }
        const ref_range *from = tokens ? base.token_exceptions : base.codepoint_exceptions;
        size_t n = tokens ? base.n_token_exceptions : base.n_codepoint_exceptions;
        for (size_t k = 0; k < n; k++) {
          if (*count == *cap)
            *list = realloc(*list, (*cap *= 2) * sizeof **list);
          (*list)[(*count)++] = from[k];
        }
        continue;
      }
      if (nf < (tokens ? 4 : 3)) {
        error = "a short exception line";
        break;
      }
      if (*count == *cap)
        *list = realloc(*list, (*cap *= 2) * sizeof **list);
      int base16 = tokens ? 10 : 16;
      (*list)[(*count)++] = (ref_range){
          (uint32_t)strtoul(f[0], NULL, base16), (uint32_t)strtoul(f[1], NULL, base16),
          (uint32_t)strtoul(f[2], NULL, 16), tokens ? (uint32_t)strtoul(f[3], NULL, 10) : 0};
    } else {
      snprintf(why, sizeof why, "%.900s: unexpected line starting with '%.100s'", path, kind);
      error = why;
    }
  }
  if (have_base)
    ref_free(&base);
  free(text);
  if (error && error != why) {
    snprintf(why, sizeof why, "%.900s: %.900s", path, error);
    error = why;
  }
  return error;
}

/* The exception covering `key`, or NULL. */
static const ref_range *ref_find_exception(const ref_range *list, size_t n, uint32_t key) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (list[mid].last < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && list[lo].first <= key && key <= list[lo].last ? &list[lo] : NULL;
}

#endif
