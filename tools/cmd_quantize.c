/* chord quantize: rewrites a GGUF model in another file type, choosing each tensor's type as
 * llama-quantize does (frontends/gguf/quantize_mix) and re-encoding with runtime/quant. */
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontends/gguf/gguf.h"
#include "frontends/gguf/quantize_mix.h"
#include "runtime/platform/file.h"
#include "runtime/platform/parallel.h"
#include "runtime/quant/quant.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"
#include "tools/cli.h"

static const char quantize_usage[] =
    "usage: chord quantize [OPTIONS] IN.gguf OUT.gguf TYPE\n"
    "\n"
    "Rewrites a model in file type TYPE: F32, F16, BF16, Q8_0, Q4_0, Q4_K_S, Q4_K_M, Q5_K_S,\n"
    "Q5_K_M or Q6_K. Each tensor is decoded (from any type chord can decode) and encoded in the\n"
    "type llama-quantize gives it in that file type: 1-D tensors and norms keep their type, the\n"
    "_M mixes give more bits to some attn_v and ffn_down layers and to the output projection,\n"
    "and rows too short for a type's blocks fall back to a smaller block. Metadata is copied;\n"
    "general.file_type is set. OUT is written whole or not at all.\n"
    "\n"
    "options:\n"
    "      --dry-run     print each tensor's current and chosen type; write nothing\n"
    "  -t, --threads N   worker threads (default: all CPUs)\n"
    "  -q, --quiet       no progress on stderr\n"
    "  -h, --help        show this help\n";

/* f32 values decoded at once per thread: bounds the scratch memory for the largest tensors. */
enum { CHUNK_ELEMS = 1 << 22 };

/* ---- re-encoding one tensor on several threads ------------------------------------------------
 * Each worker decodes and encodes a contiguous range of rows in chunks; rows are encoded on their
 * own, so the bytes do not depend on the number of threads. */

typedef struct encode_job {
  const uint8_t *in;
  ir_dtype in_type, out_type;
  uint8_t *out;
  uint64_t row_len, in_row_bytes, out_row_bytes;
  atomic_bool failed; /* a worker ran out of memory for its scratch rows */
} encode_job;

static void encode_rows(void *ctx, uint64_t first, uint64_t last, int worker) {
  encode_job *job = ctx;
  uint64_t chunk_rows = CHUNK_ELEMS / job->row_len ? CHUNK_ELEMS / job->row_len : 1;
  if (chunk_rows > last - first)
    chunk_rows = last - first;
  float *scratch = rt_malloc((size_t)(chunk_rows * job->row_len * sizeof(float)));
  if (!scratch) {
    atomic_store(&job->failed, true);
    return;
  }
  for (uint64_t row = first; row < last; row += chunk_rows) {
    uint64_t n = last - row < chunk_rows ? last - row : chunk_rows;
    int64_t elems = (int64_t)(n * job->row_len);
    quant_dequantize(job->in_type, job->in + row * job->in_row_bytes, scratch, elems);
    quant_quantize(job->out_type, scratch, job->out + row * job->out_row_bytes, elems);
  }
  rt_free(scratch);
}

/* Returns false if memory ran out. */
static bool encode_tensor(encode_job *job, uint64_t n_rows, int n_threads) {
  atomic_init(&job->failed, false);
  rt_parallel_for(n_threads, n_rows, encode_rows, job);
  return !atomic_load(&job->failed);
}

/* ---- the command ----------------------------------------------------------------------------- */

typedef struct quantize_options {
  const char *input, *output, *type;
  int threads;
  bool dry_run, quiet;
} quantize_options;

static int parse_options(int argc, char **argv, quantize_options *o) {
  enum { OPT_DRY_RUN = 256 };
  static const struct option options[] = {{"dry-run", no_argument, NULL, OPT_DRY_RUN},
                                          {"threads", required_argument, NULL, 't'},
                                          {"quiet", no_argument, NULL, 'q'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
  *o = (quantize_options){0};
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  o->threads = cpus > 0 ? (int)(cpus < 256 ? cpus : 256) : 1;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "t:qh", options, NULL)) != -1) {
    switch (c) {
    case OPT_DRY_RUN: o->dry_run = true; break;
    case 'q': o->quiet = true; break;
    case 't': {
      char *end;
      long v = strtol(optarg, &end, 10);
      if (*end || end == optarg || v < 1 || v > 256)
        return cli_usage_error("quantize", "--threads: '%s' is not a number from 1 to 256", optarg);
      o->threads = (int)v;
      break;
    }
    case 'h': fputs(quantize_usage, stdout); return -1;
    default: return cli_usage_error("quantize", "invalid option");
    }
  }
  /* With --dry-run, OUT may be left out: IN TYPE. */
  int n_args = argc - optind;
  if (n_args == 3) {
    o->input = argv[optind];
    o->output = argv[optind + 1];
    o->type = argv[optind + 2];
  } else if (n_args == 2 && o->dry_run) {
    o->input = argv[optind];
    o->type = argv[optind + 1];
  } else {
    return cli_usage_error("quantize", "expected IN.gguf OUT.gguf TYPE");
  }
  return 0;
}

/* Fails early, before minutes of work, if the output cannot be created where it should be. */
static int check_output(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return cli_error("%s: is a directory", path);
  rt_output_file probe;
  chord_error error;
  if (rt_output_open(path, &probe, &error))
    return cli_error("%s", error.message);
  rt_output_abandon(&probe);
  return 0;
}

static double gib(uint64_t bytes) { return (double)bytes / (double)(1ull << 30); }

static void print_shape(FILE *out, const gguf_tensor *t) {
  char shape[96] = "";
  for (uint32_t d = 0; d < t->n_dims; d++) {
    size_t used = strlen(shape);
    snprintf(shape + used, sizeof shape - used, d ? " x %" PRIu64 : "%" PRIu64, t->dims[d]);
  }
  fprintf(out, "%-18s", shape);
}

/* ---- one tensor at a time, as the writer asks for it ---------------------------------------- */

typedef struct quantize_writing {
  const quantize_options *options;
  const gguf_file *in;
  const gguf_mix_tensor *mix;
  double start;    /* rt_time_ms when writing began, for the progress lines */
  size_t reported; /* tensors [0, reported) have their progress line */
} quantize_writing;

typedef struct tensor_source {
  quantize_writing *writing;
  size_t index;
} tensor_source;

/* Prints the progress lines of tensors [w->reported, end), which the writer has reached. Tensors
 * that keep their type are written from the input mapping without a fill, so their lines come
 * with the next fill or at the end. */
static void report_through(quantize_writing *w, size_t end) {
  for (; !w->options->quiet && w->reported < end; w->reported++) {
    const gguf_tensor *t = &w->in->tensors[w->reported];
    const gguf_mix_tensor *m = &w->mix[w->reported];
    fprintf(stderr, "[%4zu/%4zu] %-34s ", w->reported + 1, (size_t)w->in->n_tensors, m->name);
    print_shape(stderr, t);
    fprintf(stderr, " %-6s -> %-6s %8.1f s\n", ir_dtype_name(t->type), ir_dtype_name(m->target),
            (rt_time_ms() - w->start) / 1000.0);
  }
}

/* The writer's fill for a tensor that changes type: decoded and encoded straight into the
 * writer's buffer. */
static chord_status fill_tensor(void *ctx, void *out, uint64_t n_bytes, chord_error *error) {
  const tensor_source *source = ctx;
  quantize_writing *w = source->writing;
  const gguf_tensor *t = &w->in->tensors[source->index];
  const gguf_mix_tensor *m = &w->mix[source->index];
  report_through(w, source->index);
  if (t->n_elems) {
    uint64_t in_row, out_row;
    ir_dtype_row_bytes(t->type, t->dims[0], &in_row);
    ir_dtype_row_bytes(m->target, t->dims[0], &out_row);
    encode_job job = {.in = t->data,
                      .in_type = t->type,
                      .out_type = m->target,
                      .out = out,
                      .row_len = t->dims[0],
                      .in_row_bytes = in_row,
                      .out_row_bytes = out_row};
    if (!encode_tensor(&job, t->n_elems / t->dims[0], w->options->threads))
      return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory converting %s", m->name);
  }
  report_through(w, source->index + 1);
  return CHORD_OK;
}

static int run(const quantize_options *o) {
  const gguf_file_type *file_type = gguf_file_type_find(o->type);
  if (!file_type) {
    char known[256] = "";
    for (size_t i = 0; gguf_file_type_at(i); i++) {
      strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
      strncat(known, gguf_file_type_at(i)->name, sizeof known - strlen(known) - 1);
    }
    return cli_usage_error("quantize", "unknown TYPE '%s' (known: %s)", o->type, known);
  }
  chord_error error;
  gguf_file *in;
  if (gguf_open(o->input, &in, &error))
    return cli_error("%s", error.message);
  int rc = 1;
  size_t n = (size_t)in->n_tensors;
  gguf_mix_tensor *mix = rt_calloc(n ? n : 1, sizeof *mix);
  char **names = rt_calloc(n ? n : 1, sizeof *names);
  tensor_source *sources = rt_calloc(n ? n : 1, sizeof *sources);
  gguf_writer *writer = NULL;
  gguf_mix_model model;
  if (!mix || !names || !sources) {
    cli_error("out of memory");
    goto done;
  }
  if (gguf_mix_model_read(in, &model, &error)) {
    cli_error("%s", error.message);
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    const gguf_tensor *t = &in->tensors[i];
    if (!(names[i] = rt_strndup(t->name.data, (size_t)t->name.size))) {
      cli_error("out of memory");
      goto done;
    }
    mix[i] = (gguf_mix_tensor){.name = names[i], .n_dims = t->n_dims, .type = t->type};
    memcpy(mix[i].dims, t->dims, sizeof mix[i].dims);
  }
  gguf_quant_mix_choose(file_type, &model, mix, n);

  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    const gguf_tensor *t = &in->tensors[i];
    uint64_t bytes;
    if (!ir_dtype_row_bytes(mix[i].target, t->n_elems, &bytes)) {
      cli_error("%s: %" PRIu64 " elements do not fill %s blocks", names[i], t->n_elems,
                ir_dtype_name(mix[i].target));
      goto done;
    }
    total += bytes;
    if (mix[i].target == t->type || o->dry_run)
      continue;
    if (!quant_dequantizer(t->type)) {
      cli_error("%s: chord cannot decode %s yet", names[i], ir_dtype_name(t->type));
      goto done;
    }
    if (!quant_quantizer(mix[i].target)) {
      cli_error("%s: %s needs %s%s, which chord cannot encode yet", file_type->name, names[i],
                ir_dtype_name(mix[i].target),
                mix[i].fallback ? " (its rows are too short for the type the mix wants)" : "");
      goto done;
    }
  }
  if (o->dry_run) {
    for (size_t i = 0; i < n; i++) {
      printf("%-40s ", names[i]);
      print_shape(stdout, &in->tensors[i]);
      printf(" %-6s -> %s%s\n", ir_dtype_name(in->tensors[i].type), ir_dtype_name(mix[i].target),
             mix[i].fallback ? " (fallback)" : "");
    }
    printf("%s: %zu tensors, %.3f GiB\n", file_type->name, n, gib(total));
    rc = 0;
    goto done;
  }
  if ((rc = check_output(o->output)) != 0)
    goto done;
  rc = 1;

  if (!(writer = gguf_writer_init())) {
    cli_error("out of memory");
    goto done;
  }
  gguf_writer_set_alignment(writer, in->alignment);
  if (gguf_writer_copy_kv(writer, in, &error) ||
      gguf_writer_set_u32(writer, "general.file_type", file_type->id, &error) ||
      gguf_writer_set_u32(writer, "general.quantization_version", 2, &error)) {
    cli_error("%s", error.message);
    goto done;
  }
  if (!o->quiet)
    fprintf(stderr, "quantize: %s -> %s (%s), %zu tensors, %.2f GiB\n", o->input, o->output,
            file_type->name, n, gib(total));
  /* Tensors that keep their type are written straight from the input mapping; the others are
   * converted when the writer reaches them, so about one is in memory at a time. */
  quantize_writing writing = {o, in, mix, 0.0, 0};
  for (size_t i = 0; i < n; i++) {
    const gguf_tensor *t = &in->tensors[i];
    uint64_t bytes;
    ir_dtype_row_bytes(mix[i].target, t->n_elems, &bytes);
    sources[i] = (tensor_source){&writing, i};
    chord_status s =
        mix[i].target == t->type
            ? gguf_writer_add_tensor(writer, names[i], t->type, t->n_dims, t->dims, t->data,
                                     t->n_bytes, &error)
            : gguf_writer_add_tensor_source(writer, names[i], mix[i].target, t->n_dims, t->dims,
                                            bytes, fill_tensor, &sources[i], &error);
    if (s) {
      cli_error("%s", error.message);
      goto done;
    }
  }
  writing.start = rt_time_ms();
  if (gguf_writer_write(writer, o->output, &error)) {
    cli_error("%s", error.message);
    goto done;
  }
  report_through(&writing, n);
  if (!o->quiet)
    fprintf(stderr, "quantize: wrote %s (%.2f GiB) in %.1f s\n", o->output, gib(total),
            (rt_time_ms() - writing.start) / 1000.0);
  rc = 0;
done:
  gguf_writer_free(writer);
  for (size_t i = 0; names && i < n; i++)
    rt_free(names[i]);
  rt_free(sources);
  rt_free(names);
  rt_free(mix);
  gguf_close(in);
  return rc;
}

int cmd_quantize(int argc, char **argv) {
  quantize_options o;
  int rc = parse_options(argc, argv, &o);
  if (rc)
    return rc < 0 ? 0 : rc;
  return run(&o);
}
