/* UTF-8 as llama.cpp reads and writes it, its whitespace set, and the GPT-2 byte-level alphabet.
 * Character properties come from utf8proc; nothing here is a hand-made Unicode table. */
#include <utf8proc.h>

#include "runtime/tokenizer/tok_internal.h"

static inline bool is_continuation(uint8_t b) { return (b & 0xc0) == 0x80; }

uint32_t tok_utf8_decode(const uint8_t *text, size_t size, size_t *pos) {
  size_t i = *pos;
  uint8_t b0 = text[i];
  /* Like llama.cpp: the lead byte alone decides the length, and only the continuation bits of
   * the following bytes are checked, so overlong forms and surrogates decode as they stand. */
  size_t n = b0 < 0x80 ? 1 : b0 < 0xc0 ? 0 : b0 < 0xe0 ? 2 : b0 < 0xf0 ? 3 : b0 < 0xf8 ? 4 : 0;
  if (n == 0 || i + n > size) {
    *pos = i + 1;
    return 0xfffd;
  }
  static const uint8_t lead_mask[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
  uint32_t cp = b0 & lead_mask[n];
  for (size_t k = 1; k < n; k++) {
    if (!is_continuation(text[i + k])) {
      *pos = i + 1;
      return 0xfffd;
    }
    cp = cp << 6 | (text[i + k] & 0x3f);
  }
  *pos = i + n;
  return cp;
}

size_t tok_utf8_encode(uint32_t cp, uint8_t out[4]) {
  if (cp <= 0x7f) {
    out[0] = (uint8_t)cp;
    return 1;
  }
  if (cp <= 0x7ff) {
    out[0] = (uint8_t)(0xc0 | cp >> 6);
    out[1] = (uint8_t)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp > 0x10ffff)
    cp = 0xfffd; /* llama.cpp throws here (and aborts); U+FFFD is the closest defined behaviour */
  if (cp <= 0xffff) {
    out[0] = (uint8_t)(0xe0 | cp >> 12);
    out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (uint8_t)(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = (uint8_t)(0xf0 | cp >> 18);
  out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
  out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
  out[3] = (uint8_t)(0x80 | (cp & 0x3f));
  return 4;
}

bool tok_is_whitespace(uint32_t cp) {
  if (cp < 0x80)
    return (cp >= 0x09 && cp <= 0x0d) || cp == ' ';
  if (cp == 0x85)
    return true;
  if (cp > 0x10ffff)
    return false;
  utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
  return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

/* GPT-2's bytes_to_unicode: the printable Latin-1 bytes stand for themselves, the other 68 are
 * moved to U+0100.. in byte order. Those 68 are three runs: 0x00..0x20, 0x7F..0xA0 and 0xAD. */
uint32_t tok_byte_to_cpt(uint8_t byte) {
  if (byte <= 0x20)
    return 0x100 + byte;
  if (byte >= 0x7f && byte <= 0xa0)
    return 0x100 + 33 + (byte - 0x7f);
  if (byte == 0xad)
    return 0x100 + 67;
  return byte;
}

int tok_cpt_to_byte(uint32_t cp) {
  if (cp < 0x100)
    return cp > 0x20 && (cp < 0x7f || cp > 0xa0) && cp != 0xad ? (int)cp : -1;
  uint32_t n = cp - 0x100;
  return n < 33 ? (int)n : n < 67 ? (int)(0x7f + n - 33) : n == 67 ? 0xad : -1;
}
