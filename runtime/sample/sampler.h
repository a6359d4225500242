/* The token sampler of `chord run`: llama.cpp's default sampler chain for llama-cli with its flag
 * defaults, over a candidate array of (token id, logit, probability):
 *
 *   penalties -> top-k -> typical -> top-p -> min-p -> temperature -> draw
 *
 * Each stage has llama.cpp's semantics (src/llama-sampling.cpp); docs/sampling.md lists the
 * parameters, their flags and the few deliberate differences. The draw uses xoshiro256** seeded
 * through splitmix64, so a seed gives the same tokens on every machine, but not the tokens of
 * llama.cpp's std::mt19937 stream: only the distributions match.
 *
 * All memory is taken by sampler_init, so sampling itself never allocates and cannot run out of
 * memory mid-generation. A sampler is not thread-safe; use one per sequence. */
#ifndef CHORD_RUNTIME_SAMPLER_H
#define CHORD_RUNTIME_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chord.h"

/* The seed that asks for a random one (from the system's entropy): llama.cpp's --seed -1. */
#define SAMPLER_SEED_RANDOM UINT64_MAX

/* llama.cpp's common_params_sampling fields, with its names in the comments. */
typedef struct sampler_params {
  float temp;              /* --temp 0.8; <= 0: greedy (argmax after the penalties) */
  int32_t top_k;           /* --top-k 40; <= 0: off */
  float typical_p;         /* --typical 1.0 (typ_p); 1: off */
  float top_p;             /* --top-p 0.95; 1: off */
  float min_p;             /* --min-p 0.05; 0: off */
  int32_t min_keep;        /* --min-keep 0: the least typical, top-p and min-p may keep */
  int32_t penalty_last_n;  /* --repeat-last-n 64; 0: no penalties */
  float repeat_penalty;    /* --repeat-penalty 1.0 (penalty_repeat); 1: off */
  float frequency_penalty; /* --frequency-penalty 0.0 (penalty_freq); 0: off */
  float presence_penalty;  /* --presence-penalty 0.0 (penalty_present); 0: off */
  uint64_t seed;           /* --seed; SAMPLER_SEED_RANDOM (the default): a random one */
} sampler_params;

/* llama.cpp's defaults, as listed above. */
sampler_params sampler_params_default(void);

/* CHORD_ERROR_INVALID, with a message naming the parameter and its flag, if a value is outside
 * its range: temp finite; top_p, min_p, typical_p in [0, 1]; repeat_penalty finite and > 0;
 * frequency and presence penalties finite; penalty_last_n and min_keep >= 0 (llama.cpp's
 * --repeat-last-n -1, "the context size", is for the caller to resolve before). */
chord_status sampler_params_validate(const sampler_params *params, chord_error *error);

/* The parameters in one line, like llama.cpp's sampling print: "repeat_last_n = 64, ...". */
void sampler_params_format(const sampler_params *params, char *buf, size_t size);

/* One candidate token. p is filled by the stages that need probabilities and, after the chain,
 * is the distribution the draw uses. */
typedef struct sampler_candidate {
  int32_t id;
  float logit;
  float p;
} sampler_candidate;

/* A view of the candidates that survive the chain; sorted: in descending logit order. */
typedef struct sampler_candidates {
  sampler_candidate *data;
  size_t size;
  bool sorted;
} sampler_candidates;

typedef struct sampler sampler;

/* Validates params (see sampler_params_validate) and takes all the memory for a vocabulary of
 * n_vocab tokens. On failure *out is NULL. */
chord_status sampler_init(sampler **out, const sampler_params *params, int32_t n_vocab,
                          chord_error *error);
void sampler_free(sampler *s);

/* Records a token that entered the context, for the penalties: accept the prompt's tokens and
 * every sampled one, as llama-cli does. Only the last penalty_last_n count. */
chord_status sampler_accept(sampler *s, int32_t token, chord_error *error);

/* Draws the next token from n_vocab logits (which are not modified). Does not accept it. NaN or
 * +inf logits, or all of them -inf, are CHORD_ERROR_INVALID. */
chord_status sampler_sample(sampler *s, const float *logits, int32_t *token, chord_error *error);

/* Runs the chain without the draw: the surviving candidates with their final probabilities, in
 * the order the draw walks them. The view points into the sampler and is valid until its next
 * call. In greedy mode it holds the argmax alone. */
chord_status sampler_apply(sampler *s, const float *logits, sampler_candidates *out,
                           chord_error *error);

/* Forgets the accepted tokens and restarts the random stream from the seed (a fresh random seed
 * if it was SAMPLER_SEED_RANDOM, as llama.cpp's reset does). */
void sampler_reset(sampler *s);

/* The seed in use: the one given, or the random one drawn for SAMPLER_SEED_RANDOM. */
uint64_t sampler_seed(const sampler *s);

/* The active stages, llama.cpp-style: "penalties -> top-k -> top-p -> min-p -> temp -> dist". */
void sampler_chain_format(const sampler *s, char *buf, size_t size);

#endif
