/* chord: a compiler for language models. Public C API (stable C ABI).
 *
 * Every call that can fail returns a chord_status and, when given a chord_error, leaves a readable
 * message in it that says what went wrong and where (file offset, tensor name, ...). Nothing in the
 * library prints to stdout or exits. */
#ifndef CHORD_H
#define CHORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CHORD_VERSION_MAJOR 0
#define CHORD_VERSION_MINOR 1
#define CHORD_VERSION_PATCH 0

typedef enum chord_status {
  CHORD_OK = 0,
  CHORD_ERROR_IO,          /* a file could not be opened, read, mapped or written */
  CHORD_ERROR_FORMAT,      /* the input is malformed (bad magic, truncation, bad counts, ...) */
  CHORD_ERROR_UNSUPPORTED, /* well-formed but not supported (version, type, architecture) */
  CHORD_ERROR_NOT_FOUND,   /* a key, tensor or file that was asked for does not exist */
  CHORD_ERROR_INVALID,     /* a bad argument from the caller */
  CHORD_ERROR_NO_MEMORY,   /* an allocation failed */
} chord_status;

/* Holds the message of the last failure of a call it was passed to. */
typedef struct chord_error {
  chord_status status;
  char message[1024];
} chord_error;

const char *chord_version(void);
const char *chord_status_name(chord_status status);

/* The path of the default model (Gemma 3 270M Q4_K_M as installed by scripts/setup.sh), or the
 * value of CHORD_MODEL when that is set. Writes into buf (size bytes); fails if the file is absent.
 */
chord_status chord_default_model_path(char *buf, size_t size, chord_error *error);

/* A GGUF model file, mapped read-only. */
typedef struct chord_model chord_model;

chord_status chord_model_open(const char *path, chord_model **out, chord_error *error);
/* A GGUF file already in memory (an executable's embedded weights): name is for messages; the
 * bytes must outlive the model. */
chord_status chord_model_open_memory(const void *data, size_t size, const char *name,
                                     chord_model **out, chord_error *error);
void chord_model_free(chord_model *model);

const char *chord_model_architecture(const chord_model *model); /* general.architecture or "" */
uint64_t chord_model_tensor_count(const chord_model *model);
uint64_t chord_model_parameter_count(const chord_model *model);
uint64_t chord_model_file_size(const chord_model *model);

/* ---- tokens (the vocabulary loads on first use)
 * ---------------------------------------------------------------------------------- */

/* Tokenizes text with the model's tokenizer: add_special adds BOS (and EOS) as the model asks,
 * parse_special turns texts of control tokens into those tokens. Release *ids with chord_free. */
chord_status chord_tokenize(chord_model *model, const char *text, size_t size, bool add_special,
                            bool parse_special, int32_t **ids, size_t *count, chord_error *error);
/* The bytes token id stands for (control tokens render as their text); NULL if out of range. */
const char *chord_token_piece(chord_model *model, int32_t id, size_t *size);
/* Whether generation stops at id (end of sequence, of turn, ...). */
bool chord_token_is_eog(chord_model *model, int32_t id);
uint32_t chord_model_vocab_size(chord_model *model);

/* ---- compile --------------------------------------------------------------------------------- */

/* A model lowered, optimized and compiled for one target, with its context size fixed. */
typedef struct chord_program chord_program;

typedef struct chord_compile_options {
  const char *target; /* "cpu" (the default: compiled for this CPU) or "interp" (the oracle) */
  int opt_level;      /* 0, 1 or 2 */
  /* comma-separated passes run instead of opt_level's pipeline, as `chord opt -p` (e.g.
   * "infer-shapes,fuse-attention"); NULL: the level's */
  const char *passes;
  int n_threads;            /* 0: one */
  int64_t n_ctx;            /* KV-cache positions; 0: 4096, at most the model's context length */
  int64_t n_batch;          /* prompt tokens per step; 0: 512 */
  const char *cache_type_k; /* the key cache's type: "f16" (NULL: the default) or "q8_0" */
} chord_compile_options;

void chord_compile_options_default(chord_compile_options *options);
/* The model must outlive the program. */
chord_status chord_compile(chord_model *model, const chord_compile_options *options,
                           chord_program **out, chord_error *error);
void chord_program_free(chord_program *program);
int64_t chord_program_context_size(const chord_program *program);
const char *chord_program_target(const chord_program *program);

/* ---- programs compiled ahead of time --------------------------------------------------------- */

/* What `chord compile --emit obj` writes for a model: its kernels and its optimized graph, as
 * the symbol chord_compiled_model. Link that object with libchord_runtime.a (no LLVM, no
 * compiler) and make the program from it: docs/aot.md, examples/compiled.c. */
typedef struct chord_compiled chord_compiled;
extern const chord_compiled chord_compiled_model;

/* The program of a compiled module, for model: the GGUF it was compiled from (or one with the
 * same tensors: each is checked by name, type and size when a session starts). Of options only
 * n_threads and n_batch count (target, level, context size and cache type were fixed by the
 * compile); NULL: the defaults. The model and the module must outlive the program. */
chord_status chord_program_from_compiled(chord_model *model, const chord_compiled *compiled,
                                         const chord_compile_options *options, chord_program **out,
                                         chord_error *error);
/* The target triple and CPU a module was compiled for. */
const char *chord_compiled_triple(const chord_compiled *compiled);
const char *chord_compiled_cpu(const chord_compiled *compiled);

/* ---- sessions: feed, sample, generate -------------------------------------------------------- */

/* llama.cpp's sampler chain and defaults (docs/sampling.md): penalties, top-k, typical, top-p,
 * min-p, temperature, then a seeded draw; temperature <= 0 is greedy. */
typedef struct chord_sampling {
  float temperature;       /* 0.8 */
  int32_t top_k;           /* 40; <= 0: off */
  float top_p;             /* 0.95; 1: off */
  float min_p;             /* 0.05; 0: off */
  float typical_p;         /* 1: off */
  float repeat_penalty;    /* 1: off */
  float frequency_penalty; /* 0: off */
  float presence_penalty;  /* 0: off */
  int32_t penalty_last_n;  /* 64: how many recent tokens the penalties look at */
  uint64_t seed;           /* CHORD_SEED_RANDOM: a different draw every run */
} chord_sampling;
#define CHORD_SEED_RANDOM UINT64_MAX

void chord_sampling_default(chord_sampling *sampling);

/* One conversation: a KV cache and the tokens in it. Sessions of one program are independent. */
typedef struct chord_session chord_session;

chord_status chord_session_new(const chord_program *program, const chord_sampling *sampling,
                               chord_session **out, chord_error *error);
void chord_session_free(chord_session *session);
/* Forgets every token: the next feed starts at position 0. */
chord_status chord_session_reset(chord_session *session, chord_error *error);
/* Tokens in the KV cache. */
int64_t chord_session_positions(const chord_session *session);
/* A context shift: forgets the tokens at positions keep .. keep + discard - 1; those after them
 * move down by discard (their cached keys rotated to the new positions, as llama.cpp does). The
 * logits of the last feed stay. CHORD_ERROR_INVALID unless keep + discard <= the positions. */
chord_status chord_session_shift(chord_session *session, int64_t keep, int64_t discard,
                                 chord_error *error);

/* Runs the tokens through the model (in steps of n_batch) after those already in the cache, and
 * records them in the penalties' history. CHORD_ERROR_INVALID, and nothing fed, when they do not
 * fit the context. */
chord_status chord_session_feed(chord_session *session, const int32_t *ids, size_t count,
                                chord_error *error);
/* The next-token logits after the last fed token (n_vocab floats), or NULL before any feed. */
const float *chord_session_logits(const chord_session *session, int64_t *n_vocab);
/* Draws the next token from the logits through the sampler chain; the caller feeds it (or not). */
chord_status chord_session_sample(chord_session *session, int32_t *token, chord_error *error);

/* Called with each piece of generated text (complete UTF-8 characters only) as it is decoded;
 * return false to stop the generation. */
typedef bool (*chord_stream_fn)(void *user, int32_t token, const char *text, size_t size);

typedef struct chord_generate_options {
  int32_t n_predict;       /* tokens to generate at most; -1: until the context is full */
  const char *const *stop; /* stop strings (not included in the text), or NULL */
  size_t n_stop;
  bool stop_at_full_context; /* true: a full context ends the generation; false: an error */
  /* true: a full context is shifted instead (llama-cli's --context-shift): the first n_keep
   * tokens stay, half of the others are discarded (chord_session_shift) */
  bool context_shift;
  int32_t n_keep;
} chord_generate_options;

typedef enum chord_stop_reason {
  CHORD_STOP_EOG,          /* the model ended its turn */
  CHORD_STOP_LENGTH,       /* n_predict reached */
  CHORD_STOP_STRING,       /* a stop string appeared */
  CHORD_STOP_CALLBACK,     /* the stream callback returned false */
  CHORD_STOP_CONTEXT_FULL, /* no room left in the KV cache */
} chord_stop_reason;

typedef struct chord_generate_result {
  int32_t *tokens; /* generated ids (the EOG token is not included) */
  size_t n_tokens;
  char *text; /* their text, NUL-terminated */
  size_t text_size;
  chord_stop_reason stop;
  double prompt_ms, generate_ms; /* time feeding the prompt; generating (sampling and feeding) */
  size_t n_prompt;
  int64_t n_discarded; /* tokens context shifts dropped from the KV cache */
} chord_generate_result;

/* Feeds the prompt tokens, then samples and feeds one token at a time until a stop condition,
 * streaming text through stream (may be NULL). result may be NULL. */
chord_status chord_session_generate(chord_session *session, const int32_t *prompt, size_t n_prompt,
                                    const chord_generate_options *options, chord_stream_fn stream,
                                    void *user, chord_generate_result *result, chord_error *error);
void chord_generate_result_free(chord_generate_result *result);

/* Releases memory the library handed out (chord_tokenize's ids). */
void chord_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
