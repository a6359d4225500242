/* Sessions (include/chord.h): one conversation on a loaded program — feeding tokens in steps of
 * n_batch, sampling, and the generation loop with its stop conditions and UTF-8-safe streaming.
 * Everything is step-wise underneath (feed, sample), so hosts without threads can drive it. */
#include <stddef.h>
#include <string.h>

#include "runtime/platform/file.h"
#include "runtime/program_internal.h"
#include "runtime/sample/sampler.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

struct chord_session {
  const chord_program *program;
  void *instance; /* the target's */
  sampler *sampler;
  int64_t n_vocab;
  float *logits; /* a copy of the last position's row */
  bool has_logits;
};

/* The public sampling parameters and the sampler's, one row per parameter (of the same type on
 * both sides), so that the defaults and the conversion cannot drift apart; the seed is apart
 * (CHORD_SEED_RANDOM and SAMPLER_SEED_RANDOM are different constants). */
#define SAMPLING_FIELD(pub, internal)                                                              \
  {                                                                                                \
    offsetof(chord_sampling, pub), offsetof(sampler_params, internal),                             \
        sizeof(((chord_sampling *)0)->pub)                                                         \
  }
static const struct {
  size_t public_offset, sampler_offset, size;
} SAMPLING_FIELDS[] = {
    SAMPLING_FIELD(temperature, temp),
    SAMPLING_FIELD(top_k, top_k),
    SAMPLING_FIELD(top_p, top_p),
    SAMPLING_FIELD(min_p, min_p),
    SAMPLING_FIELD(typical_p, typical_p),
    SAMPLING_FIELD(repeat_penalty, repeat_penalty),
    SAMPLING_FIELD(frequency_penalty, frequency_penalty),
    SAMPLING_FIELD(presence_penalty, presence_penalty),
    SAMPLING_FIELD(penalty_last_n, penalty_last_n),
};
enum { SAMPLING_FIELD_COUNT = sizeof SAMPLING_FIELDS / sizeof SAMPLING_FIELDS[0] };

void chord_sampling_default(chord_sampling *s) {
  sampler_params p = sampler_params_default();
  memset(s, 0, sizeof *s);
  for (int i = 0; i < SAMPLING_FIELD_COUNT; i++)
    memcpy((char *)s + SAMPLING_FIELDS[i].public_offset,
           (const char *)&p + SAMPLING_FIELDS[i].sampler_offset, SAMPLING_FIELDS[i].size);
  s->seed = CHORD_SEED_RANDOM;
}

static void to_sampler_params(const chord_sampling *s, sampler_params *p) {
  *p = sampler_params_default();
  for (int i = 0; i < SAMPLING_FIELD_COUNT; i++)
    memcpy((char *)p + SAMPLING_FIELDS[i].sampler_offset,
           (const char *)s + SAMPLING_FIELDS[i].public_offset, SAMPLING_FIELDS[i].size);
  p->seed = s->seed == CHORD_SEED_RANDOM ? SAMPLER_SEED_RANDOM : s->seed;
}

chord_status chord_session_new(const chord_program *program, const chord_sampling *sampling,
                               chord_session **out, chord_error *error) {
  *out = NULL;
  chord_session *s = rt_calloc(1, sizeof *s);
  if (!s)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory creating a session");
  s->program = program;
  s->n_vocab = chord_model_vocab_size(program->model);
  chord_sampling defaults;
  chord_sampling_default(&defaults);
  sampler_params params;
  to_sampler_params(sampling ? sampling : &defaults, &params);
  chord_status st = program->target->load(program->code, program->model->file, &s->instance, error);
  if (st == CHORD_OK)
    st = sampler_init(&s->sampler, &params, (int32_t)s->n_vocab, error);
  if (st == CHORD_OK && !(s->logits = rt_malloc(sizeof *s->logits * (size_t)s->n_vocab)))
    st = rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory creating a session");
  if (st != CHORD_OK) {
    chord_session_free(s);
    return st;
  }
  *out = s;
  return CHORD_OK;
}

void chord_session_free(chord_session *s) {
  if (!s)
    return;
  if (s->instance)
    s->program->target->free_instance(s->instance);
  sampler_free(s->sampler);
  rt_free(s->logits);
  rt_free(s);
}

chord_status chord_session_reset(chord_session *s, chord_error *error) {
  s->has_logits = false;
  sampler_reset(s->sampler);
  return s->program->target->set_positions(s->instance, 0, error);
}

int64_t chord_session_positions(const chord_session *s) {
  return s->program->target->positions(s->instance);
}

chord_status chord_session_shift(chord_session *s, int64_t keep, int64_t discard,
                                 chord_error *error) {
  int64_t at = chord_session_positions(s);
  if (keep < 0 || discard < 0 || keep > at || discard > at - keep)
    return rt_error(error, CHORD_ERROR_INVALID,
                    "cannot discard %lld tokens after the first %lld: the context holds %lld",
                    (long long)discard, (long long)keep, (long long)at);
  return s->program->target->shift(s->instance, keep, discard, error);
}

chord_status chord_session_feed(chord_session *s, const int32_t *ids, size_t count,
                                chord_error *error) {
  const target_info *t = s->program->target;
  int64_t at = t->positions(s->instance), n_ctx = s->program->n_ctx;
  if ((int64_t)count > n_ctx - at)
    return rt_error(error, CHORD_ERROR_INVALID,
                    "%zu tokens do not fit the context: %lld of %lld positions are used (raise "
                    "-c)",
                    count, (long long)at, (long long)n_ctx);
  for (size_t i = 0; i < count; i++)
    if (ids[i] < 0 || ids[i] >= s->n_vocab)
      return rt_error(error, CHORD_ERROR_INVALID, "token id %d is not in the vocabulary (0..%lld)",
                      ids[i], (long long)s->n_vocab - 1);
  int32_t *positions = rt_malloc(sizeof *positions * (size_t)(s->program->n_batch));
  if (!positions)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory feeding tokens");
  chord_status st = CHORD_OK;
  for (size_t done = 0; done < count && st == CHORD_OK;) {
    size_t n = count - done;
    if ((int64_t)n > s->program->n_batch)
      n = (size_t)s->program->n_batch;
    for (size_t i = 0; i < n; i++)
      positions[i] = (int32_t)(at + (int64_t)(done + i));
    st = t->step(s->instance, ids + done, positions, (int64_t)n, error);
    done += n;
  }
  rt_free(positions);
  /* the penalties look at every token in the context, prompt included (as llama-cli) */
  for (size_t i = 0; i < count && st == CHORD_OK; i++)
    st = sampler_accept(s->sampler, ids[i], error);
  if (st != CHORD_OK) {
    s->has_logits = false;
    return st;
  }
  int64_t rows, n_vocab;
  const float *logits = count ? t->logits(s->instance, &rows, &n_vocab) : NULL;
  if (count && (!logits || n_vocab != s->n_vocab))
    return rt_error(error, CHORD_ERROR_INVALID, "the model gave no logits of %lld entries",
                    (long long)s->n_vocab);
  if (count) {
    memcpy(s->logits, logits + (rows - 1) * n_vocab, sizeof *s->logits * (size_t)n_vocab);
    s->has_logits = true;
  }
  return CHORD_OK;
}

const float *chord_session_logits(const chord_session *s, int64_t *n_vocab) {
  if (!s->has_logits)
    return NULL;
  *n_vocab = s->n_vocab;
  return s->logits;
}

chord_status chord_session_sample(chord_session *s, int32_t *token, chord_error *error) {
  if (!s->has_logits)
    return rt_error(error, CHORD_ERROR_INVALID, "nothing to sample from: feed tokens first");
  chord_status st = sampler_sample(s->sampler, s->logits, token, error);
  return st;
}

const chord_program *chord_session_program(const chord_session *s) { return s->program; }
