/* Ids to text, as llama.cpp renders them: each token's piece (computed once per vocabulary, as
 * llama.cpp caches them), sequences with its leading-space and space clean-up rules, and a
 * streaming form that never releases half a UTF-8 character. */
#include <stdio.h>
#include <string.h>

#include "runtime/support/alloc.h"
#include "runtime/support/error.h"
#include "runtime/tokenizer/tok_internal.h"

/* The byte an SPM <0xNN> token stands for: llama.cpp reads two characters after "<0x" with
 * strtol(.., 16), so a malformed text gives what strtol gives. */
static uint8_t byte_token_value(const char *text, size_t n) {
  const char *p = n > 3 ? text + 3 : "";
  size_t len = n > 3 ? (n - 3 < 2 ? n - 3 : 2) : 0;
  size_t i = 0;
  while (i < len && (p[i] == ' ' || (p[i] >= '\t' && p[i] <= '\r')))
    i++;
  bool negative = false;
  if (i < len && (p[i] == '+' || p[i] == '-'))
    negative = p[i++] == '-';
  unsigned value = 0;
  for (; i < len; i++) {
    char c = p[i];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0)
      break;
    value = value * 16 + (unsigned)d;
  }
  return (uint8_t)(negative ? 0u - value : value);
}

/* One token's piece with special = true (llama_vocab::impl::token_to_piece without the cache). */
static bool append_piece(const tok_vocab *v, tok_id id, tok_text *out) {
  uint32_t attr = v->attrs[id];
  size_t n;
  const char *text = tok_strings_get(&v->texts, id, &n);
  if (attr & (TOK_ATTR_UNKNOWN | TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED))
    return tok_text_append(out, text, n);
  if (attr & TOK_ATTR_NORMAL) {
    if (v->kind == TOK_KIND_SPM) { /* ▁ back to a space */
      for (size_t i = 0; i < n;) {
        if (i + 3 <= n && memcmp(text + i, "\xe2\x96\x81", 3) == 0) {
          if (!tok_text_append(out, " ", 1))
            return false;
          i += 3;
        } else {
          size_t j = i + 1;
          while (j < n && !(j + 3 <= n && memcmp(text + j, "\xe2\x96\x81", 3) == 0))
            j++;
          if (!tok_text_append(out, text + i, j - i))
            return false;
          i = j;
        }
      }
      return true;
    }
    /* Byte-level characters back to bytes; llama.cpp writes a character outside the alphabet
     * as "[UNK_BYTE_0x<its UTF-8 in hex><the whole token text>]". */
    if (!tok_text_reserve(out, n)) /* a piece is never longer than its text, but for those */
      return false;
    for (size_t pos = 0; pos < n;) {
      uint32_t cp = tok_utf8_decode((const uint8_t *)text, n, &pos);
      int byte = tok_cpt_to_byte(cp);
      if (byte >= 0) {
        out->data[out->size++] = (char)byte;
        out->data[out->size] = '\0';
        continue;
      }
      uint8_t utf8[4];
      size_t k = tok_utf8_encode(cp, utf8);
      char hex[9];
      for (size_t i = 0; i < k; i++)
        snprintf(hex + 2 * i, 3, "%02x", utf8[i]);
      if (!tok_text_append(out, "[UNK_BYTE_0x", 12) || !tok_text_append(out, hex, 2 * k) ||
          !tok_text_append(out, text, n) || !tok_text_append(out, "]", 1))
        return false;
    }
    return true;
  }
  if (attr & TOK_ATTR_BYTE) {
    uint8_t b = byte_token_value(text, n);
    return tok_text_append(out, &b, 1);
  }
  return true; /* unused and undefined tokens render as nothing */
}

chord_status tok_pieces_build(tok_vocab *v, chord_error *error) {
  tok_text pool = {0};
  v->piece_offsets = rt_malloc(((size_t)v->n_tokens + 1) * sizeof *v->piece_offsets);
  if (!v->piece_offsets)
    goto oom;
  v->piece_offsets[0] = 0;
  for (uint32_t id = 0; id < v->n_tokens; id++) {
    if (!append_piece(v, (tok_id)id, &pool))
      goto oom;
    if (pool.size > UINT32_MAX)
      return rt_error(error, CHORD_ERROR_UNSUPPORTED, "the token pieces exceed 4 GiB");
    v->piece_offsets[id + 1] = (uint32_t)pool.size;
  }
  if (!pool.data && !tok_text_append(&pool, "", 0))
    goto oom;
  v->piece_pool = pool.data;
  return CHORD_OK;
oom:
  tok_text_free(&pool);
  return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory building the token pieces");
}

const char *tok_token_piece(const tok_vocab *v, tok_id id, bool special, size_t *size) {
  if (id < 0 || (uint32_t)id >= v->n_tokens ||
      (!special && (v->attrs[id] & (TOK_ATTR_UNKNOWN | TOK_ATTR_CONTROL)))) {
    *size = 0;
    return "";
  }
  *size = v->piece_offsets[id + 1] - v->piece_offsets[id];
  return v->piece_pool + v->piece_offsets[id];
}

/* llama.cpp's clean_up_tokenization_spaces, three passes in place over t[0..n): drop the space
 * before ? ! . , ; drop the spaces around a lone ' ; drop the space before 's 'm 're 've. Each
 * pass compares with the characters as the previous pass left them. */
static size_t clean_spaces(char *t, size_t n) {
  size_t total = n ? 1 : 0;
  for (size_t i = 1; i < n; i++) {
    char x = t[i];
    if (t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ','))
      total--;
    t[total++] = x;
  }
  n = total;
  total = n ? 1 : 0;
  for (size_t i = 1; i < n; i++) {
    char x = t[i];
    if (x == '\'' && i + 1 < n && t[i - 1] == ' ' && t[i + 1] == ' ') {
      total--;
      t[++i] = '\0'; /* the space after is skipped, and reads as NUL to the next step */
    }
    t[total++] = x;
  }
  n = total;
  total = n ? 1 : 0;
  for (size_t i = 1; i < n; i++) {
    char x = t[i];
    if (t[i - 1] == ' ' && x == '\'' && i + 1 < n) {
      char x1 = t[i + 1], x2 = i + 2 < n ? t[i + 2] : 0;
      if (x1 == 's' || x1 == 'm')
        total--;
      else if (x1 != 't' && x1 != 'd' && i + 2 < n && ((x1 == 'r' || x1 == 'v') && x2 == 'e'))
        total--;
    }
    t[total++] = x;
  }
  return total;
}

chord_status tok_detokenize(const tok_vocab *v, const tok_id *ids, size_t count,
                            bool remove_special, bool unparse_special, tok_text *out,
                            chord_error *error) {
  size_t base = out->size;
  bool remove_space = v->add_space_prefix;
  if (remove_special && v->add_bos && count > 0 && ids[0] == v->specials.bos) {
    remove_space = false;
    ids++;
    count--;
  }
  if (remove_special && v->add_eos && count > 0 && ids[count - 1] == v->specials.eos)
    count--;
  for (size_t i = 0; i < count; i++) {
    if (ids[i] < 0 || (uint32_t)ids[i] >= v->n_tokens) {
      out->size = base;
      if (out->data)
        out->data[base] = '\0';
      return rt_error(error, CHORD_ERROR_INVALID, "token id %d is out of range (vocabulary of %u)",
                      (int)ids[i], v->n_tokens);
    }
    size_t n;
    const char *piece = tok_token_piece(v, ids[i], unparse_special, &n);
    if (remove_space && n && piece[0] == ' ') {
      piece++;
      n--;
    }
    remove_space = false;
    if (!tok_text_append(out, piece, n)) {
      out->size = base;
      return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory detokenizing");
    }
  }
  if (!out->data && !tok_text_append(out, "", 0))
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory detokenizing");
  if (v->clean_spaces) {
    out->size = base + clean_spaces(out->data + base, out->size - base);
    out->data[out->size] = '\0';
  }
  return CHORD_OK;
}

/* ---- streaming ------------------------------------------------------------------------------- */

void tok_stream_init(tok_stream *s, const tok_vocab *v, bool special) {
  memset(s, 0, sizeof *s);
  s->vocab = v;
  s->special = special;
  s->strip_space = v->add_space_prefix;
}

/* How many bytes at the end of t[0..n) start a UTF-8 character that is not complete yet. */
static size_t incomplete_tail(const uint8_t *t, size_t n) {
  size_t k = n, continuation = 0;
  while (k > 0 && continuation < 3 && (t[k - 1] & 0xc0) == 0x80) {
    k--;
    continuation++;
  }
  if (k == 0)
    return 0; /* only continuation bytes: nothing they could still complete */
  uint8_t lead = t[k - 1];
  size_t need = lead >= 0xf0 && lead < 0xf8   ? 4
                : lead >= 0xe0 && lead < 0xf0 ? 3
                : lead >= 0xc0 && lead < 0xe0 ? 2
                                              : 1;
  return need > continuation + 1 ? continuation + 1 : 0;
}

chord_status tok_stream_push(tok_stream *s, tok_id id, tok_text *out, chord_error *error) {
  if (id < 0 || (uint32_t)id >= s->vocab->n_tokens)
    return rt_error(error, CHORD_ERROR_INVALID, "token id %d is out of range (vocabulary of %u)",
                    (int)id, s->vocab->n_tokens);
  size_t n;
  const char *piece = tok_token_piece(s->vocab, id, s->special, &n);
  if (s->strip_space && n && piece[0] == ' ') {
    piece++;
    n--;
  }
  s->strip_space = false;
  size_t base = out->size;
  if (!tok_text_append(out, s->held, s->n_held) || !tok_text_append(out, piece, n)) {
    out->size = base;
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory detokenizing");
  }
  size_t hold = incomplete_tail((const uint8_t *)out->data + base, out->size - base);
  memcpy(s->held, out->data + out->size - hold, hold);
  s->n_held = (uint8_t)hold;
  out->size -= hold;
  out->data[out->size] = '\0';
  return CHORD_OK;
}

chord_status tok_stream_finish(tok_stream *s, tok_text *out, chord_error *error) {
  if (!tok_text_append(out, s->held, s->n_held))
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory detokenizing");
  s->n_held = 0;
  return CHORD_OK;
}
