/* chord_session_generate (include/chord.h): the generation loop on top of feed and sample, with
 * its stop conditions and streaming. Text reaches the callback only when it is final: complete
 * UTF-8 characters (tok_stream) that cannot be the start of a stop string. */
#include <string.h>

#include "runtime/platform/file.h"
#include "runtime/program_internal.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

typedef struct generation {
  const chord_generate_options *options;
  chord_stream_fn stream;
  void *user;
  tok_text text; /* everything decoded so far (stop strings removed) */
  size_t sent;   /* bytes of text already streamed */
  int32_t *tokens;
  size_t n_tokens, cap_tokens;
} generation;

/* Bytes at the end of text[from..] that could begin a stop string: held back until they cannot. */
static size_t held_back(const generation *g, size_t from) {
  size_t best = 0, n = g->text.size - from;
  for (size_t k = 0; k < g->options->n_stop; k++) {
    const char *stop = g->options->stop[k];
    size_t len = strlen(stop);
    if (!len)
      continue;
    for (size_t keep = len - 1 < n ? len - 1 : n; keep > best; keep--)
      if (memcmp(g->text.data + g->text.size - keep, stop, keep) == 0) {
        best = keep;
        break;
      }
  }
  return best;
}

/* After new text: cuts it at the first stop string (true) and streams what is final. Returns
 * false in *go_on when the callback asked to stop. */
static bool after_text(generation *g, int32_t token, bool *go_on) {
  bool stopped = false;
  size_t end = g->text.size;
  for (size_t k = 0; k < g->options->n_stop; k++) {
    const char *stop = g->options->stop[k];
    size_t len = strlen(stop);
    if (!len)
      continue;
    /* a stop string can only start in text not yet streamed */
    for (size_t at = g->sent; at + len <= g->text.size; at++)
      if (memcmp(g->text.data + at, stop, len) == 0) {
        if (at < end)
          end = at;
        stopped = true;
        break;
      }
  }
  if (stopped) {
    g->text.size = end;
    g->text.data[end] = '\0';
  }
  size_t final = stopped ? end : g->text.size - held_back(g, g->sent);
  *go_on = true;
  if (final > g->sent && g->stream)
    *go_on = g->stream(g->user, token, g->text.data + g->sent, final - g->sent);
  if (final > g->sent)
    g->sent = final;
  return stopped;
}

static bool push_token(generation *g, int32_t token) {
  if (g->n_tokens == g->cap_tokens) {
    size_t cap = g->cap_tokens ? 2 * g->cap_tokens : 64;
    int32_t *grown = rt_realloc(g->tokens, sizeof *grown * cap);
    if (!grown)
      return false;
    g->tokens = grown;
    g->cap_tokens = cap;
  }
  g->tokens[g->n_tokens++] = token;
  return true;
}

chord_status chord_session_generate(chord_session *s, const int32_t *prompt, size_t n_prompt,
                                    const chord_generate_options *options, chord_stream_fn stream,
                                    void *user, chord_generate_result *result, chord_error *error) {
  static const chord_generate_options defaults = {.n_predict = -1};
  generation g = {.options = options ? options : &defaults, .stream = stream, .user = user};
  if (result)
    *result = (chord_generate_result){.n_prompt = n_prompt};
  chord_model *model = chord_session_program(s)->model;
  const tok_vocab *vocab;
  chord_status st = model_vocab(model, &vocab, error);
  if (st != CHORD_OK)
    return st;
  double t0 = rt_time_ms();
  if (n_prompt)
    st = chord_session_feed(s, prompt, n_prompt, error);
  double t1 = rt_time_ms();
  tok_stream ts;
  tok_stream_init(&ts, vocab, true);
  chord_stop_reason reason = CHORD_STOP_LENGTH;
  int64_t n_ctx = chord_program_context_size(chord_session_program(s)), discarded = 0;
  while (st == CHORD_OK) {
    if (g.options->n_predict >= 0 && g.n_tokens >= (size_t)g.options->n_predict) {
      reason = CHORD_STOP_LENGTH;
      break;
    }
    int32_t token;
    st = chord_session_sample(s, &token, error);
    if (st != CHORD_OK)
      break;
    if (tok_vocab_is_eog(vocab, token)) {
      reason = CHORD_STOP_EOG;
      break;
    }
    if (!push_token(&g, token)) {
      st = rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory generating");
      break;
    }
    st = tok_stream_push(&ts, token, &g.text, error);
    bool go_on = true;
    if (st == CHORD_OK && after_text(&g, token, &go_on)) {
      reason = CHORD_STOP_STRING;
      break;
    }
    if (st == CHORD_OK && !go_on) {
      reason = CHORD_STOP_CALLBACK;
      break;
    }
    if (st != CHORD_OK ||
        (g.options->n_predict >= 0 && g.n_tokens >= (size_t)g.options->n_predict)) {
      reason = CHORD_STOP_LENGTH;
      break;
    }
    if (chord_session_positions(s) >= n_ctx && g.options->context_shift) {
      /* llama-cli's shift: keep n_keep, drop half of the rest */
      int64_t keep = g.options->n_keep < 0 ? 0 : g.options->n_keep;
      keep = keep < n_ctx - 1 ? keep : n_ctx - 1;
      int64_t discard = (n_ctx - keep) / 2;
      st = chord_session_shift(s, keep, discard, error);
      if (st != CHORD_OK)
        break;
      discarded += discard;
    }
    if (chord_session_positions(s) >= n_ctx) {
      if (!g.options->stop_at_full_context)
        st = rt_error(error, CHORD_ERROR_INVALID, "the context is full (%lld positions; raise -c)",
                      (long long)n_ctx);
      reason = CHORD_STOP_CONTEXT_FULL;
      break;
    }
    st = chord_session_feed(s, &token, 1, error);
  }
  /* what the stream still holds is final now (unless a stop string cut it off) */
  if (st == CHORD_OK && reason != CHORD_STOP_STRING && reason != CHORD_STOP_CALLBACK) {
    st = tok_stream_finish(&ts, &g.text, error);
    if (st == CHORD_OK && g.text.size > g.sent && g.stream)
      g.stream(g.user, -1, g.text.data + g.sent, g.text.size - g.sent);
  }
  double t2 = rt_time_ms();
  if (st == CHORD_OK && result) {
    result->tokens = g.tokens;
    result->n_tokens = g.n_tokens;
    result->text = g.text.data;
    result->text_size = g.text.size;
    result->stop = reason;
    result->prompt_ms = t1 - t0;
    result->generate_ms = t2 - t1;
    result->n_discarded = discarded;
    if (!result->text && !(result->text = rt_calloc(1, 1)))
      st = rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory generating");
    return st;
  }
  rt_free(g.tokens);
  tok_text_free(&g.text);
  return st;
}

void chord_generate_result_free(chord_generate_result *r) {
  if (!r)
    return;
  rt_free(r->tokens);
  rt_free(r->text);
  r->tokens = NULL;
  r->text = NULL;
}
