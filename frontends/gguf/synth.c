/* Synthetic models: per architecture, the tensors llama.cpp's conversion writes and the
 * hyper-parameter keys llama.cpp reads, as tables; and a counter-based random generator so that
 * a tensor's values depend only on the seed, its name and the row. */
#include "frontends/gguf/synth.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

/* llama.cpp's limit on blocks (LLAMA_MAX_LAYERS). */
enum { SYNTH_MAX_LAYERS = 512 };

/* ---- hyper-parameters ------------------------------------------------------------------------ */

typedef enum field_kind { FIELD_U32, FIELD_F32, FIELD_BOOL } field_kind;

typedef struct dim_field {
  const char *name;
  size_t offset;
  field_kind kind;
} dim_field;

#define FIELD(member, kind)                                                                        \
  { #member, offsetof(gguf_synth_dims, member), kind }
/* What --dims may set (n_vocab comes from the vocabulary file). */
static const dim_field dim_fields[] = {
    FIELD(n_embd, FIELD_U32),    FIELD(n_layer, FIELD_U32),        FIELD(n_head, FIELD_U32),
    FIELD(n_head_kv, FIELD_U32), FIELD(head_dim, FIELD_U32),       FIELD(n_ff, FIELD_U32),
    FIELD(n_ctx, FIELD_U32),     FIELD(rope_base, FIELD_F32),      FIELD(rms_eps, FIELD_F32),
    FIELD(tied, FIELD_BOOL),     FIELD(sliding_window, FIELD_U32),
};
enum { DIM_FIELD_COUNT = sizeof dim_fields / sizeof dim_fields[0] };

/* When an <arch>.* key is written. */
typedef enum key_when {
  WHEN_ALWAYS,
  WHEN_HEAD_DIM_DIFFERS, /* head_dim is not n_embd / n_head, so llama.cpp must be told */
  WHEN_SLIDING_WINDOW,
} key_when;

typedef struct synth_key {
  const char *suffix; /* after "<arch>." */
  size_t offset;      /* the gguf_synth_dims member it is written from */
  field_kind kind;
  key_when when;
} synth_key;

#define KEY(suffix, member, kind, when)                                                            \
  { suffix, offsetof(gguf_synth_dims, member), kind, when }
/* The keys llama.cpp's converter writes for every architecture here. */
#define COMMON_KEYS                                                                                \
  KEY("context_length", n_ctx, FIELD_U32, WHEN_ALWAYS),                                            \
      KEY("embedding_length", n_embd, FIELD_U32, WHEN_ALWAYS),                                     \
      KEY("block_count", n_layer, FIELD_U32, WHEN_ALWAYS),                                         \
      KEY("feed_forward_length", n_ff, FIELD_U32, WHEN_ALWAYS),                                    \
      KEY("attention.head_count", n_head, FIELD_U32, WHEN_ALWAYS),                                 \
      KEY("attention.head_count_kv", n_head_kv, FIELD_U32, WHEN_ALWAYS),                           \
      KEY("rope.freq_base", rope_base, FIELD_F32, WHEN_ALWAYS),                                    \
      KEY("attention.layer_norm_rms_epsilon", rms_eps, FIELD_F32, WHEN_ALWAYS)

static const synth_key llama_keys[] = {
    COMMON_KEYS,
    KEY("vocab_size", n_vocab, FIELD_U32, WHEN_ALWAYS),
    KEY("rope.dimension_count", head_dim, FIELD_U32, WHEN_ALWAYS),
    KEY("attention.key_length", head_dim, FIELD_U32, WHEN_HEAD_DIM_DIFFERS),
    KEY("attention.value_length", head_dim, FIELD_U32, WHEN_HEAD_DIM_DIFFERS),
};
static const synth_key qwen2_keys[] = {COMMON_KEYS};
static const synth_key gemma3_keys[] = {
    COMMON_KEYS,
    KEY("attention.key_length", head_dim, FIELD_U32, WHEN_ALWAYS),
    KEY("attention.value_length", head_dim, FIELD_U32, WHEN_ALWAYS),
    KEY("attention.sliding_window", sliding_window, FIELD_U32, WHEN_SLIDING_WINDOW),
};

/* ---- tensors --------------------------------------------------------------------------------- */

/* A tensor dimension in terms of the hyper-parameters. */
typedef enum synth_size {
  SIZE_NONE,
  SIZE_EMBD,  /* n_embd */
  SIZE_VOCAB, /* n_vocab */
  SIZE_Q,     /* n_head × head_dim */
  SIZE_KV,    /* n_head_kv × head_dim */
  SIZE_FF,    /* n_ff */
  SIZE_HEAD,  /* head_dim */
} synth_size;

typedef struct synth_template {
  const char *name; /* per-layer tensors get "blk.N." in front */
  synth_size dims[2];
  gguf_synth_init init;
  bool untied_only; /* present only when the output projection is not tied */
} synth_template;

/* UNTIED_TENSOR marks the one tensor that a model with tied embeddings leaves out. */
#define TENSOR(name, d0, d1, init)                                                                 \
  { name, {SIZE_##d0, SIZE_##d1}, GGUF_SYNTH_INIT_##init, false }
#define UNTIED_TENSOR(name, d0, d1, init)                                                          \
  { name, {SIZE_##d0, SIZE_##d1}, GGUF_SYNTH_INIT_##init, true }

static const synth_template model_head[] = {TENSOR("token_embd.weight", EMBD, VOCAB, WEIGHT)};
static const synth_template model_tail[] = {
    TENSOR("output_norm.weight", EMBD, NONE, NORM),
    UNTIED_TENSOR("output.weight", EMBD, VOCAB, WEIGHT),
};

static const synth_template llama_layer[] = {
    TENSOR("attn_norm.weight", EMBD, NONE, NORM),  TENSOR("attn_q.weight", EMBD, Q, WEIGHT),
    TENSOR("attn_k.weight", EMBD, KV, WEIGHT),     TENSOR("attn_v.weight", EMBD, KV, WEIGHT),
    TENSOR("attn_output.weight", Q, EMBD, WEIGHT), TENSOR("ffn_norm.weight", EMBD, NONE, NORM),
    TENSOR("ffn_gate.weight", EMBD, FF, WEIGHT),   TENSOR("ffn_up.weight", EMBD, FF, WEIGHT),
    TENSOR("ffn_down.weight", FF, EMBD, WEIGHT),
};

/* Qwen2 adds biases to the q, k and v projections. */
static const synth_template qwen2_layer[] = {
    TENSOR("attn_norm.weight", EMBD, NONE, NORM), TENSOR("attn_q.weight", EMBD, Q, WEIGHT),
    TENSOR("attn_q.bias", Q, NONE, BIAS),         TENSOR("attn_k.weight", EMBD, KV, WEIGHT),
    TENSOR("attn_k.bias", KV, NONE, BIAS),        TENSOR("attn_v.weight", EMBD, KV, WEIGHT),
    TENSOR("attn_v.bias", KV, NONE, BIAS),        TENSOR("attn_output.weight", Q, EMBD, WEIGHT),
    TENSOR("ffn_norm.weight", EMBD, NONE, NORM),  TENSOR("ffn_gate.weight", EMBD, FF, WEIGHT),
    TENSOR("ffn_up.weight", EMBD, FF, WEIGHT),    TENSOR("ffn_down.weight", FF, EMBD, WEIGHT),
};

/* Gemma 3 normalizes q and k per head, and the outputs of attention and of the FFN. */
static const synth_template gemma3_layer[] = {
    TENSOR("attn_norm.weight", EMBD, NONE, NORM),
    TENSOR("attn_q.weight", EMBD, Q, WEIGHT),
    TENSOR("attn_q_norm.weight", HEAD, NONE, NORM),
    TENSOR("attn_k.weight", EMBD, KV, WEIGHT),
    TENSOR("attn_k_norm.weight", HEAD, NONE, NORM),
    TENSOR("attn_v.weight", EMBD, KV, WEIGHT),
    TENSOR("attn_output.weight", Q, EMBD, WEIGHT),
    TENSOR("post_attention_norm.weight", EMBD, NONE, NORM),
    TENSOR("ffn_norm.weight", EMBD, NONE, NORM),
    TENSOR("ffn_gate.weight", EMBD, FF, WEIGHT),
    TENSOR("ffn_up.weight", EMBD, FF, WEIGHT),
    TENSOR("ffn_down.weight", FF, EMBD, WEIGHT),
    TENSOR("post_ffw_norm.weight", EMBD, NONE, NORM),
};

#undef TENSOR
#undef UNTIED_TENSOR

/* ---- architectures --------------------------------------------------------------------------- */

struct gguf_synth_arch {
  const char *name;
  const synth_key *keys;
  size_t n_keys;
  const synth_template *layer;
  size_t n_layer_tensors;
  gguf_synth_dims defaults; /* for --dims: what may be left out */
  bool q_is_embd;           /* the q projection is n_embd wide (llama.cpp's qwen2 assumes it) */
  bool has_sliding_window;
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* ARCH(name, q_is_embd, has_sliding_window, defaults...): the name's keys and layer tables. */
/* clang-format off */
#define ARCH(name, q_is_embd, has_sliding_window, ...)                                             \
  {#name, name##_keys, COUNT(name##_keys), name##_layer, COUNT(name##_layer), {__VA_ARGS__},       \
   q_is_embd, has_sliding_window}
/* clang-format on */
static const gguf_synth_arch archs[] = {
    ARCH(llama, false, false, .n_ctx = 4096, .rope_base = 10000.0f, .rms_eps = 1e-5f),
    ARCH(qwen2, true, false, .n_ctx = 32768, .rope_base = 1000000.0f, .rms_eps = 1e-6f),
    ARCH(gemma3, false, true, .n_ctx = 32768, .rope_base = 1000000.0f, .rms_eps = 1e-6f,
         .tied = true, .sliding_window = 512),
};
#undef ARCH

const gguf_synth_arch *gguf_synth_arch_find(const char *name) {
  for (size_t i = 0; i < COUNT(archs); i++)
    if (strcmp(archs[i].name, name) == 0)
      return &archs[i];
  return NULL;
}

const gguf_synth_arch *gguf_synth_arch_at(size_t i) { return i < COUNT(archs) ? &archs[i] : NULL; }
const char *gguf_synth_arch_name(const gguf_synth_arch *arch) { return arch->name; }

static const gguf_synth_shape shapes[] = {
#define X(name, arch, title, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx, rope_base, \
          rms_eps, tied, sliding_window)                                                           \
  {name,                                                                                           \
   arch,                                                                                           \
   title,                                                                                          \
   {0, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx, rope_base, rms_eps, tied,        \
    sliding_window}},
#include "frontends/gguf/model_shapes.def"
#undef X
};

const gguf_synth_shape *gguf_synth_shape_find(const char *name) {
  for (size_t i = 0; i < COUNT(shapes); i++)
    if (strcasecmp(shapes[i].name, name) == 0)
      return &shapes[i];
  return NULL;
}

const gguf_synth_shape *gguf_synth_shape_at(size_t i) {
  return i < COUNT(shapes) ? &shapes[i] : NULL;
}

/* ---- dimensions ------------------------------------------------------------------------------ */

void gguf_synth_dims_default(const gguf_synth_arch *arch, gguf_synth_dims *out) {
  *out = arch->defaults;
}

static bool parse_u32(const char *s, uint32_t *out) {
  if (*s < '0' || *s > '9')
    return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > UINT32_MAX)
    return false;
  *out = (uint32_t)v;
  return true;
}

static bool parse_f32(const char *s, float *out) {
  errno = 0;
  char *end;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 3.4e38)
    return false;
  *out = (float)v;
  return true;
}

static bool parse_bool(const char *s, bool *out) {
  if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)
    *out = true;
  else if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0 || strcmp(s, "no") == 0)
    *out = false;
  else
    return false;
  return true;
}

static const char *const kind_words[] = {
    [FIELD_U32] = "a non-negative integer",
    [FIELD_F32] = "a positive number",
    [FIELD_BOOL] = "0 or 1",
};

static chord_status parse_one(char *item, gguf_synth_dims *dims, chord_error *error) {
  char *eq = strchr(item, '=');
  if (!eq || eq == item)
    return rt_error(error, CHORD_ERROR_INVALID, "--dims: '%s' is not key=value", item);
  *eq = '\0';
  const char *value = eq + 1;
  for (size_t i = 0; i < DIM_FIELD_COUNT; i++) {
    const dim_field *f = &dim_fields[i];
    if (strcmp(f->name, item) != 0)
      continue;
    void *p = (char *)dims + f->offset;
    bool ok = f->kind == FIELD_U32   ? parse_u32(value, p)
              : f->kind == FIELD_F32 ? parse_f32(value, p)
                                     : parse_bool(value, p);
    if (!ok)
      return rt_error(error, CHORD_ERROR_INVALID, "--dims: %s=%s: expected %s", item, value,
                      kind_words[f->kind]);
    return CHORD_OK;
  }
  char known[512] = "";
  for (size_t i = 0; i < DIM_FIELD_COUNT; i++) {
    strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
    strncat(known, dim_fields[i].name, sizeof known - strlen(known) - 1);
  }
  return rt_error(error, CHORD_ERROR_INVALID, "--dims: unknown key '%s' (known: %s)", item, known);
}

chord_status gguf_synth_dims_parse(const char *text, gguf_synth_dims *dims, chord_error *error) {
  size_t n = strlen(text);
  if (n == 0)
    return rt_error(error, CHORD_ERROR_INVALID, "--dims: empty");
  char *copy = rt_strndup(text, n);
  if (!copy)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "--dims: out of memory");
  chord_status s = CHORD_OK;
  char *save = NULL;
  for (char *item = strtok_r(copy, ",", &save); item && !s; item = strtok_r(NULL, ",", &save))
    s = parse_one(item, dims, error);
  rt_free(copy);
  return s;
}

chord_status gguf_synth_dims_finish(const gguf_synth_arch *arch, gguf_synth_dims *d,
                                    chord_error *error) {
  static const struct {
    const char *name;
    size_t offset;
  } required[] = {
      {"n_embd", offsetof(gguf_synth_dims, n_embd)},
      {"n_layer", offsetof(gguf_synth_dims, n_layer)},
      {"n_head", offsetof(gguf_synth_dims, n_head)},
      {"n_ff", offsetof(gguf_synth_dims, n_ff)},
      {"n_ctx", offsetof(gguf_synth_dims, n_ctx)},
  };
  for (size_t i = 0; i < COUNT(required); i++)
    if (*(const uint32_t *)((const char *)d + required[i].offset) == 0)
      return rt_error(error, CHORD_ERROR_INVALID, "--dims: %s is required and must be positive",
                      required[i].name);
  if (d->n_vocab == 0)
    return rt_error(error, CHORD_ERROR_INVALID, "the vocabulary is empty");
  if (d->n_layer > SYNTH_MAX_LAYERS)
    return rt_error(error, CHORD_ERROR_INVALID, "--dims: n_layer=%" PRIu32 " (at most %d)",
                    d->n_layer, SYNTH_MAX_LAYERS);
  if (d->head_dim == 0) {
    if (d->n_embd % d->n_head)
      return rt_error(error, CHORD_ERROR_INVALID,
                      "--dims: n_embd=%" PRIu32 " is not a multiple of n_head=%" PRIu32
                      "; give head_dim",
                      d->n_embd, d->n_head);
    d->head_dim = d->n_embd / d->n_head;
  }
  if (d->n_head_kv == 0)
    d->n_head_kv = d->n_head;
  if (d->n_head % d->n_head_kv)
    return rt_error(error, CHORD_ERROR_INVALID,
                    "--dims: n_head=%" PRIu32 " is not a multiple of n_head_kv=%" PRIu32, d->n_head,
                    d->n_head_kv);
  if (arch->q_is_embd && (uint64_t)d->n_head * d->head_dim != d->n_embd)
    return rt_error(error, CHORD_ERROR_INVALID,
                    "--dims: %s needs n_head × head_dim = n_embd (%" PRIu32 " × %" PRIu32
                    " ≠ %" PRIu32 ")",
                    arch->name, d->n_head, d->head_dim, d->n_embd);
  if (d->sliding_window && !arch->has_sliding_window)
    return rt_error(error, CHORD_ERROR_INVALID, "--dims: %s has no sliding-window layers",
                    arch->name);
  if (!(d->rope_base > 0) || !(d->rms_eps > 0))
    return rt_error(error, CHORD_ERROR_INVALID, "--dims: rope_base and rms_eps must be positive");
  return CHORD_OK;
}

/* ---- the tensor plan ------------------------------------------------------------------------- */

static uint64_t size_of(synth_size size, const gguf_synth_dims *d) {
  switch (size) {
  case SIZE_NONE: return 1;
  case SIZE_EMBD: return d->n_embd;
  case SIZE_VOCAB: return d->n_vocab;
  case SIZE_Q: return (uint64_t)d->n_head * d->head_dim;
  case SIZE_KV: return (uint64_t)d->n_head_kv * d->head_dim;
  case SIZE_FF: return d->n_ff;
  case SIZE_HEAD: return d->head_dim;
  }
  return 1;
}

static void plan_one(gguf_synth_tensor *t, const synth_template *tmpl, int layer,
                     const gguf_synth_dims *d) {
  if (layer < 0)
    snprintf(t->name, sizeof t->name, "%s", tmpl->name);
  else
    snprintf(t->name, sizeof t->name, "blk.%d.%s", layer, tmpl->name);
  t->n_dims = tmpl->dims[1] == SIZE_NONE ? 1 : 2;
  t->dims[0] = size_of(tmpl->dims[0], d);
  t->dims[1] = size_of(tmpl->dims[1], d);
  t->init = tmpl->init;
}

chord_status gguf_synth_plan(const gguf_synth_arch *arch, const gguf_synth_dims *d,
                             gguf_synth_tensor **out, size_t *n_tensors, chord_error *error) {
  size_t cap = COUNT(model_head) + COUNT(model_tail) + (size_t)d->n_layer * arch->n_layer_tensors;
  gguf_synth_tensor *t = rt_calloc(cap, sizeof *t);
  if (!t)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "synth: out of memory");
  size_t n = 0;
  for (size_t i = 0; i < COUNT(model_head); i++)
    plan_one(&t[n++], &model_head[i], -1, d);
  for (uint32_t l = 0; l < d->n_layer; l++)
    for (size_t i = 0; i < arch->n_layer_tensors; i++)
      plan_one(&t[n++], &arch->layer[i], (int)l, d);
  for (size_t i = 0; i < COUNT(model_tail); i++)
    if (!(model_tail[i].untied_only && d->tied))
      plan_one(&t[n++], &model_tail[i], -1, d);
  *out = t;
  *n_tensors = n;
  return CHORD_OK;
}

/* ---- metadata -------------------------------------------------------------------------------- */

chord_status gguf_synth_vocab_size(const gguf_file *vocab, uint32_t *n_vocab, chord_error *error) {
  gguf_string model;
  const gguf_array *tokens;
  if (gguf_get_string(vocab, "tokenizer.ggml.model", &model, NULL) != CHORD_OK ||
      gguf_get_array(vocab, "tokenizer.ggml.tokens", &tokens, NULL) != CHORD_OK)
    return rt_error(error, CHORD_ERROR_NOT_FOUND,
                    "%s: no tokenizer (tokenizer.ggml.model and tokenizer.ggml.tokens are needed)",
                    vocab->path);
  if (tokens->elem_type != GGUF_TYPE_STRING || tokens->count == 0 || tokens->count > UINT32_MAX)
    return rt_error(error, CHORD_ERROR_FORMAT,
                    "%s: tokenizer.ggml.tokens is not a non-empty array of strings", vocab->path);
  *n_vocab = (uint32_t)tokens->count;
  return CHORD_OK;
}

static bool key_applies(const synth_key *k, const gguf_synth_dims *d) {
  switch (k->when) {
  case WHEN_ALWAYS: return true;
  case WHEN_HEAD_DIM_DIFFERS: return (uint64_t)d->head_dim * d->n_head != d->n_embd;
  case WHEN_SLIDING_WINDOW: return d->sliding_window > 0;
  }
  return true;
}

static chord_status copy_tokenizer(gguf_writer *w, const gguf_file *vocab, chord_error *error) {
  static const char prefix[] = "tokenizer.";
  char key[1024];
  for (uint64_t i = 0; i < vocab->n_kv; i++) {
    gguf_string k = vocab->kv[i].key;
    if (k.size < sizeof prefix - 1 || memcmp(k.data, prefix, sizeof prefix - 1) != 0)
      continue;
    if (k.size >= sizeof key)
      return rt_error(error, CHORD_ERROR_UNSUPPORTED, "%s: key of %" PRIu64 " bytes is too long",
                      vocab->path, k.size);
    memcpy(key, k.data, k.size);
    key[k.size] = '\0';
    chord_status s = gguf_writer_set_value(w, key, &vocab->kv[i].value, error);
    if (s)
      return s;
  }
  return CHORD_OK;
}

chord_status gguf_synth_set_metadata(gguf_writer *w, const gguf_synth_arch *arch,
                                     const gguf_synth_dims *d, const char *name, uint32_t file_type,
                                     const gguf_file *vocab, chord_error *error) {
  chord_status s;
  if ((s = gguf_writer_set_string(w, "general.architecture", arch->name, error)) ||
      (s = gguf_writer_set_string(w, "general.type", "model", error)) ||
      (s = gguf_writer_set_string(w, "general.name", name, error)))
    return s;
  for (size_t i = 0; i < arch->n_keys; i++) {
    const synth_key *k = &arch->keys[i];
    if (!key_applies(k, d))
      continue;
    char key[160];
    snprintf(key, sizeof key, "%s.%s", arch->name, k->suffix);
    const void *p = (const char *)d + k->offset;
    if (k->kind == FIELD_U32)
      s = gguf_writer_set_u32(w, key, *(const uint32_t *)p, error);
    else if (k->kind == FIELD_F32)
      s = gguf_writer_set_f32(w, key, *(const float *)p, error);
    else
      s = gguf_writer_set_bool(w, key, *(const bool *)p, error);
    if (s)
      return s;
  }
  /* The quantization version is 2 for every block layout in use (ggml's GGML_QNT_VERSION). */
  if ((s = gguf_writer_set_u32(w, "general.file_type", file_type, error)) ||
      (s = gguf_writer_set_u32(w, "general.quantization_version", 2, error)))
    return s;
  return copy_tokenizer(w, vocab, error);
}

/* ---- weights --------------------------------------------------------------------------------- */

/* SplitMix64's output function: a bijection that scrambles every input bit into every output. */
static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t next64(uint64_t *state) { return mix64(*state += 0x9e3779b97f4a7c15ull); }

static uint64_t name_hash(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
  return h;
}

void gguf_synth_fill(const gguf_synth_tensor *t, uint64_t seed, uint64_t row0, uint64_t n_rows,
                     float *out) {
  const double half_range = 1.0 / 2147483648.0; /* 2^-31: u32 → [0, 2) */
  uint64_t row_len = t->dims[0];
  uint64_t key = mix64(seed ^ mix64(name_hash(t->name)));
  double mean = t->init == GGUF_SYNTH_INIT_NORM ? 1.0 : 0.0;
  for (uint64_t r = 0; r < n_rows; r++) {
    uint64_t state = mix64(key + (row0 + r) * 0xd1b54a32d192ed03ull);
    float *row = out + r * row_len;
    /* Marsaglia's polar method: a point in the unit disc gives two independent normals, with
     * one log and no trigonometry (three times faster than Box-Muller here). */
    for (uint64_t j = 0; j < row_len; j += 2) {
      double u, v, s;
      do {
        uint64_t bits = next64(&state);
        u = (double)(uint32_t)bits * half_range - 1.0;
        v = (double)(uint32_t)(bits >> 32) * half_range - 1.0;
        s = u * u + v * v;
      } while (s >= 1.0 || s == 0.0);
      double scale = sqrt(-2.0 * log(s) / s) * GGUF_SYNTH_STD;
      row[j] = (float)(mean + u * scale);
      if (j + 1 < row_len)
        row[j + 1] = (float)(mean + v * scale);
    }
  }
}
