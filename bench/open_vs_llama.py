"""Time to open a GGUF file and read its metadata and tensor table: chord's gguf_open against
llama.cpp's gguf_init_from_file (through the libggml-base that the llama-cpp-python package
ships), both called through ctypes in one process, alternating, so the ratio is fair.

usage: python3 bench/open_vs_llama.py [--chord-lib build/libchord.so] [--reps 200] [MODEL]
Needs llama-cpp-python (bash scripts/setup-reference.sh). Writes bench/results/open-<host>.json."""

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


class GgufInitParams(ctypes.Structure):  # struct gguf_init_params { bool no_alloc; ggml_context **ctx; }
    _fields_ = [("no_alloc", ctypes.c_bool), ("ctx", ctypes.c_void_p)]


class ChordError(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("message", ctypes.c_char * 1024)]


def load_ggml():
    import llama_cpp
    libdir = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
    paths = glob.glob(os.path.join(libdir, "libggml-base.so*"))
    if not paths:
        raise SystemExit(f"libggml-base.so not found under {libdir}")
    lib = ctypes.CDLL(paths[0])
    lib.gguf_init_from_file.restype = ctypes.c_void_p
    lib.gguf_init_from_file.argtypes = [ctypes.c_char_p, GgufInitParams]
    lib.gguf_free.argtypes = [ctypes.c_void_p]
    lib.gguf_get_n_tensors.restype = ctypes.c_int64
    lib.gguf_get_n_tensors.argtypes = [ctypes.c_void_p]
    return lib


def load_chord(path):
    lib = ctypes.CDLL(path)
    lib.gguf_open.restype = ctypes.c_int
    lib.gguf_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ChordError)]
    lib.gguf_close.argtypes = [ctypes.c_void_p]
    return lib


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?")
    ap.add_argument("--chord-lib", default=os.path.join(here, "..", "build", "libchord.so"))
    ap.add_argument("--reps", type=int, default=200)
    args = ap.parse_args()
    model = args.model or json.loads(subprocess.run(
        [os.path.join(here, "..", "build", "chord"), "info", "--json"], check=True,
        capture_output=True).stdout)["path"]
    ggml, chord = load_ggml(), load_chord(args.chord_lib)
    path = model.encode()

    def open_llama():
        ctx = ggml.gguf_init_from_file(path, GgufInitParams(True, None))
        if not ctx:
            raise SystemExit("llama.cpp could not open the model")
        ggml.gguf_free(ctx)

    def open_chord():
        handle, err = ctypes.c_void_p(), ChordError()
        if chord.gguf_open(path, ctypes.byref(handle), ctypes.byref(err)) != 0:
            raise SystemExit(err.message.decode())
        chord.gguf_close(handle)

    times = {"chord": [], "llama.cpp": []}
    for fn in (open_chord, open_llama):  # warm-up: page cache and first-call costs
        fn()
    for _ in range(args.reps):
        for name, fn in (("chord", open_chord), ("llama.cpp", open_llama)):
            t = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t) * 1e3)
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "benchmark": "open + metadata + tensor table",
        "model": model,
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "host": platform.node()},
        "reps": args.reps,
        "median_ms": med,
        "min_ms": {k: min(v) for k, v in times.items()},
        "max_ms": {k: max(v) for k, v in times.items()},
        "speedup_vs_llama_cpp": med["llama.cpp"] / med["chord"],
    }
    for k in times:
        print(f"{k:10s} median {med[k]:8.3f} ms  min {result['min_ms'][k]:8.3f}  max {result['max_ms'][k]:8.3f}")
    print(f"chord is {result['speedup_vs_llama_cpp']:.2f}x llama.cpp (target: chord under 20 ms)")
    os.makedirs(os.path.join(here, "results"), exist_ok=True)
    out = os.path.join(here, "results", "open-time.json")
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
