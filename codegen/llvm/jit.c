/* LLVM-C and ORC LLJIT for the CPU target (codegen/llvm/jit.h). */
#include "codegen/llvm/jit.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Object.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

struct jit {
  jit_host host;
  int opt_level;
  LLVMTargetMachineRef machine; /* ours, for the data layout, the passes and --emit=asm */
  LLVMOrcLLJITRef lljit;
  LLVMOrcThreadSafeContextRef context;
};

static pthread_once_t llvm_once = PTHREAD_ONCE_INIT;
static int llvm_ready; /* 1 when the native target initialized */

/* The code generators linked in (codegen/CMakeLists.txt: the host's and AArch64's): the host's
 * for the JIT, every one for ahead-of-time compiles. */
static void llvm_init(void) {
  llvm_ready = !LLVMInitializeNativeTarget() && !LLVMInitializeNativeAsmPrinter();
#ifdef CHORD_LLVM_X86
  LLVMInitializeX86TargetInfo();
  LLVMInitializeX86Target();
  LLVMInitializeX86TargetMC();
  LLVMInitializeX86AsmPrinter();
#endif
#ifdef CHORD_LLVM_AARCH64
  LLVMInitializeAArch64TargetInfo();
  LLVMInitializeAArch64Target();
  LLVMInitializeAArch64TargetMC();
  LLVMInitializeAArch64AsmPrinter();
#endif
}

/* Turns an LLVMErrorRef into a chord error (consuming it). */
static chord_status llvm_error(chord_error *error, LLVMErrorRef err, const char *what) {
  char *message = LLVMGetErrorMessage(err);
  chord_status st = rt_error(error, CHORD_ERROR_UNSUPPORTED, "llvm: %s: %s", what, message);
  LLVMDisposeErrorMessage(message);
  return st;
}

chord_status jit_host_detect(jit_host *host, chord_error *error) {
  memset(host, 0, sizeof *host);
  char *triple = LLVMGetDefaultTargetTriple(), *cpu = LLVMGetHostCPUName();
  char *features = LLVMGetHostCPUFeatures();
  snprintf(host->triple, sizeof host->triple, "%s", triple);
  snprintf(host->cpu, sizeof host->cpu, "%s", cpu);
  host->features = rt_malloc(strlen(features) + 1);
  if (host->features)
    memcpy(host->features, features, strlen(features) + 1);
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);
  if (!host->features)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "llvm: out of memory");
  return CHORD_OK;
}

void jit_host_free(jit_host *host) {
  rt_free(host->features);
  host->features = NULL;
}

bool jit_host_has(const jit_host *host, const char *feature) {
  size_t n = strlen(feature);
  for (const char *p = host->features; p && *p;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n + 1 && p[0] == '+' && memcmp(p + 1, feature, n) == 0)
      return true;
    p = end ? end + 1 : p + len;
  }
  return false;
}

static LLVMCodeGenOptLevel codegen_level(int opt_level) {
  static const LLVMCodeGenOptLevel levels[] = {LLVMCodeGenLevelNone, LLVMCodeGenLevelLess,
                                               LLVMCodeGenLevelDefault, LLVMCodeGenLevelAggressive};
  return levels[opt_level < 0 ? 0 : opt_level > 3 ? 3 : opt_level];
}

static chord_status make_machine(const jit_host *host, int opt_level, LLVMRelocMode reloc,
                                 LLVMCodeModel model, LLVMTargetMachineRef *out,
                                 chord_error *error);

static chord_status host_machine(const jit *j, LLVMTargetMachineRef *out, chord_error *error) {
  return make_machine(&j->host, j->opt_level, LLVMRelocDefault, LLVMCodeModelJITDefault, out,
                      error);
}

static chord_status make_machine(const jit_host *host, int opt_level, LLVMRelocMode reloc,
                                 LLVMCodeModel model, LLVMTargetMachineRef *out,
                                 chord_error *error) {
  LLVMTargetRef target;
  char *message = NULL;
  if (LLVMGetTargetFromTriple(host->triple, &target, &message)) {
    chord_status st = rt_error(error, CHORD_ERROR_UNSUPPORTED, "llvm: no target for %s: %s",
                               host->triple, message ? message : "?");
    LLVMDisposeMessage(message);
    return st;
  }
  *out = LLVMCreateTargetMachine(target, host->triple, host->cpu, host->features,
                                 codegen_level(opt_level), reloc, model);
  if (!*out)
    return rt_error(error, CHORD_ERROR_UNSUPPORTED, "llvm: cannot make a target machine for %s",
                    host->cpu);
  return CHORD_OK;
}

chord_status jit_create(jit **out, int opt_level, chord_error *error) {
  *out = NULL;
  pthread_once(&llvm_once, llvm_init);
  if (!llvm_ready)
    return rt_error(error, CHORD_ERROR_UNSUPPORTED, "llvm: this host's target is not built in");
  jit *j = rt_calloc(1, sizeof *j);
  if (!j)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "llvm: out of memory");
  j->opt_level = opt_level;
  chord_status st = jit_host_detect(&j->host, error);
  LLVMTargetMachineRef for_lljit = NULL;
  if (st == CHORD_OK)
    st = host_machine(j, &j->machine, error);
  if (st == CHORD_OK)
    st = host_machine(j, &for_lljit, error);
  if (st != CHORD_OK) {
    jit_free(j);
    return st;
  }
  /* LLJIT compiles for the same CPU and features as our own machine (it takes this one over) */
  LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(
      builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(for_lljit));
  LLVMErrorRef err = LLVMOrcCreateLLJIT(&j->lljit, builder);
  if (err) {
    st = llvm_error(error, err, "cannot create the JIT");
    jit_free(j);
    return st;
  }
  /* generated code calls the C library's math functions (tanhf, cosf, ...; emitter.h's
   * emit_libm): resolved in this process, so they are the very functions the interpreter calls */
  LLVMOrcDefinitionGeneratorRef process = NULL;
  err = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
      &process, LLVMOrcLLJITGetGlobalPrefix(j->lljit), NULL, NULL);
  if (err) {
    st = llvm_error(error, err, "cannot resolve the process's symbols");
    jit_free(j);
    return st;
  }
  LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(j->lljit), process);
  j->context = LLVMOrcCreateNewThreadSafeContext();
  *out = j;
  return CHORD_OK;
}

chord_status jit_create_aot(jit **out, int opt_level, const jit_host *target, chord_error *error) {
  *out = NULL;
  pthread_once(&llvm_once, llvm_init);
  jit *j = rt_calloc(1, sizeof *j);
  if (!j)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "llvm: out of memory");
  j->opt_level = opt_level;
  chord_status st = CHORD_OK;
  if (target) {
    j->host = *target;
    j->host.features = rt_strndup(target->features, strlen(target->features));
    if (!j->host.features)
      st = rt_error(error, CHORD_ERROR_NO_MEMORY, "llvm: out of memory");
  } else {
    st = llvm_ready
             ? jit_host_detect(&j->host, error)
             : rt_error(error, CHORD_ERROR_UNSUPPORTED, "llvm: this host's target is not built in");
  }
  /* position-independent: the object goes into executables and shared libraries alike */
  if (st == CHORD_OK)
    st = make_machine(&j->host, opt_level, LLVMRelocPIC, LLVMCodeModelDefault, &j->machine, error);
  if (st != CHORD_OK) {
    jit_free(j);
    return st;
  }
  j->context = LLVMOrcCreateNewThreadSafeContext();
  *out = j;
  return CHORD_OK;
}

void jit_free(jit *j) {
  if (!j)
    return;
  if (j->lljit) {
    LLVMErrorRef err = LLVMOrcDisposeLLJIT(j->lljit);
    if (err)
      LLVMConsumeError(err);
  }
  if (j->context)
    LLVMOrcDisposeThreadSafeContext(j->context);
  if (j->machine)
    LLVMDisposeTargetMachine(j->machine);
  jit_host_free(&j->host);
  rt_free(j);
}

const jit_host *jit_get_host(const jit *j) { return &j->host; }

LLVMContextRef jit_context(jit *j) { return LLVMOrcThreadSafeContextGetContext(j->context); }

LLVMModuleRef jit_new_module(jit *j, const char *name) {
  LLVMModuleRef m = LLVMModuleCreateWithNameInContext(name, jit_context(j));
  LLVMSetTarget(m, j->host.triple);
  LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(j->machine);
  LLVMSetModuleDataLayout(m, layout);
  LLVMDisposeTargetData(layout);
  return m;
}

chord_status jit_optimize(jit *j, LLVMModuleRef module, chord_error *error) {
  char *message = NULL;
  if (LLVMVerifyModule(module, LLVMReturnStatusAction, &message)) {
    chord_status st = rt_error(error, CHORD_ERROR_UNSUPPORTED, "llvm: invalid module: %s",
                               message ? message : "?");
    LLVMDisposeMessage(message);
    return st;
  }
  LLVMDisposeMessage(message);
  char pipeline[32];
  snprintf(pipeline, sizeof pipeline, "default<O%d>", j->opt_level < 0 ? 0 : j->opt_level % 4);
  LLVMPassBuilderOptionsRef options = LLVMCreatePassBuilderOptions();
  LLVMErrorRef err = LLVMRunPasses(module, pipeline, j->machine, options);
  LLVMDisposePassBuilderOptions(options);
  return err ? llvm_error(error, err, "optimization") : CHORD_OK;
}

chord_status jit_add_module(jit *j, LLVMModuleRef module, chord_error *error) {
  chord_status st = jit_optimize(j, module, error);
  if (st != CHORD_OK) {
    LLVMDisposeModule(module);
    return st;
  }
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(module, j->context);
  LLVMErrorRef err =
      LLVMOrcLLJITAddLLVMIRModule(j->lljit, LLVMOrcLLJITGetMainJITDylib(j->lljit), tsm);
  if (err) {
    LLVMOrcDisposeThreadSafeModule(tsm);
    return llvm_error(error, err, "cannot add a module");
  }
  return CHORD_OK;
}

void *jit_lookup(jit *j, const char *name, chord_error *error) {
  LLVMOrcExecutorAddress address = 0;
  LLVMErrorRef err = LLVMOrcLLJITLookup(j->lljit, &address, name);
  if (err) {
    llvm_error(error, err, name);
    return NULL;
  }
  return (void *)(uintptr_t)address;
}

static char *copy_string(const char *text, size_t n) {
  char *s = rt_malloc(n + 1);
  if (s) {
    memcpy(s, text, n);
    s[n] = '\0';
  }
  return s;
}

char *jit_print_ir(LLVMModuleRef module) {
  char *text = LLVMPrintModuleToString(module);
  char *s = copy_string(text, strlen(text));
  LLVMDisposeMessage(text);
  return s;
}

char *jit_print_asm(jit *j, LLVMModuleRef module, chord_error *error) {
  LLVMMemoryBufferRef buffer = NULL;
  char *message = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(j->machine, module, LLVMAssemblyFile, &message,
                                          &buffer)) {
    rt_error(error, CHORD_ERROR_UNSUPPORTED, "llvm: cannot emit assembly: %s",
             message ? message : "?");
    LLVMDisposeMessage(message);
    return NULL;
  }
  char *s = copy_string(LLVMGetBufferStart(buffer), LLVMGetBufferSize(buffer));
  LLVMDisposeMemoryBuffer(buffer);
  return s;
}

void *jit_emit_object(jit *j, LLVMModuleRef module, size_t *size, chord_error *error) {
  LLVMMemoryBufferRef buffer = NULL;
  char *message = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(j->machine, module, LLVMObjectFile, &message, &buffer)) {
    rt_error(error, CHORD_ERROR_UNSUPPORTED, "llvm: cannot emit object code: %s",
             message ? message : "?");
    LLVMDisposeMessage(message);
    return NULL;
  }
  *size = LLVMGetBufferSize(buffer);
  void *data = rt_malloc(*size ? *size : 1);
  if (data)
    memcpy(data, LLVMGetBufferStart(buffer), *size);
  else
    rt_error(error, CHORD_ERROR_NO_MEMORY, "llvm: out of memory");
  LLVMDisposeMemoryBuffer(buffer);
  return data;
}

/* perf's map of JIT code (/tmp/perf-<pid>.map: "start size name" in hex), so that `perf report`
 * names the kernels: the object's exported functions at the addresses they were linked to. */
static void write_perf_map(jit *j, const void *data, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/perf-%ld.map", (long)getpid());
  FILE *map = fopen(path, "a");
  LLVMMemoryBufferRef buffer = LLVMCreateMemoryBufferWithMemoryRange(data, size, "kernels", 0);
  char *message = NULL;
  LLVMBinaryRef binary = map ? LLVMCreateBinary(buffer, NULL, &message) : NULL;
  LLVMDisposeMessage(message);
  if (binary) {
    LLVMSymbolIteratorRef it = LLVMObjectFileCopySymbolIterator(binary);
    for (; it && !LLVMObjectFileIsSymbolIteratorAtEnd(binary, it); LLVMMoveToNextSymbol(it)) {
      const char *name = LLVMGetSymbolName(it);
      uint64_t bytes = LLVMGetSymbolSize(it);
      void *at =
          name && bytes && strncmp(name, "chord_", 6) == 0 ? jit_lookup(j, name, NULL) : NULL;
      if (at)
        fprintf(map, "%lx %lx %s\n", (unsigned long)(uintptr_t)at, (unsigned long)bytes, name);
    }
    if (it)
      LLVMDisposeSymbolIterator(it);
    LLVMDisposeBinary(binary);
  }
  LLVMDisposeMemoryBuffer(buffer);
  if (map)
    fclose(map);
}

chord_status jit_add_object(jit *j, const void *data, size_t size, chord_error *error) {
  LLVMMemoryBufferRef buffer =
      LLVMCreateMemoryBufferWithMemoryRangeCopy(data, size, "chord_kernels.o");
  LLVMErrorRef err =
      LLVMOrcLLJITAddObjectFile(j->lljit, LLVMOrcLLJITGetMainJITDylib(j->lljit), buffer);
  if (err)
    return llvm_error(error, err, "cannot add object code");
  const char *perf = getenv("CHORD_PERF_MAP");
  if (perf && *perf && strcmp(perf, "0") != 0)
    write_perf_map(j, data, size);
  return CHORD_OK;
}
