/* The ahead-of-time targets (aot_target.h). A new target adds a row to TARGETS, its code
 * generator to codegen/CMakeLists.txt and its cross toolchain to scripts/setup.sh. */
#include "codegen/llvm/aot_target.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

/* x86-64 levels and a few named CPUs: the features are the ones emit_isa_for looks at. */
static const aot_cpu X86_CPUS[] = {
    {"x86-64", ""},
    {"x86-64-v2", ""},
    {"x86-64-v3", "+avx,+avx2,+fma,+f16c"},
    {"x86-64-v4", "+avx,+avx2,+fma,+f16c,+avx512f,+avx512bw,+avx512vl,+avx512dq,+avx512cd"},
    {"haswell", "+avx,+avx2,+fma,+f16c"},
    {"skylake", "+avx,+avx2,+fma,+f16c"},
    {"skylake-avx512", "+avx,+avx2,+fma,+f16c,+avx512f,+avx512bw,+avx512vl,+avx512dq"},
    {"icelake-server", "+avx,+avx2,+fma,+f16c,+avx512f,+avx512bw,+avx512vl,+avx512dq,+avx512vnni"},
    {"sapphirerapids",
     "+avx,+avx2,+fma,+f16c,+avx512f,+avx512bw,+avx512vl,+avx512dq,+avx512vnni,+avxvnni"},
    {"znver3", "+avx,+avx2,+fma,+f16c"},
    {"znver4", "+avx,+avx2,+fma,+f16c,+avx512f,+avx512bw,+avx512vl,+avx512dq,+avx512vnni"},
};

/* AArch64: the kernels use LLVM's portable vectors there (NEON through the code generator). */
static const aot_cpu AARCH64_CPUS[] = {
    {"generic", "+neon"},     {"cortex-a53", "+neon"},  {"cortex-a72", "+neon"},
    {"cortex-a76", "+neon"},  {"neoverse-n1", "+neon"}, {"neoverse-v1", "+neon"},
    {"neoverse-v2", "+neon"}, {"apple-m1", "+neon"},
};

#define CPUS(a) a, sizeof a / sizeof a[0]
static const aot_target TARGETS[] = {
    {"x86_64-linux-gnu", "x86_64-pc-linux-gnu", "x86_64", "x86_64-linux-gnu-gcc", "x86-64-v3",
     CPUS(X86_CPUS)},
    {"aarch64-linux-gnu", "aarch64-unknown-linux-gnu", "aarch64", "aarch64-linux-gnu-gcc",
     "generic", CPUS(AARCH64_CPUS)},
};
enum { TARGET_COUNT = sizeof TARGETS / sizeof TARGETS[0] };

const aot_target *aot_target_find(const char *triple) {
  for (int i = 0; i < TARGET_COUNT; i++)
    if (strcmp(TARGETS[i].triple, triple) == 0)
      return &TARGETS[i];
  return NULL;
}

const aot_target *aot_target_host(void) {
  struct utsname u;
  if (uname(&u) != 0)
    return NULL;
  for (int i = 0; i < TARGET_COUNT; i++)
    if (strcmp(TARGETS[i].arch, u.machine) == 0)
      return &TARGETS[i];
  return NULL;
}

static void join(char *buf, size_t size, size_t n, const char *(*name)(const void *, size_t),
                 const void *table) {
  size_t at = 0;
  if (size)
    buf[0] = '\0';
  for (size_t i = 0; i < n && at < size; i++) {
    int w = snprintf(buf + at, size - at, "%s%s", i ? ", " : "", name(table, i));
    if (w < 0)
      break;
    at += (size_t)w;
  }
}

static const char *target_name(const void *table, size_t i) {
  return ((const aot_target *)table)[i].triple;
}
static const char *cpu_name(const void *table, size_t i) {
  return ((const aot_cpu *)table)[i].name;
}

void aot_target_list(char *buf, size_t size) {
  join(buf, size, TARGET_COUNT, target_name, TARGETS);
}

void aot_target_cpu_list(const aot_target *t, char *buf, size_t size) {
  join(buf, size, t->n_cpus, cpu_name, t->cpus);
}

chord_status aot_target_machine(const aot_target *t, const char *cpu, jit_host *out,
                                chord_error *error) {
  memset(out, 0, sizeof *out);
  char names[512];
  aot_target_cpu_list(t, names, sizeof names);
  if (strcmp(cpu, "native") == 0) {
    if (t != aot_target_host())
      return rt_error(error, CHORD_ERROR_INVALID,
                      "--cpu native is this host's CPU, not one of %s: name one (%s)", t->triple,
                      names);
    return jit_host_detect(out, error);
  }
  const aot_cpu *c = NULL;
  for (size_t i = 0; i < t->n_cpus && !c; i++)
    if (strcmp(t->cpus[i].name, cpu) == 0)
      c = &t->cpus[i];
  if (!c)
    return rt_error(error, CHORD_ERROR_INVALID, "unknown CPU '%s' for %s (known: %s%s)", cpu,
                    t->triple, t == aot_target_host() ? "native, " : "", names);
  snprintf(out->triple, sizeof out->triple, "%s", t->llvm_triple);
  snprintf(out->cpu, sizeof out->cpu, "%s", c->name);
  out->features = rt_strndup(c->features, strlen(c->features));
  return out->features ? CHORD_OK : rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory");
}

const char *aot_target_cc(const aot_target *t) {
  return t == aot_target_host() ? "cc" : t->cross_cc;
}
