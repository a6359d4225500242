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

/* Set by SIGINT: the reply in progress stops at the next token. */
extern volatile sig_atomic_t run_interrupted;

/* Streams generated text to stdout (and notices Ctrl-C); user is unused. */
bool run_stream_stdout(void *user, int32_t token, const char *text, size_t size);

/* The interactive conversation of --chat: reads user turns from stdin until EOF. */
int run_chat(chord_model *model, chord_session *session, const run_args *args);

#endif
