/* chord info: what a GGUF file holds, for people (text) and for scripts (--json). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "frontends/gguf/gguf.h"
#include "tools/cli.h"
#include "tools/json_writer.h"

static const char info_usage[] =
    "usage: chord info [OPTIONS] [MODEL]\n"
    "\n"
    "Describes a GGUF model: architecture, hyper-parameters, tokenizer, chat template, tensor and\n"
    "parameter counts and the quant mix. With no MODEL, describes the default model.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE  the model (same as the MODEL argument)\n"
    "      --tensors     also list every tensor: name, type, shape, data offset\n"
    "      --json        print one JSON object instead of text\n"
    "  -h, --help        show this help\n";

/* Arrays up to this many elements are printed in full; longer ones as a summary. */
enum { SHORT_ARRAY = 64 };

typedef struct type_usage {
  uint64_t tensors, parameters, bytes;
} type_usage;

static void count_types(const gguf_file *f, type_usage usage[IR_DTYPE_COUNT],
                        uint64_t *parameters) {
  memset(usage, 0, sizeof(type_usage) * IR_DTYPE_COUNT);
  *parameters = 0;
  for (uint64_t i = 0; i < f->n_tensors; i++) {
    const gguf_tensor *t = &f->tensors[i];
    usage[t->type].tensors++;
    usage[t->type].parameters += t->n_elems;
    usage[t->type].bytes += t->n_bytes;
    *parameters += t->n_elems;
  }
}

static bool key_has_prefix(gguf_string key, const char *prefix) {
  size_t n = strlen(prefix);
  return key.size > n && memcmp(key.data, prefix, n) == 0;
}

static gguf_string string_or_empty(const gguf_file *f, const char *key) {
  gguf_string s = {"", 0};
  gguf_get_string(f, key, &s, NULL);
  return s;
}

static uint64_t array_count(const gguf_file *f, const char *key) {
  const gguf_array *a;
  return gguf_get_array(f, key, &a, NULL) == CHORD_OK ? a->count : 0;
}

/* ---- text ------------------------------------------------------------------------------------ */

static void print_scalar(const gguf_value *v) {
  switch (v->type) {
  case GGUF_TYPE_UINT8:
  case GGUF_TYPE_UINT16:
  case GGUF_TYPE_UINT32:
  case GGUF_TYPE_UINT64: printf("%" PRIu64, v->as.u64); break;
  case GGUF_TYPE_INT8:
  case GGUF_TYPE_INT16:
  case GGUF_TYPE_INT32:
  case GGUF_TYPE_INT64: printf("%" PRId64, v->as.i64); break;
  case GGUF_TYPE_FLOAT32: printf("%.9g", v->as.f64); break;
  case GGUF_TYPE_FLOAT64: printf("%.17g", v->as.f64); break;
  case GGUF_TYPE_BOOL: printf("%s", v->as.u64 ? "true" : "false"); break;
  case GGUF_TYPE_STRING: printf("%.*s", (int)v->as.str.size, v->as.str.data); break;
  case GGUF_TYPE_ARRAY: printf("[array of %" PRIu64 "]", v->as.arr.count); break;
  }
}

static void print_value(const gguf_value *v) {
  if (v->type != GGUF_TYPE_ARRAY) {
    print_scalar(v);
    return;
  }
  const gguf_array *a = &v->as.arr;
  if (a->count > SHORT_ARRAY || a->elem_type == GGUF_TYPE_ARRAY) {
    printf("[%" PRIu64 " × %s]", a->count, gguf_type_name(a->elem_type));
    return;
  }
  printf("[");
  for (uint64_t i = 0; i < a->count; i++) {
    if (i)
      printf(", ");
    if (a->elem_type == GGUF_TYPE_STRING) {
      gguf_string str = gguf_array_string(a, i);
      printf("%.*s", (int)str.size, str.data);
    } else {
      gguf_value e;
      double d;
      int64_t s;
      uint64_t u;
      if (gguf_array_u64(a, i, &u) && a->elem_type != GGUF_TYPE_BOOL)
        e = (gguf_value){.type = GGUF_TYPE_UINT64, .as.u64 = u};
      else if (gguf_array_i64(a, i, &s) && a->elem_type != GGUF_TYPE_BOOL)
        e = (gguf_value){.type = GGUF_TYPE_INT64, .as.i64 = s};
      else if (a->elem_type == GGUF_TYPE_BOOL && gguf_array_u64(a, i, &u))
        e = (gguf_value){.type = GGUF_TYPE_BOOL, .as.u64 = u};
      else if (gguf_array_f64(a, i, &d))
        e = (gguf_value){.type = a->elem_type, .as.f64 = d};
      else
        continue;
      print_scalar(&e);
    }
  }
  printf("]");
}

static void print_shape(const gguf_tensor *t) {
  printf("[");
  for (uint32_t d = 0; d < t->n_dims; d++)
    printf(d ? ", %" PRIu64 : "%" PRIu64, t->dims[d]);
  printf("]");
}

static void print_size(uint64_t bytes) {
  if (bytes >= (1ull << 30))
    printf("%.2f GiB", (double)bytes / (1ull << 30));
  else if (bytes >= (1ull << 20))
    printf("%.2f MiB", (double)bytes / (1ull << 20));
  else
    printf("%.2f KiB", (double)bytes / 1024.0);
}

static void print_text(const gguf_file *f, bool list_tensors) {
  type_usage usage[IR_DTYPE_COUNT];
  uint64_t parameters;
  count_types(f, usage, &parameters);
  gguf_string arch = string_or_empty(f, "general.architecture");
  gguf_string name = string_or_empty(f, "general.name");
  printf("file:          %s\n", f->path);
  printf("size:          ");
  print_size(f->map.size);
  printf(" (%" PRIu64 " bytes), GGUF v%" PRIu32 ", %" PRIu64 " metadata keys\n", f->map.size,
         f->version, f->n_kv);
  printf("architecture:  %.*s\n", (int)arch.size, arch.data);
  if (name.size)
    printf("name:          %.*s\n", (int)name.size, name.data);

  char prefix[160];
  snprintf(prefix, sizeof prefix, "%.*s.", (int)arch.size, arch.data);
  printf("hyper-parameters:\n");
  for (uint64_t i = 0; i < f->n_kv; i++) {
    const gguf_kv *kv = &f->kv[i];
    if (arch.size && key_has_prefix(kv->key, prefix)) {
      printf("  %-40.*s ", (int)(kv->key.size - strlen(prefix)), kv->key.data + strlen(prefix));
      print_value(&kv->value);
      printf("\n");
    }
  }
  gguf_string tok_model = string_or_empty(f, "tokenizer.ggml.model");
  gguf_string tok_pre = string_or_empty(f, "tokenizer.ggml.pre");
  printf("tokenizer:     ");
  if (tok_model.size)
    printf("%.*s, %" PRIu64 " tokens, %" PRIu64 " merges%s%.*s\n", (int)tok_model.size,
           tok_model.data, array_count(f, "tokenizer.ggml.tokens"),
           array_count(f, "tokenizer.ggml.merges"), tok_pre.size ? ", pre-tokenizer " : "",
           (int)tok_pre.size, tok_pre.data);
  else
    printf("none\n");
  gguf_string tmpl = string_or_empty(f, "tokenizer.chat_template");
  if (tmpl.size)
    printf("chat template: yes (%" PRIu64 " bytes)\n", tmpl.size);
  else
    printf("chat template: no\n");
  printf("tensors:       %" PRIu64 "\n", f->n_tensors);
  printf("parameters:    %" PRIu64 " (%.1f M)\n", parameters, (double)parameters / 1e6);
  printf("quant mix:\n");
  for (int t = 0; t < IR_DTYPE_COUNT; t++) {
    if (!usage[t].tensors)
      continue;
    printf("  %-8s %5" PRIu64 " tensors %12" PRIu64 " parameters  ", ir_dtype_name((ir_dtype)t),
           usage[t].tensors, usage[t].parameters);
    print_size(usage[t].bytes);
    printf("\n");
  }
  if (!list_tensors)
    return;
  printf("tensor list (name, type, shape, offset in file):\n");
  for (uint64_t i = 0; i < f->n_tensors; i++) {
    const gguf_tensor *t = &f->tensors[i];
    printf("  %-48.*s %-7s ", (int)t->name.size, t->name.data, ir_dtype_name(t->type));
    print_shape(t);
    printf(" %" PRIu64 "\n", f->data_start + t->data_offset);
  }
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static void json_value(json_writer *j, const gguf_value *v);

static void json_array_value(json_writer *j, const gguf_array *a) {
  jw_array_begin(j);
  for (uint64_t i = 0; i < a->count; i++) {
    if (a->elem_type == GGUF_TYPE_STRING) {
      gguf_string str = gguf_array_string(a, i);
      jw_string_n(j, str.data, str.size);
    } else if (a->elem_type == GGUF_TYPE_ARRAY) {
      json_value(j, &a->arrays[i]);
    } else {
      uint64_t u;
      int64_t s;
      double d;
      if (a->elem_type == GGUF_TYPE_BOOL && gguf_array_u64(a, i, &u))
        jw_bool(j, u != 0);
      else if (a->elem_type == GGUF_TYPE_FLOAT32 || a->elem_type == GGUF_TYPE_FLOAT64)
        jw_f64(j, gguf_array_f64(a, i, &d) ? d : 0);
      else if (gguf_array_u64(a, i, &u))
        jw_u64(j, u);
      else if (gguf_array_i64(a, i, &s))
        jw_i64(j, s);
    }
  }
  jw_array_end(j);
}

static void json_value(json_writer *j, const gguf_value *v) {
  switch (v->type) {
  case GGUF_TYPE_UINT8:
  case GGUF_TYPE_UINT16:
  case GGUF_TYPE_UINT32:
  case GGUF_TYPE_UINT64: jw_u64(j, v->as.u64); break;
  case GGUF_TYPE_INT8:
  case GGUF_TYPE_INT16:
  case GGUF_TYPE_INT32:
  case GGUF_TYPE_INT64: jw_i64(j, v->as.i64); break;
  case GGUF_TYPE_FLOAT32:
  case GGUF_TYPE_FLOAT64: jw_f64(j, v->as.f64); break;
  case GGUF_TYPE_BOOL: jw_bool(j, v->as.u64 != 0); break;
  case GGUF_TYPE_STRING: jw_string_n(j, v->as.str.data, v->as.str.size); break;
  case GGUF_TYPE_ARRAY: json_array_value(j, &v->as.arr); break;
  }
}

/* One metadata entry: {"type": ..., "value": ...}; long arrays carry only their length. */
static void json_metadata_entry(json_writer *j, const gguf_value *v) {
  jw_object_begin(j);
  jw_key(j, "type");
  jw_string(j, gguf_type_name(v->type));
  if (v->type == GGUF_TYPE_ARRAY) {
    jw_key(j, "element_type");
    jw_string(j, gguf_type_name(v->as.arr.elem_type));
    jw_key(j, "count");
    jw_u64(j, v->as.arr.count);
  }
  if (v->type != GGUF_TYPE_ARRAY || v->as.arr.count <= SHORT_ARRAY) {
    jw_key(j, "value");
    json_value(j, v);
  }
  jw_object_end(j);
}

static void print_json(const gguf_file *f, bool list_tensors) {
  type_usage usage[IR_DTYPE_COUNT];
  uint64_t parameters;
  count_types(f, usage, &parameters);
  json_writer j;
  jw_init(&j, stdout);
  jw_object_begin(&j);
  jw_key(&j, "path");
  jw_string(&j, f->path);
  jw_key(&j, "file_size");
  jw_u64(&j, f->map.size);
  jw_key(&j, "version");
  jw_u64(&j, f->version);
  gguf_string arch = string_or_empty(f, "general.architecture");
  jw_key(&j, "architecture");
  jw_string_n(&j, arch.data, arch.size);
  gguf_string name = string_or_empty(f, "general.name");
  jw_key(&j, "name");
  jw_string_n(&j, name.data, name.size);
  jw_key(&j, "alignment");
  jw_u64(&j, f->alignment);
  jw_key(&j, "data_offset");
  jw_u64(&j, f->data_start);

  jw_key(&j, "tokenizer");
  jw_object_begin(&j);
  gguf_string tok_model = string_or_empty(f, "tokenizer.ggml.model");
  gguf_string tok_pre = string_or_empty(f, "tokenizer.ggml.pre");
  jw_key(&j, "model");
  jw_string_n(&j, tok_model.data, tok_model.size);
  jw_key(&j, "pre");
  jw_string_n(&j, tok_pre.data, tok_pre.size);
  jw_key(&j, "tokens");
  jw_u64(&j, array_count(f, "tokenizer.ggml.tokens"));
  jw_key(&j, "merges");
  jw_u64(&j, array_count(f, "tokenizer.ggml.merges"));
  jw_object_end(&j);
  jw_key(&j, "chat_template");
  jw_bool(&j, gguf_find_kv(f, "tokenizer.chat_template") != NULL);

  jw_key(&j, "metadata_count");
  jw_u64(&j, f->n_kv);
  jw_key(&j, "metadata");
  jw_object_begin(&j);
  for (uint64_t i = 0; i < f->n_kv; i++) {
    char key[1024];
    snprintf(key, sizeof key, "%.*s", (int)f->kv[i].key.size, f->kv[i].key.data);
    jw_key(&j, key);
    json_metadata_entry(&j, &f->kv[i].value);
  }
  jw_object_end(&j);

  jw_key(&j, "tensor_count");
  jw_u64(&j, f->n_tensors);
  jw_key(&j, "parameters");
  jw_u64(&j, parameters);
  jw_key(&j, "types");
  jw_object_begin(&j);
  for (int t = 0; t < IR_DTYPE_COUNT; t++) {
    if (!usage[t].tensors)
      continue;
    jw_key(&j, ir_dtype_name((ir_dtype)t));
    jw_object_begin(&j);
    jw_key(&j, "tensors");
    jw_u64(&j, usage[t].tensors);
    jw_key(&j, "parameters");
    jw_u64(&j, usage[t].parameters);
    jw_key(&j, "bytes");
    jw_u64(&j, usage[t].bytes);
    jw_object_end(&j);
  }
  jw_object_end(&j);
  if (list_tensors) {
    jw_key(&j, "tensors");
    jw_array_begin(&j);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
      const gguf_tensor *t = &f->tensors[i];
      jw_object_begin(&j);
      jw_key(&j, "name");
      jw_string_n(&j, t->name.data, t->name.size);
      jw_key(&j, "type");
      jw_string(&j, ir_dtype_name(t->type));
      jw_key(&j, "shape");
      jw_array_begin(&j);
      for (uint32_t d = 0; d < t->n_dims; d++)
        jw_u64(&j, t->dims[d]);
      jw_array_end(&j);
      jw_key(&j, "offset");
      jw_u64(&j, f->data_start + t->data_offset);
      jw_key(&j, "bytes");
      jw_u64(&j, t->n_bytes);
      jw_object_end(&j);
    }
    jw_array_end(&j);
  }
  jw_object_end(&j);
  jw_finish(&j);
}

int cmd_info(int argc, char **argv) {
  enum { OPT_TENSORS = 256, OPT_JSON };
  static const struct option options[] = {{"model", required_argument, NULL, 'm'},
                                          {"tensors", no_argument, NULL, OPT_TENSORS},
                                          {"json", no_argument, NULL, OPT_JSON},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
  const char *model = NULL;
  bool list_tensors = false, json = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "m:h", options, NULL)) != -1) {
    switch (c) {
    case 'm': model = optarg; break;
    case OPT_TENSORS: list_tensors = true; break;
    case OPT_JSON: json = true; break;
    case 'h': fputs(info_usage, stdout); return 0;
    default: return cli_usage_error("info", "invalid option");
    }
  }
  if (optind < argc) {
    if (model || optind + 1 < argc)
      return cli_usage_error("info", "expected one MODEL, got more");
    model = argv[optind];
  }
  char default_path[4096];
  const char *path = cli_model_path(model, default_path, sizeof default_path);
  if (!path)
    return 1;
  gguf_file *f;
  chord_error error;
  if (gguf_open(path, &f, &error) != CHORD_OK)
    return cli_error("%s", error.message);
  if (json)
    print_json(f, list_tensors);
  else
    print_text(f, list_tensors);
  gguf_close(f);
  return 0;
}
