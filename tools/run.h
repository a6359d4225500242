/* Shared by chord run's two modes: the one-shot prompt (tools/cmd_run.c) and the interactive
 * chat (tools/run_chat.c). */
#ifndef CHORD_TOOLS_RUN_H
#define CHORD_TOOLS_RUN_H

#include <signal.h>
#include <stdbool.h>

#include "chord.h"

typedef struct run_args {
  const char *model_path;
  const char *system;        /* --system-prompt */
  const char *template_name; /* --chat-template */
  const char *template_file; /* --chat-template-file */
  chord_generate_options generate;
  bool json, display_prompt;
} run_args;

/* Where run_main's model and program come from: chord run opens a GGUF and compiles it
 * (tools/cmd_run.c); an executable chord compile made has its program built in
 * (tools/compiled_main.c). */
typedef struct run_backend {
  const char *command;    /* for messages: "run" (chord run), NULL (the program itself) */
  const char *usage_head; /* --help's usage line and description, up to the options */
  const char *model_help; /* --help's line for -m */
  bool compile_flags;     /* whether --target, -O, -c and -ctk are taken */
  /* The model: path is -m's value (NULL if not given); verbose: say what is loaded, on stderr. */
  chord_status (*open_model)(const char *path, bool verbose, chord_model **model,
                             chord_error *error);
  /* The program for model; of options, a backend without compile_flags reads n_threads and
   * n_batch only. */
  chord_status (*make_program)(chord_model *model, const chord_compile_options *options,
                               chord_program **program, chord_error *error);
} run_backend;

/* chord run's command line on backend: argv[0] is the command or program name. */
int run_main(int argc, char **argv, const run_backend *backend);

/* Set by SIGINT: the reply in progress stops at the next token. */
extern volatile sig_atomic_t run_interrupted;

/* Streams generated text to stdout (and notices Ctrl-C); user is unused. */
bool run_stream_stdout(void *user, int32_t token, const char *text, size_t size);

/* The interactive conversation of --chat: reads user turns from stdin until EOF. */
int run_chat(chord_model *model, chord_session *session, const run_args *args);

#endif
