/* The targets `chord compile` writes code for ahead of time: a table of triples, each with the
 * CPUs it takes by name and the features chord's kernels choose their instructions by
 * (emitter.h's emit_isa_for), and the C compiler driver that assembles and links for it. */
#ifndef CHORD_CODEGEN_LLVM_AOT_TARGET_H
#define CHORD_CODEGEN_LLVM_AOT_TARGET_H

#include <stddef.h>

#include "chord.h"
#include "codegen/llvm/jit.h"

typedef struct aot_cpu {
  const char *name;     /* LLVM's CPU name */
  const char *features; /* what emit_isa_for reads ("+avx2,..."); LLVM adds the CPU's own */
} aot_cpu;

typedef struct aot_target {
  const char *triple;      /* as users write it (x86_64-linux-gnu) */
  const char *llvm_triple; /* as LLVM names it */
  const char *arch;        /* as uname -m names the machine */
  const char *cross_cc;    /* the driver on another machine (Debian's cross gcc) */
  const char *default_cpu; /* for a cross compile without --cpu */
  const aot_cpu *cpus;
  size_t n_cpus;
} aot_target;

/* The target named triple, or NULL; this host's (NULL if chord knows no target for it). */
const aot_target *aot_target_find(const char *triple);
const aot_target *aot_target_host(void);
/* "x86_64-linux-gnu, aarch64-linux-gnu"; a target's CPU names, comma-separated. */
void aot_target_list(char *buf, size_t size);
void aot_target_cpu_list(const aot_target *t, char *buf, size_t size);

/* The machine to compile for: cpu "native" is this host (only for the host's target), else one
 * of the target's CPUs. An error names what is wrong and what would do. */
chord_status aot_target_machine(const aot_target *t, const char *cpu, jit_host *out,
                                chord_error *error);
/* The C compiler driver that assembles and links for t on this host: "cc" for the host's own
 * target, else the cross driver. */
const char *aot_target_cc(const aot_target *t);

#endif
