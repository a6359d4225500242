/* chord synth: a GGUF model of a real architecture and shape with seeded random weights, so that
 * any size can be compiled, run and benchmarked without downloading it. */
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
#include "frontends/gguf/synth.h"
#include "runtime/platform/file.h"
#include "runtime/platform/parallel.h"
#include "runtime/quant/quant.h"
#include "runtime/support/alloc.h"
#include "runtime/support/error.h"
#include "tools/cli.h"

static const char synth_usage[] =
    "usage: chord synth (--shape NAME | --arch ARCH --dims LIST) --vocab FILE -o FILE [OPTIONS]\n"
    "\n"
    "Writes a GGUF model of a real architecture with seeded random weights (normal, std 0.02;\n"
    "norm scales near 1), the tensor names and shapes of llama.cpp's conversion, the metadata\n"
    "llama.cpp reads, and the tokenizer and vocabulary size of --vocab.\n"
    "\n"
    "options:\n"
    "      --shape NAME   a named shape (see --list-shapes); implies --arch\n"
    "      --arch ARCH    llama, qwen2 or gemma3\n"
    "      --dims LIST    hyper-parameters as key=value,...: n_embd, n_layer, n_head, n_ff\n"
    "                     (required without --shape), n_head_kv, head_dim, n_ctx, rope_base,\n"
    "                     rms_eps, tied (0/1), sliding_window; with --shape they override it\n"
    "      --type TYPE    file type: F32, F16, BF16, Q8_0, Q4_0, Q4_K_S, Q4_K_M (default),\n"
    "                     Q5_K_S, Q5_K_M, Q6_K; tensors get types as llama-quantize gives them\n"
    "      --vocab FILE   a GGUF file whose tokenizer.* keys the model gets\n"
    "      --seed N       random seed (default 0); the same seed gives the same bytes\n"
    "      --name TEXT    general.name (default: the shape's name and the seed)\n"
    "  -o, --output FILE  where to write the model (written whole or not at all)\n"
    "      --dry-run      print the tensors, their shapes and types, and the size; write nothing\n"
    "  -t, --threads N    worker threads (default: all CPUs)\n"
    "  -q, --quiet        no progress on stderr\n"
    "      --list-shapes  print the named shapes and exit\n"
    "  -h, --help         show this help\n";

/* f32 values drawn at once per thread: bounds the scratch memory for the largest tensors. */
enum { CHUNK_ELEMS = 1 << 22 };

static void list_shapes(FILE *out) {
  fprintf(out, "%-16s %-7s %6s %6s %6s %6s %6s %6s %7s %10s %s\n", "shape", "arch", "n_embd",
          "layers", "heads", "kv", "head", "n_ff", "n_ctx", "rope_base", "tied");
  for (size_t i = 0; gguf_synth_shape_at(i); i++) {
    const gguf_synth_shape *s = gguf_synth_shape_at(i);
    const gguf_synth_dims *d = &s->dims;
    fprintf(out,
            "%-16s %-7s %6" PRIu32 " %6" PRIu32 " %6" PRIu32 " %6" PRIu32 " %6" PRIu32 " %6" PRIu32
            " %7" PRIu32 " %10g %s\n",
            s->name, s->arch, d->n_embd, d->n_layer, d->n_head, d->n_head_kv, d->head_dim, d->n_ff,
            d->n_ctx, d->rope_base, d->tied ? "yes" : "no");
  }
}

/* ---- encoding one tensor on several threads ---------------------------------------------------
 * Each worker draws and encodes a contiguous range of rows in chunks, so the output does not
 * depend on the number of threads (the values depend only on seed, name and row). */

typedef struct encode_job {
  const gguf_synth_tensor *tensor;
  uint64_t seed;
  ir_dtype type;
  uint8_t *out;
  uint64_t row_len, row_bytes;
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
    gguf_synth_fill(job->tensor, job->seed, row, n, scratch);
    quant_quantize(job->type, scratch, job->out + row * job->row_bytes,
                   (int64_t)(n * job->row_len));
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

typedef struct synth_options {
  const char *arch, *shape, *dims, *type, *vocab, *output, *name;
  uint64_t seed;
  int threads;
  bool quiet, dry_run;
} synth_options;

static int parse_count(const char *text, const char *what, uint64_t limit, uint64_t *out) {
  char *end;
  if (*text < '0' || *text > '9')
    return cli_usage_error("synth", "%s: '%s' is not a non-negative integer", what, text);
  unsigned long long v = strtoull(text, &end, 10);
  if (*end || v > limit)
    return cli_usage_error("synth", "%s: '%s' is not an integer up to %" PRIu64, what, text, limit);
  *out = v;
  return 0;
}

static int parse_options(int argc, char **argv, synth_options *o) {
  enum {
    OPT_ARCH = 256,
    OPT_SHAPE,
    OPT_DIMS,
    OPT_TYPE,
    OPT_VOCAB,
    OPT_SEED,
    OPT_NAME,
    OPT_LIST,
    OPT_DRY_RUN
  };
  static const struct option options[] = {{"arch", required_argument, NULL, OPT_ARCH},
                                          {"shape", required_argument, NULL, OPT_SHAPE},
                                          {"dims", required_argument, NULL, OPT_DIMS},
                                          {"type", required_argument, NULL, OPT_TYPE},
                                          {"vocab", required_argument, NULL, OPT_VOCAB},
                                          {"seed", required_argument, NULL, OPT_SEED},
                                          {"name", required_argument, NULL, OPT_NAME},
                                          {"output", required_argument, NULL, 'o'},
                                          {"threads", required_argument, NULL, 't'},
                                          {"quiet", no_argument, NULL, 'q'},
                                          {"list-shapes", no_argument, NULL, OPT_LIST},
                                          {"dry-run", no_argument, NULL, OPT_DRY_RUN},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
  *o = (synth_options){.type = "Q4_K_M"};
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  o->threads = cpus > 0 ? (int)cpus : 1;
  int c;
  uint64_t v = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "o:t:qh", options, NULL)) != -1) {
    switch (c) {
    case OPT_ARCH: o->arch = optarg; break;
    case OPT_SHAPE: o->shape = optarg; break;
    case OPT_DIMS: o->dims = optarg; break;
    case OPT_TYPE: o->type = optarg; break;
    case OPT_VOCAB: o->vocab = optarg; break;
    case OPT_NAME: o->name = optarg; break;
    case 'o': o->output = optarg; break;
    case 'q': o->quiet = true; break;
    case OPT_DRY_RUN: o->dry_run = true; break;
    case OPT_SEED:
      if (parse_count(optarg, "--seed", UINT64_MAX, &o->seed))
        return 2;
      break;
    case 't':
      if (parse_count(optarg, "--threads", 256, &v))
        return 2;
      if (v == 0)
        return cli_usage_error("synth", "--threads: at least 1");
      o->threads = (int)v;
      break;
    case OPT_LIST: list_shapes(stdout); return -1;
    case 'h': fputs(synth_usage, stdout); return -1;
    default: return cli_usage_error("synth", "invalid option");
    }
  }
  if (optind < argc)
    return cli_usage_error("synth", "unexpected argument '%s'", argv[optind]);
  if (o->threads > 256)
    o->threads = 256; /* more CPUs than that: the rest stay idle */
  if (!o->shape && !o->arch)
    return cli_usage_error("synth", "give --shape NAME, or --arch ARCH with --dims");
  if (!o->shape && !o->dims)
    return cli_usage_error("synth", "--arch %s needs --dims (or use --shape)", o->arch);
  if (!o->vocab)
    return cli_usage_error("synth", "--vocab FILE is required (a GGUF file with a tokenizer)");
  if (!o->output && !o->dry_run)
    return cli_usage_error("synth", "-o FILE is required");
  return 0;
}

static void known_names(char *buf, size_t size, bool shapes) {
  buf[0] = '\0';
  for (size_t i = 0;; i++) {
    const char *name =
        shapes ? (gguf_synth_shape_at(i) ? gguf_synth_shape_at(i)->name : NULL)
               : (gguf_synth_arch_at(i) ? gguf_synth_arch_name(gguf_synth_arch_at(i)) : NULL);
    if (!name)
      break;
    strncat(buf, i ? ", " : "", size - strlen(buf) - 1);
    strncat(buf, name, size - strlen(buf) - 1);
  }
}

static int resolve_model(const synth_options *o, const gguf_synth_arch **arch,
                         gguf_synth_dims *dims, const char **title) {
  char known[512];
  const gguf_synth_shape *shape = NULL;
  if (o->shape && !(shape = gguf_synth_shape_find(o->shape))) {
    known_names(known, sizeof known, true);
    return cli_usage_error("synth", "unknown shape '%s' (known: %s)", o->shape, known);
  }
  const char *arch_name = o->arch ? o->arch : shape->arch;
  if (!(*arch = gguf_synth_arch_find(arch_name))) {
    known_names(known, sizeof known, false);
    return cli_usage_error("synth", "unknown architecture '%s' (known: %s)", arch_name, known);
  }
  if (shape && strcmp(shape->arch, arch_name) != 0)
    return cli_usage_error("synth", "shape %s is a %s model, not %s", shape->name, shape->arch,
                           arch_name);
  if (shape)
    *dims = shape->dims;
  else
    gguf_synth_dims_default(*arch, dims);
  *title = shape ? shape->title : arch_name;
  chord_error error;
  if (o->dims && gguf_synth_dims_parse(o->dims, dims, &error))
    return cli_usage_error("synth", "%s", error.message);
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

static void format_shape(char *buf, size_t size, const gguf_synth_tensor *t) {
  if (t->n_dims == 1)
    snprintf(buf, size, "%" PRIu64, t->dims[0]);
  else
    snprintf(buf, size, "%" PRIu64 " x %" PRIu64, t->dims[0], t->dims[1]);
}

static double gib(uint64_t bytes) { return (double)bytes / (double)(1ull << 30); }

/* ---- one tensor at a time, as the writer asks for it ---------------------------------------- */

typedef struct synth_writing {
  const synth_options *options;
  const gguf_synth_tensor *plan;
  const gguf_mix_tensor *mix;
  size_t n_tensors;
  double start; /* rt_time_ms when writing began, for the progress lines */
} synth_writing;

typedef struct tensor_source {
  const synth_writing *writing;
  size_t index;
} tensor_source;

/* The writer's fill: draws and encodes tensor `index` straight into the writer's buffer. */
static chord_status fill_tensor(void *ctx, void *out, uint64_t n_bytes, chord_error *error) {
  const tensor_source *source = ctx;
  const synth_writing *w = source->writing;
  const gguf_synth_tensor *t = &w->plan[source->index];
  const ir_dtype type = w->mix[source->index].target;
  uint64_t row_bytes;
  ir_dtype_row_bytes(type, t->dims[0], &row_bytes);
  encode_job job = {.tensor = t,
                    .seed = w->options->seed,
                    .type = type,
                    .out = out,
                    .row_len = t->dims[0],
                    .row_bytes = row_bytes};
  if (!encode_tensor(&job, t->dims[1], w->options->threads))
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory encoding %s", t->name);
  if (!w->options->quiet) {
    char shape[48];
    format_shape(shape, sizeof shape, t);
    fprintf(stderr, "[%4zu/%4zu] %-34s %-18s %-6s %8.1f s\n", source->index + 1, w->n_tensors,
            t->name, shape, ir_dtype_name(type), (rt_time_ms() - w->start) / 1000.0);
  }
  return CHORD_OK;
}

static int run(const synth_options *o) {
  const gguf_synth_arch *arch = NULL;
  gguf_synth_dims dims;
  const char *title = "";
  int rc = resolve_model(o, &arch, &dims, &title);
  if (rc)
    return rc;
  const gguf_file_type *file_type = gguf_file_type_find(o->type);
  if (!file_type) {
    char known[256] = "";
    for (size_t i = 0; gguf_file_type_at(i); i++) {
      strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
      strncat(known, gguf_file_type_at(i)->name, sizeof known - strlen(known) - 1);
    }
    return cli_usage_error("synth", "unknown --type '%s' (known: %s)", o->type, known);
  }
  chord_error error;
  gguf_file *vocab;
  if (gguf_open(o->vocab, &vocab, &error))
    return cli_error("%s", error.message);
  gguf_synth_tensor *plan = NULL;
  gguf_mix_tensor *mix = NULL;
  tensor_source *sources = NULL;
  size_t n = 0;
  gguf_writer *writer = NULL;
  rc = 1;
  if (gguf_synth_vocab_size(vocab, &dims.n_vocab, &error)) {
    cli_error("%s", error.message);
    goto done;
  }
  if (gguf_synth_dims_finish(arch, &dims, &error)) {
    rc = cli_usage_error("synth", "%s", error.message);
    goto done;
  }
  if (gguf_synth_plan(arch, &dims, &plan, &n, &error)) {
    cli_error("%s", error.message);
    goto done;
  }

  /* The types, exactly as llama-quantize would choose them for this model. */
  mix = rt_calloc(n, sizeof *mix);
  sources = rt_calloc(n, sizeof *sources);
  if (!mix || !sources) {
    cli_error("out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++)
    mix[i] = (gguf_mix_tensor){.name = plan[i].name,
                               .n_dims = plan[i].n_dims,
                               .dims = {plan[i].dims[0], plan[i].dims[1], 1, 1},
                               .type = IR_DTYPE_F32};
  gguf_mix_model model = {
      .n_layer = dims.n_layer, .n_head = dims.n_head, .n_head_kv = dims.n_head_kv};
  snprintf(model.arch, sizeof model.arch, "%s", gguf_synth_arch_name(arch));
  gguf_quant_mix_choose(file_type, &model, mix, n);

  uint64_t total = 0, parameters = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t elems = plan[i].dims[0] * plan[i].dims[1], bytes;
    if (o->dry_run) {
      char shape[48];
      format_shape(shape, sizeof shape, &plan[i]);
      printf("%-40s %-18s %s%s%s\n", plan[i].name, shape, ir_dtype_name(mix[i].target),
             mix[i].fallback ? " (fallback)" : "",
             quant_quantizer(mix[i].target) ? "" : " (chord has no encoder)");
    } else if (!quant_quantizer(mix[i].target)) {
      cli_error("%s: %s needs %s%s, which chord cannot encode yet", file_type->name, plan[i].name,
                ir_dtype_name(mix[i].target),
                mix[i].fallback ? " (its rows are too short for the type the mix wants)" : "");
      goto done;
    }
    if (!ir_dtype_row_bytes(mix[i].target, elems, &bytes)) {
      cli_error("%s: %" PRIu64 " elements do not fill %s blocks", plan[i].name, elems,
                ir_dtype_name(mix[i].target));
      goto done;
    }
    total += bytes;
    parameters += elems;
  }
  if (o->dry_run) {
    printf("%s: %zu tensors, %" PRIu64 " parameters, %.3f GiB\n", file_type->name, n, parameters,
           gib(total));
    rc = 0;
    goto done;
  }
  if ((rc = check_output(o->output)) != 0)
    goto done;
  rc = 1;

  writer = gguf_writer_init();
  if (!writer) {
    cli_error("out of memory");
    goto done;
  }
  char name[256];
  if (o->name)
    snprintf(name, sizeof name, "%s", o->name);
  else
    snprintf(name, sizeof name, "%s (synthetic, seed %" PRIu64 ")", title, o->seed);
  if (gguf_synth_set_metadata(writer, arch, &dims, name, file_type->id, vocab, &error)) {
    cli_error("%s", error.message);
    goto done;
  }
  if (!o->quiet)
    fprintf(stderr,
            "synth: %s, %zu tensors, %.1f M parameters, vocabulary %" PRIu32 ", %s, %.2f GiB\n",
            name, n, (double)parameters / 1e6, dims.n_vocab, file_type->name, gib(total));
  /* Each tensor is drawn and encoded when the writer reaches it, so about one tensor is in
   * memory at a time, whatever the model's size. */
  synth_writing writing = {o, plan, mix, n, 0.0};
  for (size_t i = 0; i < n; i++) {
    const gguf_synth_tensor *t = &plan[i];
    uint64_t bytes;
    ir_dtype_row_bytes(mix[i].target, t->dims[0] * t->dims[1], &bytes);
    sources[i] = (tensor_source){&writing, i};
    if (gguf_writer_add_tensor_source(writer, t->name, mix[i].target, t->n_dims, t->dims, bytes,
                                      fill_tensor, &sources[i], &error)) {
      cli_error("%s", error.message);
      goto done;
    }
  }
  writing.start = rt_time_ms();
  if (gguf_writer_write(writer, o->output, &error)) {
    cli_error("%s", error.message);
    goto done;
  }
  if (!o->quiet)
    fprintf(stderr, "synth: wrote %s (%.2f GiB) in %.1f s\n", o->output, gib(total),
            (rt_time_ms() - writing.start) / 1000.0);
  rc = 0;
done:
  gguf_writer_free(writer);
  rt_free(sources);
  rt_free(mix);
  rt_free(plan);
  gguf_close(vocab);
  return rc;
}

int cmd_synth(int argc, char **argv) {
  synth_options o;
  int rc = parse_options(argc, argv, &o);
  if (rc)
    return rc < 0 ? 0 : rc;
  return run(&o);
}
