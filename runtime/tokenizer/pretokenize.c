/* BPE pre-tokenizers: the regex list for each tokenizer.ggml.pre that llama.cpp knows, compiled
 * with PCRE2, and the split that applies them in order, each regex cutting every piece the
 * previous ones left into matches and the gaps between them (llama.cpp's unicode_regex_split).
 *
 * The regexes are llama.cpp's, written with PCRE2's Unicode property classes. Two things make
 * them give llama.cpp's splits and not merely similar ones:
 *  - llama.cpp classifies every non-ASCII codepoint once (letter, number, punctuation, mark,
 *    symbol, whitespace, other) and matches regexes that use \p{..} on that "collapsed" text. We
 *    do the same, replacing each non-ASCII codepoint by a representative of its class (from
 *    utf8proc's tables), so PCRE2's classes see llama.cpp's categories whatever Unicode version
 *    PCRE2 was built with. Regexes without \p{..} run on the real codepoints.
 *  - In both texts non-ASCII whitespace becomes U+000B, and \s is ASCII-only (no PCRE2_UCP), as
 *    with llama.cpp's std::regex. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>
#include <utf8proc.h>

#include "runtime/support/alloc.h"
#include "runtime/support/error.h"
#include "runtime/tokenizer/tok_internal.h"

/* ---- the regexes ----------------------------------------------------------------------------- */

#define CONTRACTIONS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RE_LLAMA3                                                                                  \
  CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"        \
               "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2                                                                                   \
  CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"             \
               "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_CJK_KANA "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+"
#define RE_PORO " ?[^(\\s|.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+"
#define RE_CJK_HANGUL "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+"
#define RE_DEEPSEEK3_WORDS                                                                         \
  "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?"             \
  "[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* llama.cpp maps \p{Lu}, \p{Ll}, \p{Lt}, \p{Lm} and \p{Lo} all to "letter", so these regexes,
 * written with them upstream, are written with \p{L} here. */
#define RE_CASED_WORDS(DIGITS)                                                                     \
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]*[\\p{L}\\p{M}]+" CONTRACTIONS                              \
  "?|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+[\\p{L}\\p{M}]*" CONTRACTIONS "?|" DIGITS                \
  "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_UPPER_LOWER(CLASS, SUFFIX, DIGITS)                                                      \
  "[^\\r\\n\\p{L}\\p{N}]?((?=[" CLASS "])([^a-z]))*((?=[" CLASS "])([^A-Z]))+" SUFFIX              \
  "|[^\\r\\n\\p{L}\\p{N}]?((?=[" CLASS "])([^a-z]))+((?=[" CLASS "])([^A-Z]))*" SUFFIX "|" DIGITS  \
  "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

struct tok_pre_tokenizer {
  const char *kind; /* llama.cpp's pre-tokenizer type, for messages */
  const char *const *regexes;
};

static const tok_pre_tokenizer pre_default = {
    "default", LIST("[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]")};
static const tok_pre_tokenizer pre_gpt2 = {"gpt2", LIST(RE_GPT2)};
static const tok_pre_tokenizer pre_llama3 = {"llama3", LIST(RE_LLAMA3)};
static const tok_pre_tokenizer pre_jais2 = {
    "jais2", LIST(CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+"
                               "[\\r\\n]*|\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|"
                               "\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|\\s{16}(?!\\S)|"
                               "\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}")};
/* The non-ASCII characters of these regexes are written as \u escapes: copied as text they can
 * come out NFC-normalized (U+1F7D becomes U+03CE), which changes the ranges. */
static const tok_pre_tokenizer pre_deepseek_llm = {
    "deepseek-llm",
    LIST("[\r\n]",
         "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293"
         "\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C"
         "\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5"
         "\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77"
         "\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59"
         "\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC"
         "\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107"
         "\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139"
         "\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE"
         "\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E"
         "\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A"
         "\U00010400-\U0001044F\U000104B0-\U000104D3\U000104D8-\U000104FB"
         "\U00010C80-\U00010CB2\U00010CC0-\U00010CF2\U000118A0-\U000118DF"
         "\U0001E900-\U0001E943]+",
         "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+", "\\s+$",
         RE_CJK_HANGUL, "\\p{N}+")};
static const tok_pre_tokenizer pre_deepseek3 = {
    "deepseek-v3", LIST("\\p{N}{1,3}", RE_CJK_KANA, RE_DEEPSEEK3_WORDS)};
static const tok_pre_tokenizer pre_spark2_5 = {
    "spark2_5",
    LIST("\\p{N}{1,3}", RE_CJK_KANA,
         "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?"
         "[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+|[\r\n]|\\s+(?!\\S)|\\s+",
         "\\p{N}")};
static const tok_pre_tokenizer pre_youtu = {
    "youtu", LIST("[\uAC00-\uD7A3\u3131-\u318E]+|[\uFF01\u2026\u201C\u201D\u2018\u2019\u2014\uFF1A"
                  "\uFF1B\uFF0C\u3001-\u303F\uFE30-\uFE4F]+|[\u3105-\u312F]+|" RE_CJK_KANA,
                  RE_CASED_WORDS("\\p{N}"))};
static const tok_pre_tokenizer pre_deepseek_coder = {
    "deepseek-coder", LIST("[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", RE_CJK_HANGUL, "\\p{N}")};
static const tok_pre_tokenizer pre_falcon = {
    "falcon", LIST("[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]")};
static const tok_pre_tokenizer pre_starcoder = {"starcoder", LIST("\\p{N}", RE_GPT2)};
static const tok_pre_tokenizer pre_qwen2 = {"qwen2", LIST(RE_QWEN2)};
static const tok_pre_tokenizer pre_qwen35 = {
    "qwen35", LIST(CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}"
                                "\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")};
static const tok_pre_tokenizer pre_poro = {"poro", LIST(RE_PORO)};
static const tok_pre_tokenizer pre_viking = {"viking", LIST(RE_PORO, "\\p{N}")};
static const tok_pre_tokenizer pre_tekken = {"tekken",
                                             LIST(RE_UPPER_LOWER("\\p{L}", "", "\\p{N}"))};
static const tok_pre_tokenizer pre_chameleon = {
    "chameleon", LIST("<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
                      "([\\t\\n]|    |  )", "\\p{N}", "[\\p{P}!-/:-@\\[-`{-~]", RE_GPT2)};
static const tok_pre_tokenizer pre_gpt4o = {
    "gpt-4o", LIST(RE_UPPER_LOWER("\\p{L}", CONTRACTIONS "?", "\\p{N}{1,3}"))};
static const tok_pre_tokenizer pre_granite_emb_multi = {
    "granite-embed-multi", LIST(RE_UPPER_LOWER("\\p{L}\\p{M}", CONTRACTIONS "?", "\\p{N}{1,3}"))};
static const tok_pre_tokenizer pre_tiny_aya = {
    "tiny_aya", LIST("\\d{1,3}(?=(?:\\d{3})*\\b)", RE_CASED_WORDS("\\p{N}{1,3}"))};
static const tok_pre_tokenizer pre_superbpe = {"superbpe", LIST("\\p{N}+", "(?=(\\d{3})+(?!\\d))")};
static const tok_pre_tokenizer pre_bailingmoe = {
    "bailingmoe", LIST("'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
                       "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+")};
static const tok_pre_tokenizer pre_seed_coder = {
    "seed-coder", LIST(CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}"
                                    "\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")};
static const tok_pre_tokenizer pre_ufakzeka = {
    "ufakzeka", LIST("[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                     "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")};
static const tok_pre_tokenizer pre_laguna = {"laguna", LIST("[^\\n]+|[\\n]+", RE_QWEN2)};
static const tok_pre_tokenizer pre_exaone_moe = {
    "exaone-moe",
    LIST(CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?"
                      "[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+")};
static const tok_pre_tokenizer pre_minicpm5 = {
    "minicpm5", LIST("\\p{N}{1,3}", CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s"
                                                 "\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!"
                                                 "\\S)|\\s+")};

/* ---- the names ------------------------------------------------------------------------------- */

enum {
  PF_IGNORE_MERGES = 1 << 0, /* llama.cpp's ignore_merges */
  PF_ADD_BOS = 1 << 1,       /* add_bos defaults to true */
  PF_ADD_SEP = 1 << 2,       /* add_sep defaults to true */
  PF_KEEP_SPACES = 1 << 3,   /* clean_spaces is off */
  PF_NO_BOS = 1 << 4,        /* the default BOS id is cleared */
};

/* Every tokenizer.ggml.pre llama.cpp accepts, with the regexes and flags it gives the name. A
 * NULL pre-tokenizer is a name llama.cpp knows that chord does not implement (a hand-written
 * splitter, or not byte-level BPE), reported as unsupported rather than tokenized wrongly. */
static const struct pre_name {
  const char *name;
  const tok_pre_tokenizer *pre;
  unsigned flags;
} pre_names[] = {
    {"default", &pre_default, 0},
    {"minicpm5", &pre_minicpm5, PF_IGNORE_MERGES},
    {"llama3", &pre_llama3, PF_IGNORE_MERGES | PF_ADD_BOS},
    {"llama-v3", &pre_llama3, PF_IGNORE_MERGES | PF_ADD_BOS},
    {"llama-bpe", &pre_llama3, PF_IGNORE_MERGES | PF_ADD_BOS},
    {"falcon3", &pre_llama3, PF_IGNORE_MERGES | PF_ADD_BOS},
    {"falcon-h1", &pre_llama3, PF_IGNORE_MERGES | PF_ADD_BOS},
    {"pixtral", &pre_llama3, PF_IGNORE_MERGES | PF_ADD_BOS},
    {"midm-2.0", &pre_llama3, PF_IGNORE_MERGES | PF_ADD_BOS},
    {"lfm2", &pre_llama3, PF_IGNORE_MERGES | PF_ADD_BOS},
    {"jina-v5-nano", &pre_llama3, PF_IGNORE_MERGES | PF_ADD_BOS},
    {"deepseek-llm", &pre_deepseek_llm, PF_KEEP_SPACES},
    {"deepseek-coder", &pre_deepseek_coder, PF_KEEP_SPACES},
    {"deepseek-v3", &pre_deepseek3, PF_KEEP_SPACES},
    {"spark2_5", &pre_spark2_5, PF_KEEP_SPACES},
    {"youtu", &pre_youtu, PF_KEEP_SPACES | PF_IGNORE_MERGES},
    {"falcon", &pre_falcon, 0},
    {"mpt", &pre_gpt2, 0},
    {"starcoder", &pre_starcoder, 0},
    {"gpt-2", &pre_gpt2, 0},
    {"phi-2", &pre_gpt2, 0},
    {"jina-es", &pre_gpt2, 0},
    {"jina-de", &pre_gpt2, 0},
    {"gigachat", &pre_gpt2, 0},
    {"jina-v2-es", &pre_gpt2, 0},
    {"jina-v2-de", &pre_gpt2, 0},
    {"a.x-4.0", &pre_gpt2, 0},
    {"mellum", &pre_gpt2, 0},
    {"modern-bert", &pre_gpt2, 0},
    {"jais-2", &pre_jais2, 0},
    {"gemma4", NULL, 0},
    {"granite-embed-multi-311m", NULL, 0},
    {"sarvam-moe", NULL, 0},
    {"jina-v1-en", &pre_gpt2, PF_ADD_SEP},
    {"jina-v2-code", &pre_gpt2, PF_ADD_SEP},
    {"roberta-bpe", &pre_gpt2, PF_ADD_SEP},
    {"whitespace", NULL, 0},
    {"refact", &pre_starcoder, 0},
    {"command-r", &pre_starcoder, PF_KEEP_SPACES},
    {"qwen2", &pre_qwen2, PF_KEEP_SPACES},
    {"deepseek-r1-qwen", &pre_qwen2, PF_KEEP_SPACES},
    {"kormo", &pre_qwen2, PF_KEEP_SPACES},
    {"f2llmv2", &pre_qwen2, PF_KEEP_SPACES},
    {"qwen35", &pre_qwen35, PF_KEEP_SPACES},
    {"stablelm2", &pre_qwen2, 0},
    {"olmo", &pre_gpt2, 0},
    {"dbrx", &pre_llama3, 0},
    {"smaug-bpe", &pre_llama3, 0},
    {"poro-chat", &pre_poro, PF_KEEP_SPACES},
    {"glm4", &pre_llama3, PF_NO_BOS},
    {"chatglm-bpe", &pre_llama3, PF_NO_BOS},
    {"viking", &pre_viking, PF_KEEP_SPACES},
    {"jais", &pre_gpt2, 0},
    {"tekken", &pre_tekken, PF_KEEP_SPACES | PF_IGNORE_MERGES | PF_ADD_BOS},
    {"smollm", &pre_starcoder, PF_KEEP_SPACES},
    {"codeshell", &pre_starcoder, 0},
    {"bloom", &pre_poro, 0},
    {"gpt3-finnish", &pre_poro, 0},
    {"exaone", &pre_starcoder, 0},
    {"exaone4", &pre_gpt2, 0},
    {"exaone-moe", &pre_exaone_moe, 0},
    {"chameleon", &pre_chameleon, PF_ADD_BOS | PF_KEEP_SPACES},
    {"minerva-7b", &pre_starcoder, 0},
    {"megrez", &pre_qwen2, 0},
    {"gpt-4o", &pre_gpt4o, PF_KEEP_SPACES},
    {"llama4", &pre_gpt4o, PF_KEEP_SPACES},
    {"kanana2", &pre_gpt4o, PF_KEEP_SPACES},
    {"talkie", &pre_gpt4o, PF_KEEP_SPACES},
    {"granite-embed-multi-97m", &pre_granite_emb_multi, PF_KEEP_SPACES | PF_IGNORE_MERGES},
    {"tiny_aya", &pre_tiny_aya, PF_KEEP_SPACES},
    {"cohere2moe", &pre_tiny_aya, PF_KEEP_SPACES},
    {"superbpe", &pre_superbpe, PF_KEEP_SPACES},
    {"trillion", &pre_gpt2, PF_KEEP_SPACES},
    {"granite-docling", &pre_gpt2, PF_KEEP_SPACES},
    {"bailingmoe", &pre_bailingmoe, PF_KEEP_SPACES},
    {"bailingmoe2", &pre_bailingmoe, PF_KEEP_SPACES},
    {"llada-moe", &pre_bailingmoe, PF_KEEP_SPACES},
    {"seed-coder", &pre_seed_coder, PF_KEEP_SPACES},
    {"hunyuan", &pre_qwen2, PF_KEEP_SPACES},
    {"hunyuan-dense", &pre_deepseek3, PF_KEEP_SPACES},
    {"hy_v4", &pre_deepseek3, PF_KEEP_SPACES},
    {"joyai-llm", &pre_deepseek3, PF_KEEP_SPACES},
    {"kimi-k2", NULL, 0},
    {"ufakzeka", &pre_ufakzeka, PF_KEEP_SPACES},
    {"grok-2", &pre_qwen2, PF_KEEP_SPACES},
    {"afmoe", NULL, 0},
    {"laguna", &pre_laguna, PF_KEEP_SPACES},
    {"minimax-m2", &pre_gpt4o, PF_KEEP_SPACES},
    {"solar-open", &pre_qwen2, PF_KEEP_SPACES},
    {"mellum2", &pre_starcoder, 0},
};

const tok_pre_tokenizer *tok_pre_find(const char *name, tok_pre_flags *flags) {
  memset(flags, 0, sizeof *flags);
  if (!*name)
    name = "default"; /* llama.cpp warns and uses the default */
  for (size_t i = 0; i < sizeof pre_names / sizeof pre_names[0]; i++) {
    const struct pre_name *p = &pre_names[i];
    if (strcmp(p->name, name) != 0)
      continue;
    flags->known = true;
    flags->supported = p->pre != NULL;
    flags->ignore_merges = p->flags & PF_IGNORE_MERGES;
    flags->add_bos = p->flags & PF_ADD_BOS;
    flags->add_sep = p->flags & PF_ADD_SEP;
    flags->keep_spaces = p->flags & PF_KEEP_SPACES;
    flags->no_bos = p->flags & PF_NO_BOS;
    return p->pre;
  }
  return NULL;
}

/* ---- compiling ------------------------------------------------------------------------------- */

static void *pcre_alloc(PCRE2_SIZE size, void *data) { return rt_malloc(size); }
static void pcre_free(void *ptr, void *data) { rt_free(ptr); }

enum { SUBJECT_COLLAPSED, SUBJECT_LITERAL };

struct tok_regexes {
  pcre2_general_context *general;
  uint32_t count;
  bool needs[2]; /* which subjects some regex runs on */
  struct {
    pcre2_code *code;
    int subject;
  } items[16];
};

void tok_regexes_free(struct tok_regexes *r) {
  if (!r)
    return;
  for (uint32_t i = 0; i < r->count; i++)
    pcre2_code_free(r->items[i].code);
  pcre2_general_context_free(r->general);
  rt_free(r);
}

chord_status tok_regexes_compile(const tok_pre_tokenizer *pre, struct tok_regexes **out,
                                 chord_error *error) {
  *out = NULL;
  struct tok_regexes *r = rt_calloc(1, sizeof *r);
  if (!r || !(r->general = pcre2_general_context_create(pcre_alloc, pcre_free, NULL))) {
    rt_free(r);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory compiling a pre-tokenizer");
  }
  pcre2_compile_context *cc = pcre2_compile_context_create(r->general);
  if (!cc) {
    tok_regexes_free(r);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory compiling a pre-tokenizer");
  }
  for (const char *const *re = pre->regexes; *re; re++) {
    RT_ASSERT(r->count < sizeof r->items / sizeof r->items[0]);
    int code;
    PCRE2_SIZE offset;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)*re, PCRE2_ZERO_TERMINATED,
                                  PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &code, &offset, cc);
    if (!c) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(code, message, sizeof message);
      unsigned index = r->count;
      pcre2_compile_context_free(cc);
      tok_regexes_free(r);
      if (code == PCRE2_ERROR_NOMEMORY || code == PCRE2_ERROR_HEAP_FAILED)
        return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory compiling a pre-tokenizer");
      return rt_error(error, CHORD_ERROR_FORMAT, "pre-tokenizer %s: regex %u at offset %zu: %s",
                      pre->kind, index, (size_t)offset, (const char *)message);
    }
    /* JIT is a speed-up only: where it is unavailable (or out of memory) PCRE2 interprets. */
    pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    r->items[r->count].code = c;
    /* llama.cpp's rule: a regex that names a Unicode class runs on the collapsed text. */
    r->items[r->count].subject = strstr(*re, "\\p{") ? SUBJECT_COLLAPSED : SUBJECT_LITERAL;
    r->needs[r->items[r->count].subject] = true;
    r->count++;
  }
  pcre2_compile_context_free(cc);
  *out = r;
  return CHORD_OK;
}

/* ---- splitting ------------------------------------------------------------------------------- */

bool tok_scratch_grow(void **buf, size_t *capacity, size_t needed) {
  if (needed <= *capacity)
    return true;
  size_t cap = *capacity ? *capacity : 256;
  while (cap < needed)
    cap *= 2;
  void *p = rt_realloc(*buf, cap);
  if (!p)
    return false;
  *buf = p;
  *capacity = cap;
  return true;
}

void tok_scratch_free(tok_scratch *s) {
  rt_free(s->cpts);
  rt_free(s->subject[0]);
  rt_free(s->subject[1]);
  rt_free(s->chunks);
  rt_free(s->chunks_next);
  rt_free(s->word);
  rt_free(s->encoded);
  rt_free(s->symbols);
  rt_free(s->heap);
  pcre2_match_data_free(s->match_data);
  tok_word_cache_free(s->words);
  memset(s, 0, sizeof *s);
}

/* The stand-in for a non-ASCII codepoint in the collapsed text: one fixed character of its
 * llama.cpp class. */
static uint32_t collapse(uint32_t cp) {
  if (tok_is_whitespace(cp))
    return 0x0b;
  if (cp > 0x10ffff)
    return 0x80; /* other */
  switch (utf8proc_category((utf8proc_int32_t)cp)) {
  case UTF8PROC_CATEGORY_LU:
  case UTF8PROC_CATEGORY_LL:
  case UTF8PROC_CATEGORY_LT:
  case UTF8PROC_CATEGORY_LM:
  case UTF8PROC_CATEGORY_LO: return 0xaa; /* ª, Lo */
  case UTF8PROC_CATEGORY_ND:
  case UTF8PROC_CATEGORY_NL:
  case UTF8PROC_CATEGORY_NO: return 0xb2; /* ², No */
  case UTF8PROC_CATEGORY_PC:
  case UTF8PROC_CATEGORY_PD:
  case UTF8PROC_CATEGORY_PS:
  case UTF8PROC_CATEGORY_PE:
  case UTF8PROC_CATEGORY_PI:
  case UTF8PROC_CATEGORY_PF:
  case UTF8PROC_CATEGORY_PO: return 0xa1; /* ¡, Po */
  case UTF8PROC_CATEGORY_MN:
  case UTF8PROC_CATEGORY_MC:
  case UTF8PROC_CATEGORY_ME: return 0x300; /* combining grave, Mn */
  case UTF8PROC_CATEGORY_SM:
  case UTF8PROC_CATEGORY_SC:
  case UTF8PROC_CATEGORY_SK:
  case UTF8PROC_CATEGORY_SO: return 0xa2; /* ¢, Sc */
  case UTF8PROC_CATEGORY_CN:
  case UTF8PROC_CATEGORY_ZS:
  case UTF8PROC_CATEGORY_ZL:
  case UTF8PROC_CATEGORY_ZP:
  case UTF8PROC_CATEGORY_CC:
  case UTF8PROC_CATEGORY_CF:
  case UTF8PROC_CATEGORY_CS:
  case UTF8PROC_CATEGORY_CO: return 0x80; /* a C1 control: other */
  }
  return 0x80;
}

/* The real codepoint, with what PCRE2 cannot hold in UTF-8 (surrogates, values past U+10FFFF)
 * replaced by a private-use character, which no literal class of any regex contains. */
static uint32_t literal(uint32_t cp) {
  if (tok_is_whitespace(cp))
    return cp < 0x80 ? cp : 0x0b;
  if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
    return 0xe000;
  return cp;
}

static bool build_subject(tok_scratch *s, int which, const uint32_t *cpts, size_t n) {
  if (!tok_scratch_grow((void **)&s->subject[which], &s->subject_capacity[which], n * 3 + 1))
    return false;
  uint8_t *out = s->subject[which];
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t cp = cpts[i];
    if (cp < 0x80) {
      out[k++] = (uint8_t)cp;
      continue;
    }
    k += tok_utf8_encode(which == SUBJECT_COLLAPSED ? collapse(cp) : literal(cp), out + k);
  }
  out[k] = 0;
  return true;
}

static inline size_t count_cpts(const uint8_t *p, size_t from, size_t to) {
  size_t n = 0;
  for (size_t i = from; i < to; i++)
    n += (p[i] & 0xc0) != 0x80;
  return n;
}

static inline bool push_chunk(tok_scratch *s, size_t *count, size_t length) {
  if (!length)
    return true; /* an empty word tokenizes to nothing; llama.cpp keeps it, we need not */
  if (!tok_scratch_grow((void **)&s->chunks_next, &s->chunks_next_capacity,
                        (*count + 1) * sizeof(uint32_t)))
    return false;
  s->chunks_next[(*count)++] = (uint32_t)length;
  return true;
}

static chord_status match_error(int rc, chord_error *error) {
  PCRE2_UCHAR message[256];
  pcre2_get_error_message(rc, message, sizeof message);
  if (rc == PCRE2_ERROR_NOMEMORY || rc == PCRE2_ERROR_HEAPLIMIT)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "pre-tokenizer: %s", (const char *)message);
  return rt_error(error, CHORD_ERROR_INVALID, "pre-tokenizer: %s", (const char *)message);
}

/* Cuts every chunk into the regex's matches and the gaps between them, as std::regex_iterator
 * finds them (after an empty match, a non-empty match at the same place is tried, then the
 * search moves one character on). */
static chord_status split_with(const struct tok_regexes *r, uint32_t ri, tok_scratch *s,
                               size_t n_chunks, size_t *n_out, chord_error *error) {
  const pcre2_code *code = r->items[ri].code;
  const uint8_t *subject = s->subject[r->items[ri].subject];
  pcre2_match_data *md = s->match_data;
  size_t count = 0, byte = 0;
  for (size_t c = 0; c < n_chunks; c++) {
    size_t start = byte;
    for (uint32_t k = s->chunks[c]; k; byte++)
      k -= (subject[byte + 1] & 0xc0) != 0x80;
    const uint8_t *p = subject + start;
    size_t len = byte - start, pos = 0, gap = 0;
    uint32_t options = 0;
    while (pos <= len) {
      int rc = pcre2_match(code, p, len, pos, options | PCRE2_NO_UTF_CHECK, md, NULL);
      if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* deep backtracking: the interpreter uses the heap */
        rc = pcre2_match(code, p, len, pos, options | PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, NULL);
      if (rc == PCRE2_ERROR_NOMATCH) {
        if (!options || pos >= len)
          break;
        options = 0;
        pos += tok_utf8_length(p[pos]);
        continue;
      }
      if (rc < 0)
        return match_error(rc, error);
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
      size_t ms = ov[0], me = ov[1];
      if (!push_chunk(s, &count, count_cpts(p, gap, ms)) ||
          !push_chunk(s, &count, count_cpts(p, ms, me)))
        return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory pre-tokenizing");
      gap = me;
      pos = me;
      options = me == ms ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
    }
    if (!push_chunk(s, &count, count_cpts(p, gap, len)))
      return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory pre-tokenizing");
  }
  *n_out = count;
  return CHORD_OK;
}

chord_status tok_pre_split(const tok_vocab *vocab, tok_scratch *s, const uint8_t *text, size_t size,
                           tok_word_fn word, void *ctx, chord_error *error) {
  const struct tok_regexes *r = vocab->regexes;
  if (!size)
    return CHORD_OK;
  if (!tok_scratch_grow((void **)&s->cpts, &s->cpts_capacity, size * sizeof(uint32_t)) ||
      !tok_scratch_grow((void **)&s->chunks, &s->chunks_capacity, sizeof(uint32_t)))
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory pre-tokenizing");
  if (!s->match_data && !(s->match_data = pcre2_match_data_create(1, r->general)))
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory pre-tokenizing");
  size_t n = 0;
  for (size_t pos = 0; pos < size;)
    s->cpts[n++] = tok_utf8_decode(text, size, &pos);
  for (int k = 0; k < 2; k++)
    if (r->needs[k] && !build_subject(s, k, s->cpts, n))
      return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory pre-tokenizing");

  s->chunks[0] = (uint32_t)n;
  size_t n_chunks = 1;
  for (uint32_t i = 0; i < r->count; i++) {
    size_t n_next = 0;
    chord_status st = split_with(r, i, s, n_chunks, &n_next, error);
    if (st)
      return st;
    uint32_t *t = s->chunks;
    s->chunks = s->chunks_next;
    s->chunks_next = t;
    size_t tc = s->chunks_capacity;
    s->chunks_capacity = s->chunks_next_capacity;
    s->chunks_next_capacity = tc;
    n_chunks = n_next;
  }

  size_t first = 0;
  for (size_t c = 0; c < n_chunks; c++) {
    size_t length = s->chunks[c];
    if (!tok_scratch_grow((void **)&s->word, &s->word_capacity, length * 4 + 1))
      return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory pre-tokenizing");
    size_t k = 0;
    for (size_t i = first; i < first + length; i++)
      k += tok_utf8_encode(s->cpts[i], s->word + k);
    first += length;
    if (!word(ctx, s->word, k))
      return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory tokenizing");
  }
  return CHORD_OK;
}
