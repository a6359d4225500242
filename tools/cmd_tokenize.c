/* chord tokenize: a prompt's tokens, with the flags and output of llama.cpp's llama-tokenize
 * (except --ids, which prints the ids on one line separated by spaces). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/tokenizer/tokenizer.h"
#include "tools/cli.h"

static const char tokenize_usage[] =
    "usage: chord tokenize [-m MODEL] (-p TEXT | -f FILE | --stdin) [OPTIONS]\n"
    "\n"
    "Tokenizes a prompt with a model's tokenizer and prints one line per token, ID -> 'PIECE'.\n"
    "With no -m, uses the default model.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE        the model (a vocabulary-only GGUF file is enough)\n"
    "  -p, --prompt TEXT       the prompt\n"
    "  -f, --file FILE         read the prompt from a file\n"
    "      --stdin             read the prompt from standard input\n"
    "      --ids               print only the ids, on one line, separated by spaces\n"
    "      --show-count        also print the number of tokens\n"
    "      --no-bos            do not add the BOS (and EOS) tokens the model asks for\n"
    "      --no-parse-special  do not recognize control tokens written in the text\n"
    "      --no-escape         do not turn \\n, \\r, \\t, \\', \\\", \\\\ and \\xHH into bytes\n"
    "      --log-disable       accepted for llama-tokenize compatibility (chord logs nothing)\n"
    "  -h, --help              show this help\n";

/* llama.cpp's string_process_escapes, so that prompts mean the same bytes to both tools. */
static size_t process_escapes(char *s, size_t n) {
  size_t out = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '\\' || i + 1 >= n) {
      s[out++] = s[i];
      continue;
    }
    char c = s[++i];
    switch (c) {
    case 'n': s[out++] = '\n'; continue;
    case 'r': s[out++] = '\r'; continue;
    case 't': s[out++] = '\t'; continue;
    case '\'':
    case '"':
    case '\\': s[out++] = c; continue;
    case 'x':
      if (i + 2 < n) {
        char hex[3] = {s[i + 1], s[i + 2], 0}, *end;
        long value = strtol(hex, &end, 16);
        if (end == hex + 2) {
          i += 2;
          s[out++] = (char)value;
          continue;
        }
      }
      break;
    default: break;
    }
    s[out++] = '\\';
    s[out++] = c;
  }
  return out;
}

/* Reads all of a stream; NULL (after printing why) on failure. */
static char *read_all(FILE *in, const char *name, size_t *size) {
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  if (!buf) {
    cli_error("out of memory reading %s", name);
    return NULL;
  }
  for (;;) {
    if (n == cap) {
      char *grown = realloc(buf, cap *= 2);
      if (!grown) {
        free(buf);
        cli_error("out of memory reading %s", name);
        return NULL;
      }
      buf = grown;
    }
    size_t got = fread(buf + n, 1, cap - n, in);
    n += got;
    if (got == 0)
      break;
  }
  if (ferror(in)) {
    free(buf);
    cli_error("cannot read %s", name);
    return NULL;
  }
  *size = n;
  return buf;
}

int cmd_tokenize(int argc, char **argv) {
  enum {
    OPT_STDIN = 256,
    OPT_IDS,
    OPT_SHOW_COUNT,
    OPT_NO_BOS,
    OPT_NO_PARSE_SPECIAL,
    OPT_NO_ESCAPE,
    OPT_LOG_DISABLE
  };
  static const struct option options[] = {
      {"model", required_argument, NULL, 'm'},
      {"prompt", required_argument, NULL, 'p'},
      {"file", required_argument, NULL, 'f'},
      {"stdin", no_argument, NULL, OPT_STDIN},
      {"ids", no_argument, NULL, OPT_IDS},
      {"show-count", no_argument, NULL, OPT_SHOW_COUNT},
      {"no-bos", no_argument, NULL, OPT_NO_BOS},
      {"no-parse-special", no_argument, NULL, OPT_NO_PARSE_SPECIAL},
      {"no-escape", no_argument, NULL, OPT_NO_ESCAPE},
      {"log-disable", no_argument, NULL, OPT_LOG_DISABLE},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *model = NULL, *prompt = NULL, *file = NULL;
  bool ids_only = false, show_count = false, no_bos = false;
  bool parse_special = true, escape = true;
  int sources = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "m:p:f:h", options, NULL)) != -1) {
    switch (c) {
    case 'm':
      if (model)
        return cli_usage_error("tokenize", "the model is given more than once");
      model = optarg;
      break;
    case 'p':
      prompt = optarg;
      sources++;
      break;
    case 'f':
      file = optarg;
      sources++;
      break;
    case OPT_STDIN: sources++; break;
    case OPT_IDS: ids_only = true; break;
    case OPT_SHOW_COUNT: show_count = true; break;
    case OPT_NO_BOS: no_bos = true; break;
    case OPT_NO_PARSE_SPECIAL: parse_special = false; break;
    case OPT_NO_ESCAPE: escape = false; break;
    case OPT_LOG_DISABLE: break;
    case 'h': fputs(tokenize_usage, stdout); return 0;
    default: return cli_usage_error("tokenize", "invalid option");
    }
  }
  if (optind < argc)
    return cli_usage_error("tokenize", "unexpected argument '%s'", argv[optind]);
  if (sources == 0)
    return cli_usage_error("tokenize", "no prompt: give one of -p TEXT, -f FILE or --stdin");
  if (sources > 1)
    return cli_usage_error("tokenize", "-p, -f and --stdin are mutually exclusive");

  char default_path[4096];
  const char *path = cli_model_path(model, default_path, sizeof default_path);
  if (!path)
    return 1;
  tok_vocab *vocab;
  chord_error error;
  if (tok_vocab_open(path, &vocab, &error) != CHORD_OK)
    return cli_error("%s", error.message);

  size_t size = 0;
  char *text;
  if (prompt) {
    size = strlen(prompt);
    text = malloc(size + 1);
    if (text)
      memcpy(text, prompt, size + 1);
    else
      cli_error("out of memory");
  } else if (file) {
    FILE *in = fopen(file, "rb");
    if (!in) {
      tok_vocab_free(vocab);
      return cli_error("cannot open %s", file);
    }
    text = read_all(in, file, &size);
    fclose(in);
  } else {
    text = read_all(stdin, "standard input", &size);
  }
  if (!text) {
    tok_vocab_free(vocab);
    return 1;
  }
  if (escape)
    size = process_escapes(text, size);

  /* As llama-tokenize: BOS and EOS come together, only where the model adds a BOS. */
  bool add_special = tok_vocab_add_bos(vocab) && !no_bos;
  tok_ids ids = {0};
  chord_status st = tok_tokenize(vocab, text, size, add_special, parse_special, &ids, &error);
  free(text);
  if (st) {
    tok_vocab_free(vocab);
    return cli_error("%s", error.message);
  }
  for (size_t i = 0; i < ids.count; i++) {
    if (ids_only) {
      printf(i ? " %d" : "%d", (int)ids.ids[i]);
      continue;
    }
    size_t n;
    const char *piece = tok_token_piece(vocab, ids.ids[i], true, &n);
    printf("%6d -> '", (int)ids.ids[i]);
    fwrite(piece, 1, n, stdout);
    printf("'\n");
  }
  if (ids_only)
    printf("\n");
  if (show_count)
    printf("Total number of tokens: %zu\n", ids.count);
  tok_ids_free(&ids);
  tok_vocab_free(vocab);
  if (fflush(stdout) != 0)
    return cli_error("cannot write to standard output");
  return 0;
}
