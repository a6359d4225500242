/* chord logits: evaluate a prompt and print the last position's logits as JSON, the tool that
 * compares targets, passes and other engines, through the public API (chord_compile, a session,
 * one feed). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/support/alloc.h"
#include "runtime/tokenizer/tokenizer.h"
#include "tools/cli.h"
#include "tools/json_writer.h"
#include "tools/pass_options.h"

static const char logits_usage[] =
    "usage: chord logits [OPTIONS] (-p PROMPT | --tokens IDS)\n"
    "\n"
    "Evaluates the prompt (BOS added as the model asks) and prints the last position's logits as\n"
    "one JSON object: {\"tokens\": [ids], \"top\": [[id, logit], ...], \"argmax\": id}.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE    the model (default: the default model)\n"
    "  -p, --prompt TEXT   the prompt, tokenized with the model's tokenizer\n"
    "      --tokens IDS    comma-separated token ids instead of a prompt (used as given)\n"
    "      --target NAME   where to run: cpu (default) or interp (the reference)\n"
    "  -O0, -O1, -O2       the pass pipeline (default -O2; -O0: the frontend's graph)\n"
    "      --passes LIST   run these comma-separated passes instead (as chord opt -p)\n"
    "  -b, --batch-size N  prompt tokens per step (default 512)\n"
    "      --top N         print the N largest logits (default 10)\n"
    "      --all           print every logit as \"logits\" instead of \"top\"\n"
    "  -t, --threads N     threads for the interpreter's matmuls (default 1)\n"
    "  -ctk, --cache-type-k TYPE  the key cache's type: f16 (default) or q8_0\n"
    "  -h, --help          show this help\n";

enum { OPT_TOKENS = 256, OPT_TARGET, OPT_TOP, OPT_ALL, OPT_CACHE_TYPE_K, OPT_PASSES };

static bool parse_ids(const char *text, tok_ids *out) {
  const char *p = text;
  while (*p) {
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || errno || v < 0 || v > INT32_MAX)
      return false;
    if (out->count == out->capacity) {
      size_t cap = out->capacity ? 2 * out->capacity : 16;
      tok_id *ids = rt_realloc(out->ids, cap * sizeof *ids);
      if (!ids)
        return false;
      out->ids = ids;
      out->capacity = cap;
    }
    out->ids[out->count++] = (tok_id)v;
    p = end;
    if (*p == ',')
      p++;
    else if (*p)
      return false;
  }
  return out->count > 0;
}

static void print_result(const tok_ids *ids, const float *logits, int64_t n_vocab, int top,
                         bool all) {
  json_writer j;
  jw_init(&j, stdout);
  jw_object_begin(&j);
  jw_key(&j, "tokens");
  jw_array_begin(&j);
  for (size_t i = 0; i < ids->count; i++)
    jw_i64(&j, ids->ids[i]);
  jw_array_end(&j);
  int64_t best = 0;
  for (int64_t i = 1; i < n_vocab; i++)
    if (logits[i] > logits[best])
      best = i;
  if (all) {
    jw_key(&j, "logits");
    jw_array_begin(&j);
    for (int64_t i = 0; i < n_vocab; i++)
      jw_f64(&j, logits[i]);
    jw_array_end(&j);
  } else {
    /* top N by repeated selection: N is small */
    jw_key(&j, "top");
    jw_array_begin(&j);
    int64_t prev = -1;
    for (int n = 0; n < top && n < n_vocab; n++) {
      int64_t pick = -1;
      for (int64_t i = 0; i < n_vocab; i++) {
        bool below_prev =
            prev < 0 || logits[i] < logits[prev] || (logits[i] == logits[prev] && i > prev);
        if (below_prev && (pick < 0 || logits[i] > logits[pick]))
          pick = i;
      }
      if (pick < 0)
        break;
      jw_array_begin(&j);
      jw_i64(&j, pick);
      jw_f64(&j, logits[pick]);
      jw_array_end(&j);
      prev = pick;
    }
    jw_array_end(&j);
  }
  jw_key(&j, "argmax");
  jw_i64(&j, best);
  jw_object_end(&j);
  jw_finish(&j);
}

int cmd_logits(int argc, char **argv) {
  static const struct option options[] = {
      {"model", required_argument, NULL, 'm'},
      {"prompt", required_argument, NULL, 'p'},
      {"tokens", required_argument, NULL, OPT_TOKENS},
      {"target", required_argument, NULL, OPT_TARGET},
      {"top", required_argument, NULL, OPT_TOP},
      {"all", no_argument, NULL, OPT_ALL},
      {"cache-type-k", required_argument, NULL, OPT_CACHE_TYPE_K},
      {"threads", required_argument, NULL, 't'},
      {"passes", required_argument, NULL, OPT_PASSES},
      {"batch-size", required_argument, NULL, 'b'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *model_arg = NULL, *prompt = NULL, *tokens = NULL;
  int top = 10;
  bool all = false;
  chord_compile_options co;
  chord_compile_options_default(&co);
  co.n_threads = 1;
  co.opt_level = 2;
  cli_expand_aliases(argc, argv);
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "m:p:t:b:O:h", options, NULL)) != -1) {
    switch (c) {
    case 'm': model_arg = optarg; break;
    case 'p': prompt = optarg; break;
    case OPT_TOKENS: tokens = optarg; break;
    case OPT_TARGET: co.target = optarg; break;
    case OPT_TOP: top = atoi(optarg); break;
    case OPT_ALL: all = true; break;
    case OPT_CACHE_TYPE_K: co.cache_type_k = optarg; break;
    case 't': co.n_threads = atoi(optarg); break;
    case 'b':
      co.n_batch = atoi(optarg);
      if (co.n_batch < 1)
        return cli_usage_error("logits", "-b needs a positive count");
      break;
    case OPT_PASSES: co.passes = optarg; break;
    case 'O':
      if (!pass_parse_level("logits", optarg, &co.opt_level))
        return 2;
      break;
    case 'h': fputs(logits_usage, stdout); return 0;
    default: return cli_usage_error("logits", "unknown option");
    }
  }
  if (optind < argc && !model_arg)
    model_arg = argv[optind++];
  if (optind < argc)
    return cli_usage_error("logits", "unexpected argument '%s'", argv[optind]);
  if (!prompt == !tokens)
    return cli_usage_error("logits", "give exactly one of -p PROMPT and --tokens IDS");
  if (top < 1)
    return cli_usage_error("logits", "--top needs a positive count");
  if (co.n_threads < 1)
    return cli_usage_error("logits", "-t needs a positive count");
  char path_buf[4096];
  const char *path = cli_model_path(model_arg, path_buf, sizeof path_buf);
  if (!path)
    return 1;

  chord_error error = {0};
  chord_model *model = NULL;
  chord_program *program = NULL;
  chord_session *session = NULL;
  tok_ids ids = {0};
  int rc = 1;
  if (chord_model_open(path, &model, &error) != CHORD_OK)
    goto fail;
  if (tokens) {
    if (!parse_ids(tokens, &ids)) {
      rc = cli_usage_error("logits", "--tokens wants comma-separated ids, got '%s'", tokens);
      goto done;
    }
  } else {
    int32_t *prompt_ids;
    size_t n;
    if (chord_tokenize(model, prompt, strlen(prompt), true, false, &prompt_ids, &n, &error) !=
        CHORD_OK)
      goto fail;
    ids = (tok_ids){.ids = prompt_ids, .count = n, .capacity = n};
  }
  if (ids.count == 0) {
    rc = cli_error("the prompt has no tokens");
    goto done;
  }
  co.n_ctx = (int64_t)ids.count;
  int64_t n_vocab;
  const float *logits;
  if (chord_compile(model, &co, &program, &error) != CHORD_OK ||
      chord_session_new(program, NULL, &session, &error) != CHORD_OK ||
      chord_session_feed(session, ids.ids, ids.count, &error) != CHORD_OK)
    goto fail;
  logits = chord_session_logits(session, &n_vocab);
  if (!logits) {
    rc = cli_error("the graph gave no logits");
    goto done;
  }
  print_result(&ids, logits, n_vocab, top, all);
  rc = 0;
  goto done;
fail:
  rc = cli_error("%s", error.message);
done:
  chord_session_free(session);
  chord_program_free(program);
  tok_ids_free(&ids);
  chord_model_free(model);
  return rc;
}
