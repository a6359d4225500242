/* chord run's command line: generate text from a prompt (-p, -f) or in an interactive
 * conversation (--chat), with llama.cpp's flag names and defaults. Shared by `chord run`, which
 * compiles the model it opens (tools/cmd_run.c), and by the executables `chord compile` makes,
 * which have their program built in (tools/compiled_main.c): run.h's backend says which.
 * Everything goes through the public C API (include/chord.h); this file is argument handling and
 * output, in the runtime library (no compiler here). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/platform/file.h"
#include "runtime/support/alloc.h"
#include "tools/cli.h"
#include "tools/json_writer.h"
#include "tools/run.h"

static const char run_usage_input[] =
    "  -p, --prompt TEXT         the prompt\n"
    "  -f, --file FILE           read the prompt from FILE\n"
    "  -e, --escape              process \\n, \\t, \\\\, ... in the prompt (default)\n"
    "      --no-escape           take the prompt literally\n"
    "      --chat                an interactive conversation on stdin (history kept in the KV\n"
    "                            cache); Ctrl-C stops the reply, Ctrl-D ends\n"
    "      --system-prompt TEXT  the system message of the conversation (also --system)\n"
    "      --chat-template NAME  a built-in template instead of the model's (chord template\n"
    "                            --list-templates)\n"
    "      --chat-template-file FILE  a Jinja template file instead of the model's\n"
    "\n"
    "generation:\n"
    "  -n, --n-predict N         tokens to generate (default -1: until the model stops or the\n"
    "                            context is full)\n"
    "  -r, --reverse-prompt TEXT stop when TEXT appears (repeatable; not printed)\n"
    "      --temp T              temperature (default 0.8; 0: greedy)\n"
    "      --top-k K             (default 40; 0: off)\n"
    "      --top-p P             (default 0.95; 1: off)\n"
    "      --min-p P             (default 0.05; 0: off)\n"
    "      --typical P           locally typical sampling (default 1: off)\n"
    "      --repeat-penalty X    (default 1: off)\n"
    "      --repeat-last-n N     tokens the penalties look at (default 64)\n"
    "      --presence-penalty X  (default 0: off)\n"
    "      --frequency-penalty X (default 0: off)\n"
    "  -s, --seed N              random seed (default -1: a random one)\n"
    "      --context-shift       when the context is full, drop half of it (after --keep) and\n"
    "                            go on, instead of stopping\n"
    "      --keep N              tokens of the prompt a context shift keeps, after BOS (default\n"
    "                            0; -1: the whole prompt)\n"
    "\n";

/* The flags fixed when a program is compiled ahead of time (chord compile takes them). */
static const char run_usage_compile[] =
    "compilation:\n"
    "      --target NAME         where to run: cpu (the default) or interp (the reference\n"
    "                            interpreter)\n"
    "  -O0, -O1, -O2             optimization level (default -O2)\n"
    "  -c, --ctx-size N          context size in tokens (default 4096, at most the model's)\n"
    "  -ctk, --cache-type-k TYPE the key cache's type: f16 (default) or q8_0 (half the memory;\n"
    "                            llama.cpp's -ctk q8_0 numerics)\n"
    "\n";

static const char run_usage_runtime[] =
    "runtime:\n"
    "  -b, --batch-size N        prompt tokens per step (default 512)\n"
    "  -t, --threads N           worker threads (default: all CPUs)\n"
    "\n"
    "output:\n"
    "      --no-display-prompt   do not print the prompt before the generated text\n"
    "      --json                print one JSON object instead of streaming: prompt_tokens,\n"
    "                            tokens, text, stop, timings\n"
    "  -h, --help                show this help\n";

volatile sig_atomic_t run_interrupted;

static void on_sigint(int sig) {
  (void)sig;
  run_interrupted = 1;
}

bool run_stream_stdout(void *user, int32_t token, const char *text, size_t size) {
  (void)user;
  (void)token;
  fwrite(text, 1, size, stdout);
  fflush(stdout);
  return !run_interrupted;
}

/* llama.cpp's string_process_escapes: \n \r \t \' \" \\ \xNN; anything else stays as written. */
static void process_escapes(char *s) {
  char *out = s;
  for (const char *in = s; *in; in++) {
    if (*in != '\\' || !in[1]) {
      *out++ = *in;
      continue;
    }
    char c = *++in;
    switch (c) {
    case 'n': *out++ = '\n'; break;
    case 'r': *out++ = '\r'; break;
    case 't': *out++ = '\t'; break;
    case '\'':
    case '"':
    case '\\': *out++ = c; break;
    case 'x':
      if (in[1] && in[2] && strchr("0123456789abcdefABCDEF", in[1]) &&
          strchr("0123456789abcdefABCDEF", in[2])) {
        char hex[3] = {in[1], in[2], 0};
        *out++ = (char)strtol(hex, NULL, 16);
        in += 2;
        break;
      }
      /* fall through */
    default: *out++ = '\\'; *out++ = c;
    }
  }
  *out = '\0';
}

static const char *stop_name(chord_stop_reason r) {
  static const char *const names[] = {
      [CHORD_STOP_EOG] = "eog",
      [CHORD_STOP_LENGTH] = "length",
      [CHORD_STOP_STRING] = "stop",
      [CHORD_STOP_CALLBACK] = "interrupted",
      [CHORD_STOP_CONTEXT_FULL] = "context",
  };
  return names[r];
}

typedef struct run_timings {
  double load_ms, compile_ms;
} run_timings;

static void print_json(const int32_t *prompt, size_t n_prompt, const chord_generate_result *r,
                       const run_timings *t) {
  json_writer j;
  jw_init(&j, stdout);
  jw_object_begin(&j);
  jw_key(&j, "prompt_tokens");
  jw_array_begin(&j);
  for (size_t i = 0; i < n_prompt; i++)
    jw_i64(&j, prompt[i]);
  jw_array_end(&j);
  jw_key(&j, "tokens");
  jw_array_begin(&j);
  for (size_t i = 0; i < r->n_tokens; i++)
    jw_i64(&j, r->tokens[i]);
  jw_array_end(&j);
  jw_key(&j, "text");
  jw_string_n(&j, r->text, r->text_size);
  jw_key(&j, "stop");
  jw_string(&j, stop_name(r->stop));
  jw_key(&j, "timings");
  jw_object_begin(&j);
  jw_key(&j, "load_ms");
  jw_f64(&j, t->load_ms);
  jw_key(&j, "compile_ms");
  jw_f64(&j, t->compile_ms);
  jw_key(&j, "prompt_ms");
  jw_f64(&j, r->prompt_ms);
  jw_key(&j, "prompt_tokens_per_s");
  jw_f64(&j, r->prompt_ms > 0 ? 1000.0 * (double)n_prompt / r->prompt_ms : 0);
  jw_key(&j, "generate_ms");
  jw_f64(&j, r->generate_ms);
  jw_key(&j, "generate_tokens_per_s");
  jw_f64(&j, r->generate_ms > 0 ? 1000.0 * (double)r->n_tokens / r->generate_ms : 0);
  jw_object_end(&j);
  jw_object_end(&j);
  jw_finish(&j);
}

static void print_timings(size_t n_prompt, const chord_generate_result *r, const run_timings *t) {
  fprintf(stderr,
          "\nchord: load %.1f ms, compile %.1f ms; prompt %zu tokens in %.1f ms (%.2f tokens/s); "
          "generated %zu tokens in %.1f ms (%.2f tokens/s); stop: %s\n",
          t->load_ms, t->compile_ms, n_prompt, r->prompt_ms,
          r->prompt_ms > 0 ? 1000.0 * (double)n_prompt / r->prompt_ms : 0.0, r->n_tokens,
          r->generate_ms, r->generate_ms > 0 ? 1000.0 * (double)r->n_tokens / r->generate_ms : 0.0,
          stop_name(r->stop));
}

/* llama-cli's n_keep: --keep N tokens of the prompt after the special tokens the tokenizer adds
 * in front (BOS), or the whole prompt for -1 or more than it has. */
static int32_t keep_count(chord_model *model, int32_t keep, size_t n_prompt) {
  if (keep < 0 || (size_t)keep >= n_prompt)
    return (int32_t)n_prompt;
  int32_t *ids = NULL;
  size_t n_special = 0;
  chord_error ignored;
  if (chord_tokenize(model, "", 0, true, false, &ids, &n_special, &ignored) != CHORD_OK)
    n_special = 0;
  chord_free(ids);
  size_t n = (size_t)keep + n_special;
  return (int32_t)(n < n_prompt ? n : n_prompt);
}

static int run_prompt(chord_model *model, chord_session *session, const char *prompt,
                      const run_args *a, const run_timings *t) {
  chord_error error;
  int32_t *ids = NULL;
  size_t n_ids = 0;
  if (chord_tokenize(model, prompt, strlen(prompt), true, true, &ids, &n_ids, &error) != CHORD_OK)
    return cli_error("%s", error.message);
  if (n_ids == 0) {
    chord_free(ids);
    return cli_error("the prompt has no tokens");
  }
  if (a->display_prompt && !a->json) {
    fputs(prompt, stdout);
    fflush(stdout);
  }
  chord_generate_options options = a->generate;
  options.n_keep = keep_count(model, a->generate.n_keep, n_ids);
  chord_generate_result r;
  chord_status st = chord_session_generate(session, ids, n_ids, &options,
                                           a->json ? NULL : run_stream_stdout, NULL, &r, &error);
  int rc = 0;
  if (st != CHORD_OK) {
    rc = cli_error("%s", error.message);
  } else if (a->json) {
    print_json(ids, n_ids, &r, t);
  } else {
    fputc('\n', stdout);
    fflush(stdout);
    if (r.stop == CHORD_STOP_CONTEXT_FULL)
      fprintf(stderr,
              "chord: the context is full (%lld tokens): stopping; raise -c, or pass "
              "--context-shift to go on\n",
              (long long)chord_session_positions(session));
    print_timings(n_ids, &r, t);
  }
  chord_generate_result_free(&r);
  chord_free(ids);
  return rc;
}

enum {
  OPT_CHAT = 0x100,
  OPT_SYSTEM,
  OPT_TEMPLATE,
  OPT_TEMPLATE_FILE,
  OPT_TEMP,
  OPT_TOP_K,
  OPT_TOP_P,
  OPT_MIN_P,
  OPT_TYPICAL,
  OPT_REPEAT_PENALTY,
  OPT_REPEAT_LAST_N,
  OPT_PRESENCE,
  OPT_FREQUENCY,
  OPT_TARGET,
  OPT_NO_DISPLAY_PROMPT,
  OPT_JSON,
  OPT_CONTEXT_SHIFT,
  OPT_KEEP,
  OPT_CACHE_TYPE_K,
  OPT_NO_ESCAPE,
};

enum { MAX_STOPS = 16 };

static void print_usage(const run_backend *b) {
  fputs(b->usage_head, stdout);
  fputs("input:\n", stdout);
  fputs(b->model_help, stdout);
  fputs(run_usage_input, stdout);
  if (b->compile_flags)
    fputs(run_usage_compile, stdout);
  fputs(run_usage_runtime, stdout);
}

/* The flags only chord run takes: a compiled program had them fixed by chord compile. */
static int refuse_compile_flag(const run_backend *b, const char *flag) {
  return cli_usage_error(
      b->command, "%s was fixed when this program was compiled (chord compile %s ...)", flag, flag);
}

int run_main(int argc, char **argv, const run_backend *backend) {
  static const struct option options[] = {
      {"model", required_argument, NULL, 'm'},
      {"prompt", required_argument, NULL, 'p'},
      {"file", required_argument, NULL, 'f'},
      {"escape", no_argument, NULL, 'e'},
      {"no-escape", no_argument, NULL, OPT_NO_ESCAPE},
      {"chat", no_argument, NULL, OPT_CHAT},
      {"system-prompt", required_argument, NULL, OPT_SYSTEM},
      {"system", required_argument, NULL, OPT_SYSTEM},
      {"chat-template", required_argument, NULL, OPT_TEMPLATE},
      {"chat-template-file", required_argument, NULL, OPT_TEMPLATE_FILE},
      {"n-predict", required_argument, NULL, 'n'},
      {"reverse-prompt", required_argument, NULL, 'r'},
      {"temp", required_argument, NULL, OPT_TEMP},
      {"top-k", required_argument, NULL, OPT_TOP_K},
      {"top-p", required_argument, NULL, OPT_TOP_P},
      {"min-p", required_argument, NULL, OPT_MIN_P},
      {"typical", required_argument, NULL, OPT_TYPICAL},
      {"repeat-penalty", required_argument, NULL, OPT_REPEAT_PENALTY},
      {"repeat-last-n", required_argument, NULL, OPT_REPEAT_LAST_N},
      {"presence-penalty", required_argument, NULL, OPT_PRESENCE},
      {"frequency-penalty", required_argument, NULL, OPT_FREQUENCY},
      {"seed", required_argument, NULL, 's'},
      {"context-shift", no_argument, NULL, OPT_CONTEXT_SHIFT},
      {"keep", required_argument, NULL, OPT_KEEP},
      {"cache-type-k", required_argument, NULL, OPT_CACHE_TYPE_K},
      {"target", required_argument, NULL, OPT_TARGET},
      {"ctx-size", required_argument, NULL, 'c'},
      {"batch-size", required_argument, NULL, 'b'},
      {"threads", required_argument, NULL, 't'},
      {"no-display-prompt", no_argument, NULL, OPT_NO_DISPLAY_PROMPT},
      {"json", no_argument, NULL, OPT_JSON},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  run_args a = {.generate = {.n_predict = -1, .stop_at_full_context = true},
                .display_prompt = true};
  const char *prompt_arg = NULL, *prompt_file = NULL, *stops[MAX_STOPS];
  size_t n_stops = 0;
  bool chat = false, escape = true;
  chord_sampling sampling;
  chord_sampling_default(&sampling);
  chord_compile_options co;
  chord_compile_options_default(&co);
  co.opt_level = 2;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  co.n_threads = cpus > 0 ? (int)cpus : 1;
  long long v = 0;
  const char *command = backend->command;
  cli_expand_aliases(argc, argv);
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "m:p:f:en:r:s:c:b:t:O:h", options, NULL)) != -1) {
    bool ok = true;
    if (!backend->compile_flags &&
        (c == OPT_TARGET || c == 'O' || c == 'c' || c == OPT_CACHE_TYPE_K))
      return refuse_compile_flag(backend, c == OPT_TARGET ? "--target"
                                          : c == 'O'      ? "-O"
                                          : c == 'c'      ? "-c"
                                                          : "--cache-type-k");
    switch (c) {
    case 'm': a.model_path = optarg; break;
    case 'p': prompt_arg = optarg; break;
    case 'f': prompt_file = optarg; break;
    case 'e': escape = true; break;
    case OPT_NO_ESCAPE: escape = false; break;
    case OPT_CHAT: chat = true; break;
    case OPT_SYSTEM: a.system = optarg; break;
    case OPT_TEMPLATE: a.template_name = optarg; break;
    case OPT_TEMPLATE_FILE: a.template_file = optarg; break;
    case 'n':
      ok = cli_parse_long(optarg, -1, INT32_MAX, &v);
      a.generate.n_predict = (int32_t)v;
      break;
    case 'r':
      if (n_stops == MAX_STOPS)
        return cli_usage_error(command, "at most %d reverse prompts", MAX_STOPS);
      if (!*optarg)
        return cli_usage_error(command, "-r wants a non-empty text");
      stops[n_stops++] = optarg;
      break;
    case OPT_TEMP: ok = cli_parse_float(optarg, &sampling.temperature); break;
    case OPT_TOP_K:
      ok = cli_parse_long(optarg, INT32_MIN, INT32_MAX, &v);
      sampling.top_k = (int32_t)v;
      break;
    case OPT_TOP_P: ok = cli_parse_float(optarg, &sampling.top_p); break;
    case OPT_MIN_P: ok = cli_parse_float(optarg, &sampling.min_p); break;
    case OPT_TYPICAL: ok = cli_parse_float(optarg, &sampling.typical_p); break;
    case OPT_REPEAT_PENALTY: ok = cli_parse_float(optarg, &sampling.repeat_penalty); break;
    case OPT_REPEAT_LAST_N:
      ok = cli_parse_long(optarg, 0, INT32_MAX, &v);
      sampling.penalty_last_n = (int32_t)v;
      break;
    case OPT_PRESENCE: ok = cli_parse_float(optarg, &sampling.presence_penalty); break;
    case OPT_FREQUENCY: ok = cli_parse_float(optarg, &sampling.frequency_penalty); break;
    case 's':
      ok = cli_parse_long(optarg, -1, INT64_MAX, &v);
      sampling.seed = v < 0 ? CHORD_SEED_RANDOM : (uint64_t)v;
      break;
    case OPT_TARGET: co.target = optarg; break;
    case 'O':
      if (strlen(optarg) != 1 || optarg[0] < '0' || optarg[0] > '2')
        return cli_usage_error(command, "no optimization level -O%s (-O0, -O1 or -O2)", optarg);
      co.opt_level = optarg[0] - '0';
      break;
    case 'c':
      ok = cli_parse_long(optarg, 0, INT32_MAX, &v);
      co.n_ctx = v;
      break;
    case 'b':
      ok = cli_parse_long(optarg, 1, INT32_MAX, &v);
      co.n_batch = v;
      break;
    case 't':
      ok = cli_parse_long(optarg, 1, 1024, &v);
      co.n_threads = (int)v;
      break;
    case OPT_NO_DISPLAY_PROMPT: a.display_prompt = false; break;
    case OPT_JSON: a.json = true; break;
    case OPT_CONTEXT_SHIFT: a.generate.context_shift = true; break;
    case OPT_CACHE_TYPE_K: co.cache_type_k = optarg; break;
    case OPT_KEEP:
      ok = cli_parse_long(optarg, -1, INT32_MAX, &v);
      a.generate.n_keep = (int32_t)v;
      break;
    case 'h': print_usage(backend); return 0;
    default: return cli_usage_error(command, "invalid option");
    }
    if (!ok) /* "--temp X" or "--temp=X": name the option as written */
      return cli_usage_error(
          command, "bad value '%s' for %.*s", optarg,
          (int)strcspn(argv[optind - 1] == optarg ? argv[optind - 2] : argv[optind - 1], "="),
          argv[optind - 1] == optarg ? argv[optind - 2] : argv[optind - 1]);
  }
  if (optind < argc)
    return cli_usage_error(command, "unexpected argument '%s'", argv[optind]);
  if (!!prompt_arg + !!prompt_file + chat != 1)
    return cli_usage_error(command, "give exactly one of -p PROMPT, -f FILE and --chat");
  if (chat && a.json)
    return cli_usage_error(command, "--json is for one prompt, not --chat");
  if (a.template_name && a.template_file)
    return cli_usage_error(command, "--chat-template and --chat-template-file are alternatives");
  a.generate.stop = stops;
  a.generate.n_stop = n_stops;

  char *prompt = NULL;
  if (prompt_arg && !(prompt = rt_strndup(prompt_arg, strlen(prompt_arg))))
    return cli_error("out of memory");
  size_t prompt_size;
  if (prompt_file && !(prompt = cli_read_file(prompt_file, &prompt_size)))
    return 1;
  if (prompt && escape)
    process_escapes(prompt);

  chord_error error;
  chord_model *model = NULL;
  chord_program *program = NULL;
  chord_session *session = NULL;
  run_timings t = {0};
  int rc = 1;
  double t0 = rt_time_ms();
  if (backend->open_model(a.model_path, !a.json, &model, &error) != CHORD_OK ||
      chord_model_vocab_size(model) == 0) {
    rc = cli_error("%s", model ? "the model has no vocabulary" : error.message);
    goto done;
  }
  double t1 = rt_time_ms();
  if (backend->compile_flags && !a.json)
    fprintf(stderr, "chord: compiling for %s at -O%d\n", co.target, co.opt_level);
  if (backend->make_program(model, &co, &program, &error) != CHORD_OK ||
      chord_session_new(program, &sampling, &session, &error) != CHORD_OK) {
    rc = cli_error("%s", error.message);
    goto done;
  }
  double t2 = rt_time_ms();
  t.load_ms = t1 - t0;
  t.compile_ms = t2 - t1;
  if (!a.json)
    fprintf(stderr, "chord: ready in %.0f ms (context %lld tokens)\n", t2 - t0,
            (long long)chord_program_context_size(program));

  struct sigaction sa = {.sa_handler = on_sigint};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: Ctrl-C at the chat prompt ends the read */
  rc = chat ? run_chat(model, session, &a) : run_prompt(model, session, prompt, &a, &t);
done:
  chord_session_free(session);
  chord_program_free(program);
  chord_model_free(model);
  rt_free(prompt);
  return rc;
}
