"""Tokenizing 1 MiB of mixed text: chord's tokenizer against llama.cpp's (the libllama that the
llama-cpp-python package ships) on the same vocabularies, both called through ctypes in one
process, alternating, so the ratio is fair. The ids must be identical; the benchmark says so.

The text mixes English prose and Markdown (the repository's docs), C code (its sources), and the
tokenizer test corpus (CJK, Arabic, emoji, combining marks, whitespace runs, digits, invalid
UTF-8), cut to 1 MiB.

usage: python3 bench/bench_tokenize.py [--chord-lib build/libchord.so] [--reps 5]
                                       [--parse-special] [VOCAB ...]
Needs llama-cpp-python (bash scripts/setup-reference.sh). Writes bench/results/tokenize.json."""

import argparse
import ctypes
import glob
import json
import os
import platform
import statistics
import subprocess
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
testdata = os.environ.get("CHORD_TEST_DATA", os.path.join(root, "..", "shared", "testdata"))


class ChordError(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("message", ctypes.c_char * 1024)]


class TokIds(ctypes.Structure):  # runtime/tokenizer/tokenizer.h
    _fields_ = [("ids", ctypes.POINTER(ctypes.c_int32)), ("count", ctypes.c_size_t),
                ("capacity", ctypes.c_size_t)]


def load_chord(path):
    lib = ctypes.CDLL(path)
    lib.tok_vocab_open.restype = ctypes.c_int
    lib.tok_vocab_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p),
                                   ctypes.POINTER(ChordError)]
    lib.tok_vocab_free.argtypes = [ctypes.c_void_p]
    lib.tok_tokenize.restype = ctypes.c_int
    lib.tok_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_bool,
                                 ctypes.c_bool, ctypes.POINTER(TokIds), ctypes.POINTER(ChordError)]
    lib.tok_ids_free.argtypes = [ctypes.POINTER(TokIds)]
    return lib


def mixed_text(size=1 << 20):
    parts = []
    for pattern in ("docs/*.md", "README.md", "runtime/tokenizer/*.c", "frontends/gguf/*.c"):
        for path in sorted(glob.glob(os.path.join(root, pattern))):
            with open(path, "rb") as f:
                parts.append(f.read())
    corpus = os.path.join(root, "tests", "tokenizer", "data", "corpus.txt")
    with open(corpus, "rb") as f:  # the escaped lines are fine as text; unescape a few kinds
        lines = [line.replace(b"\\n", b"\n").replace(b"\\t", b"\t") for line in f
                 if not line.startswith(b"#")]
    multilingual = b"".join(lines)
    blocks = []
    for p in parts:  # interleave prose/code with the multilingual corpus
        blocks.append(p)
        blocks.append(multilingual[:16384])
        multilingual = multilingual[16384:] + multilingual[:16384]
    text = b""
    while len(text) < size:
        text += b"".join(blocks)
    text = text[:size]
    while text and (text[-1] & 0xC0) == 0x80:  # end on a character boundary
        text = text[:-1]
    return text


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vocabs", nargs="*")
    ap.add_argument("--chord-lib", default=os.path.join(root, "build", "libchord.so"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--parse-special", action="store_true")
    args = ap.parse_args()
    vocabs = args.vocabs or [
        os.path.join(testdata, "vocab", f"ggml-vocab-{n}.gguf")
        for n in ("gpt-2", "llama-spm", "deepseek-llm", "falcon")
    ] + [json.loads(subprocess.run([os.path.join(root, "build", "chord"), "info", "--json"],
                                   check=True, capture_output=True).stdout)["path"]]
    import llama_cpp.llama_cpp as L
    log = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)(lambda *a: None)
    L.llama_log_set(log, None)
    L.llama_backend_init()
    chord = load_chord(args.chord_lib)
    text = mixed_text()
    results = []
    print(f"{len(text)} bytes of mixed text, parse_special={args.parse_special}, "
          f"median of {args.reps}")
    for path in vocabs:
        params = L.llama_model_default_params()
        params.vocab_only = True
        model = L.llama_model_load_from_file(path.encode(), params)
        if not model:
            raise SystemExit(f"llama.cpp cannot load {path}")
        vocab = L.llama_model_get_vocab(model)
        handle, err = ctypes.c_void_p(), ChordError()
        if chord.tok_vocab_open(path.encode(), ctypes.byref(handle), ctypes.byref(err)):
            raise SystemExit(err.message.decode())
        out = (L.llama_token * (len(text) + 16))()

        def run_llama():
            n = L.llama_tokenize(vocab, text, len(text), out, len(out), False, args.parse_special)
            return list(out[:n])

        def run_chord():
            ids, e = TokIds(), ChordError()
            if chord.tok_tokenize(handle, text, len(text), False, args.parse_special,
                                  ctypes.byref(ids), ctypes.byref(e)):
                raise SystemExit(e.message.decode())
            result = ids.ids[:ids.count]
            chord.tok_ids_free(ctypes.byref(ids))
            return result

        same = run_chord() == run_llama()
        times = {"chord": [], "llama.cpp": []}
        for _ in range(args.reps):
            for name, fn in (("chord", run_chord), ("llama.cpp", run_llama)):
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
        med = {k: statistics.median(v) for k, v in times.items()}
        mb = len(text) / (1 << 20)
        r = {"vocab": os.path.basename(path), "tokens": len(run_chord()), "identical_ids": same,
             "median_s": med, "mib_per_s": {k: mb / v for k, v in med.items()},
             "speedup_vs_llama_cpp": med["llama.cpp"] / med["chord"]}
        results.append(r)
        print(f"{r['vocab']:34s} {r['tokens']:7d} tokens  chord {med['chord'] * 1e3:8.1f} ms "
              f"({r['mib_per_s']['chord']:6.2f} MiB/s)  llama.cpp {med['llama.cpp'] * 1e3:8.1f} ms "
              f"({r['mib_per_s']['llama.cpp']:6.2f} MiB/s)  chord is {r['speedup_vs_llama_cpp']:5.2f}x"
              f"  ids {'identical' if same else 'DIFFER'}")
        chord.tok_vocab_free(handle)
        L.llama_model_free(model)
    report = {"benchmark": "tokenize 1 MiB of mixed text", "bytes": len(text),
              "parse_special": args.parse_special, "reps": args.reps,
              "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "host": platform.node()},
              "results": results}
    os.makedirs(os.path.join(here, "results"), exist_ok=True)
    name = "tokenize-special.json" if args.parse_special else "tokenize.json"
    with open(os.path.join(here, "results", name), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print("wrote", os.path.join(here, "results", name))
    if not all(r["identical_ids"] for r in results):
        raise SystemExit("chord and llama.cpp gave different ids")


if __name__ == "__main__":
    main()
