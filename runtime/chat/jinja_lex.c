/* The lexer: template text into tokens, with Jinja2's whitespace control applied to the text
 * between tags, exactly as Jinja2's lexer does it:
 *   {%- / -%}       strip all whitespace (newlines too) before / after the tag;
 *   lstrip_blocks   drops spaces and tabs between the start of a line and a {% or {# tag;
 *   trim_blocks     drops the first newline after a %} or #};
 *   {%+ / +%}       turn lstrip_blocks / trim_blocks off for that tag.
 * Expression tags ({{ }}) take part only through - and +; lstrip_blocks and trim_blocks leave
 * them alone. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/chat/jinja_internal.h"

typedef enum tag_kind { TAG_VARIABLE, TAG_BLOCK, TAG_COMMENT } tag_kind;

typedef struct lexer {
  jinja_arena *arena;
  const char *src;
  size_t size, pos;
  const jinja_syntax_options *options;
  jinja_token *tokens;
  size_t count, capacity;
  bool line_starting; /* the last thing read ended a line (lstrip_blocks applies at pos) */
  char closers[128];  /* brackets open inside the current tag: their closing characters */
  int depth;
  jinja_lex_error *error;
} lexer;

static bool fail(lexer *lx, size_t pos, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(lexer *lx, size_t pos, const char *format, ...) {
  va_list args;
  va_start(args, format);
  lx->error->pos = pos;
  vsnprintf(lx->error->message, sizeof lx->error->message, format, args);
  va_end(args);
  return false;
}

static jinja_token *push(lexer *lx, jinja_token_kind kind, size_t pos, size_t len) {
  if (lx->count == lx->capacity) {
    size_t capacity = lx->capacity ? 2 * lx->capacity : 256;
    jinja_token *tokens = jinja_alloc(lx->arena, capacity * sizeof *tokens);
    if (lx->count)
      memcpy(tokens, lx->tokens, lx->count * sizeof *tokens);
    lx->tokens = tokens;
    lx->capacity = capacity;
  }
  jinja_token *t = &lx->tokens[lx->count++];
  *t = (jinja_token){.kind = kind, .pos = (uint32_t)pos, .len = (uint32_t)len};
  return t;
}

static bool starts_with(const lexer *lx, size_t at, const char *text) {
  size_t n = strlen(text);
  return at + n <= lx->size && memcmp(lx->src + at, text, n) == 0;
}

/* Length of the (Python) whitespace character at `at`, or 0. */
static size_t space_at(const lexer *lx, size_t at) {
  if (at >= lx->size)
    return 0;
  size_t i = at;
  int32_t c = jinja_utf8_next(lx->src, lx->size, &i);
  return jinja_is_space(c) ? i - at : 0;
}

static size_t skip_spaces(const lexer *lx, size_t at) {
  size_t n;
  while ((n = space_at(lx, at)) > 0)
    at += n;
  return at;
}

/* Where trailing whitespace of src[start, end) begins. */
static size_t rstrip_end(const lexer *lx, size_t start, size_t end) {
  while (end > start) {
    size_t i = end - 1;
    while (i > start && ((unsigned char)lx->src[i] & 0xC0) == 0x80)
      i--;
    size_t j = i;
    if (!jinja_is_space(jinja_utf8_next(lx->src, end, &j)))
      break;
    end = i;
  }
  return end;
}

/* The text before a tag, after the tag's whitespace control: `sign` is the '-' or '+' that
 * follows the tag's opening (or 0), `lstrip` whether lstrip_blocks may apply to this tag. */
static void emit_text(lexer *lx, size_t start, size_t end, char sign, bool lstrip) {
  if (sign == '-') {
    end = rstrip_end(lx, start, end);
  } else if (sign != '+' && lstrip && lx->options->lstrip_blocks) {
    size_t line = end;
    while (line > start && lx->src[line - 1] != '\n')
      line--;
    if ((line > start || lx->line_starting) && line < end && rstrip_end(lx, line, end) == line)
      end = line;
  }
  if (end > start) {
    jinja_token *t = push(lx, TOKEN_DATA, start, end - start);
    t->text = jinja_str(lx->arena, lx->src + start, end - start);
  }
}

/* After a tag's end at `at`: '-' eats all following whitespace, trim_blocks one newline. */
static size_t after_tag_end(lexer *lx, size_t at, char sign, bool trim) {
  if (sign == '-')
    at = skip_spaces(lx, at);
  else if (sign != '+' && trim && lx->options->trim_blocks && at < lx->size && lx->src[at] == '\n')
    at++;
  lx->line_starting = at > 0 && lx->src[at - 1] == '\n';
  return at;
}

/* ---- literals -------------------------------------------------------------------------------- */

static int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* A string literal's escapes are Python's (Jinja2 decodes them with "unicode-escape"). */
static bool read_string(lexer *lx, jinja_token *t) {
  char quote = lx->src[lx->pos];
  size_t i = lx->pos + 1;
  jinja_buf buf;
  jinja_buf_init(&buf, lx->arena);
  for (;;) {
    if (i >= lx->size)
      return fail(lx, lx->pos, "unterminated string literal");
    char c = lx->src[i];
    if (c == quote)
      break;
    if (c != '\\') {
      jinja_buf_putc(&buf, c);
      i++;
      continue;
    }
    size_t escape = i;
    if (i + 1 >= lx->size)
      return fail(lx, lx->pos, "unterminated string literal");
    c = lx->src[i + 1];
    i += 2;
    int32_t code = -1;
    int digits = 0;
    switch (c) {
    case '\n': continue; /* a backslash before a newline joins the lines */
    case '\\':
    case '\'':
    case '"': jinja_buf_putc(&buf, c); continue;
    case 'a': jinja_buf_putc(&buf, '\a'); continue;
    case 'b': jinja_buf_putc(&buf, '\b'); continue;
    case 'f': jinja_buf_putc(&buf, '\f'); continue;
    case 'n': jinja_buf_putc(&buf, '\n'); continue;
    case 'r': jinja_buf_putc(&buf, '\r'); continue;
    case 't': jinja_buf_putc(&buf, '\t'); continue;
    case 'v': jinja_buf_putc(&buf, '\v'); continue;
    case 'x': digits = 2; break;
    case 'u': digits = 4; break;
    case 'U': digits = 8; break;
    case 'N': return fail(lx, escape, "\\N{...} escapes are not supported");
    default:
      if (c >= '0' && c <= '7') {
        code = c - '0';
        for (int n = 1; n < 3 && i < lx->size && lx->src[i] >= '0' && lx->src[i] <= '7'; n++)
          code = code * 8 + (lx->src[i++] - '0');
        jinja_buf_utf8(&buf, code);
      } else if ((unsigned char)c >= 0x80) {
        /* Jinja2 turns a non-ASCII character into its \x/\u escape before decoding, so a
         * backslash before one keeps that escape as text. */
        size_t j = i - 1;
        int32_t u = jinja_utf8_next(lx->src, lx->size, &j);
        i = j;
        jinja_buf_printf(&buf,
                         u <= 0xFF     ? "\\x%02x"
                         : u <= 0xFFFF ? "\\u%04x"
                                       : "\\U%08x",
                         (unsigned)u);
      } else {
        jinja_buf_putc(&buf, '\\'); /* an unknown escape stays as it is */
        jinja_buf_putc(&buf, c);
      }
      continue;
    }
    code = 0;
    for (int n = 0; n < digits; n++) {
      int h = i < lx->size ? hex_value(lx->src[i]) : -1;
      if (h < 0)
        return fail(lx, escape, "truncated \\%c escape in string literal", c);
      code = code * 16 + h;
      i++;
    }
    if (code > 0x10FFFF)
      return fail(lx, escape, "illegal Unicode character in string literal");
    if (code >= 0xD800 && code <= 0xDFFF)
      return fail(lx, escape, "surrogate code points are not supported in string literals");
    jinja_buf_utf8(&buf, code);
  }
  t->text = jinja_buf_finish(&buf);
  t->len = (uint32_t)(i + 1 - lx->pos);
  lx->pos = i + 1;
  return true;
}

static bool is_digit_or_underscore(char c) { return isdigit((unsigned char)c) || c == '_'; }

/* Digits with single underscores between them (Python's grouping); returns the end. */
static size_t scan_digits(const lexer *lx, size_t at) {
  if (at >= lx->size || !isdigit((unsigned char)lx->src[at]))
    return at;
  at++;
  while (at < lx->size) {
    if (isdigit((unsigned char)lx->src[at]))
      at++;
    else if (lx->src[at] == '_' && at + 1 < lx->size && isdigit((unsigned char)lx->src[at + 1]))
      at += 2;
    else
      break;
  }
  return at;
}

/* Copies the number text without underscores, for strtod/strtoll. */
static void number_text(const lexer *lx, size_t start, size_t end, char *out, size_t size) {
  size_t n = 0;
  for (size_t i = start; i < end && n + 1 < size; i++)
    if (lx->src[i] != '_')
      out[n++] = lx->src[i];
  out[n] = '\0';
}

/* A float needs a fraction or an exponent, and is not preceded by a dot (`a.0.1`). */
static size_t float_end(const lexer *lx) {
  size_t at = lx->pos;
  if (at > 0 && lx->src[at - 1] == '.')
    return 0;
  size_t int_end = scan_digits(lx, at);
  if (int_end == at)
    return 0;
  size_t end = int_end;
  bool fraction = false;
  if (end < lx->size && lx->src[end] == '.') {
    size_t frac_end = scan_digits(lx, end + 1);
    if (frac_end > end + 1) {
      end = frac_end;
      fraction = true;
    }
  }
  if (end < lx->size && (lx->src[end] == 'e' || lx->src[end] == 'E')) {
    size_t e = end + 1;
    if (e < lx->size && (lx->src[e] == '+' || lx->src[e] == '-'))
      e++;
    size_t exp_end = scan_digits(lx, e);
    if (exp_end > e)
      return exp_end;
  }
  return fraction ? end : 0;
}

static bool read_number(lexer *lx, size_t start) {
  char text[128];
  size_t end = float_end(lx);
  if (end) {
    number_text(lx, start, end, text, sizeof text);
    jinja_token *t = push(lx, TOKEN_FLOAT, start, end - start);
    t->number = strtod(text, NULL);
    lx->pos = end;
    return true;
  }
  int base = 10;
  size_t digits = start;
  const char *s = lx->src;
  if (s[start] == '0' && start + 1 < lx->size && strchr("bBoOxX", s[start + 1]) &&
      s[start + 1] != '\0') {
    char b = (char)tolower((unsigned char)s[start + 1]);
    base = b == 'b' ? 2 : b == 'o' ? 8 : 16;
    digits = start + 2;
  }
  end = digits;
  if (base == 10 && s[start] != '0')
    end = scan_digits(lx, start);
  else
    while (end < lx->size &&
           (is_digit_or_underscore(s[end]) || (base == 16 && isxdigit((unsigned char)s[end]))))
      end++;
  if (base == 10 && s[start] == '0') { /* "0", "00", "0_0": a leading zero makes only zeros */
    end = start + 1;
    while (end + 1 < lx->size && (s[end] == '0' || (s[end] == '_' && s[end + 1] == '0')))
      end += s[end] == '_' ? 2 : 1;
  }
  if (end == digits)
    return fail(lx, start, "invalid number literal");
  number_text(lx, digits, end, text, sizeof text);
  errno = 0;
  char *rest;
  long long value = strtoll(text, &rest, base);
  if (errno == ERANGE)
    return fail(lx, start, "integer literal too large (chord's integers are 64-bit)");
  if (*rest)
    return fail(lx, start, "invalid digit in number literal");
  jinja_token *t = push(lx, TOKEN_INTEGER, start, end - start);
  t->integer = value;
  lx->pos = end;
  return true;
}

/* Operators, longest first so that "//" is not read as two "/". */
static const char *const operators[] = {
    "//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[",
    "]",  "(",  ")",  "{",  "}",  ">",  "<", "=", ".", ":", "|", ",", ";",
};

static bool read_operator(lexer *lx) {
  for (size_t k = 0; k < sizeof operators / sizeof operators[0]; k++) {
    const char *op = operators[k];
    if (!starts_with(lx, lx->pos, op))
      continue;
    char c = op[0];
    if (op[1] == '\0' && (c == '(' || c == '[' || c == '{')) {
      if (lx->depth == (int)sizeof lx->closers)
        return fail(lx, lx->pos, "brackets nested too deeply");
      lx->closers[lx->depth++] = c == '(' ? ')' : c == '[' ? ']' : '}';
    } else if (op[1] == '\0' && (c == ')' || c == ']' || c == '}')) {
      if (lx->depth == 0)
        return fail(lx, lx->pos, "unexpected '%c'", c);
      char expected = lx->closers[--lx->depth];
      if (expected != c)
        return fail(lx, lx->pos, "unexpected '%c', expected '%c'", c, expected);
    }
    size_t n = strlen(op);
    jinja_token *t = push(lx, TOKEN_OPERATOR, lx->pos, n);
    t->text = jinja_str(lx->arena, op, n);
    lx->pos += n;
    return true;
  }
  return fail(lx, lx->pos, "unexpected character '%.*s'", (int)(space_at(lx, lx->pos) + 1),
              lx->src + lx->pos);
}

/* The inside of {{ }} or {% %}, up to and including its end. */
static bool read_tag(lexer *lx, tag_kind kind, size_t open) {
  const char *end_text = kind == TAG_BLOCK ? "%}" : "}}";
  lx->depth = 0;
  for (;;) {
    if (lx->pos >= lx->size)
      return fail(lx, open, "unclosed tag: expected '%s' before the end of the template", end_text);
    /* An end that comes while brackets are open is punctuation, as in {{ {'a': {}}}} */
    if (lx->depth == 0) {
      char sign = 0;
      size_t at = lx->pos;
      if ((lx->src[at] == '-' || (kind == TAG_BLOCK && lx->src[at] == '+')) &&
          starts_with(lx, at + 1, end_text))
        sign = lx->src[at++];
      if (starts_with(lx, at, end_text)) {
        push(lx, kind == TAG_BLOCK ? TOKEN_BLOCK_END : TOKEN_VARIABLE_END, lx->pos,
             at + 2 - lx->pos);
        lx->pos = after_tag_end(lx, at + 2, sign, kind == TAG_BLOCK);
        return true;
      }
    }
    size_t space = space_at(lx, lx->pos);
    if (space) {
      lx->pos += space;
      continue;
    }
    size_t start = lx->pos;
    char c = lx->src[start];
    if (isdigit((unsigned char)c)) {
      if (!read_number(lx, start))
        return false;
    } else if (isalpha((unsigned char)c) || c == '_') {
      size_t end = start + 1;
      while (end < lx->size && (isalnum((unsigned char)lx->src[end]) || lx->src[end] == '_'))
        end++;
      jinja_token *t = push(lx, TOKEN_NAME, start, end - start);
      t->text = jinja_str(lx->arena, lx->src + start, end - start);
      lx->pos = end;
    } else if (c == '\'' || c == '"') {
      jinja_token *t = push(lx, TOKEN_STRING, start, 0);
      if (!read_string(lx, t))
        return false;
    } else if (!read_operator(lx)) {
      return false;
    }
  }
}

/* {% raw %}...{% endraw %}: the text between is data, tags and all. Returns false (and no error)
 * if the block tag at `open` is not a raw tag. */
static bool try_raw(lexer *lx, size_t open, size_t text_start, bool *error) {
  size_t at = open + 2;
  char sign = 0;
  if (at < lx->size && (lx->src[at] == '-' || lx->src[at] == '+'))
    sign = lx->src[at++];
  at = skip_spaces(lx, at);
  if (!starts_with(lx, at, "raw"))
    return false;
  at = skip_spaces(lx, at + 3);
  char end_sign = 0;
  if (starts_with(lx, at, "-%}"))
    end_sign = '-', at += 3;
  else if (starts_with(lx, at, "%}"))
    at += 2;
  else
    return false;
  emit_text(lx, text_start, open, sign, true);
  if (end_sign == '-')
    at = skip_spaces(lx, at);
  lx->line_starting = at > 0 && lx->src[at - 1] == '\n';
  /* Find {%[-+]? endraw [-+]?%} */
  for (size_t i = at; i + 1 < lx->size; i++) {
    if (lx->src[i] != '{' || lx->src[i + 1] != '%')
      continue;
    size_t j = i + 2;
    char close_sign = 0;
    if (j < lx->size && (lx->src[j] == '-' || lx->src[j] == '+'))
      close_sign = lx->src[j++];
    j = skip_spaces(lx, j);
    if (!starts_with(lx, j, "endraw"))
      continue;
    j = skip_spaces(lx, j + 6);
    char tail = 0;
    if (j < lx->size && (lx->src[j] == '-' || lx->src[j] == '+') && starts_with(lx, j + 1, "%}"))
      tail = lx->src[j++];
    if (!starts_with(lx, j, "%}"))
      continue;
    emit_text(lx, at, i, close_sign, true);
    lx->pos = after_tag_end(lx, j + 2, tail, true);
    return true;
  }
  *error = true;
  fail(lx, open, "missing end of raw directive ({%% endraw %%})");
  return true;
}

bool jinja_lex(jinja_arena *arena, const char *source, size_t size,
               const jinja_syntax_options *options, jinja_token **tokens, size_t *count,
               jinja_lex_error *error) {
  lexer lx = {.arena = arena,
              .src = source,
              .size = size,
              .options = options,
              .line_starting = true,
              .error = error};
  while (lx.pos < lx.size) {
    size_t text_start = lx.pos, open = lx.pos;
    tag_kind kind = TAG_VARIABLE;
    bool found = false;
    for (; open + 1 < lx.size; open++) {
      if (lx.src[open] != '{')
        continue;
      char c = lx.src[open + 1];
      if (c == '{' || c == '%' || c == '#') {
        kind = c == '{' ? TAG_VARIABLE : c == '%' ? TAG_BLOCK : TAG_COMMENT;
        found = true;
        break;
      }
    }
    if (!found) {
      emit_text(&lx, text_start, lx.size, 0, false);
      break;
    }
    if (kind == TAG_BLOCK) {
      bool raw_error = false;
      if (try_raw(&lx, open, text_start, &raw_error)) {
        if (raw_error)
          return false;
        continue;
      }
    }
    size_t at = open + 2;
    char sign = 0;
    if (at < lx.size && (lx.src[at] == '-' || lx.src[at] == '+'))
      sign = lx.src[at++];
    emit_text(&lx, text_start, open, sign, kind != TAG_VARIABLE);
    if (kind == TAG_COMMENT) {
      /* The comment ends at the first #}; a - or + just before it is its whitespace sign. */
      size_t end = at;
      while (end + 1 < lx.size && !(lx.src[end] == '#' && lx.src[end + 1] == '}'))
        end++;
      if (end + 1 >= lx.size)
        return fail(&lx, open, "missing end of comment tag");
      char end_sign =
          end > at && (lx.src[end - 1] == '-' || lx.src[end - 1] == '+') ? lx.src[end - 1] : 0;
      lx.pos = after_tag_end(&lx, end + 2, end_sign, true);
      continue;
    }
    push(&lx, kind == TAG_BLOCK ? TOKEN_BLOCK_BEGIN : TOKEN_VARIABLE_BEGIN, open, at - open);
    lx.pos = at;
    if (!read_tag(&lx, kind, open))
      return false;
  }
  push(&lx, TOKEN_EOF, lx.size, 0);
  *tokens = lx.tokens;
  *count = lx.count;
  return true;
}
