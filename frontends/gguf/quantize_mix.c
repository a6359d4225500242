/* llama.cpp's quant-mix rules (llama_tensor_get_type in llama.cpp's src/llama-quant.cpp), restated
 * for the file types chord can write. The rules are facts about llama.cpp's output; the test in
 * tests/tools checks them against llama.cpp itself (scripts/make-quantize-reference.py). */
#include "frontends/gguf/quantize_mix.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "runtime/support/error.h"

#define KEEP GGUF_MIX_KEEP
#define T(x) IR_DTYPE_##x

/* Only the file types whose default type chord can encode. The columns are the upgrades that
 * llama.cpp's rules give to these file types; every other rule in llama.cpp concerns file types
 * chord does not write (Q2_K, Q3_K_*, the IQ types, MXFP4). */
/* clang-format off */
static const gguf_file_type file_types[] = {
  /* name      ftype  default   attn_v_more attn_v_first4 ffn_down_more ffn_down_head moe8_attn_out */
  {"F32",      0,     T(F32),   KEEP,       KEEP,         KEEP,         KEEP,         KEEP},
  {"F16",      1,     T(F16),   KEEP,       KEEP,         KEEP,         KEEP,         KEEP},
  {"BF16",     32,    T(BF16),  KEEP,       KEEP,         KEEP,         KEEP,         KEEP},
  {"Q8_0",     7,     T(Q8_0),  KEEP,       KEEP,         KEEP,         KEEP,         KEEP},
  {"Q4_0",     2,     T(Q4_0),  KEEP,       KEEP,         KEEP,         KEEP,         KEEP},
  {"Q4_K_S",   14,    T(Q4_K),  KEEP,       T(Q5_K),      KEEP,         T(Q5_K),      T(Q5_K)},
  {"Q4_K_M",   15,    T(Q4_K),  T(Q6_K),    KEEP,         T(Q6_K),      KEEP,         T(Q5_K)},
  {"Q5_K_S",   16,    T(Q5_K),  KEEP,       KEEP,         KEEP,         KEEP,         KEEP},
  {"Q5_K_M",   17,    T(Q5_K),  T(Q6_K),    KEEP,         T(Q6_K),      KEEP,         KEEP},
  {"Q6_K",     18,    T(Q6_K),  KEEP,       KEEP,         KEEP,         KEEP,         KEEP},
};
/* clang-format on */
enum { FILE_TYPE_COUNT = sizeof file_types / sizeof file_types[0] };
/* Falcon's ffn_down has its own ladder in Q4_K_M (see choose_one). */
enum { LLAMA_FTYPE_MOSTLY_Q4_K_M = 15 };

const gguf_file_type *gguf_file_type_find(const char *name) {
  for (size_t i = 0; i < FILE_TYPE_COUNT; i++)
    if (strcasecmp(file_types[i].name, name) == 0)
      return &file_types[i];
  return NULL;
}

const gguf_file_type *gguf_file_type_at(size_t i) {
  return i < FILE_TYPE_COUNT ? &file_types[i] : NULL;
}

/* ---- what a tensor is ------------------------------------------------------------------------ */

typedef enum mix_role {
  ROLE_OUTPUT,
  ROLE_TOKEN_EMBD,
  ROLE_ATTN_QKV,
  ROLE_ATTN_KV_B,
  ROLE_ATTN_V,
  ROLE_ATTN_K,
  ROLE_ATTN_Q,
  ROLE_ATTN_OUTPUT,
  ROLE_FFN_UP,
  ROLE_FFN_GATE,
  ROLE_FFN_DOWN,
  ROLE_OTHER,
} mix_role;

/* First match wins, in llama.cpp's order (attn_qkv before attn_v, and so on). */
static const struct {
  const char *pattern;
  bool whole_name; /* the name must equal pattern; otherwise it must contain it */
  mix_role role;
} role_patterns[] = {
    {"output.weight", true, ROLE_OUTPUT},
    {"token_embd.weight", true, ROLE_TOKEN_EMBD},
    {"per_layer_token_embd.weight", true, ROLE_TOKEN_EMBD},
    {"attn_qkv.weight", false, ROLE_ATTN_QKV},
    {"attn_kv_b.weight", false, ROLE_ATTN_KV_B},
    {"attn_v.weight", false, ROLE_ATTN_V},
    {"attn_k.weight", false, ROLE_ATTN_K},
    {"attn_q.weight", false, ROLE_ATTN_Q},
    {"attn_output.weight", false, ROLE_ATTN_OUTPUT},
    {"ffn_up", false, ROLE_FFN_UP},
    {"ffn_gate", false, ROLE_FFN_GATE},
    {"ffn_down", false, ROLE_FFN_DOWN},
};

static mix_role tensor_role(const char *name) {
  for (size_t i = 0; i < sizeof role_patterns / sizeof role_patterns[0]; i++) {
    const char *p = role_patterns[i].pattern;
    if (role_patterns[i].whole_name ? strcmp(name, p) == 0 : strstr(name, p) != NULL)
      return role_patterns[i].role;
  }
  return ROLE_OTHER;
}

/* The value projections (alone or fused) are the most sensitive to quantization. */
static bool role_is_attn_v(mix_role role) {
  return role == ROLE_ATTN_V || role == ROLE_ATTN_QKV || role == ROLE_ATTN_KV_B;
}

/* Weights llama.cpp never quantizes although they are 2-D: small, or used for lookups. */
static const char *const never_quantized_parts[] = {
    "_norm.weight",
    "ffn_gate_inp.weight",
    "ffn_gate_tid2eid.weight",
    "altup",
    "laurel",
    "per_layer_model_proj",
    "ssm_conv1d",
    "shortconv.conv.weight",
    "indexer.k_proj.weight",
    "indexer.q_proj.weight",
    "time_mix_first.weight",
    "time_mix_w0.weight",
    "time_mix_w1.weight",
    "time_mix_w2.weight",
    "time_mix_v0.weight",
    "time_mix_v1.weight",
    "time_mix_v2.weight",
    "time_mix_a0.weight",
    "time_mix_a1.weight",
    "time_mix_a2.weight",
    "time_mix_g1.weight",
    "time_mix_g2.weight",
    "time_mix_decay_w1.weight",
    "time_mix_decay_w2.weight",
    "time_mix_lerp_fused.weight",
    "attn_rel_b.weight",
    ".position_embd",
    "sam.pos_embd",
    "sam.neck.",
    "sam.net_",
    ".rel_pos",
    ".patch_embd",
    ".patch_merger",
    "a.rvq.codebook",
    "mm.a.code_embd",
};
static const char *const never_quantized_names[] = {"position_embd.weight", "token_types.weight"};

/* Dimensions as ggml counts them: trailing dimensions of 1 do not count. */
static uint32_t effective_dims(const gguf_mix_tensor *t) {
  uint32_t n = 1;
  for (uint32_t d = 1; d < t->n_dims && d < GGUF_MAX_DIMS; d++)
    if (t->dims[d] > 1)
      n = d + 1;
  return n;
}

static bool allows_quantization(const gguf_mix_tensor *t) {
  if (effective_dims(t) < 2)
    return false;
  size_t len = strlen(t->name);
  if (len < 6 || strcmp(t->name + len - 6, "weight") != 0)
    return false;
  for (size_t i = 0; i < sizeof never_quantized_parts / sizeof never_quantized_parts[0]; i++)
    if (strstr(t->name, never_quantized_parts[i]))
      return false;
  for (size_t i = 0; i < sizeof never_quantized_names / sizeof never_quantized_names[0]; i++)
    if (strcmp(t->name, never_quantized_names[i]) == 0)
      return false;
  return true;
}

static bool is_block_quantized(ir_dtype type) {
  return type != IR_DTYPE_F32 && type != IR_DTYPE_F16 && type != IR_DTYPE_BF16;
}

static int tensor_layer(const char *name) {
  int layer = -1;
  if (sscanf(name, "blk.%d.", &layer) != 1)
    return -1;
  return layer;
}

/* llama.cpp visits tensors sorted by layer (tensors outside blocks first), then by name; the
 * per-layer rules count tensors of one kind in that order rather than reading the layer. */
static bool loader_before(const char *a, const char *b) {
  int la = tensor_layer(a), lb = tensor_layer(b);
  return la != lb ? la < lb : strcmp(a, b) < 0;
}

/* The layers that get more bits: the first and last eighth and every third one between. */
static bool use_more_bits(int i, int n) {
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* A ladder of fallbacks for rows that are not a whole number of the chosen type's blocks. */
static const struct {
  ir_dtype from, to;
} fallbacks[] = {
    {T(Q4_K), T(Q5_0)},      {T(Q5_K), T(Q5_1)},      {T(Q6_K), T(Q8_0)},     {T(Q2_K), T(Q4_0)},
    {T(Q3_K), T(Q4_0)},      {T(TQ1_0), T(Q4_0)},     {T(TQ2_0), T(Q4_0)},    {T(IQ1_S), T(IQ4_NL)},
    {T(IQ1_M), T(IQ4_NL)},   {T(IQ2_XXS), T(IQ4_NL)}, {T(IQ2_XS), T(IQ4_NL)}, {T(IQ2_S), T(IQ4_NL)},
    {T(IQ3_XXS), T(IQ4_NL)}, {T(IQ3_S), T(IQ4_NL)},   {T(IQ4_XS), T(IQ4_NL)},
};

static bool rows_fit(ir_dtype type, uint64_t row) {
  return row % ir_dtype_get(type)->block_elems == 0;
}

static ir_dtype fall_back(ir_dtype type, uint64_t row, bool *fell) {
  if (rows_fit(type, row))
    return type;
  *fell = true;
  ir_dtype to = type; /* types of 32-element blocks have nothing smaller to go to */
  for (size_t i = 0; i < sizeof fallbacks / sizeof fallbacks[0]; i++)
    if (fallbacks[i].from == type)
      to = fallbacks[i].to;
  /* Still no fit (rows not a multiple of 32): llama.cpp writes F16. */
  return rows_fit(to, row) ? to : IR_DTYPE_F16;
}

/* Architectures and depths llama.cpp calls "70B", whose attn_v gets one step more. */
static const struct {
  const char *arch;
  uint32_t n_layer;
  bool needs_gqa; /* only when n_head != n_head_kv (llama: otherwise it is the 65B) */
} seventy_b[] = {
    {"llama", 80, true}, {"qwen2", 80, false}, {"deci", 80, false},
    {"olmo", 80, false}, {"jais2", 68, false},
};

static bool model_is_70b(const gguf_mix_model *m) {
  for (size_t i = 0; i < sizeof seventy_b / sizeof seventy_b[0]; i++)
    if (strcmp(m->arch, seventy_b[i].arch) == 0 && m->n_layer == seventy_b[i].n_layer &&
        (!seventy_b[i].needs_gqa || m->n_head != m->n_head_kv))
      return true;
  return false;
}

/* ---- the choice ------------------------------------------------------------------------------ */

typedef struct mix_state {
  const gguf_file_type *file_type;
  const gguf_mix_model *model;
  const gguf_mix_tensor *tensors;
  size_t n_tensors;
  bool tied;    /* no output.weight: token_embd doubles as the output projection */
  int n_attn_v; /* attn_v-like tensors in the model */
  bool falcon, is_70b;
} mix_state;

/* Whether tensor t reaches the per-role rules (llama.cpp counts only those). */
static bool reaches_rules(const mix_state *s, const gguf_mix_tensor *t) {
  return allows_quantization(t) && is_block_quantized(s->file_type->default_type);
}

/* The position of tensor k among the tensors of the same role family that reach the rules. */
static int role_rank(const mix_state *s, size_t k, bool (*same)(mix_role, mix_role)) {
  mix_role role = tensor_role(s->tensors[k].name);
  int rank = 0;
  for (size_t j = 0; j < s->n_tensors; j++) {
    const gguf_mix_tensor *t = &s->tensors[j];
    if (j != k && same(tensor_role(t->name), role) && reaches_rules(s, t) &&
        loader_before(t->name, s->tensors[k].name))
      rank++;
  }
  return rank;
}

static bool both_attn_v(mix_role a, mix_role b) { return role_is_attn_v(a) && role_is_attn_v(b); }
static bool same_role(mix_role a, mix_role b) { return a == b; }

/* The layer index the ffn rules use: the tensor's rank, or for mixtures of experts (whose expert
 * tensors are not one per layer) the layer in its name. */
static int ffn_layer(const mix_state *s, size_t k) {
  if (s->model->n_expert > 1)
    return tensor_layer(s->tensors[k].name);
  return role_rank(s, k, same_role);
}

static ir_dtype choose_one(const mix_state *s, size_t k) {
  const gguf_file_type *ft = s->file_type;
  const gguf_mix_tensor *t = &s->tensors[k];
  ir_dtype type = ft->default_type;
  mix_role role = tensor_role(t->name);
  int n_layer = (int)s->model->n_layer;
  uint32_t n_expert = s->model->n_expert;

  if (role == ROLE_OUTPUT || (s->tied && role == ROLE_TOKEN_EMBD)) {
    /* The output projection gets Q6_K; Q8_0 for Falcon and when its rows are not a whole
     * number of the default type's blocks (Q6_K's would not fit either). */
    if (s->falcon || !rows_fit(type, t->dims[0]))
      type = IR_DTYPE_Q8_0;
    else if (type != IR_DTYPE_Q8_0)
      type = IR_DTYPE_Q6_K;
  } else if (role == ROLE_TOKEN_EMBD) {
    /* Untied embeddings keep the default in every file type chord writes. */
  } else if (role_is_attn_v(role)) {
    int i = role_rank(s, k, both_attn_v);
    if (ft->attn_v_more != KEEP && use_more_bits(i, s->n_attn_v))
      type = ft->attn_v_more;
    else if (ft->attn_v_first4 != KEEP && i < 4)
      type = ft->attn_v_first4;
    /* In a 70B model eight heads share one attn_v, which is small enough to afford more bits. */
    if (s->is_70b && (type == IR_DTYPE_Q3_K || type == IR_DTYPE_Q4_K))
      type = IR_DTYPE_Q5_K;
    if (n_expert == 8)
      type = IR_DTYPE_Q8_0;
  } else if (role == ROLE_ATTN_K) {
    if (n_expert == 8)
      type = IR_DTYPE_Q8_0;
  } else if (role == ROLE_FFN_DOWN) {
    int i = ffn_layer(s, k);
    if (s->falcon && ft->id == LLAMA_FTYPE_MOSTLY_Q4_K_M)
      type = i < n_layer / 16            ? IR_DTYPE_Q6_K
             : use_more_bits(i, n_layer) ? IR_DTYPE_Q5_K
                                         : IR_DTYPE_Q4_K;
    else if (ft->ffn_down_more != KEEP && use_more_bits(i, n_layer))
      type = ft->ffn_down_more;
    else if (ft->ffn_down_head != KEEP && !s->falcon && i < n_layer / 8)
      type = ft->ffn_down_head;
  } else if (role == ROLE_ATTN_OUTPUT) {
    if (!s->falcon && n_expert == 8 && ft->moe8_attn_out != KEEP)
      type = ft->moe8_attn_out;
  }
  /* llama.cpp's separate attn_qkv rule sits behind the attn_v-like branch above and never
   * applies, so fused QKV follows the attn_v rules here too. */
  return type;
}

void gguf_quant_mix_choose(const gguf_file_type *file_type, const gguf_mix_model *model,
                           gguf_mix_tensor *tensors, size_t n_tensors) {
  mix_state s = {file_type, model, tensors, n_tensors, true, 0, false, false};
  s.falcon = strcmp(model->arch, "falcon") == 0;
  s.is_70b = model_is_70b(model);
  for (size_t i = 0; i < n_tensors; i++) {
    mix_role role = tensor_role(tensors[i].name);
    if (role == ROLE_OUTPUT)
      s.tied = false;
    if (role_is_attn_v(role))
      s.n_attn_v++;
  }
  for (size_t k = 0; k < n_tensors; k++) {
    gguf_mix_tensor *t = &tensors[k];
    t->fallback = false;
    if (!allows_quantization(t)) {
      t->target = t->type;
    } else if (!is_block_quantized(file_type->default_type)) {
      t->target = file_type->default_type;
    } else {
      t->target = fall_back(choose_one(&s, k), t->dims[0], &t->fallback);
    }
  }
}

/* ---- the model description ------------------------------------------------------------------- */

/* A hyper-parameter that may be a scalar or a per-layer array (then the first layer's). */
static bool read_count(const gguf_file *file, const char *arch, const char *suffix, uint32_t *out) {
  char key[160];
  snprintf(key, sizeof key, "%s.%s", arch, suffix);
  uint64_t v;
  if (gguf_get_u64(file, key, &v, NULL) == CHORD_OK && v <= UINT32_MAX) {
    *out = (uint32_t)v;
    return true;
  }
  const gguf_array *a;
  if (gguf_get_array(file, key, &a, NULL) == CHORD_OK && gguf_array_u64(a, 0, &v) &&
      v <= UINT32_MAX) {
    *out = (uint32_t)v;
    return true;
  }
  return false;
}

chord_status gguf_mix_model_read(const gguf_file *file, gguf_mix_model *out, chord_error *error) {
  memset(out, 0, sizeof *out);
  gguf_string arch;
  chord_status s = gguf_get_string(file, "general.architecture", &arch, error);
  if (s)
    return s;
  if (arch.size == 0 || arch.size >= sizeof out->arch)
    return rt_error(error, CHORD_ERROR_FORMAT, "%s: general.architecture of %llu bytes", file->path,
                    (unsigned long long)arch.size);
  memcpy(out->arch, arch.data, arch.size);
  out->arch[arch.size] = '\0';
  if (!read_count(file, out->arch, "block_count", &out->n_layer))
    return rt_error(error, CHORD_ERROR_FORMAT, "%s: no %s.block_count", file->path, out->arch);
  read_count(file, out->arch, "attention.head_count", &out->n_head);
  out->n_head_kv = out->n_head;
  read_count(file, out->arch, "attention.head_count_kv", &out->n_head_kv);
  read_count(file, out->arch, "expert_count", &out->n_expert);
  return CHORD_OK;
}
