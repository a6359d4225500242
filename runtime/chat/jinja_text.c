/* Python's str semantics on UTF-8 text: code points rather than bytes for lengths and indexes,
 * Unicode whitespace and case from utf8proc's tables, and the string methods templates call. */
#include <string.h>
#include <utf8proc.h>

#include "runtime/chat/jinja_internal.h"

int32_t jinja_utf8_next(const char *s, size_t size, size_t *i) {
  utf8proc_int32_t c;
  utf8proc_ssize_t n =
      utf8proc_iterate((const utf8proc_uint8_t *)s + *i, (utf8proc_ssize_t)(size - *i), &c);
  if (n <= 0) {
    (*i)++;
    return 0xFFFD;
  }
  *i += (size_t)n;
  return c;
}

bool jinja_utf8_valid(const char *s, size_t size, size_t *bad) {
  for (size_t i = 0; i < size;) {
    utf8proc_int32_t c;
    utf8proc_ssize_t n =
        utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(size - i), &c);
    if (n <= 0) {
      *bad = i;
      return false;
    }
    i += (size_t)n;
  }
  return true;
}

size_t jinja_utf8_length(const char *s, size_t size) {
  size_t n = 0;
  for (size_t i = 0; i < size; i++)
    n += ((unsigned char)s[i] & 0xC0) != 0x80;
  return n;
}

size_t jinja_utf8_offset(const char *s, size_t size, size_t index) {
  size_t i = 0;
  while (index > 0 && i < size) {
    jinja_utf8_next(s, size, &i);
    index--;
  }
  return i;
}

/* Python counts as whitespace the characters of bidirectional class WS, B or S and of category
 * Zs (CPython's makeunicodedata.py); utf8proc carries both properties. */
bool jinja_is_space(int32_t c) {
  if (c < 0x80)
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1C && c <= 0x1F);
  const utf8proc_property_t *p = utf8proc_get_property(c);
  return p->bidi_class == UTF8PROC_BIDI_CLASS_WS || p->bidi_class == UTF8PROC_BIDI_CLASS_B ||
         p->bidi_class == UTF8PROC_BIDI_CLASS_S || p->category == UTF8PROC_CATEGORY_ZS;
}

/* Python's repr() escapes what is not printable: the categories Cc, Cf, Cs, Co, Cn, Zl, Zp and
 * Zs, except the space itself. */
bool jinja_is_printable(int32_t c) {
  if (c == ' ')
    return true;
  switch (utf8proc_category(c)) {
  case UTF8PROC_CATEGORY_CC:
  case UTF8PROC_CATEGORY_CF:
  case UTF8PROC_CATEGORY_CS:
  case UTF8PROC_CATEGORY_CO:
  case UTF8PROC_CATEGORY_CN:
  case UTF8PROC_CATEGORY_ZL:
  case UTF8PROC_CATEGORY_ZP:
  case UTF8PROC_CATEGORY_ZS: return false;
  default: return true;
  }
}

bool jinja_is_upper(int32_t c) { return utf8proc_isupper(c); }
bool jinja_is_lower(int32_t c) { return utf8proc_islower(c); }
bool jinja_is_cased(int32_t c) {
  return utf8proc_category(c) == UTF8PROC_CATEGORY_LT || utf8proc_isupper(c) || utf8proc_islower(c);
}
int32_t jinja_to_upper(int32_t c) { return utf8proc_toupper(c); }
int32_t jinja_to_lower(int32_t c) { return utf8proc_tolower(c); }
int32_t jinja_to_title(int32_t c) { return utf8proc_totitle(c); }

bool jinja_is_alpha(int32_t c) {
  utf8proc_category_t k = utf8proc_category(c);
  return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT ||
         k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_LO;
}
bool jinja_is_decimal(int32_t c) { return utf8proc_category(c) == UTF8PROC_CATEGORY_ND; }
/* utf8proc has no numeric type, so digits are the decimal digits (Python's isdigit also takes
 * superscripts). */
bool jinja_is_digit(int32_t c) { return jinja_is_decimal(c); }
bool jinja_is_numeric(int32_t c) {
  utf8proc_category_t k = utf8proc_category(c);
  return k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_NO;
}

/* ---- methods --------------------------------------------------------------------------------- */

static bool in_chars(int32_t c, const jinja_string *chars) {
  if (!chars)
    return jinja_is_space(c);
  for (size_t i = 0; i < chars->size;)
    if (jinja_utf8_next(chars->data, chars->size, &i) == c)
      return true;
  return false;
}

const jinja_string *jinja_text_strip(jinja_arena *arena, const jinja_string *s,
                                     const jinja_string *chars, jinja_strip_side side) {
  size_t start = 0, end = s->size;
  if (side & STRIP_LEFT) {
    while (start < end) {
      size_t i = start;
      if (!in_chars(jinja_utf8_next(s->data, end, &i), chars))
        break;
      start = i;
    }
  }
  if (side & STRIP_RIGHT) {
    while (end > start) {
      size_t i = end - 1;
      while (i > start && ((unsigned char)s->data[i] & 0xC0) == 0x80)
        i--;
      size_t j = i;
      if (!in_chars(jinja_utf8_next(s->data, end, &j), chars))
        break;
      end = i;
    }
  }
  if (start == 0 && end == s->size)
    return s;
  return jinja_str(arena, s->data + start, end - start);
}

const jinja_string *jinja_text_map(jinja_arena *arena, const jinja_string *s,
                                   int32_t (*fn)(int32_t)) {
  jinja_buf buf;
  jinja_buf_init(&buf, arena);
  for (size_t i = 0; i < s->size;)
    jinja_buf_utf8(&buf, fn(jinja_utf8_next(s->data, s->size, &i)));
  return jinja_buf_finish(&buf);
}

/* str.title(): a cased character after an uncased one starts a word. */
const jinja_string *jinja_text_title(jinja_arena *arena, const jinja_string *s) {
  jinja_buf buf;
  jinja_buf_init(&buf, arena);
  bool previous_cased = false;
  for (size_t i = 0; i < s->size;) {
    int32_t c = jinja_utf8_next(s->data, s->size, &i);
    jinja_buf_utf8(&buf, previous_cased ? jinja_to_lower(c) : jinja_to_title(c));
    previous_cased = jinja_is_cased(c);
  }
  return jinja_buf_finish(&buf);
}

/* str.capitalize(): the first character in title case (Python 3.8 on), the rest in lower case. */
const jinja_string *jinja_text_capitalize(jinja_arena *arena, const jinja_string *s) {
  jinja_buf buf;
  jinja_buf_init(&buf, arena);
  for (size_t i = 0; i < s->size;) {
    bool first = i == 0;
    int32_t c = jinja_utf8_next(s->data, s->size, &i);
    jinja_buf_utf8(&buf, first ? jinja_to_title(c) : jinja_to_lower(c));
  }
  return jinja_buf_finish(&buf);
}

int64_t jinja_text_find(const jinja_string *s, const jinja_string *needle, size_t start, size_t end,
                        bool last) {
  if (end > s->size)
    end = s->size;
  if (start > end || needle->size > end - start)
    return -1;
  if (last) {
    for (size_t i = end - needle->size + 1; i-- > start;)
      if (memcmp(s->data + i, needle->data, needle->size) == 0)
        return (int64_t)i;
    return -1;
  }
  for (size_t i = start; i + needle->size <= end; i++)
    if (memcmp(s->data + i, needle->data, needle->size) == 0)
      return (int64_t)i;
  return -1;
}

const jinja_string *jinja_text_replace(jinja_arena *arena, const jinja_string *s,
                                       const jinja_string *old, const jinja_string *new_text,
                                       int64_t count) {
  jinja_buf buf;
  jinja_buf_init(&buf, arena);
  if (old->size == 0) {
    /* Python puts the replacement before every character and at the end. */
    size_t i = 0;
    while (i < s->size) {
      if (count-- != 0)
        jinja_buf_append(&buf, new_text->data, new_text->size);
      size_t start = i;
      jinja_utf8_next(s->data, s->size, &i);
      jinja_buf_append(&buf, s->data + start, i - start);
    }
    if (count != 0)
      jinja_buf_append(&buf, new_text->data, new_text->size);
    return jinja_buf_finish(&buf);
  }
  size_t i = 0;
  while (count != 0) {
    int64_t at = jinja_text_find(s, old, i, s->size, false);
    if (at < 0)
      break;
    jinja_buf_append(&buf, s->data + i, (size_t)at - i);
    jinja_buf_append(&buf, new_text->data, new_text->size);
    i = (size_t)at + old->size;
    count--;
  }
  jinja_buf_append(&buf, s->data + i, s->size - i);
  return jinja_buf_finish(&buf);
}

/* Splitting on whitespace: runs of it separate words, and none are empty. */
static jinja_list *split_whitespace(jinja_arena *arena, const jinja_string *s, int64_t maxsplit,
                                    bool from_right) {
  jinja_list *parts = jinja_list_make(arena, 4);
  /* Word boundaries as byte ranges, found left to right. */
  size_t n = 0, cap = 8;
  size_t(*words)[2] = jinja_alloc(arena, cap * sizeof *words);
  for (size_t i = 0; i < s->size;) {
    size_t at = i;
    if (jinja_is_space(jinja_utf8_next(s->data, s->size, &i)))
      continue;
    size_t end = i;
    while (end < s->size) {
      size_t j = end;
      if (jinja_is_space(jinja_utf8_next(s->data, s->size, &j)))
        break;
      end = j;
    }
    if (n == cap) {
      size_t(*bigger)[2] = jinja_alloc(arena, 2 * cap * sizeof *words);
      memcpy(bigger, words, cap * sizeof *words);
      words = bigger;
      cap *= 2;
    }
    words[n][0] = at;
    words[n][1] = end;
    n++;
    i = end;
  }
  if (maxsplit < 0 || (size_t)maxsplit + 1 >= n) {
    for (size_t w = 0; w < n; w++)
      jinja_list_append(arena, parts,
                        jinja_str_value(arena, s->data + words[w][0], words[w][1] - words[w][0]));
    return parts;
  }
  /* With maxsplit, the remainder is one part that runs to the end of the text, whitespace and
   * all (to the start, for rsplit). */
  size_t k = (size_t)maxsplit;
  if (!from_right) {
    for (size_t w = 0; w < k; w++)
      jinja_list_append(arena, parts,
                        jinja_str_value(arena, s->data + words[w][0], words[w][1] - words[w][0]));
    size_t start = words[k][0];
    jinja_list_append(arena, parts, jinja_str_value(arena, s->data + start, s->size - start));
  } else {
    size_t end = words[n - 1 - k][1];
    jinja_list_append(arena, parts, jinja_str_value(arena, s->data, end));
    for (size_t w = n - k; w < n; w++)
      jinja_list_append(arena, parts,
                        jinja_str_value(arena, s->data + words[w][0], words[w][1] - words[w][0]));
  }
  return parts;
}

jinja_list *jinja_text_split(jinja_arena *arena, const jinja_string *s, const jinja_string *sep,
                             int64_t maxsplit, bool from_right) {
  if (!sep)
    return split_whitespace(arena, s, maxsplit, from_right);
  jinja_list *parts = jinja_list_make(arena, 4);
  if (!from_right) {
    size_t i = 0;
    while (maxsplit != 0) {
      int64_t at = jinja_text_find(s, sep, i, s->size, false);
      if (at < 0)
        break;
      jinja_list_append(arena, parts, jinja_str_value(arena, s->data + i, (size_t)at - i));
      i = (size_t)at + sep->size;
      maxsplit--;
    }
    jinja_list_append(arena, parts, jinja_str_value(arena, s->data + i, s->size - i));
    return parts;
  }
  /* rsplit: collect from the right, then reverse. */
  size_t end = s->size;
  while (maxsplit != 0) {
    int64_t at = jinja_text_find(s, sep, 0, end, true);
    if (at < 0)
      break;
    size_t from = (size_t)at + sep->size;
    jinja_list_append(arena, parts, jinja_str_value(arena, s->data + from, end - from));
    end = (size_t)at;
    maxsplit--;
  }
  jinja_list_append(arena, parts, jinja_str_value(arena, s->data, end));
  for (size_t a = 0, b = parts->count - 1; a < b; a++, b--) {
    jinja_value t = parts->items[a];
    parts->items[a] = parts->items[b];
    parts->items[b] = t;
  }
  return parts;
}

/* repr(str): single quotes unless the text has a single quote and no double quote. */
void jinja_write_string_repr(jinja_buf *buf, const jinja_string *s) {
  char quote = memchr(s->data, '\'', s->size) && !memchr(s->data, '"', s->size) ? '"' : '\'';
  jinja_buf_putc(buf, quote);
  for (size_t i = 0; i < s->size;) {
    size_t start = i;
    int32_t c = jinja_utf8_next(s->data, s->size, &i);
    if (c == quote || c == '\\') {
      jinja_buf_putc(buf, '\\');
      jinja_buf_putc(buf, (char)c);
    } else if (c == '\t') {
      jinja_buf_puts(buf, "\\t");
    } else if (c == '\n') {
      jinja_buf_puts(buf, "\\n");
    } else if (c == '\r') {
      jinja_buf_puts(buf, "\\r");
    } else if (c < ' ' || c == 0x7F) {
      jinja_buf_printf(buf, "\\x%02x", (unsigned)c);
    } else if (c < 0x7F || jinja_is_printable(c)) {
      jinja_buf_append(buf, s->data + start, i - start);
    } else if (c <= 0xFF) {
      jinja_buf_printf(buf, "\\x%02x", (unsigned)c);
    } else if (c <= 0xFFFF) {
      jinja_buf_printf(buf, "\\u%04x", (unsigned)c);
    } else {
      jinja_buf_printf(buf, "\\U%08x", (unsigned)c);
    }
  }
  jinja_buf_putc(buf, quote);
}
