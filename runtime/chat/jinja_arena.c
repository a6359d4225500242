/* The arena every value of a render (and every node of a template) lives in, and the growable
 * text buffer built on it. */
#include <stdalign.h>
#include <stdio.h>
#include <string.h>

#include "runtime/chat/jinja_internal.h"
#include "runtime/support/alloc.h"

struct jinja_chunk {
  struct jinja_chunk *next;
  size_t used, size;
  alignas(max_align_t) unsigned char data[];
};

/* Big enough that a chat template's render takes a handful of chunks. */
enum { CHUNK_SIZE = 64 * 1024 };

void jinja_arena_init(jinja_arena *arena) { *arena = (jinja_arena){0}; }

void jinja_arena_free(jinja_arena *arena) {
  struct jinja_chunk *c = arena->chunks;
  while (c) {
    struct jinja_chunk *next = c->next;
    rt_free(c);
    c = next;
  }
  arena->chunks = NULL;
}

void *jinja_arena_alloc(jinja_arena *arena, size_t size) {
  size = (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
  struct jinja_chunk *c = arena->chunks;
  if (!c || c->size - c->used < size) {
    size_t chunk_size = size > CHUNK_SIZE ? size : CHUNK_SIZE;
    c = size < (size_t)-1 - sizeof *c ? rt_malloc(sizeof *c + chunk_size) : NULL;
    if (!c) {
      if (arena->on_failure)
        longjmp(*arena->on_failure, 1);
      return NULL;
    }
    c->size = chunk_size;
    c->used = 0;
    /* A large allocation gets its own chunk behind the current one, so the space left in the
     * current chunk is not wasted. */
    if (arena->chunks && size > CHUNK_SIZE) {
      c->next = arena->chunks->next;
      arena->chunks->next = c;
    } else {
      c->next = arena->chunks;
      arena->chunks = c;
    }
  }
  void *p = c->data + c->used;
  c->used += size;
  return p;
}

void *jinja_alloc(jinja_arena *arena, size_t size) {
  void *p = jinja_arena_alloc(arena, size);
  if (!p) /* only without on_failure, which the engine always sets */
    longjmp(*arena->on_failure, 1);
  return p;
}

/* ---- buffer ---------------------------------------------------------------------------------- */

void jinja_buf_init(jinja_buf *buf, jinja_arena *arena) { *buf = (jinja_buf){.arena = arena}; }

static void buf_reserve(jinja_buf *buf, size_t extra) {
  size_t size = jinja_buf_size(buf);
  if (buf->string && size + extra < buf->capacity)
    return;
  size_t capacity = buf->capacity ? buf->capacity : 64;
  while (capacity <= size + extra)
    capacity *= 2;
  jinja_string *s = jinja_alloc(buf->arena, sizeof *s + capacity);
  if (buf->string)
    memcpy(s->data, buf->string->data, size);
  s->size = size;
  buf->string = s;
  buf->capacity = capacity;
}

void jinja_buf_append(jinja_buf *buf, const char *data, size_t size) {
  buf_reserve(buf, size);
  if (size)
    memcpy(buf->string->data + buf->string->size, data, size);
  buf->string->size += size;
}

void jinja_buf_puts(jinja_buf *buf, const char *text) { jinja_buf_append(buf, text, strlen(text)); }

void jinja_buf_putc(jinja_buf *buf, char c) { jinja_buf_append(buf, &c, 1); }

void jinja_buf_printf(jinja_buf *buf, const char *format, ...) {
  char small[256];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(small, sizeof small, format, args);
  va_end(args);
  if (n < 0)
    return;
  if ((size_t)n < sizeof small) {
    jinja_buf_append(buf, small, (size_t)n);
    return;
  }
  buf_reserve(buf, (size_t)n + 1);
  va_start(args, format);
  vsnprintf(buf->string->data + buf->string->size, (size_t)n + 1, format, args);
  va_end(args);
  buf->string->size += (size_t)n;
}

void jinja_buf_utf8(jinja_buf *buf, int32_t c) {
  char out[4];
  size_t n;
  if (c < 0x80) {
    out[0] = (char)c;
    n = 1;
  } else if (c < 0x800) {
    out[0] = (char)(0xC0 | (c >> 6));
    out[1] = (char)(0x80 | (c & 0x3F));
    n = 2;
  } else if (c < 0x10000) {
    out[0] = (char)(0xE0 | (c >> 12));
    out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[2] = (char)(0x80 | (c & 0x3F));
    n = 3;
  } else {
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    n = 4;
  }
  jinja_buf_append(buf, out, n);
}

const jinja_string *jinja_buf_finish(jinja_buf *buf) {
  buf_reserve(buf, 0);
  jinja_string *s = buf->string;
  s->data[s->size] = '\0';
  /* The string is handed out: later appends start afresh. */
  buf->string = NULL;
  buf->capacity = 0;
  return s;
}
