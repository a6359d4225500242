/* The pass manager: the pass table (passes/passes.def), one written-out pipeline per optimization
 * level, and the runner that verifies the graph after every pass and can dump or time each one.
 * docs/passes.md describes how to write a pass. */
#ifndef CHORD_PASSES_PASS_H
#define CHORD_PASSES_PASS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/ir.h"

typedef enum pass_id {
#define X(NAME, name, function, description) PASS_##NAME,
#include "passes/passes.def"
#undef X
  PASS_COUNT
} pass_id;

typedef chord_status (*pass_function)(ir_graph *g, chord_error *error);

typedef struct pass_info {
  const char *name;
  pass_function run;
  const char *description;
} pass_info;

/* The passes themselves, one file each. */
#define X(NAME, name, function, description) chord_status function(ir_graph *g, chord_error *error);
#include "passes/passes.def"
#undef X

const pass_info *pass_get(pass_id id);
bool pass_from_name(const char *name, size_t length, pass_id *out);
/* "infer-shapes, canonicalize, ..." (for messages and --help). */
void pass_list_names(char *buf, size_t size);

enum { PASS_PIPELINE_MAX = 64 };

typedef struct pass_pipeline {
  pass_id passes[PASS_PIPELINE_MAX];
  uint32_t n;
} pass_pipeline;

/* The pipeline of -O0, -O1 or -O2 (passes/pass.c writes each one out). */
chord_status pass_pipeline_for_level(int level, pass_pipeline *out, chord_error *error);
/* A comma-separated list of pass names, e.g. "cse,dce". */
chord_status pass_pipeline_parse(const char *list, pass_pipeline *out, chord_error *error);

typedef struct pass_run_options {
  uint64_t print_after; /* bit (1 << pass_id): dump the graph after these passes */
  bool print_after_all; /* dump after every pass */
  uint64_t disabled;    /* bit (1 << pass_id): skip these passes */
  FILE *dump;           /* where dumps go (stderr when NULL) */
  /* how a dump shows the graph (NULL: its text form, ir_print); chord ir --stats gives its
   * op-count tables, so that they can be compared from pass to pass */
  chord_status (*print)(FILE *out, const void *graph, chord_error *error);
  FILE *timings; /* when set, a table of per-pass times goes here */
} pass_run_options;

/* Verifies g, then runs each pass of the pipeline in order, verifying after each one. A failure
 * names the pass: "after pass 'cse': %5 (add): ...". */
chord_status pass_pipeline_run(ir_graph *g, const pass_pipeline *pipeline,
                               const pass_run_options *options, chord_error *error);

#endif
